//! Bearer JWTs of the platform's OIDC issuer, verified as API Gateway's JWT authorizer does:
//! signature by a key of the issuer's JWKS (found through its discovery document), `iss` equal to
//! the issuer, `exp` in the future, and `aud` or `client_id` one of the accepted audiences. The
//! system-log routes' Lambda authorizer uses it, since a route has one authorizer and those routes
//! also take Waldur's tokens.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};

use crate::web::{WebClient, WebError};

/// Environment variables of the authorizer: the issuer and its audiences (comma separated).
pub const JWT_ISSUER_VAR: &str = "JWT_ISSUER";
pub const JWT_AUDIENCE_VAR: &str = "JWT_AUDIENCE";
/// Keys are fetched again after this long, and at most this often when a token names an unknown key.
const KEYS_MAX_AGE: Duration = Duration::from_secs(3600);
const UNKNOWN_KEY_REFETCH: Duration = Duration::from_secs(60);
const FETCH_TIMEOUT: Duration = Duration::from_secs(3);
/// Clock skew allowed on `exp` and `nbf`.
const LEEWAY_SECONDS: u64 = 60;
/// The asymmetric algorithms an issuer signs with; never HS* (the public keys are not secrets).
const ALGORITHMS: [Algorithm; 8] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
];

#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    /// The token is not one of the issuer's, or not for this API, or expired.
    #[error("the token is not valid: {0}")]
    Invalid(String),
    /// The issuer's keys could not be fetched: no definite answer.
    #[error("the issuer's keys are unavailable: {0}")]
    Unavailable(String),
}

impl From<WebError> for OidcError {
    fn from(error: WebError) -> Self {
        OidcError::Unavailable(error.to_string())
    }
}

struct KeySet {
    keys: Vec<Jwk>,
    fetched: Instant,
}

/// One issuer's keys, fetched on first use and kept for the life of the container.
pub struct IssuerKeys {
    issuer: String,
    audiences: Vec<String>,
    client: WebClient,
    keys: Mutex<Option<KeySet>>,
}

impl std::fmt::Debug for IssuerKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuerKeys")
            .field("issuer", &self.issuer)
            .field("audiences", &self.audiences)
            .finish()
    }
}

impl IssuerKeys {
    pub fn new(issuer: &str, audiences: &[String]) -> Result<Self, WebError> {
        crate::web::check_url(issuer)?;
        Ok(Self {
            issuer: issuer.trim().to_owned(),
            audiences: audiences
                .iter()
                .map(|audience| audience.trim().to_owned())
                .filter(|audience| !audience.is_empty())
                .collect(),
            client: WebClient::new(FETCH_TIMEOUT),
            keys: Mutex::new(None),
        })
    }

    /// From `JWT_ISSUER` and `JWT_AUDIENCE`; `Ok(None)` when no issuer is set.
    pub fn from_env() -> Result<Option<Self>, WebError> {
        let issuer = std::env::var(JWT_ISSUER_VAR).unwrap_or_default();
        if issuer.trim().is_empty() {
            return Ok(None);
        }
        let audiences: Vec<String> = std::env::var(JWT_AUDIENCE_VAR)
            .unwrap_or_default()
            .split(',')
            .map(str::to_owned)
            .collect();
        Self::new(&issuer, &audiences).map(Some)
    }

