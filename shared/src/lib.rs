//! The model crate every log-service function uses: the log models, DynamoDB access, request
//! parsing, the caller's identity, the error types and their mapping to each API's error body.
//! Nothing here knows which Lambda function it runs in; `functions/*` are thin adapters.

pub mod authorizer;
pub mod batch;
pub mod cluster_logs;
pub mod dynamo;
pub mod http;
pub mod identity;
pub mod oidc;
pub mod partition;
pub mod retention;
pub mod routes;
pub mod sqs;
pub mod storable;
pub mod system_logs;
pub mod telemetry;
pub mod timestamp;
pub mod waldur;
pub mod web;

#[cfg(test)]
mod properties;
