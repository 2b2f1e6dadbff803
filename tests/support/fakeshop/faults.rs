//! Fault injection: configuration (`Faults`, `Fault`), scripted queues, the Cloudflare-style
//! lockout, and turning a chosen fault into a response (or a dropped connection).

use std::collections::VecDeque;
use std::time::{Duration, Instant, SystemTime};

use axum::body::{Body, Bytes};
use axum::http::{header, Response, StatusCode};
use rand::{rngs::StdRng, Rng, SeedableRng};

use super::payloads;
use super::server::{respond, ConnCtx, Shared, JSON};

/// How a 429 announces its Retry-After.
#[derive(Clone, Debug, PartialEq)]
pub enum RetryAfter {
    None,
    /// `Retry-After: N` (delta-seconds).
    Seconds(u64),
    /// `Retry-After: <HTTP-date N seconds from now>`.
    HttpDate(u64),
}

/// One kind of misbehaviour.
#[derive(Clone, Debug, PartialEq)]
pub enum Fault {
    TooManyRequests(RetryAfter),
    /// Any status with a small body (500/502/503/504…).
    Status(u16),
    /// Full Content-Length declared, half the real body sent, then the connection closes.
    TruncatedClose,
    /// Half the real body with a matching Content-Length (invalid JSON, clean HTTP).
    TruncatedShort,
    /// Never answers; the connection is dropped after `Faults::hang_max` or at shutdown.
    Hang,
    /// Starts the Cloudflare-style lockout (see `Faults::lockout_silence`).
    Lockout,
    Block430,
    Password401,
    PasswordRedirect,
    /// 403 Cloudflare challenge page.
    Challenge403,
    Html200,
    NotFound404,
    /// `Content-Encoding: gzip` inflating to this many bytes.
    GzipBomb(usize),
    /// A valid JSON body of at least this many bytes.
    Oversized(usize),
    InvalidUtf8,
    DeepNesting(usize),
    /// The first product of the page has no `id`.
    MissingId,
    /// The first product of the answer (`products[0]`, or `product` for a single product; the
    /// first collection of /collections.json) is edited by this function: valid JSON, any shape.
    EditFirst(Edit),
    /// 302 to an arbitrary Location.
    Redirect(String),
    /// Drops the connection without any response.
    Reset,
}

/// An edit applied by `Fault::EditFirst`.
#[derive(Clone, Copy)]
pub struct Edit(pub fn(&mut serde_json::Value));

impl std::fmt::Debug for Edit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Edit")
    }
}

/// Edits are functions: no two are taken to be equal.
impl PartialEq for Edit {
    fn eq(&self, _: &Edit) -> bool {
        false
    }
}

/// What to do with the 2nd+ request on one keep-alive connection.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ReuseRefusal {
    /// Drop the connection without answering.
    Close,
    /// Answer 400 with `Connection: close`.
    BadRequest,
}

/// Fault configuration. `Faults::default()` injects nothing.
#[derive(Clone, Debug)]
pub struct Faults {
    pub seed: u64,
    /// Probabilistic faults: for each request one uniform draw walks these cumulatively.
    pub random: Vec<(f64, Fault)>,
    /// Path prefixes the random faults apply to; empty = every path.
    pub random_paths: Vec<String>,
    pub refuse_reused: Option<ReuseRefusal>,
    /// Silence needed to lift a lockout; every request during it restarts the clock.
    pub lockout_silence: Duration,
    pub lockout_retry_after: u64,
    /// How long a hung request is held before its connection is dropped.
    pub hang_max: Duration,
    /// More simultaneous hung requests than this are dropped at once.
    pub max_hung: usize,
}

impl Default for Faults {
    fn default() -> Self {
        Faults {
            seed: 0,
            random: Vec::new(),
            random_paths: Vec::new(),
            refuse_reused: None,
            lockout_silence: Duration::from_secs(100),
            lockout_retry_after: 60,
            hang_max: Duration::from_secs(60),
            max_hung: 64,
        }
    }
}

impl Faults {
    pub fn seeded(seed: u64) -> Self {
        Faults {
            seed,
            ..Default::default()
        }
    }
    /// Adds a fault hitting each request with probability `p`.
    pub fn with(mut self, p: f64, f: Fault) -> Self {
        self.random.push((p, f));
        self
    }
    /// Every request gets `f` (a persistent mode: password store, HTML site, 430 block…).
    pub fn always(f: Fault) -> Self {
        Faults::default().with(1.0, f)
    }
    pub fn only_paths(mut self, prefixes: &[&str]) -> Self {
        self.random_paths = prefixes.iter().map(|s| s.to_string()).collect();
        self
    }
    pub fn refuse_reused(mut self, how: ReuseRefusal) -> Self {
        self.refuse_reused = Some(how);
        self
    }
    pub fn lockout_silence(mut self, d: Duration) -> Self {
        self.lockout_silence = d;
        self
    }
}