    /// The token's claims, flattened to strings as API Gateway hands a JWT authorizer's claims over.
    pub async fn verify(&self, token: &str) -> Result<HashMap<String, String>, OidcError> {
        let header = jsonwebtoken::decode_header(token)
            .map_err(|error| OidcError::Invalid(error.to_string()))?;
        if !ALGORITHMS.contains(&header.alg) {
            return Err(OidcError::Invalid(format!("algorithm {:?}", header.alg)));
        }
        let key = self.key(header.kid.as_deref()).await?;
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[&self.issuer]);
        validation.set_required_spec_claims(&["exp", "iss"]);
        validation.leeway = LEEWAY_SECONDS;
        validation.validate_nbf = true;
        // API Gateway accepts `aud` or `client_id` (Cognito's access tokens carry no `aud`).
        validation.validate_aud = false;
        let data = jsonwebtoken::decode::<serde_json::Map<String, serde_json::Value>>(
            token,
            &key,
            &validation,
        )
        .map_err(|error| OidcError::Invalid(error.to_string()))?;
        let claims = crate::identity::flatten_claims(data.claims);
        if !self.audience_matches(&claims) {
            return Err(OidcError::Invalid("audience".to_owned()));
        }
        Ok(claims)
    }

    fn audience_matches(&self, claims: &HashMap<String, String>) -> bool {
        let named = |claim: &str| -> Vec<String> {
            match claims.get(claim) {
                None => Vec::new(),
                Some(value) => serde_json::from_str::<Vec<String>>(value)
                    .unwrap_or_else(|_| vec![value.clone()]),
            }
        };
        named("aud")
            .into_iter()
            .chain(named("client_id"))
            .any(|audience| self.audiences.contains(&audience))
    }

    async fn key(&self, kid: Option<&str>) -> Result<DecodingKey, OidcError> {
        if let Some(key) = self.cached_key(kid, false)? {
            return Ok(key);
        }
        let fresh = self.fetch().await?;
        let mut keys = self
            .keys
            .lock()
            .map_err(|_| OidcError::Unavailable("key cache poisoned".to_owned()))?;
        *keys = Some(KeySet {
            keys: fresh,
            fetched: Instant::now(),
        });
        drop(keys);
        self.cached_key(kid, true)?
            .ok_or_else(|| OidcError::Invalid("no key of the issuer signed it".to_owned()))
    }

    /// The key named `kid` from the cache; `None` means fetch (never, or stale, or unknown key and
    /// the last fetch long enough ago). `fresh`: just fetched, so an unknown key is a bad token.
    fn cached_key(&self, kid: Option<&str>, fresh: bool) -> Result<Option<DecodingKey>, OidcError> {
        let keys = self
            .keys
            .lock()
            .map_err(|_| OidcError::Unavailable("key cache poisoned".to_owned()))?;
        let Some(set) = keys.as_ref() else {
            return Ok(None);
        };
        let age = set.fetched.elapsed();
        if age > KEYS_MAX_AGE && !fresh {
            return Ok(None);
        }
        let found = match kid {
            Some(kid) => set
                .keys
                .iter()
                .find(|jwk| jwk.common.key_id.as_deref() == Some(kid)),
            None if set.keys.len() == 1 => set.keys.first(),
            None => None,
        };
        match found {
            Some(jwk) => DecodingKey::from_jwk(jwk)
                .map(Some)
                .map_err(|error| OidcError::Invalid(error.to_string())),
            None if fresh || age < UNKNOWN_KEY_REFETCH => Err(OidcError::Invalid(
                "no key of the issuer signed it".to_owned(),
            )),
            None => Ok(None),
        }
    }

    async fn fetch(&self) -> Result<Vec<Jwk>, OidcError> {
        let discovery = crate::web::check_url(&format!(
            "{}/.well-known/openid-configuration",
            self.issuer.trim_end_matches('/')
        ))?;
        let document = self.json(&discovery).await?;
        let jwks_uri = document
            .get("jwks_uri")
            .and_then(serde_json::Value::as_str)
            .ok_or_else(|| {
                OidcError::Unavailable("no jwks_uri in the discovery document".into())
            })?;
        let jwks = self.json(&crate::web::check_url(jwks_uri)?).await?;
        // Keys of a type this build cannot use are skipped, not fatal for the others.
        let keys = jwks
            .get("keys")
            .and_then(serde_json::Value::as_array)
            .map(|keys| {
                keys.iter()
                    .filter_map(|key| serde_json::from_value::<Jwk>(key.clone()).ok())
                    .collect()
            })
            .unwrap_or_default();
        Ok(keys)
    }

    async fn json(&self, url: &url::Url) -> Result<serde_json::Value, OidcError> {
        let answer = self
            .client
            .get(url, &[("accept", "application/json")])
            .await?;
        if answer.status != 200 {
            return Err(OidcError::Unavailable(format!(
                "{url} answered {}",
                answer.status
            )));
        }
        serde_json::from_slice(&answer.body)
            .map_err(|error| OidcError::Unavailable(format!("{url}: {error}")))
    }
}
