//! CloudWatch Logs subscription events as CloudWatch sends them, for the seed and the tests.
//!
//! `awslogs.data` is the JSON of the delivery, gzipped, then base64 with padding. We encode it here
//! rather than with aws_lambda_events' `Serialize`: that one writes base64 without padding, which
//! its own (and CloudWatch's) decoder rejects whenever the length is not a multiple of three.

use std::io::Write;

use aws_lambda_events::event::cloudwatch_logs::LogData;
use base64::Engine;
use serde_json::{Value, json};

/// The event a subscription delivers for `data`.
pub fn subscription_event(data: &LogData) -> std::io::Result<Value> {
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gzip.write_all(&serde_json::to_vec(data)?)?;
    let encoded = base64::engine::general_purpose::STANDARD.encode(gzip.finish()?);
    Ok(json!({ "awslogs": { "data": encoded } }))
}