pub struct FaultState {
    pub cfg: Faults,
    rng: StdRng,
    pub script: VecDeque<(String, usize, Fault)>,
    /// Time of the last request while locked out.
    pub lockout: Option<Instant>,
    pub hung: usize,
}

impl FaultState {
    pub fn new(cfg: Faults) -> Self {
        FaultState {
            rng: StdRng::seed_from_u64(cfg.seed),
            cfg,
            script: VecDeque::new(),
            lockout: None,
            hung: 0,
        }
    }
    pub fn set(&mut self, cfg: Faults) {
        self.rng = StdRng::seed_from_u64(cfg.seed);
        self.cfg = cfg;
    }
}

/// The decision for one request.
pub enum Action {
    Fault(Fault),
    LockedOut,
    Refused(ReuseRefusal),
}

impl Action {
    pub fn name(&self) -> String {
        match self {
            Action::Fault(f) => format!("{f:?}"),
            Action::LockedOut => "LockedOut".into(),
            Action::Refused(r) => format!("RefuseReused({r:?})"),
        }
    }
}

/// Chooses the fault (if any) for a request. Order: lockout, reused-connection refusal,
/// scripted queue, random faults. `/password` is never faulted.
pub fn pick(sh: &Shared, path: &str, ctx: ConnCtx) -> Option<Action> {
    if path == "/password" {
        return None;
    }
    let mut st = sh.faults.lock().unwrap();
    let now = Instant::now();
    if let Some(last) = st.lockout {
        if now.duration_since(last) < st.cfg.lockout_silence {
            st.lockout = Some(now);
            return Some(Action::LockedOut);
        }
        st.lockout = None;
    }
    if let (Some(how), true) = (st.cfg.refuse_reused, ctx.seq >= 2) {
        return Some(Action::Refused(how));
    }
    if let Some(i) = st
        .script
        .iter()
        .position(|(p, _, _)| path.starts_with(p.as_str()))
    {
        let f = st.script[i].2.clone();
        st.script[i].1 -= 1;
        if st.script[i].1 == 0 {
            st.script.remove(i);
        }
        return Some(start(&mut st, f, now));
    }
    let applies = st.cfg.random_paths.is_empty()
        || st
            .cfg
            .random_paths
            .iter()
            .any(|p| path.starts_with(p.as_str()));
    if st.cfg.random.is_empty() || !applies {
        return None;
    }
    let mut u: f64 = st.rng.random();
    let mut chosen = None;
    for (p, f) in &st.cfg.random {
        if u < *p {
            chosen = Some(f.clone());
            break;
        }
        u -= p;
    }
    chosen.map(|f| start(&mut st, f, now))
}

fn start(st: &mut FaultState, f: Fault, now: Instant) -> Action {
    if f == Fault::Lockout {
        st.lockout = Some(now);
    }
    Action::Fault(f)
}

/// Result of performing a fault: a response, or `None` to drop the connection unanswered.
pub type Outcome = Option<Response<Body>>;

fn text(status: u16, ctype: &str, body: impl Into<Body>) -> Response<Body> {
    respond(StatusCode::from_u16(status).unwrap(), ctype, body)
}

const HTML: &str = "text/html; charset=utf-8";
const TEXT: &str = "text/plain; charset=utf-8";

fn lockout_response(retry: u64) -> Response<Body> {
    let mut r = text(429, TEXT, "error code: 1015");
    r.headers_mut().insert(header::RETRY_AFTER, retry.into());
    r
}

async fn real_body(resp: Response<Body>) -> (StatusCode, Bytes) {
    let status = resp.status();
    let b = axum::body::to_bytes(resp.into_body(), usize::MAX).await;
    (status, b.unwrap_or_default())
}

