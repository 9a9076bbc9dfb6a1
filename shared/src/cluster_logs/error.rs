//! Every way a cluster-log request can fail, and the one table that maps each to its status and
//! the OCM Error body's `id`/`code`.

use crate::dynamo::StoreError;
use crate::http::BodyError;
use crate::identity::AuthError;

#[derive(Debug, thiserror::Error)]
pub enum ClusterLogError {
    #[error("{0}")]
    BadRequest(String),
    #[error(transparent)]
    Body(#[from] BodyError),
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error("Cluster log '{0}' not found")]
    NotFound(String),
    /// A cluster nobody knows, or one the caller may not read: the same to them.
    #[error("Cluster '{0}' not found")]
    ClusterNotFound(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The answer would not fit one Lambda response (crate::http::encode).
    #[error(
        "The answer would be {0} bytes, more than one response may hold ({max}): ask for fewer logs with 'size', fewer fields with 'fields', or accept gzip",
        max = crate::http::RESPONSE_MAX_BYTES
    )]
    TooLargeToSend(usize),
    /// A fault of ours outside the store (a body that did not serialize, an id collision).
    #[error("internal error: {0}")]
    Internal(String),
}

/// The error codes of the cluster-log API. `id` is the HTTP status as a string, as OCM does.
///
/// | status | code       | when |
/// |--------|------------|------|
/// | 400    | OCM-SL-400 | bad body, type, severity, length, parameter; an answer over 6 MB |
/// | 401    | OCM-SL-401 | no or invalid credentials |
/// | 403    | OCM-SL-403 | the caller lacks the role |
/// | 404    | OCM-SL-404 | no such log or cluster (or not one the caller may read) |
/// | 413    | OCM-SL-413 | a request body over 256 KB |
/// | 500    | OCM-SL-500 | a fault of ours |
/// | 503    | OCM-SL-503 | DynamoDB unavailable or throttling: retry |
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    BadRequest = 400,
    Unauthorized = 401,
    Forbidden = 403,
    NotFound = 404,
    TooLarge = 413,
    Internal = 500,
    Unavailable = 503,
}

impl ErrorCode {
    pub fn status(self) -> u16 {
        self as u16
    }

    pub fn code(self) -> String {
        format!("OCM-SL-{}", self.status())
    }
}

impl ClusterLogError {
    pub fn code(&self) -> ErrorCode {
        match self {
            ClusterLogError::Body(BodyError::TooLarge(_)) => ErrorCode::TooLarge,
            ClusterLogError::BadRequest(_)
            | ClusterLogError::Body(_)
            | ClusterLogError::TooLargeToSend(_) => ErrorCode::BadRequest,
            ClusterLogError::Auth(AuthError::MissingRole(_)) => ErrorCode::Forbidden,
            ClusterLogError::Auth(AuthError::Unavailable) => ErrorCode::Unavailable,
            ClusterLogError::Auth(_) => ErrorCode::Unauthorized,
            ClusterLogError::NotFound(_) | ClusterLogError::ClusterNotFound(_) => {
                ErrorCode::NotFound
            }
            ClusterLogError::Store(StoreError::OverBudget { .. }) => ErrorCode::BadRequest,
            ClusterLogError::Store(error) if error.is_unavailable() => ErrorCode::Unavailable,
            ClusterLogError::Store(_) | ClusterLogError::Internal(_) => ErrorCode::Internal,
        }
    }

    /// The sentence a caller reads. Faults of ours say nothing of our internals.
    pub fn reason(&self) -> String {
        match self.code() {
            ErrorCode::Internal => {
                "An internal error occurred; quote the operation id when reporting it".to_owned()
            }
            _ if matches!(self, ClusterLogError::Store(StoreError::OverBudget { .. })) => format!(
                "{self}: narrow it to one cluster (cluster_uuid or cluster_id), a time window (timestamp >= '...'), or order by timestamp or created_at"
            ),
            ErrorCode::Unavailable if matches!(self, ClusterLogError::Auth(_)) => {
                "The token cannot be checked now; retry the request".to_owned()
            }
            ErrorCode::Unavailable => {
                "The log store is temporarily unavailable; retry the request".to_owned()
            }
            _ => self.to_string(),
        }
    }
}
