//! The verdict on a request's credentials, for routes that take more than one kind of token.
//!
//! The system-log routes take the platform's Bearer JWTs and, when `WaldurApiUrl` is set,
//! Waldur's own API tokens (`Token <key>`). A route has one authorizer, so deployed these routes
//! have a Lambda authorizer (functions/system_logs_authorizer.rs) that runs [`Authorizer`]. It
//! always lets the request through with its [`Verdict`] in the context, and the function turns
//! the verdict into the caller or into the API's own 401/403/503 body: an authorizer that says no
//! can only make API Gateway answer `{"message":"Forbidden"}`, which no Waldur client reads.
//! Locally (`make dev`) the functions run the same [`Authorizer`] in-process.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::oidc::{IssuerKeys, OidcError};
use crate::waldur::{WaldurError, WaldurUser, WaldurUsers};

/// The authorizer context key that carries the verdict (as JSON text: context values are strings).
pub const VERDICT_CONTEXT_KEY: &str = "verdict";
/// The issuer written into, and required of, local tokens.
pub const LOCAL_TOKEN_ISSUER: &str = "log-service-local";
/// Most tokens whose verdict is remembered; past it the expired go, then all (a flood of made-up
/// tokens costs lookups, never memory).
const CACHE_MAX_ENTRIES: usize = 10_000;

/// What the credentials of one request come to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Verdict {
    /// A verified JWT's claims, flattened to strings as API Gateway's JWT authorizer passes them.
    Verified {
        claims: HashMap<String, String>,
    },
    /// A Waldur token, and the user Waldur says it belongs to.
    Waldur {
        subject: String,
        username: String,
        email: Option<String>,
        first_name: Option<String>,
        last_name: Option<String>,
        reads_system_logs: bool,
    },
    MissingCredentials,
    InvalidToken,
    /// No definite answer (Waldur or the issuer's keys unreachable): 503, never allowed.
    Unavailable,
}

impl Verdict {
    /// The verdict as the authorizer's context carries it.
    pub fn to_context(&self) -> HashMap<String, String> {
        // A derived Serialize of strings and maps does not fail; were it to, the function fails closed.
        let text = serde_json::to_string(self).unwrap_or_default();
        HashMap::from([(VERDICT_CONTEXT_KEY.to_owned(), text)])
    }

    /// The verdict in an authorizer's context; anything unreadable is an invalid token.
    pub fn from_context(text: &str) -> Verdict {
        serde_json::from_str(text).unwrap_or(Verdict::InvalidToken)
    }

    fn from_waldur(user: WaldurUser) -> Verdict {
        let reads_system_logs = user.reads_system_logs();
        let subject = if user.uuid.is_empty() {
            user.username.clone()
        } else {
            user.uuid
        };
        Verdict::Waldur {
            subject,
            username: user.username,
            email: user.email.filter(|email| !email.is_empty()),
            first_name: user.first_name.filter(|name| !name.is_empty()),
            last_name: user.last_name.filter(|name| !name.is_empty()),
            reads_system_logs,
        }
    }

    /// Whether the same credentials get the same verdict a minute from now.
    fn is_definite(&self) -> bool {
        !matches!(self, Verdict::Unavailable)
    }
}

/// How an authorizer checks JWTs. The functions only ever check local tokens ([`LocalKey`]), so
/// they do not link the issuer's JWKS code; the deployed authorizer chooses at start ([`JwtKeys`]).
pub trait JwtCheck: Send + Sync {
    fn check(&self, token: &str) -> impl std::future::Future<Output = Verdict> + Send;
    /// A word for logs and Debug: never the key.
    fn kind(&self) -> &'static str;
}

/// Local tokens (HS256 with `LOCAL_TOKEN_SECRET`), as `make token` mints them.
pub struct LocalKey(pub DecodingKey);

impl JwtCheck for LocalKey {
    async fn check(&self, token: &str) -> Verdict {
        match verify_local_token(token, &self.0) {
            Some(claims) => Verdict::Verified { claims },
            None => Verdict::InvalidToken,
        }
    }

    fn kind(&self) -> &'static str {
        "local"
    }
}

/// How the deployed authorizer checks JWTs.
pub enum JwtKeys {
    /// Local tokens, under `sam local`.
    Local(LocalKey),
    /// The platform's OIDC issuer, deployed.
    Issuer(IssuerKeys),
    /// No JWTs accepted.
    None,
}