/// Performs the action; `real` computes the undisturbed response when a fault needs it.
pub async fn perform(
    sh: &Shared,
    action: Action,
    host: &str,
    real: impl FnOnce() -> Response<Body>,
) -> Outcome {
    let retry = sh.faults.lock().unwrap().cfg.lockout_retry_after;
    let f = match action {
        Action::LockedOut => return Some(lockout_response(retry)),
        Action::Refused(ReuseRefusal::Close) => return None,
        Action::Refused(ReuseRefusal::BadRequest) => {
            let mut r = text(
                400,
                HTML,
                "<html><body><h1>400 Bad Request</h1></body></html>",
            );
            r.headers_mut()
                .insert(header::CONNECTION, "close".parse().unwrap());
            return Some(r);
        }
        Action::Fault(f) => f,
    };
    Some(match f {
        Fault::TooManyRequests(ra) => {
            let mut r = text(429, JSON, r#"{"errors":"Too Many Requests"}"#);
            let v = match ra {
                RetryAfter::None => None,
                RetryAfter::Seconds(s) => Some(s.to_string()),
                RetryAfter::HttpDate(s) => Some(httpdate::fmt_http_date(
                    SystemTime::now() + Duration::from_secs(s),
                )),
            };
            if let Some(v) = v {
                r.headers_mut()
                    .insert(header::RETRY_AFTER, v.parse().unwrap());
            }
            r
        }
        Fault::Status(500) => text(500, JSON, r#"{"errors":"Internal Server Error"}"#),
        Fault::Status(s) => text(s, HTML, format!("<html><body><h1>{s}</h1></body></html>")),
        Fault::Lockout => lockout_response(retry),
        Fault::Block430 => text(
            430,
            HTML,
            "<html><body>Shopify Security Rejection</body></html>",
        ),
        Fault::Password401 => text(
            401,
            HTML,
            "<html><body>Enter store using password</body></html>",
        ),
        Fault::PasswordRedirect => redirect(&format!("http://{host}/password")),
        Fault::Redirect(loc) => redirect(&loc),
        Fault::Challenge403 => {
            let mut r = text(403, HTML, "<!DOCTYPE html><html><head><title>Just a moment...</title></head><body></body></html>");
            r.headers_mut()
                .insert("cf-mitigated", "challenge".parse().unwrap());
            r
        }
        Fault::Html200 => text(
            200,
            HTML,
            "<!DOCTYPE html><html><body><h1>Welcome</h1></body></html>",
        ),
        Fault::NotFound404 => text(
            404,
            HTML,
            "<html><body><h1>404 Page Not Found</h1></body></html>",
        ),
        Fault::DeepNesting(d) => text(200, JSON, payloads::deep_nesting(d)),
        Fault::GzipBomb(n) => {
            let mut r = text(200, JSON, payloads::gzip_bomb(n));
            r.headers_mut()
                .insert(header::CONTENT_ENCODING, "gzip".parse().unwrap());
            r
        }
        Fault::Oversized(n) => {
            let (_, b) = real_body(real()).await;
            let v: serde_json::Value = serde_json::from_slice(&b).unwrap_or_default();
            let p = v["products"]
                .get(0)
                .map_or("{}".to_string(), |p| p.to_string());
            text(200, JSON, payloads::oversized(p, n))
        }
        Fault::InvalidUtf8 => {
            let (s, b) = real_body(real()).await;
            text(s.as_u16(), JSON, payloads::invalid_utf8(&b))
        }
        Fault::MissingId => {
            let (s, b) = real_body(real()).await;
            let mut v: serde_json::Value = serde_json::from_slice(&b).unwrap_or_default();
            if let Some(p) = v["products"].get_mut(0).and_then(|p| p.as_object_mut()) {
                p.remove("id");
            }
            text(s.as_u16(), JSON, v.to_string())
        }
        Fault::EditFirst(Edit(edit)) => {
            let (s, b) = real_body(real()).await;
            let mut v: serde_json::Value = serde_json::from_slice(&b).unwrap_or_default();
            if let Some(p) = v.get_mut("product") {
                edit(p);
            } else if let Some(c) = v.get_mut("collections").and_then(|c| c.get_mut(0)) {
                edit(c);
            } else if let Some(p) = v["products"].get_mut(0) {
                edit(p);
            }
            text(s.as_u16(), JSON, v.to_string())
        }
        Fault::TruncatedShort => {
            let (s, b) = real_body(real()).await;
            text(s.as_u16(), JSON, b.slice(..b.len() / 2))
        }
        Fault::TruncatedClose => {
            let (s, b) = real_body(real()).await;
            let mut r = text(s.as_u16(), JSON, payloads::cut_then_close(b.clone()));
            r.headers_mut()
                .insert(header::CONTENT_LENGTH, b.len().into());
            r
        }
        Fault::Reset => return None,
        Fault::Hang => return hang(sh).await,
    })
}

fn redirect(loc: &str) -> Response<Body> {
    let mut r = text(
        302,
        HTML,
        "<html><body>You are being redirected.</body></html>",
    );
    r.headers_mut().insert(
        header::LOCATION,
        loc.parse().unwrap_or(header::HeaderValue::from_static("/")),
    );
    r
}

async fn hang(sh: &Shared) -> Outcome {
    let (max, too_many) = {
        let mut st = sh.faults.lock().unwrap();
        st.hung += 1;
        (st.cfg.hang_max, st.hung > st.cfg.max_hung)
    };
    let _guard = HungGuard(sh);
    if !too_many {
        let mut stop = sh.stop.subscribe();
        tokio::select! {
            _ = tokio::time::sleep(max) => {}
            _ = stop.wait_for(|s| *s) => {}
        }
    }
    None
}

/// Decrements the hung counter even when hyper drops the request future.
struct HungGuard<'a>(&'a Shared);

impl Drop for HungGuard<'_> {
    fn drop(&mut self) {
        self.0.faults.lock().unwrap().hung -= 1;
    }
}
