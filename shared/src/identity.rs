//! Who is calling: the verified claims of the caller's token, and the roles they carry.
//!
//! Deployed, API Gateway's JWT authorizer verifies the token and hands the claims over in the
//! request context; nothing else is trusted. Locally there is no API Gateway, so a token signed
//! with `LOCAL_TOKEN_SECRET` (HS256, minted by `make token`) stands in for it. template.yaml pins
//! that variable to an empty string, which switches the local mechanism off (a test proves it).
//! Every path that does not end in verified claims is a 401: the check fails closed.

use std::collections::{BTreeSet, HashMap};

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};

/// Environment variable naming the claim that holds the caller's roles.
pub const ROLES_CLAIM_VAR: &str = "ROLES_CLAIM";
/// Environment variable naming the claim that holds the caller's organization.
pub const ORGANIZATION_CLAIM_VAR: &str = "ORGANIZATION_CLAIM";
/// Environment variable holding the local token secret; empty or unset switches local tokens off.
pub const LOCAL_TOKEN_SECRET_VAR: &str = "LOCAL_TOKEN_SECRET";
/// The issuer written into, and required of, local tokens.
pub const LOCAL_TOKEN_ISSUER: &str = "log-service-local";
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
#[derive(Clone)]
pub struct Authenticator {
    roles_claim: String,
    organization_claim: String,
    local_key: Option<DecodingKey>,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the key.
        f.debug_struct("Authenticator")
            .field("roles_claim", &self.roles_claim)
            .field("organization_claim", &self.organization_claim)
            .field("local_tokens", &self.local_key.is_some())
            .finish()
    }
}

impl Authenticator {
    /// `roles_claim`: the claim holding the roles. `local_secret`: switches local tokens on when non-empty.
    pub fn new(roles_claim: &str, local_secret: Option<&str>) -> Self {
        let roles_claim = match roles_claim.trim() {
            "" => DEFAULT_ROLES_CLAIM.to_owned(),
            name => name.to_owned(),
        };
        let local_key = local_secret
            .filter(|secret| !secret.is_empty())
            .map(|secret| DecodingKey::from_secret(secret.as_bytes()));
        Self {
            roles_claim,
            organization_claim: DEFAULT_ORGANIZATION_CLAIM.to_owned(),
            local_key,
        }
    }

    /// Reads the organization from the claim `claim` (blank: the default, `org_id`).
    pub fn with_organization_claim(mut self, claim: &str) -> Self {
        if !claim.trim().is_empty() {
            claim.trim().clone_into(&mut self.organization_claim);
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

    pub fn local_tokens_enabled(&self) -> bool {
        self.local_key.is_some()
    }

    pub fn authenticate(&self, request: &Request) -> Result<Caller, AuthError> {
        if let Some(claims) = authorizer_claims(request) {
            return self.caller_from(claims);
        }
        let Some(key) = &self.local_key else {
            return Err(AuthError::MissingCredentials);
        };
        let token = bearer_token(request)?;
        let claims = verify_local_token(token, key)?;
        self.caller_from(&claims)
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

/// Claims that API Gateway's JWT authorizer verified, if this request went through one.
fn authorizer_claims(request: &Request) -> Option<&HashMap<String, String>> {
    match request.request_context_ref()? {
        RequestContext::ApiGatewayV2(context) => context
            .authorizer
            .as_ref()?
            .jwt
            .as_ref()
            .map(|jwt| &jwt.claims)
            .filter(|claims| !claims.is_empty()),
        _ => None,
    }
}

fn bearer_token(request: &Request) -> Result<&str, AuthError> {
    let header = request
        .headers()
        .get(lambda_http::http::header::AUTHORIZATION)
        .ok_or(AuthError::MissingCredentials)?;
    let value = header.to_str().map_err(|_| AuthError::InvalidToken)?;
    match value.split_once(' ') {
        // Waldur's clients say `Token <token>`, OIDC clients `Bearer <token>`: both carry the same JWT.
        Some((scheme, token))
            if (scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("token"))
                && !token.trim().is_empty() =>
        {
            Ok(token.trim())
        }
        _ => Err(AuthError::InvalidToken),
    }
}

/// Verifies a local HS256 token and flattens its claims to strings, as API Gateway does.
fn verify_local_token(
    token: &str,
    key: &DecodingKey,
) -> Result<HashMap<String, String>, AuthError> {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.set_issuer(&[LOCAL_TOKEN_ISSUER]);
    validation.set_required_spec_claims(&["exp", "iss", "sub"]);
    validation.validate_aud = false;
    let data =
        jsonwebtoken::decode::<serde_json::Map<String, serde_json::Value>>(token, key, &validation)
            .map_err(|_| AuthError::InvalidToken)?;
    Ok(data
        .claims
        .into_iter()
        .map(|(name, value)| {
            let text = match value {
                serde_json::Value::String(text) => text,
                other => other.to_string(),
            };
            (name, text)
        })
        .collect())
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
