//! Every way a system-log request can fail, and its DRF-style status and body, in one place.

use std::collections::BTreeMap;

use crate::dynamo::StoreError;
use crate::identity::AuthError;

#[derive(Debug, thiserror::Error)]
pub enum SystemLogError {
    /// 400: one list of messages per bad parameter.
    #[error("invalid parameters: {0:?}")]
    InvalidParams(BTreeMap<String, Vec<String>>),
    /// 400: an ordering no index serves, over more logs than may be sorted in memory.
    #[error("more than {0} logs match an ordering that must be sorted in memory")]
    TooManyToSort(usize),
    #[error("Invalid page.")]
    InvalidPage,
    /// No log has this id, or it does not pass the filters.
    #[error("No SystemLog matches the given query.")]
    NoSuchLog,
    /// The id is not an integer.
    #[error("Not found.")]
    NotFound,
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error("Method \"{0}\" not allowed.")]
    MethodNotAllowed(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// 400: the answer would not fit one Lambda response, even compressed if the client takes gzip.
    #[error(
        "The answer would be {0} bytes, more than one response may hold; ask for a smaller page_size, or accept gzip."
    )]
    TooLargeToSend(usize),
    /// A fault of ours outside the store (a body that did not serialize).
    #[error("internal error: {0}")]
    Internal(String),
}

impl SystemLogError {
    pub fn status(&self) -> u16 {
        match self {
            SystemLogError::InvalidParams(_)
            | SystemLogError::TooManyToSort(_)
            | SystemLogError::TooLargeToSend(_) => 400,
            SystemLogError::Auth(AuthError::MissingRole(_)) => 403,
            SystemLogError::Auth(AuthError::Unavailable) => 503,
            SystemLogError::Auth(_) => 401,
            SystemLogError::InvalidPage | SystemLogError::NoSuchLog | SystemLogError::NotFound => {
                404
            }
            SystemLogError::MethodNotAllowed(_) => 405,
            SystemLogError::Store(StoreError::OverBudget { .. }) => 400,
            SystemLogError::Store(error) if error.is_unavailable() => 503,
            SystemLogError::Store(_) | SystemLogError::Internal(_) => 500,
        }
    }

    /// The body DRF would send.
    pub fn body(&self) -> serde_json::Value {
        let detail = |text: &str| serde_json::json!({ "detail": text });
        match self {
            SystemLogError::InvalidParams(problems) => serde_json::json!(problems),
            SystemLogError::TooManyToSort(limit) => detail(&format!(
                "This ordering is sorted in memory and more than {limit} logs match; add filters or order by created."
            )),
            SystemLogError::Auth(AuthError::MissingCredentials) => {
                detail("Authentication credentials were not provided.")
            }
            SystemLogError::Auth(AuthError::InvalidToken) => detail("Invalid token."),
            SystemLogError::Auth(AuthError::MissingRole(_)) => {
                detail("You do not have permission to perform this action.")
            }
            SystemLogError::Auth(AuthError::Unavailable) => {
                detail("The token cannot be checked now; retry the request.")
            }
            SystemLogError::Store(error @ StoreError::OverBudget { .. }) => detail(&format!(
                "This request would {}: narrow it with created_from and created_to, source, instance or level, or ask for an earlier page.",
                error.to_string().trim_start_matches("the request would ")
            )),
            SystemLogError::Store(error) if error.is_unavailable() => {
                detail("The log store is temporarily unavailable; retry the request.")
            }
            SystemLogError::Store(_) | SystemLogError::Internal(_) => {
                detail("A server error occurred.")
            }
            other => detail(&other.to_string()),
        }
    }
}
