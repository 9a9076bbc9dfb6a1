//! Who is calling: the verified claims of the caller's token, and the roles they carry.
//!
//! Deployed, API Gateway verifies the token and hands the outcome over in the request context:
//! the JWT authorizer's claims (cluster-log routes), or the system-log Lambda authorizer's
//! [`Verdict`] (crate::authorizer); nothing else is trusted. Locally there is no API Gateway, so
//! the functions run the same [`Authorizer`] in-process, with a token signed with
//! `LOCAL_TOKEN_SECRET` (HS256, minted by `make token`) standing in for the issuer's. template.yaml
//! pins that variable to an empty string, which switches the local mechanism off (a test proves
//! it). Every path that does not end in verified claims is a 401: the check fails closed.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use jsonwebtoken::DecodingKey;
use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};

pub use crate::authorizer::LOCAL_TOKEN_ISSUER;
use crate::authorizer::{Authorizer, LocalKey, VERDICT_CONTEXT_KEY, Verdict};

/// Environment variable naming the claim that holds the caller's roles.
pub const ROLES_CLAIM_VAR: &str = "ROLES_CLAIM";
/// Environment variable naming the claim that holds the caller's organization.
pub const ORGANIZATION_CLAIM_VAR: &str = "ORGANIZATION_CLAIM";
/// Environment variable holding the local token secret; empty or unset switches local tokens off.
pub const LOCAL_TOKEN_SECRET_VAR: &str = "LOCAL_TOKEN_SECRET";
const DEFAULT_ROLES_CLAIM: &str = "groups";
const DEFAULT_ORGANIZATION_CLAIM: &str = "org_id";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// May POST cluster logs.
    ServiceLogsWriter,
    /// May DELETE cluster logs.
    ServiceLogsAdmin,
    /// Reads every organization's public cluster logs (SRE tools and agents).
    ServiceLogsReader,
    /// Reads every organization's cluster logs, internal ones too.
    ServiceLogsInternal,
    /// May read the system-logs API.
    SystemLogsReader,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::ServiceLogsWriter,
        Role::ServiceLogsAdmin,
        Role::ServiceLogsReader,
        Role::ServiceLogsInternal,
        Role::SystemLogsReader,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Role::ServiceLogsWriter => "service-logs-writer",
            Role::ServiceLogsAdmin => "service-logs-admin",
            Role::ServiceLogsReader => "service-logs-reader",
            Role::ServiceLogsInternal => "service-logs-internal",
            Role::SystemLogsReader => "system-logs-reader",
        }
    }
}

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum AuthError {
    #[error("Authentication credentials were not provided")]
    MissingCredentials,
    #[error("The bearer token is not valid")]
    InvalidToken,
    #[error("The caller lacks the '{}' role", .0.name())]
    MissingRole(Role),
    /// The service that checks the token (Waldur, the issuer's keys) gave no answer: 503.
    #[error("The token cannot be checked now")]
    Unavailable,
}

/// The verified caller of one request.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Caller {
    pub subject: String,
    pub username: Option<String>,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub roles: BTreeSet<String>,
    /// The organization the token names (the claim `ORGANIZATION_CLAIM` names), if any.
    pub organization: Option<String>,
}

impl Caller {
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(role.name())
    }

    pub fn require(&self, role: Role) -> Result<(), AuthError> {
        if self.has(role) {
            Ok(())
        } else {
            Err(AuthError::MissingRole(role))
        }
    }

    /// The name recorded as a log's author: the username, else the token's subject.
    pub fn display_name(&self) -> &str {
        self.username.as_deref().unwrap_or(&self.subject)
    }
}

/// Turns a request into its verified [`Caller`].
#[derive(Clone, Debug)]
pub struct Authenticator {
    roles_claim: String,
    organization_claim: String,
    /// Locally only: the authorizer API Gateway would run, run in-process.
    local: Option<Arc<Authorizer<LocalKey>>>,
    /// The local secret, kept to rebuild the local authorizer when Waldur is added.
    local_secret: Option<Arc<str>>,
}