impl JwtCheck for JwtKeys {
    async fn check(&self, token: &str) -> Verdict {
        match self {
            JwtKeys::Local(key) => key.check(token).await,
            JwtKeys::Issuer(keys) => match keys.verify(token).await {
                Ok(claims) => Verdict::Verified { claims },
                Err(OidcError::Invalid(_)) => Verdict::InvalidToken,
                Err(error @ OidcError::Unavailable(_)) => {
                    tracing::warn!(%error, "a JWT could not be checked");
                    Verdict::Unavailable
                }
            },
            JwtKeys::None => Verdict::InvalidToken,
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            JwtKeys::Local(_) => "local",
            JwtKeys::Issuer(_) => "issuer",
            JwtKeys::None => "none",
        }
    }
}

/// Judges the Authorization header of a request.
pub struct Authorizer<J = JwtKeys> {
    jwt: J,
    waldur: Option<WaldurUsers>,
    cache: VerdictCache,
}

impl<J: JwtCheck> std::fmt::Debug for Authorizer<J> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authorizer")
            .field("jwt", &self.jwt.kind())
            .field("waldur", &self.waldur.as_ref().map(WaldurUsers::users_me))
            .field("cache_ttl", &self.cache.ttl)
            .finish()
    }
}

impl Authorizer<JwtKeys> {
    /// The deployed authorizer's: the issuer from `JWT_ISSUER`/`JWT_AUDIENCE`, Waldur from
    /// `WALDUR_API_URL` and `WALDUR_TOKEN_CACHE_SECONDS`. Under `sam local` (local/env.json sets
    /// `LOCAL_TOKEN_SECRET`, which template.yaml pins empty) it takes local tokens instead.
    pub fn from_env() -> Result<Self, crate::web::WebError> {
        let local_secret =
            std::env::var(crate::identity::LOCAL_TOKEN_SECRET_VAR).unwrap_or_default();
        let jwt = if !local_secret.is_empty() {
            JwtKeys::Local(LocalKey(DecodingKey::from_secret(local_secret.as_bytes())))
        } else {
            match IssuerKeys::from_env()? {
                Some(keys) => JwtKeys::Issuer(keys),
                None => JwtKeys::None,
            }
        };
        let authorizer = Self::new(jwt);
        Ok(match WaldurUsers::from_env()? {
            Some(users) => authorizer.with_waldur(users, crate::waldur::cache_seconds_from_env()),
            None => authorizer,
        })
    }
}

impl<J: JwtCheck> Authorizer<J> {
    pub fn new(jwt: J) -> Self {
        Self {
            jwt,
            waldur: None,
            cache: VerdictCache::new(Duration::ZERO),
        }
    }

    /// Also takes Waldur tokens, remembering each token's verdict for `cache_seconds`.
    pub fn with_waldur(mut self, users: WaldurUsers, cache_seconds: u64) -> Self {
        self.waldur = Some(users);
        self.cache = VerdictCache::new(Duration::from_secs(cache_seconds));
        self
    }

    pub fn takes_waldur_tokens(&self) -> bool {
        self.waldur.is_some()
    }

    /// The verdict on one `Authorization` header value (`None`: no header).
    pub async fn verdict(&self, authorization: Option<&str>) -> Verdict {
        let token = match credentials(authorization) {
            Ok(token) => token,
            Err(verdict) => return verdict,
        };
        if looks_like_jwt(token) {
            return self.jwt.check(token).await;
        }
        let Some(waldur) = &self.waldur else {
            return Verdict::InvalidToken;
        };
        let key = VerdictCache::key(token);
        if let Some(verdict) = self.cache.get(&key) {
            return verdict;
        }
        let verdict = match waldur.user(token).await {
            Ok(user) => Verdict::from_waldur(user),
            Err(WaldurError::Refused) => Verdict::InvalidToken,
            Err(error @ WaldurError::Unavailable(_)) => {
                tracing::warn!(%error, "a Waldur token could not be checked");
                Verdict::Unavailable
            }
        };
        self.cache.put(key, &verdict);
        verdict
    }
}

/// The token of an `Authorization` header: OIDC clients say `Bearer <token>`, Waldur's `Token <token>`.
fn credentials(authorization: Option<&str>) -> Result<&str, Verdict> {
    let value = authorization.ok_or(Verdict::MissingCredentials)?;
    match value.trim().split_once(' ') {
        Some((scheme, token))
            if (scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("token"))
                && !token.trim().is_empty() =>
        {
            Ok(token.trim())
        }
        _ => Err(Verdict::InvalidToken),
    }
}

