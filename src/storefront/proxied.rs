//! Requests that may go through a proxy (`http.proxy`, or the environment's when
//! `http.proxy_from_env` is set). A proxy resolves the store's name itself, so the client's
//! checked resolver never sees the target: here the target host of the first request and of
//! every redirect hop is resolved and checked by the guard's rules before it is asked, and
//! redirects are followed here (the HTTP client follows none) so each hop can be checked
//! that way. Never a target the guard would refuse without a proxy.

use bytes::Bytes;
use url::{Host, Url};

use super::answer::{classify, send, Expect};
use super::error::ErrorKind;
use super::guard::{check_hop, is_password_page, redact, CheckedResolver, LookupError};
use super::retry::Failure;

/// Where requests go: straight to the store, or possibly through a proxy.
#[derive(Clone, Default, PartialEq, Eq)]
pub enum ProxyChoice {
    /// No proxy, whatever the environment says (the default).
    #[default]
    Off,
    /// Every request through this proxy (`http.proxy`).
    Url(Url),
    /// The environment's HTTP_PROXY, HTTPS_PROXY, ALL_PROXY and NO_PROXY
    /// (`http.proxy_from_env`).
    FromEnv,
}

impl ProxyChoice {
    pub fn is_off(&self) -> bool {
        *self == ProxyChoice::Off
    }
}

/// A proxy URL may carry credentials: never shown.
impl std::fmt::Debug for ProxyChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProxyChoice::Off => f.write_str("Off"),
            ProxyChoice::Url(url) => write!(f, "Url({})", redact(url)),
            ProxyChoice::FromEnv => f.write_str("FromEnv"),
        }
    }
}

/// Redirect statuses whose Location is followed.
const REDIRECTS: [u16; 5] = [301, 302, 303, 307, 308];

/// Sends one GET for `url`, resolving and checking each target host first and following
/// redirects by hand; classifies the final answer as `answer::fetch` does.
pub(super) async fn fetch(
    http: &reqwest::Client,
    url: &Url,
    limit: u64,
    expect: Expect,
    allow_private: bool,
) -> (Option<u16>, Result<Bytes, Failure>) {
    let mut sent: Vec<Url> = Vec::new();
    let mut target = url.clone();
    loop {
        let hop = (!sent.is_empty()).then_some(&target);
        if let Err(kind) = check_resolved(&target, allow_private, hop).await {
            return (None, Err(kind.into()));
        }
        let response = match send(http, &target, expect).await {
            Ok(response) => response,
            Err(kind) => return (None, Err(kind.into())),
        };
        let status = response.status().as_u16();
        let next = REDIRECTS
            .contains(&status)
            .then(|| response.headers().get(reqwest::header::LOCATION))
            .flatten()
            .and_then(|v| v.to_str().ok())
            .and_then(|location| target.join(location).ok());
        let Some(next) = next.filter(|next| !is_password_page(next)) else {
            // A final answer, or a redirect to the password page, which classify reports.
            return (
                Some(status),
                classify(response, status, limit, expect).await,
            );
        };
        sent.push(target);
        if let Err(refusal) = check_hop(&sent, &next, allow_private) {
            return (
                Some(status),
                Err(ErrorKind::Refused(refusal.to_string()).into()),
            );
        }
        target = next;
    }
}

/// Resolves the host of `url` (a name; literal addresses are checked before any request) and
/// refuses it when any address is one the guard refuses. `hop` names a redirect target in
/// the message.
async fn check_resolved(
    url: &Url,
    allow_private: bool,
    hop: Option<&Url>,
) -> Result<(), ErrorKind> {
    let Some(Host::Domain(host)) = url.host() else {
        return Ok(());
    };
    let host = host.trim_end_matches('.');
    match CheckedResolver::lookup(host, allow_private).await {
        Ok(_) => Ok(()),
        Err(e @ LookupError::NoSuchHost { .. }) => Err(ErrorKind::NoSuchHost(e.to_string())),
        Err(e @ LookupError::Failed { .. }) => Err(ErrorKind::Connect(e.to_string())),
        Err(e @ LookupError::Refused { .. }) => Err(ErrorKind::Refused(match hop {
            Some(next) => format!("redirect to {}: refused: {e}", redact(next)),
            None => e.to_string(),
        })),
    }
}
