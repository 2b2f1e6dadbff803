//! HTTP serving: accept loop (hyper over tokio, per-connection tracking), routing, handlers,
//! request log and the test hooks (callbacks and gates) run before each response.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Instant, SystemTime};

use axum::body::Body;
use axum::http::{header, Request, Response, StatusCode};
use chrono::FixedOffset;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use super::catalog::{fmt_ts, Catalog, Product};
use super::faults::{self, FaultState};
use super::shapes;
use super::RequestRecord;

pub type Hook = Arc<dyn Fn(&str, usize) + Send + Sync>;
type CollCache = HashMap<String, (u64, Arc<Vec<Arc<Product>>>)>;

pub struct GateSlot {
    pub path: String,
    pub countdown: usize,
    pub reached: watch::Sender<bool>,
    pub release: watch::Receiver<bool>,
}

/// Everything the server and the `FakeShop` handle share.
pub struct Shared {
    pub cat: RwLock<Catalog>,
    pub log: Mutex<Vec<RequestRecord>>,
    pub total: AtomicUsize,
    pub hook: RwLock<Option<Hook>>,
    pub gates: Mutex<Vec<GateSlot>>,
    pub clock: AtomicI64,
    pub coll_cache: Mutex<CollCache>,
    pub faults: Mutex<FaultState>,
    pub stop: watch::Sender<bool>,
    /// Requests being handled now, and the most ever handled at once.
    pub in_flight: AtomicUsize,
    pub max_in_flight: AtomicUsize,
}

/// Counts one request as in flight from its arrival until its response (or abort).
struct InFlight<'a>(&'a Shared);

