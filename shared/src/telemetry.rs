//! Structured JSON logs to stdout, which Lambda ships to CloudWatch Logs.

use tracing_subscriber::EnvFilter;

/// Installs the JSON subscriber once per process; `RUST_LOG` sets the level (default `info`).
/// Request bodies and headers are never logged by this crate, so tokens cannot leak through it.
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    // A second call (tests) keeps the first subscriber; that is not an error worth failing on.
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(false)
        .with_ansi(false)
        .without_time() // CloudWatch stamps every line itself
        .try_init();
}
