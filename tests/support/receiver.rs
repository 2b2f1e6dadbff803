//! A real HTTP receiver for alert sinks: records every request (path, headers, body, when) and
//! answers each as scripted: a status, 429 with Retry-After, or a hang (never answers).

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::http::{Response, StatusCode};

/// How the receiver answers one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reply {
    Status(u16),
    /// 429 with `Retry-After: N` (seconds).
    RetryAfter(u64),
    /// Never answers (the client's timeout ends it).
    Hang,
}

/// One request as received.
#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    pub headers: HashMap<String, String>,
    pub body: String,
    pub at: Instant,
    /// The status answered; None for a hang.
    pub answered: Option<u16>,
}

impl Received {
    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).map(String::as_str).unwrap_or("")
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).expect("a JSON body")
    }
    pub fn ok(&self) -> bool {
        self.answered.is_some_and(|s| (200..300).contains(&s))
    }
}

#[derive(Default)]
struct Script {
    next: VecDeque<Reply>,
    otherwise: Option<Reply>,
    delay: Duration,
    log: Vec<Received>,
}

/// A receiver on 127.0.0.1 with an ephemeral port; 200 unless told otherwise.
#[derive(Clone)]
pub struct Receiver {
    addr: SocketAddr,
    script: Arc<Mutex<Script>>,
}

impl Receiver {
    pub async fn start() -> Receiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let script = Arc::new(Mutex::new(Script::default()));
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(script.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Receiver { addr, script }
    }

    /// `http://127.0.0.1:PORT{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The next requests get these answers, in order; then the default.
    pub fn script(&self, replies: impl IntoIterator<Item = Reply>) {
        self.script.lock().unwrap().next.extend(replies);
    }

    /// The answer once the script is used up (200 when never set).
    pub fn otherwise(&self, reply: Reply) {
        self.script.lock().unwrap().otherwise = Some(reply);
    }

    /// Each answer waits this long first.
    pub fn delay(&self, delay: Duration) {
        self.script.lock().unwrap().delay = delay;
    }

    /// Every request so far, in arrival order.
    pub fn received(&self) -> Vec<Received> {
        self.script.lock().unwrap().log.clone()
    }

    /// The requests answered 2xx, in arrival order.
    pub fn delivered(&self) -> Vec<Received> {
        self.received().into_iter().filter(Received::ok).collect()
    }
}

async fn handle(State(script): State<Arc<Mutex<Script>>>, request: Request) -> Response<Body> {
    let at = Instant::now();
    let path = request.uri().to_string();
    let headers = request
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
        .collect();
    let body = to_bytes(request.into_body(), 1 << 20)
        .await
        .unwrap_or_default();
    let (reply, delay) = {
        let mut s = script.lock().unwrap();
        let reply = s
            .next
            .pop_front()
            .or(s.otherwise)
            .unwrap_or(Reply::Status(200));
        (reply, s.delay)
    };
    tokio::time::sleep(delay).await;
    let answered = match reply {
        Reply::Status(code) => Some(code),
        Reply::RetryAfter(_) => Some(429),
        Reply::Hang => None,
    };
    script.lock().unwrap().log.push(Received {
        path,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
        at,
        answered,
    });
    match reply {
        Reply::Hang => std::future::pending().await,
        Reply::RetryAfter(seconds) => Response::builder()
            .status(StatusCode::TOO_MANY_REQUESTS)
            .header("retry-after", seconds.to_string())
            .body(Body::empty())
            .unwrap(),
        Reply::Status(code) => Response::builder()
            .status(code)
            .body(Body::empty())
            .unwrap(),
    }
}