impl<'a> InFlight<'a> {
    fn enter(sh: &'a Shared) -> InFlight<'a> {
        let now = sh.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        sh.max_in_flight.fetch_max(now, Ordering::SeqCst);
        InFlight(sh)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Returned to hyper to drop a connection without answering.
#[derive(Debug)]
pub struct Abort;

impl std::fmt::Display for Abort {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by fault injection")
    }
}

impl std::error::Error for Abort {}

/// Per-request connection facts.
#[derive(Clone, Copy, Debug)]
pub struct ConnCtx {
    pub peer: SocketAddr,
    pub conn_id: u64,
    /// 1-based number of this request on its connection (2+ means a reused connection).
    pub seq: usize,
}

impl Shared {
    /// The volatile `updated_at`: now at -04:00, strictly increasing between responses
    /// (at most 5 s ahead of the clock under heavy load).
    pub fn volatile_now(&self) -> String {
        let now = chrono::Utc::now().timestamp();
        let mut last = self.clock.load(Ordering::SeqCst);
        loop {
            let next = (last + 1).max(now).min(now + 5);
            match self
                .clock
                .compare_exchange(last, next, Ordering::SeqCst, Ordering::SeqCst)
            {
                Ok(_) => return fmt_ts(next, FixedOffset::west_opt(4 * 3600).unwrap()),
                Err(cur) => last = cur,
            }
        }
    }

    pub fn record(&self, rec: RequestRecord) {
        self.log.lock().unwrap().push(rec);
    }

    async fn run_hooks(&self, path: &str, path_q: &str, n: usize) {
        let hook = self.hook.read().unwrap().clone();
        if let Some(h) = hook {
            h(path_q, n);
        }
        let hit = {
            let mut gates = self.gates.lock().unwrap();
            let mut hit = None;
            for (i, g) in gates.iter_mut().enumerate() {
                let prefix = g.path.strip_suffix('*');
                if g.path == path || prefix.is_some_and(|prefix| path.starts_with(prefix)) {
                    g.countdown -= 1;
                    if g.countdown == 0 && hit.is_none() {
                        hit = Some(i);
                    }
                }
            }
            hit.map(|i| gates.remove(i))
        };
        if let Some(g) = hit {
            let _ = g.reached.send(true);
            let mut rel = g.release;
            let _ = rel.wait_for(|r| *r).await;
        }
    }

    fn collection_products(&self, cat: &Catalog, handle: &str) -> Option<Arc<Vec<Arc<Product>>>> {
        let c = cat.collections.iter().find(|c| c.handle == handle)?;
        let mut cache = self.coll_cache.lock().unwrap();
        if let Some((v, list)) = cache.get(handle) {
            if *v == cat.version {
                return Some(list.clone());
            }
        }
        let list = Arc::new(cat.collection_products(c));
        cache.insert(handle.to_string(), (cat.version, list.clone()));
        Some(list)
    }
}

pub async fn run(sh: Arc<Shared>, listener: TcpListener) {
    let mut stop = sh.stop.subscribe();
    let mut conn_id = 0u64;
    loop {
        tokio::select! {
            r = listener.accept() => {
                let Ok((stream, peer)) = r else { continue };
                conn_id += 1;
                tokio::spawn(serve_conn(sh.clone(), stream, peer, conn_id));
            }
            _ = stop.changed() => break,
        }
    }
}

async fn serve_conn(sh: Arc<Shared>, stream: TcpStream, peer: SocketAddr, conn_id: u64) {
    let mut stop = sh.stop.subscribe();
    let seq = Arc::new(AtomicUsize::new(0));
    let sh2 = sh.clone();
    let svc = hyper::service::service_fn(move |req: Request<Incoming>| {
        let ctx = ConnCtx {
            peer,
            conn_id,
            seq: seq.fetch_add(1, Ordering::SeqCst) + 1,
        };
        let sh = sh2.clone();
        async move { handle(sh, req, ctx).await.ok_or(Abort) }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .keep_alive(true)
        .serve_connection(TokioIo::new(stream), svc);
    tokio::select! {
        _ = conn => {}
        _ = stop.changed() => {}
    }
}

pub fn respond(status: StatusCode, ctype: &str, body: impl Into<Body>) -> Response<Body> {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, ctype)
        .body(body.into())
        .unwrap()
}

pub const JSON: &str = "application/json; charset=utf-8";

fn json(status: StatusCode, body: String) -> Response<Body> {
    respond(status, JSON, body)
}

fn not_found() -> Response<Body> {
    json(StatusCode::NOT_FOUND, r#"{"errors":"Not Found"}"#.into())
}

pub fn query_param<'a>(query: &'a str, key: &str) -> Option<&'a str> {
    query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v)
}

async fn handle(sh: Arc<Shared>, req: Request<Incoming>, ctx: ConnCtx) -> Option<Response<Body>> {
    let _in_flight = InFlight::enter(&sh);
    let received = Instant::now();
    let received_at = SystemTime::now();
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or("").to_string();
    let path_q = req
        .uri()
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_string();
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1")
        .to_string();
    let n = sh.total.fetch_add(1, Ordering::SeqCst) + 1;
    sh.run_hooks(&path, &path_q, n).await;
    let action = faults::pick(&sh, &path_q, ctx);
    let mut rec = RequestRecord {
        method: req.method().to_string(),
        path: path_q,
        status: 0,
        received,
        received_at,
        peer: ctx.peer,
        conn_id: ctx.conn_id,
        conn_seq: ctx.seq,
        fault: None,
    };
    let resp = match action {
        Some(action) => {
            rec.fault = Some(action.name());
            if matches!(action, faults::Action::Fault(faults::Fault::Hang)) {
                sh.record(rec.clone());
                return faults::perform(&sh, action, &host, || route(&sh, &path, &query, &host))
                    .await;
            }
            faults::perform(&sh, action, &host, || route(&sh, &path, &query, &host)).await
        }
        None => Some(route(&sh, &path, &query, &host)),
    };
    rec.status = resp.as_ref().map_or(0, |r| r.status().as_u16());
    sh.record(rec);
    resp
}

fn page_args(query: &str, cap: usize) -> Result<(usize, usize), Box<Response<Body>>> {
    let limit = match query_param(query, "limit").and_then(|v| v.parse::<usize>().ok()) {
        None | Some(0) => 30,
        Some(l) => l.min(250),
    };
    let page = query_param(query, "page")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(1)
        .max(1);
    if page.saturating_mul(limit) > cap {
        let body = format!("{{\"errors\":\"Page * Limit exceeds the {cap} limit.\"}}");
        return Err(Box::new(json(StatusCode::BAD_REQUEST, body)));
    }
    Ok(((page - 1) * limit, limit))
}

fn products_page<'a>(
    sh: &Shared,
    iter: impl Iterator<Item = &'a Arc<Product>>,
    skip: usize,
    limit: usize,
) -> String {
    let updated = sh.volatile_now();
    let mut out = String::with_capacity(limit * 6000);
    out.push_str("{\"products\":[");
    for (i, p) in iter.skip(skip).take(limit).enumerate() {
        if i > 0 {
            out.push(',');
        }
        p.tmpl.render(&p.ids, &updated, &mut out);
    }
    out.push_str("]}");
    out
}

