//! `[web]`: who may read the web pages. The pages are served on loopback to anyone; on any
//! other address only with `web.auth` (HTTP basic or a bearer token, the secret best given as
//! SHOPMIRROR_WEB__SECRET). The secret never leaves this module but as a comparison.

use std::fmt;
use std::net::SocketAddr;

use serde::{Deserialize, Serialize, Serializer};

/// The `[web]` table as written.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawWeb {
    /// "basic" or "bearer"; unset: no authentication (loopback only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth: Option<String>,
    /// The basic-auth user name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// The basic-auth password or the bearer token.
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "redacted")]
    pub secret: Option<String>,
}

fn redacted<S: Serializer>(secret: &Option<String>, s: S) -> Result<S::Ok, S::Error> {
    match secret {
        Some(_) => s.serialize_str("(redacted)"),
        None => s.serialize_none(),
    }
}

/// A password or token; its Debug form never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    pub(super) fn new(secret: String) -> Password {
        Password(secret)
    }

    /// True when `offered` is the secret (time independent of where they first differ).
    pub fn matches(&self, offered: &[u8]) -> bool {
        let mine = self.0.as_bytes();
        mine.len() == offered.len()
            && mine
                .iter()
                .zip(offered)
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(redacted)")
    }
}

/// How the web pages authenticate readers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebAuth {
    Basic { user: String, password: Password },
    Bearer { token: Password },
}

/// The validated `[web]` settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WebSettings {
    pub auth: Option<WebAuth>,
}

/// Serving the pages on `addr` without authentication is refused unless it is loopback.
#[derive(Debug, Clone, thiserror::Error)]
#[error(
    "refusing to serve the web pages on {addr} without authentication: only loopback \
     addresses (127.0.0.1, ::1) may serve them openly; set web.auth = \"basic\" (with web.user) \
     or \"bearer\", and the secret in SHOPMIRROR_WEB__SECRET"
)]
pub struct Exposed {
    pub addr: SocketAddr,
}

impl WebSettings {
    /// Ok when the pages may be served on `addr`.
    pub fn check_exposure(&self, addr: SocketAddr) -> Result<(), Exposed> {
        if addr.ip().is_loopback() || self.auth.is_some() {
            Ok(())
        } else {
            Err(Exposed { addr })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_is_served_without_auth() {
        let open = WebSettings::default();
        assert!(open.check_exposure("127.0.0.1:1".parse().unwrap()).is_ok());
        assert!(open.check_exposure("[::1]:1".parse().unwrap()).is_ok());
        let e = open
            .check_exposure("0.0.0.0:9187".parse().unwrap())
            .unwrap_err();
        assert!(e.to_string().contains("0.0.0.0:9187"), "{e}");
        let guarded = WebSettings {
            auth: Some(WebAuth::Bearer {
                token: Password("t".into()),
            }),
        };
        assert!(guarded.check_exposure("0.0.0.0:1".parse().unwrap()).is_ok());
        assert_eq!(format!("{guarded:?}").matches("redacted").count(), 1);
    }

    #[test]
    fn secrets_compare_whole() {
        let s = Password("hunter2".into());
        assert!(s.matches(b"hunter2"));
        assert!(!s.matches(b"hunter"));
        assert!(!s.matches(b"hunter3"));
    }
}
