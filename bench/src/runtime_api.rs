//! A Lambda Runtime API emulator: the three endpoints a function's runtime client calls
//! (`invocation/next`, `invocation/{id}/response`, `invocation/{id}/error`, plus `init/error`),
//! on 127.0.0.1. The bench hands it events and times what comes back.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::{Mutex as AsyncMutex, mpsc, oneshot};

const PREFIX: &str = "/2018-06-01/runtime";

/// What a function answered to one event.
#[derive(Debug)]
pub struct Answer {
    pub ok: bool,
    pub body: Bytes,
    pub at: Instant,
}

struct Invocation {
    id: String,
    event: Bytes,
    answer: oneshot::Sender<Answer>,
}

struct Shared {
    queue: AsyncMutex<mpsc::Receiver<Invocation>>,
    pending: Mutex<HashMap<String, oneshot::Sender<Answer>>>,
    /// When the function first asked for an event: the end of its init.
    first_poll: Mutex<Option<Instant>>,
    polled: tokio::sync::Notify,
    init_error: Mutex<Option<String>>,
}

/// One emulated runtime endpoint, serving one function process at a time.
pub struct RuntimeApi {
    pub address: SocketAddr,
    shared: Arc<Shared>,
    sender: mpsc::Sender<Invocation>,
    next_id: std::sync::atomic::AtomicU64,
}

impl RuntimeApi {
    pub async fn start() -> std::io::Result<RuntimeApi> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        let (sender, receiver) = mpsc::channel(1);
        let shared = Arc::new(Shared {
            queue: AsyncMutex::new(receiver),
            pending: Mutex::new(HashMap::new()),
            first_poll: Mutex::new(None),
            polled: tokio::sync::Notify::new(),
            init_error: Mutex::new(None),
        });
        let serving = shared.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let shared = serving.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |request| route(shared.clone(), request));
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(RuntimeApi {
            address,
            shared,
            sender,
            next_id: Default::default(),
        })
    }

    /// Waits until a process first asks for an event; when it did.
    pub async fn first_poll(&self) -> Instant {
        loop {
            let notified = self.shared.polled.notified();
            if let Some(at) = self.shared.first_poll.lock().ok().and_then(|f| *f) {
                return at;
            }
            notified.await;
        }
    }

    pub fn init_error(&self) -> Option<String> {
        self.shared.init_error.lock().ok().and_then(|e| e.clone())
    }

    /// Hands `event` to the function and waits for its answer.
    pub async fn invoke(&self, event: Bytes) -> Option<Answer> {
        let id = format!(
            "bench-{}",
            self.next_id
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        );
        let (answer, answered) = oneshot::channel();
        self.sender
            .send(Invocation { id, event, answer })
            .await
            .ok()?;
        answered.await.ok()
    }
}

fn reply(status: StatusCode, body: Bytes) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    response
}

async fn route(
    shared: Arc<Shared>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = request.uri().path().to_owned();
    let Some(rest) = path.strip_prefix(PREFIX) else {
        return Ok(reply(StatusCode::NOT_FOUND, Bytes::new()));
    };
    if rest == "/invocation/next" {
        if let Ok(mut first) = shared.first_poll.lock() {
            first.get_or_insert_with(Instant::now);
        }
        shared.polled.notify_waiters();
        let next = shared.queue.lock().await.recv().await;
        let Some(invocation) = next else {
            return Ok(reply(StatusCode::GONE, Bytes::new()));
        };
        if let Ok(mut pending) = shared.pending.lock() {
            pending.insert(invocation.id.clone(), invocation.answer);
        }
        let deadline = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() + 900_000)
            .unwrap_or(0);
        let mut response = reply(StatusCode::OK, invocation.event);
        let headers = response.headers_mut();
        for (name, value) in [
            ("lambda-runtime-aws-request-id", invocation.id),
            ("lambda-runtime-deadline-ms", deadline.to_string()),
            (
                "lambda-runtime-invoked-function-arn",
                "arn:aws:lambda:eu-west-1:123456789012:function:bench".to_owned(),
            ),
            (
                "lambda-runtime-trace-id",
                "Root=1-00000000-000000000000000000000000;Sampled=0".to_owned(),
            ),
        ] {
            if let Ok(value) = value.parse() {
                headers.insert(name, value);
            }
        }
        return Ok(response);
    }
    let body = request
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    if rest == "/init/error" {
        if let Ok(mut error) = shared.init_error.lock() {
            *error = Some(String::from_utf8_lossy(&body).into_owned());
        }
        return Ok(reply(StatusCode::ACCEPTED, Bytes::new()));
    }
    let outcome = rest
        .strip_prefix("/invocation/")
        .and_then(|rest| rest.split_once('/'));
    match outcome {
        Some((id, kind @ ("response" | "error"))) => {
            let at = Instant::now();
            let waiting = shared.pending.lock().ok().and_then(|mut p| p.remove(id));
            if let Some(answer) = waiting {
                let _ = answer.send(Answer {
                    ok: kind == "response",
                    body,
                    at,
                });
            }
            Ok(reply(StatusCode::ACCEPTED, Bytes::new()))
        }
        _ => Ok(reply(StatusCode::NOT_FOUND, Bytes::new())),
    }
}