impl Authenticator {
    /// `roles_claim`: the claim holding the roles. `local_secret`: switches local tokens on when non-empty.
    pub fn new(roles_claim: &str, local_secret: Option<&str>) -> Self {
        let roles_claim = match roles_claim.trim() {
            "" => DEFAULT_ROLES_CLAIM.to_owned(),
            name => name.to_owned(),
        };
        let local_secret: Option<Arc<str>> = local_secret
            .filter(|secret| !secret.is_empty())
            .map(Arc::from);
        Self {
            roles_claim,
            organization_claim: DEFAULT_ORGANIZATION_CLAIM.to_owned(),
            local: local_secret
                .as_deref()
                .map(|secret| Arc::new(Authorizer::new(local_keys(secret)))),
            local_secret,
        }
    }

    /// Reads the organization from the claim `claim` (blank: the default, `org_id`).
    pub fn with_organization_claim(mut self, claim: &str) -> Self {
        if !claim.trim().is_empty() {
            claim.trim().clone_into(&mut self.organization_claim);
        }
        self
    }

    /// Locally, also takes the tokens of the Waldur at `users` (as the system-log routes'
    /// authorizer does deployed). Without local tokens there is nothing local to extend.
    pub fn with_local_waldur(
        mut self,
        users: crate::waldur::WaldurUsers,
        cache_seconds: u64,
    ) -> Self {
        if let Some(secret) = self.local_secret.as_deref() {
            let authorizer = Authorizer::new(local_keys(secret)).with_waldur(users, cache_seconds);
            self.local = Some(Arc::new(authorizer));
        }
        self
    }

    pub fn from_env() -> Self {
        let roles_claim = std::env::var(ROLES_CLAIM_VAR).unwrap_or_default();
        let organization_claim = std::env::var(ORGANIZATION_CLAIM_VAR).unwrap_or_default();
        let local_secret = std::env::var(LOCAL_TOKEN_SECRET_VAR).ok();
        Self::new(&roles_claim, local_secret.as_deref())
            .with_organization_claim(&organization_claim)
    }

    /// [`Self::from_env`], taking Waldur's tokens locally when `WALDUR_API_URL` is set.
    pub fn from_env_with_waldur() -> Result<Self, crate::web::WebError> {
        let authenticator = Self::from_env();
        Ok(match crate::waldur::WaldurUsers::from_env()? {
            Some(users) => {
                authenticator.with_local_waldur(users, crate::waldur::cache_seconds_from_env())
            }
            None => authenticator,
        })
    }

    pub fn local_tokens_enabled(&self) -> bool {
        self.local.is_some()
    }

    pub fn takes_local_waldur_tokens(&self) -> bool {
        self.local
            .as_deref()
            .is_some_and(Authorizer::<LocalKey>::takes_waldur_tokens)
    }

    pub async fn authenticate(&self, request: &Request) -> Result<Caller, AuthError> {
        if let Some(claims) = authorizer_claims(request) {
            return self.caller_from(claims);
        }
        if let Some(verdict) = authorizer_verdict(request) {
            return self.caller_judged(verdict);
        }
        let Some(local) = &self.local else {
            return Err(AuthError::MissingCredentials);
        };
        let authorization = request
            .headers()
            .get(lambda_http::http::header::AUTHORIZATION)
            .map(|value| value.to_str().unwrap_or_default());
        let verdict = local.verdict(authorization).await;
        self.caller_judged(verdict)
    }

    fn caller_judged(&self, verdict: Verdict) -> Result<Caller, AuthError> {
        match verdict {
            Verdict::Verified { claims } => self.caller_from(&claims),
            Verdict::Waldur {
                subject,
                username,
                email,
                first_name,
                last_name,
                reads_system_logs,
            } => Ok(Caller {
                subject,
                username: Some(username).filter(|name| !name.is_empty()),
                email,
                first_name,
                last_name,
                roles: if reads_system_logs {
                    BTreeSet::from([Role::SystemLogsReader.name().to_owned()])
                } else {
                    BTreeSet::new()
                },
                organization: None,
            }),
            Verdict::MissingCredentials => Err(AuthError::MissingCredentials),
            Verdict::InvalidToken => Err(AuthError::InvalidToken),
            Verdict::Unavailable => Err(AuthError::Unavailable),
        }
    }

