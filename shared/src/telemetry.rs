//! Structured JSON logs to stdout, which Lambda ships to CloudWatch Logs.
//!
//! What keeps secrets out of them: this crate never logs request bodies, headers or tokens; reasons
//! that quote what a caller sent pass through [`redact`]; and lambda_runtime, which logs every raw
//! event (Authorization header included) at TRACE, is held at WARN whatever `RUST_LOG` says.
//! tests/security.rs captures the output of requests and deliveries full of secrets and checks.

use tracing::Subscriber;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

/// Installs the JSON subscriber once per process; `RUST_LOG` sets the level (default `info`).
pub fn init() {
    let level = std::env::var("RUST_LOG").unwrap_or_default();
    // A second call (tests) keeps the first subscriber; that is not an error worth failing on.
    let _ = tracing::subscriber::set_global_default(subscriber(&level, std::io::stdout));
}

/// The subscriber every function logs through, writing to `writer`, at `level` (`RUST_LOG` syntax).
pub fn subscriber<W>(level: &str, writer: W) -> impl Subscriber + Send + Sync
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter(level))
        .with_current_span(false)
        .with_ansi(false)
        .without_time() // CloudWatch stamps every line itself
        .with_writer(writer)
        .finish()
}

fn filter(level: &str) -> EnvFilter {
    let filter = EnvFilter::try_new(level)
        .ok()
        .filter(|_| !level.trim().is_empty())
        .unwrap_or_else(|| EnvFilter::new("info"));
    match "lambda_runtime::layers::api_response=warn".parse() {
        Ok(cap) => filter.add_directive(cap),
        Err(_) => filter,
    }
}

/// Text that quotes what a caller or a queue sent, fit for the logs: secret-looking values
/// (`password=...`, `token: ...`) become `***`, and it is cut at 500 characters.
pub fn redact(text: &str) -> String {
    crate::system_logs::scrub::truncate(&crate::system_logs::scrub(text), 500)
}
