//! Tokens for the local identity mechanism: HS256, signed with `LOCAL_TOKEN_SECRET`.

use jsonwebtoken::{EncodingKey, Header};
use serde::Serialize;
use shared::identity::LOCAL_TOKEN_ISSUER;

/// The claims of a local token, named as an OIDC provider (Keycloak, Red Hat SSO) names them.
#[derive(Debug, Clone, Serialize)]
pub struct LocalClaims {
    pub iss: &'static str,
    pub sub: String,
    pub preferred_username: String,
    pub email: String,
    pub given_name: String,
    pub family_name: String,
    pub exp: u64,
    pub iat: u64,
    /// Written under the name `ROLES_CLAIM` gives (default `groups`).
    #[serde(skip)]
    pub roles: Vec<String>,
    /// The claim naming the caller's organization (`ORGANIZATION_CLAIM`, default `org_id`) and
    /// its value.
    #[serde(skip)]
    pub organization: Option<(String, String)>,
}

impl LocalClaims {
    /// Claims for `user` with `roles`, valid for `lifetime_seconds` from `now` (unix seconds).
    pub fn new(user: &str, roles: &[&str], now: u64, lifetime_seconds: u64) -> Self {
        Self {
            iss: LOCAL_TOKEN_ISSUER,
            sub: format!("local-{user}"),
            preferred_username: user.to_owned(),
            email: format!("{user}@example.com"),
            given_name: user.to_owned(),
            family_name: "Local".to_owned(),
            exp: now + lifetime_seconds,
            iat: now,
            roles: roles.iter().map(|role| role.to_string()).collect(),
            organization: None,
        }
    }

    /// The same claims, naming `organization` under the claim `claim`.
    pub fn in_organization(mut self, claim: &str, organization: &str) -> Self {
        self.organization = Some((claim.to_owned(), organization.to_owned()));
        self
    }

    /// Signs the claims with `secret`, writing the roles under `roles_claim`.
    pub fn sign(
        &self,
        secret: &str,
        roles_claim: &str,
    ) -> Result<String, jsonwebtoken::errors::Error> {
        let mut claims = serde_json::to_value(self)?;
        if let Some(object) = claims.as_object_mut() {
            object.insert(roles_claim.to_owned(), serde_json::json!(self.roles));
            if let Some((claim, organization)) = &self.organization {
                object.insert(claim.clone(), serde_json::json!(organization));
            }
        }
        jsonwebtoken::encode(
            &Header::default(),
            &claims,
            &EncodingKey::from_secret(secret.as_bytes()),
        )
    }
}
