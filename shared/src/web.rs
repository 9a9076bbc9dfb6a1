//! Outbound HTTPS GETs to identity services outside the project (Waldur's `/api/users/me/`, an
//! OIDC issuer's discovery document and keys): rustls on ring, the platform's trusted roots, a
//! hard time limit and a cap on what is read, so a slow or hostile peer costs a bounded wait.

use std::sync::OnceLock;
use std::time::Duration;

use aws_smithy_http_client::Connector;
use aws_smithy_runtime_api::client::http::HttpConnector;
use aws_smithy_runtime_api::http::Request as SmithyRequest;
use aws_smithy_types::body::SdkBody;
use http_body_util::{BodyExt, Limited};
use lambda_http::http;

/// The most of an identity service's answer read; a user or a key set is a few KB.
pub const ANSWER_MAX_BYTES: usize = 256 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum WebError {
    #[error("the URL {0} is not an https URL (http is allowed to loopback addresses only)")]
    InsecureUrl(String),
    #[error("{0}: no answer within {1:?}")]
    Timeout(String, Duration),
    #[error("{0}: {1}")]
    Unreachable(String, String),
}

/// One answer: its status and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebAnswer {
    pub status: u16,
    pub body: Vec<u8>,
}

/// Outbound GETs with a time limit. They go through the SDK's own HTTP connector (rustls on ring),
/// with the platform's trusted roots instead of DynamoDB's: a second hyper client of other types
/// made every binary 0.6 MB larger.
#[derive(Debug, Clone)]
pub struct WebClient {
    timeout: Duration,
}

/// The one outbound connector of a process, built on first use: loading the platform's roots
/// takes about 2 ms, which the functions that never call out must not pay at cold start.
static CONNECTOR: OnceLock<Connector> = OnceLock::new();

fn connector() -> &'static Connector {
    CONNECTOR.get_or_init(|| {
        use aws_smithy_http_client::tls::{
            self, TlsContext, TrustStore, rustls_provider::CryptoMode,
        };
        let context = TlsContext::builder()
            .with_trust_store(TrustStore::default())
            .build()
            .unwrap_or_default();
        // No idle connections kept: Lambda freezes a container between invocations, and a
        // connection the peer closed meanwhile fails the next lookup. Lookups are rare (cached).
        Connector::builder()
            .pool_max_idle_per_host(0)
            .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
            .tls_context(context)
            .build()
    })
}

/// Whether `url` may carry a credential: https, or http to this machine (tests, `make dev`).
pub fn check_url(url: &str) -> Result<url::Url, WebError> {
    let parsed = url::Url::parse(url).map_err(|_| WebError::InsecureUrl(url.to_owned()))?;
    let loopback = match parsed.host() {
        Some(url::Host::Domain(name)) => name == "localhost",
        Some(url::Host::Ipv4(address)) => address.is_loopback(),
        Some(url::Host::Ipv6(address)) => address.is_loopback(),
        None => false,
    };
    match parsed.scheme() {
        "https" => Ok(parsed),
        "http" if loopback => Ok(parsed),
        _ => Err(WebError::InsecureUrl(url.to_owned())),
    }
}

impl WebClient {
    pub fn new(timeout: Duration) -> Self {
        Self { timeout }
    }

    /// GETs `url` with `headers`; the whole exchange, body included, within the client's timeout.
    pub async fn get(
        &self,
        url: &url::Url,
        headers: &[(&str, &str)],
    ) -> Result<WebAnswer, WebError> {
        let unreachable = |error: String| WebError::Unreachable(url.to_string(), error);
        let mut request = http::Request::get(url.as_str());
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request
            .body(SdkBody::empty())
            .map_err(|error| unreachable(error.to_string()))
            .and_then(|request| {
                SmithyRequest::try_from(request).map_err(|error| unreachable(error.to_string()))
            })?;
        let exchange = async {
            let response = connector()
                .call(request)
                .await
                .map_err(|error| unreachable(error.to_string()))?;
            let status = response.status().as_u16();
            let body = Limited::new(response.into_body(), ANSWER_MAX_BYTES)
                .collect()
                .await
                .map_err(|error| unreachable(error.to_string()))?
                .to_bytes()
                .to_vec();
            Ok(WebAnswer { status, body })
        };
        tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| WebError::Timeout(url.to_string(), self.timeout))?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_travel_over_https_or_to_this_machine_only() {
        assert!(check_url("https://waldur.example.com").is_ok());
        assert!(check_url("http://127.0.0.1:8080").is_ok());
        assert!(check_url("http://localhost:8080/").is_ok());
        assert!(check_url("http://[::1]:8080/").is_ok());
        assert!(check_url("http://waldur.example.com").is_err());
        assert!(check_url("ftp://waldur.example.com").is_err());
        assert!(check_url("waldur.example.com").is_err());
    }
}
