//! Stand-ins for the identity services outside the project, on 127.0.0.1: Waldur's
//! `GET /api/users/me/` (which only a real Waldur can answer for a real token) and an OIDC
//! issuer's discovery document and keys. They stand for external services only; the log store in
//! every test stays the real DynamoDB Local.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// A Waldur API token of a staff user, as Waldur mints them (40 hex digits).
pub const STAFF_TOKEN: &str = "5f1d6e0c1b2a39485766f5e4d3c2b1a098877665";
/// A support user's token: support users also read the platform's logs in Waldur.
pub const SUPPORT_TOKEN: &str = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678";
/// A plain user's token: a real Waldur user who is neither staff nor support.
pub const USER_TOKEN: &str = "0123456789abcdef0123456789abcdef01234567";
/// A token Waldur answers only after longer than the lookup may take.
pub const SLOW_TOKEN: &str = "51075107510751075107510751075107510751ab";
/// A token Waldur answers with a 502 (its own upstream is down).
pub const BROKEN_TOKEN: &str = "b40ce2b40ce2b40ce2b40ce2b40ce2b40ce2b40c";

/// One stand-in server: its base URL and how many requests it answered, by path.
pub struct StandIn {
    pub url: String,
    requests: Arc<std::sync::Mutex<HashMap<String, usize>>>,
    total: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl StandIn {
    /// Requests answered so far.
    pub fn requests(&self) -> usize {
        self.total.load(Ordering::SeqCst)
    }

    /// Requests answered so far for `path`.
    pub fn requests_for(&self, path: &str) -> usize {
        self.requests
            .lock()
            .unwrap()
            .get(path)
            .copied()
            .unwrap_or_default()
    }
}

impl Drop for StandIn {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// What a stand-in answers: status, JSON body, and how long it waits first.
struct Answer {
    status: u16,
    body: Value,
    delay: Duration,
}

fn answer(status: u16, body: Value) -> Answer {
    Answer {
        status,
        body,
        delay: Duration::ZERO,
    }
}

/// Serves `route(path, authorization)` on a free port of 127.0.0.1, one request per connection.
async fn serve(route: impl Fn(&str, Option<&str>) -> Answer + Send + Sync + 'static) -> StandIn {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let requests = Arc::new(std::sync::Mutex::new(HashMap::new()));
    let total = Arc::new(AtomicUsize::new(0));
    let route = Arc::new(route);
    let (counted, all) = (requests.clone(), total.clone());
    let task = tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let (route, counted, all) = (route.clone(), counted.clone(), all.clone());
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buffer = [0u8; 4096];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 65536 {
                    match socket.read(&mut buffer).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buffer[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&head).into_owned();
                let path = head
                    .lines()
                    .next()
                    .and_then(|line| line.split(' ').nth(1))
                    .unwrap_or("/")
                    .to_owned();
                let authorization = head.lines().find_map(|line| {
                    let (name, value) = line.split_once(':')?;
                    name.eq_ignore_ascii_case("authorization")
                        .then(|| value.trim().to_owned())
                });
                *counted.lock().unwrap().entry(path.clone()).or_insert(0) += 1;
                all.fetch_add(1, Ordering::SeqCst);
                let answer = route(&path, authorization.as_deref());
                tokio::time::sleep(answer.delay).await;
                let body = answer.body.to_string();
                let response = format!(
                    "HTTP/1.1 {} Stand-in\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    answer.status,
                    body.len()
                );
                let _ = socket.write_all(response.as_bytes()).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    StandIn {
        url,
        requests,
        total,
        task,
    }
}

fn waldur_user(username: &str, is_staff: bool, is_support: bool) -> Value {
    // The fields Waldur's UserSerializer returns that matter here, and a few that do not.
    json!({
        "url": format!("https://waldur.example.com/api/users/{username}-uuid/"),
        "uuid": format!("{username}-uuid"),
        "username": username,
        "full_name": format!("{username} Example"),
        "first_name": username,
        "last_name": "Example",
        "email": format!("{username}@example.com"),
        "is_staff": is_staff,
        "is_support": is_support,
        "is_active": true,
        "token_lifetime": 3600,
        "permissions": [],
    })
}

/// Waldur's `GET /api/users/me/`, for the tokens above; any other token is refused as Waldur does.
pub async fn waldur() -> StandIn {
    serve(|path, authorization| {
        if path != "/api/users/me/" {
            return answer(404, json!({"detail": "Not found."}));
        }
        let token = authorization.and_then(|value| value.strip_prefix("Token "));
        match token {
            Some(STAFF_TOKEN) => answer(200, waldur_user("staff", true, false)),
            Some(SUPPORT_TOKEN) => answer(200, waldur_user("support", false, true)),
            Some(USER_TOKEN) => answer(200, waldur_user("alice", false, false)),
            Some(SLOW_TOKEN) => Answer {
                delay: shared::waldur::LOOKUP_TIMEOUT + Duration::from_secs(2),
                ..answer(200, waldur_user("staff", true, false))
            },
            Some(BROKEN_TOKEN) => answer(502, json!({"detail": "Bad gateway"})),
            Some(_) => answer(401, json!({"detail": "Invalid token."})),
            None => answer(
                401,
                json!({"detail": "Authentication credentials were not provided."}),
            ),
        }
    })
    .await
}

/// The key id of the stand-in issuer's signing key (tests/fixtures/test-issuer-*).
pub const ISSUER_KEY_ID: &str = "test-issuer-1";
/// The audience the stand-in issuer's tokens are for.
pub const ISSUER_AUDIENCE: &str = "log-service";

/// An OIDC issuer: its discovery document and its JWKS (tests/fixtures/test-issuer-jwks.json).
pub async fn issuer() -> StandIn {
    let jwks: Value = serde_json::from_str(
        &std::fs::read_to_string(
            crate::workspace_root().join("tests/fixtures/test-issuer-jwks.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let base = Arc::new(std::sync::OnceLock::<String>::new());
    let known = base.clone();
    let stand_in = serve(move |path, _| match path {
        "/.well-known/openid-configuration" => {
            let base = known.get().cloned().unwrap_or_default();
            answer(
                200,
                json!({"issuer": base, "jwks_uri": format!("{base}/keys"), "id_token_signing_alg_values_supported": ["RS256"]}),
            )
        }
        "/keys" => answer(200, jwks.clone()),
        _ => answer(404, json!({"error": "not found"})),
    })
    .await;
    base.set(stand_in.url.clone()).unwrap();
    stand_in
}

/// A token the stand-in issuer signed, with `claims` added to `iss`, `aud`, `sub` and `exp`.
pub fn issuer_token(issuer: &StandIn, claims: Value) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let mut all = json!({"iss": issuer.url, "aud": ISSUER_AUDIENCE, "sub": "sub-jdoe", "iat": now, "exp": now + 600});
    for (name, value) in claims.as_object().unwrap() {
        all[name] = value.clone();
    }
    // PKCS#1 PEM; its base64 is the DER jsonwebtoken signs with (no PEM parser in the build).
    let pem =
        std::fs::read_to_string(crate::workspace_root().join("tests/fixtures/test-issuer-key.pem"))
            .unwrap();
    let der: String = pem
        .lines()
        .filter(|line| !line.starts_with("-----"))
        .collect();
    let der = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, der).unwrap();
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    header.kid = Some(ISSUER_KEY_ID.to_owned());
    jsonwebtoken::encode(
        &header,
        &all,
        &jsonwebtoken::EncodingKey::from_rsa_der(&der),
    )
    .unwrap()
}

/// A base URL where nothing listens: a port that was free a moment ago.
pub fn nowhere() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    format!("http://{}", listener.local_addr().unwrap())
}