/// A JWT is three base64url parts; Waldur's keys are 40 hex digits, with no dots.
fn looks_like_jwt(token: &str) -> bool {
    token.split('.').count() == 3
}

/// Verifies a local HS256 token and flattens its claims to strings, as API Gateway does.
fn verify_local_token(token: &str, key: &DecodingKey) -> Option<HashMap<String, String>> {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.set_issuer(&[LOCAL_TOKEN_ISSUER]);
    validation.set_required_spec_claims(&["exp", "iss", "sub"]);
    validation.validate_aud = false;
    jsonwebtoken::decode::<serde_json::Map<String, serde_json::Value>>(token, key, &validation)
        .ok()
        .map(|data| crate::identity::flatten_claims(data.claims))
}

/// Definite verdicts by token digest (never the token itself), each for at most `ttl`.
struct VerdictCache {
    ttl: Duration,
    entries: Mutex<HashMap<[u8; 32], (Verdict, Instant)>>,
}

impl VerdictCache {
    fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn key(token: &str) -> [u8; 32] {
        Sha256::digest(token.as_bytes()).into()
    }

    fn get(&self, key: &[u8; 32]) -> Option<Verdict> {
        let entries = self.entries.lock().ok()?;
        let (verdict, stored) = entries.get(key)?;
        (stored.elapsed() < self.ttl).then(|| verdict.clone())
    }

    fn put(&self, key: [u8; 32], verdict: &Verdict) {
        if self.ttl.is_zero() || !verdict.is_definite() {
            return;
        }
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        if entries.len() >= CACHE_MAX_ENTRIES {
            let ttl = self.ttl;
            entries.retain(|_, (_, stored)| stored.elapsed() < ttl);
            if entries.len() >= CACHE_MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(key, (verdict.clone(), Instant::now()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_read_from_either_scheme() {
        assert_eq!(credentials(Some("Token abc")), Ok("abc"));
        assert_eq!(credentials(Some("Bearer a.b.c")), Ok("a.b.c"));
        assert_eq!(credentials(Some("bearer  abc ")), Ok("abc"));
        assert_eq!(credentials(None), Err(Verdict::MissingCredentials));
        assert_eq!(
            credentials(Some("Basic dXNlcg==")),
            Err(Verdict::InvalidToken)
        );
        assert_eq!(credentials(Some("Token ")), Err(Verdict::InvalidToken));
    }

    #[test]
    fn a_verdict_survives_the_authorizer_context_and_garbage_fails_closed() {
        let verdict = Verdict::Waldur {
            subject: "u-1".into(),
            username: "alice".into(),
            email: Some("alice@example.com".into()),
            first_name: None,
            last_name: None,
            reads_system_logs: true,
        };
        let context = verdict.to_context();
        assert_eq!(
            Verdict::from_context(&context[VERDICT_CONTEXT_KEY]),
            verdict
        );
        assert_eq!(
            Verdict::from_context("{\"outcome\":\"allowed\"}"),
            Verdict::InvalidToken
        );
        assert_eq!(Verdict::from_context(""), Verdict::InvalidToken);
    }

    #[test]
    fn only_definite_verdicts_are_remembered_and_only_for_the_ttl() {
        let cache = VerdictCache::new(Duration::from_secs(60));
        cache.put(VerdictCache::key("a"), &Verdict::InvalidToken);
        cache.put(VerdictCache::key("b"), &Verdict::Unavailable);
        assert_eq!(
            cache.get(&VerdictCache::key("a")),
            Some(Verdict::InvalidToken)
        );
        assert_eq!(cache.get(&VerdictCache::key("b")), None);
        let off = VerdictCache::new(Duration::ZERO);
        off.put(VerdictCache::key("a"), &Verdict::InvalidToken);
        assert_eq!(off.get(&VerdictCache::key("a")), None);
    }

    #[test]
    fn a_flood_of_made_up_tokens_never_grows_the_cache_past_its_bound() {
        let cache = VerdictCache::new(Duration::from_secs(60));
        for n in 0..CACHE_MAX_ENTRIES + 10 {
            cache.put(VerdictCache::key(&n.to_string()), &Verdict::InvalidToken);
        }
        assert!(cache.entries.lock().unwrap().len() <= CACHE_MAX_ENTRIES);
    }
}