fn route(sh: &Shared, path: &str, query: &str, host: &str) -> Response<Body> {
    let cat = sh.cat.read().unwrap();
    let base = format!("http://{host}");
    if path == "/products.json" {
        let (skip, limit) = match page_args(query, cat.cap) {
            Ok(a) => a,
            Err(r) => return *r,
        };
        let listed = cat.products.iter().filter(|p| !p.hidden);
        return json(StatusCode::OK, products_page(sh, listed, skip, limit));
    }
    if path == "/collections.json" {
        let (skip, limit) = match page_args(query, cat.cap) {
            Ok(a) => a,
            Err(r) => return *r,
        };
        let end = (skip + limit).min(cat.collections.len());
        let page = cat.collections.get(skip.min(end)..end).unwrap_or(&[]);
        let counted: Vec<_> = page
            .iter()
            .map(|c| {
                (
                    c,
                    sh.collection_products(&cat, &c.handle)
                        .map_or(0, |l| l.len()),
                )
            })
            .collect();
        return json(StatusCode::OK, shapes::collections_body(&counted));
    }
    if let Some(h) = path
        .strip_prefix("/collections/")
        .and_then(|r| r.strip_suffix("/products.json"))
    {
        let Some(list) = sh.collection_products(&cat, h) else {
            return not_found();
        };
        let (skip, limit) = match page_args(query, cat.cap) {
            Ok(a) => a,
            Err(r) => return *r,
        };
        return json(StatusCode::OK, products_page(sh, list.iter(), skip, limit));
    }
    if let Some(h) = path
        .strip_prefix("/products/")
        .and_then(|r| r.strip_suffix(".json"))
    {
        return match cat.by_handle.get(h).and_then(|id| cat.by_id.get(id)) {
            Some(p) => {
                let body = shapes::single_body(p, &sh.volatile_now(), cat.single_inventory);
                json(StatusCode::OK, body)
            }
            None => not_found(),
        };
    }
    if let Some(h) = path
        .strip_prefix("/products/")
        .and_then(|r| r.strip_suffix(".js"))
    {
        return match cat.by_handle.get(h).and_then(|id| cat.by_id.get(id)) {
            Some(p) => respond(
                StatusCode::OK,
                "application/javascript; charset=utf-8",
                shapes::ajax_body(p, cat.js_price_percent),
            ),
            None => not_found(),
        };
    }
    let xml = |s: String| respond(StatusCode::OK, "application/xml; charset=utf-8", s);
    match path {
        "/sitemap.xml" => return xml(shapes::sitemap_index(&cat, &base)),
        "/sitemap_collections_1.xml" => return xml(shapes::sitemap_collections(&cat, &base)),
        "/sitemap_pages_1.xml" => return xml(shapes::sitemap_pages(&base)),
        "/password" => {
            let page = "<!DOCTYPE html><html><body><form action=\"/password\">Password</form></body></html>";
            return respond(StatusCode::OK, "text/html; charset=utf-8", page);
        }
        _ => {}
    }
    if let Some(n) = path
        .strip_prefix("/sitemap_products_")
        .and_then(|r| r.strip_suffix(".xml"))
        .and_then(|n| n.parse::<u32>().ok())
    {
        let from = query_param(query, "from").and_then(|v| v.parse::<u64>().ok());
        let to = query_param(query, "to").and_then(|v| v.parse::<u64>().ok());
        return match (from, to) {
            (Some(f), Some(t)) => xml(shapes::sitemap_products(&cat, &base, n, f, t)),
            _ => respond(
                StatusCode::BAD_REQUEST,
                "text/plain; charset=utf-8",
                "Bad Request",
            ),
        };
    }
    if path.ends_with(".json") {
        return not_found();
    }
    respond(
        StatusCode::NOT_FOUND,
        "text/html; charset=utf-8",
        "<!DOCTYPE html><html><body><h1>404 Page Not Found</h1></body></html>",
    )
}
