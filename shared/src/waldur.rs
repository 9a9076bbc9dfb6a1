//! Waldur's own API tokens: opaque keys only Waldur can check, by answering `GET /api/users/me/`
//! with the user they belong to. HomePort and `waldur-api-client` send them as `Token <key>`.

use std::time::Duration;

use serde::Deserialize;

use crate::web::{WebClient, WebError};

/// Environment variable naming the Waldur whose tokens are accepted; empty or unset: none are.
pub const WALDUR_API_URL_VAR: &str = "WALDUR_API_URL";
/// Environment variable: seconds a token's answer is reused (default [`DEFAULT_CACHE_SECONDS`]).
pub const WALDUR_TOKEN_CACHE_SECONDS_VAR: &str = "WALDUR_TOKEN_CACHE_SECONDS";
pub const DEFAULT_CACHE_SECONDS: u64 = 60;
/// How long Waldur may take to answer before the caller gets a 503: well inside the authorizer's
/// timeout, and short enough that HomePort's page does not hang on a Waldur that is down.
pub const LOOKUP_TIMEOUT: Duration = Duration::from_secs(3);
const USERS_ME_PATH: &str = "api/users/me/";

/// The fields of Waldur's user that say who is calling and whether they may read system logs.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct WaldurUser {
    #[serde(default)]
    pub uuid: String,
    #[serde(default)]
    pub username: String,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
    #[serde(default)]
    pub is_staff: bool,
    #[serde(default)]
    pub is_support: bool,
}

impl WaldurUser {
    /// Staff and support users see the platform's own logs in Waldur; nobody else does.
    pub fn reads_system_logs(&self) -> bool {
        self.is_staff || self.is_support
    }
}

#[derive(Debug, thiserror::Error)]
pub enum WaldurError {
    /// Waldur said the token is not one of its own (401/403).
    #[error("Waldur refused the token")]
    Refused,
    /// No definite answer: Waldur down, slow, overloaded, or answering something that is not a user.
    #[error("Waldur could not check the token: {0}")]
    Unavailable(String),
}

impl From<WebError> for WaldurError {
    fn from(error: WebError) -> Self {
        WaldurError::Unavailable(error.to_string())
    }
}

/// Asks one Waldur who a token belongs to.
#[derive(Debug, Clone)]
pub struct WaldurUsers {
    users_me: url::Url,
    client: WebClient,
}

impl WaldurUsers {
    /// `api_url`: Waldur's base URL (`https://waldur.example.com`, with or without `/`, or ending in `/api/`).
    pub fn new(api_url: &str) -> Result<Self, WebError> {
        let trimmed = api_url.trim().trim_end_matches('/');
        let base = trimmed.strip_suffix("/api").unwrap_or(trimmed);
        let base = crate::web::check_url(&format!("{base}/"))?;
        let users_me = base
            .join(USERS_ME_PATH)
            .map_err(|_| WebError::InsecureUrl(api_url.to_owned()))?;
        Ok(Self {
            users_me,
            client: WebClient::new(LOOKUP_TIMEOUT),
        })
    }

    /// From `WALDUR_API_URL`; `Ok(None)` when it is unset or empty.
    pub fn from_env() -> Result<Option<Self>, WebError> {
        match std::env::var(WALDUR_API_URL_VAR) {
            Ok(url) if !url.trim().is_empty() => Self::new(&url).map(Some),
            _ => Ok(None),
        }
    }

    pub fn users_me(&self) -> &str {
        self.users_me.as_str()
    }

    /// The user `token` belongs to, as Waldur says.
    pub async fn user(&self, token: &str) -> Result<WaldurUser, WaldurError> {
        let authorization = format!("Token {token}");
        let answer = self
            .client
            .get(
                &self.users_me,
                &[
                    ("authorization", authorization.as_str()),
                    ("accept", "application/json"),
                ],
            )
            .await?;
        match answer.status {
            200 => serde_json::from_slice::<WaldurUser>(&answer.body)
                .map_err(|error| WaldurError::Unavailable(format!("not a Waldur user: {error}"))),
            401 | 403 => Err(WaldurError::Refused),
            status => Err(WaldurError::Unavailable(format!(
                "Waldur answered {status}"
            ))),
        }
    }
}

/// Seconds from `WALDUR_TOKEN_CACHE_SECONDS` (unset or unreadable: the default).
pub fn cache_seconds_from_env() -> u64 {
    std::env::var(WALDUR_TOKEN_CACHE_SECONDS_VAR)
        .ok()
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or(DEFAULT_CACHE_SECONDS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_users_me_address_is_found_from_any_form_of_the_base_url() {
        for base in [
            "https://waldur.example.com",
            "https://waldur.example.com/",
            "https://waldur.example.com/api",
            "https://waldur.example.com/api/",
        ] {
            assert_eq!(
                WaldurUsers::new(base).unwrap().users_me(),
                "https://waldur.example.com/api/users/me/"
            );
        }
        assert_eq!(
            WaldurUsers::new("https://example.com/waldur/")
                .unwrap()
                .users_me(),
            "https://example.com/waldur/api/users/me/"
        );
        assert!(WaldurUsers::new("http://waldur.example.com").is_err());
    }

    #[test]
    fn only_staff_and_support_read_system_logs() {
        let user = |is_staff, is_support| WaldurUser {
            uuid: "u".into(),
            username: "u".into(),
            email: None,
            first_name: None,
            last_name: None,
            is_staff,
            is_support,
        };
        assert!(user(true, false).reads_system_logs());
        assert!(user(false, true).reads_system_logs());
        assert!(!user(false, false).reads_system_logs());
    }
}
