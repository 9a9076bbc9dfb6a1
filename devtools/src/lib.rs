//! Local-only tools. None of this is deployed: the Lambda functions never link it.
//!
//! - [`template`]: the DynamoDB tables declared in template.yaml, created on DynamoDB Local from
//!   those very definitions (the single source of truth for keys and indexes).
//! - [`cloudwatch`]: CloudWatch Logs subscription events, encoded as CloudWatch sends them.
//! - [`local_token`]: tokens for the local identity mechanism (see `shared::identity`).

pub mod capacity;
pub mod cloudwatch;
pub mod local_token;
pub mod reads;
pub mod seed;
pub mod template;
