//! `web.auth`: HTTP basic or bearer authentication in front of the pages (not of /healthz,
//! /readyz or /metrics). Without it the pages are open, which `pages` allows on loopback only.

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use base64::Engine;

use crate::config::{WebAuth, WebSettings};

/// `routes` behind the configured authentication, if any.
pub fn guard(routes: Router, settings: &WebSettings) -> Router {
    match &settings.auth {
        None => routes,
        Some(auth) => routes.layer(middleware::from_fn_with_state(auth.clone(), check)),
    }
}

/// True when the request's Authorization header satisfies `auth`.
fn allowed(auth: &WebAuth, headers: &HeaderMap) -> bool {
    let Some(given) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let (scheme, value) = given.trim().split_once(' ').unwrap_or((given, ""));
    match auth {
        WebAuth::Bearer { token } => {
            scheme.eq_ignore_ascii_case("bearer") && token.matches(value.trim().as_bytes())
        }
        WebAuth::Basic { user, password } => {
            if !scheme.eq_ignore_ascii_case("basic") {
                return false;
            }
            let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(value.trim()) else {
                return false;
            };
            match decoded.iter().position(|&b| b == b':') {
                Some(at) => {
                    // Both compared, so the time does not tell which one was wrong.
                    let user_ok = decoded[..at] == *user.as_bytes();
                    let password_ok = password.matches(&decoded[at + 1..]);
                    user_ok & password_ok
                }
                None => false,
            }
        }
    }
}

async fn check(State(auth): State<WebAuth>, request: Request, next: Next) -> Response {
    if allowed(&auth, request.headers()) {
        return next.run(request).await;
    }
    let challenge = match auth {
        WebAuth::Basic { .. } => "Basic realm=\"shopmirror\", charset=\"UTF-8\"",
        WebAuth::Bearer { .. } => "Bearer realm=\"shopmirror\"",
    };
    (
        StatusCode::UNAUTHORIZED,
        [(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static(challenge),
        )],
        "authentication required\n",
    )
        .into_response()
}