    fn caller_from(&self, claims: &HashMap<String, String>) -> Result<Caller, AuthError> {
        let claim = |name: &str| {
            claims
                .get(name)
                .map(|value| value.trim().to_owned())
                .filter(|value| !value.is_empty())
        };
        let subject = claim("sub").ok_or(AuthError::InvalidToken)?;
        Ok(Caller {
            username: claim("preferred_username").or_else(|| claim("username")),
            email: claim("email"),
            first_name: claim("given_name"),
            last_name: claim("family_name"),
            roles: claims
                .get(&self.roles_claim)
                .map(|value| parse_roles(value))
                .unwrap_or_default(),
            organization: claim(&self.organization_claim),
            subject,
        })
    }
}

fn local_keys(secret: &str) -> LocalKey {
    LocalKey(DecodingKey::from_secret(secret.as_bytes()))
}

fn authorizer_context(
    request: &Request,
) -> Option<&lambda_http::aws_lambda_events::apigw::ApiGatewayRequestAuthorizer> {
    match request.request_context_ref()? {
        RequestContext::ApiGatewayV2(context) => context.authorizer.as_ref(),
        _ => None,
    }
}

/// Claims that API Gateway's JWT authorizer verified, if this request went through one.
fn authorizer_claims(request: &Request) -> Option<&HashMap<String, String>> {
    authorizer_context(request)?
        .jwt
        .as_ref()
        .map(|jwt| &jwt.claims)
        .filter(|claims| !claims.is_empty())
}

/// The verdict of the system-log routes' Lambda authorizer, if this request went through it.
fn authorizer_verdict(request: &Request) -> Option<Verdict> {
    let value = authorizer_context(request)?
        .fields
        .get(VERDICT_CONTEXT_KEY)?;
    Some(match value.as_str() {
        Some(text) => Verdict::from_context(text),
        None => Verdict::InvalidToken,
    })
}

/// A token's claims as strings, as API Gateway flattens them (non-strings as their JSON text).
pub fn flatten_claims(
    claims: serde_json::Map<String, serde_json::Value>,
) -> HashMap<String, String> {
    claims
        .into_iter()
        .map(|(name, value)| {
            let text = match value {
                serde_json::Value::String(text) => text,
                other => other.to_string(),
            };
            (name, text)
        })
        .collect()
}

/// Roles from one claim, in each form it reaches a Lambda: a JSON array (`["a","b"]`), API
/// Gateway's flattening of an array claim (`[a b]`), or a comma/space separated string.
pub fn parse_roles(value: &str) -> BTreeSet<String> {
    let value = value.trim();
    if let Ok(list) = serde_json::from_str::<Vec<String>>(value) {
        return list
            .into_iter()
            .map(|role| role.trim().to_owned())
            .filter(|r| !r.is_empty())
            .collect();
    }
    let inner = value
        .strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
        .unwrap_or(value);
    inner
        .split(|c: char| c == ',' || c.is_whitespace())
        .map(|role| role.trim_matches('"').trim())
        .filter(|role| !role.is_empty())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(roles: &[&str]) -> BTreeSet<String> {
        roles.iter().map(|r| r.to_string()).collect()
    }

    #[test]
    fn roles_are_read_in_every_form_api_gateway_and_tokens_use() {
        let expected = set(&["service-logs-writer", "service-logs-admin"]);
        assert_eq!(
            parse_roles(r#"["service-logs-writer","service-logs-admin"]"#),
            expected
        );
        assert_eq!(
            parse_roles("[service-logs-writer service-logs-admin]"),
            expected
        );
        assert_eq!(
            parse_roles("service-logs-writer, service-logs-admin"),
            expected
        );
        assert_eq!(parse_roles("[]"), set(&[]));
        assert_eq!(parse_roles(""), set(&[]));
    }

    #[test]
    fn an_empty_local_secret_switches_local_tokens_off() {
        assert!(!Authenticator::new("groups", Some("")).local_tokens_enabled());
        assert!(!Authenticator::new("groups", None).local_tokens_enabled());
        assert!(Authenticator::new("groups", Some("s3cret")).local_tokens_enabled());
    }
}
