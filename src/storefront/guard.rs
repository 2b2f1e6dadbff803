//! Where the client may go: only http(s), never a cloud-metadata address, never a loopback,
//! private or link-local one unless `http.allow_private` is set. Checked on literal addresses
//! before connecting, on every redirect hop, and after DNS resolution. Also strips credentials
//! from URLs before they reach an error or a log line.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::{Host, Url};

/// Most redirects followed for one request.
pub const MAX_REDIRECTS: usize = 5;

/// Whether an address is somewhere a public store cannot be: loopback, private, link-local
/// (cloud metadata), unspecified, multicast or unique-local.
pub fn is_non_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.octets()[0] == 100 && (v4.octets()[1] & 0xc0) == 64
        }
        IpAddr::V6(v6) => {
            if let Some(mapped) = v6.to_ipv4_mapped() {
                return is_non_public(IpAddr::V4(mapped));
            }
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (v6.segments()[0] & 0xfe00) == 0xfc00
                || (v6.segments()[0] & 0xffc0) == 0xfe80
        }
    }
}

const EC2_METADATA_V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254);

/// Cloud instance-metadata addresses (169.254.0.0/16, fd00:ec2::254): refused even when
/// private addresses are allowed, since no store lives there and they hand out credentials.
pub fn is_metadata(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_link_local(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(mapped) => mapped.is_link_local(),
            None => v6 == EC2_METADATA_V6,
        },
    }
}

/// An address the client refuses to connect to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("{0} is a link-local/metadata address")]
    Metadata(IpAddr),
    #[error("{0} is a private address (set http.allow_private = true to allow it)")]
    Private(IpAddr),
}

/// Why a URL is not one the client may ask.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetRefusal {
    #[error("scheme {0} is not http or https")]
    Scheme(String),
    #[error("URL has no host")]
    NoHost,
    #[error(transparent)]
    Address(#[from] Refusal),
}

/// Why a redirect hop is not followed. Travels through reqwest's error chain as the redirect
/// policy's error; its text is the `ErrorKind::Refused` detail.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HopRefusal {
    #[error("more than {MAX_REDIRECTS} redirects")]
    TooMany,
    #[error("redirect from https to http")]
    Downgrade,
    /// A target the client may not ask; `url` is already redacted.
    #[error("redirect to {url}: refused: {reason}")]
    Target { url: String, reason: TargetRefusal },
}

/// Why a store's host name gave no address to connect to. Travels through reqwest's error
/// chain as the resolver's error, where the client finds it by type.
#[derive(Debug, thiserror::Error)]
pub enum LookupError {
    #[error("{host}: the name does not exist (NXDOMAIN)")]
    NoSuchHost { host: String },
    #[error("cannot resolve {host}: {source}")]
    Failed {
        host: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{host} resolves to {refusal}")]
    Refused { host: String, refusal: Refusal },
}

/// Refuses an address the settings do not allow, saying why.
fn check_ip(ip: IpAddr, allow_private: bool) -> Result<(), Refusal> {
    if is_metadata(ip) {
        return Err(Refusal::Metadata(ip));
    }
    if !allow_private && is_non_public(ip) {
        return Err(Refusal::Private(ip));
    }
    Ok(())
}

/// Refuses non-HTTP schemes and literal addresses that are not allowed, before any connection.
pub fn check_target(url: &Url, allow_private: bool) -> Result<(), TargetRefusal> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(TargetRefusal::Scheme(url.scheme().to_string()));
    }
    let ip = match url.host() {
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip),
        Some(Host::Ipv6(ip)) => IpAddr::V6(ip),
        Some(Host::Domain(_)) => return Ok(()),
        None => return Err(TargetRefusal::NoHost),
    };
    Ok(check_ip(ip, allow_private)?)
}

/// Decides one redirect hop from `previous` (oldest first) to `next`.
pub fn check_hop(previous: &[Url], next: &Url, allow_private: bool) -> Result<(), HopRefusal> {
    // `previous` starts with the original URL: it holds one entry per request already sent.
    if previous.len() > MAX_REDIRECTS {
        return Err(HopRefusal::TooMany);
    }
    let downgrade = previous
        .last()
        .is_some_and(|prev| prev.scheme() == "https" && next.scheme() == "http");
    if downgrade {
        return Err(HopRefusal::Downgrade);
    }
    check_target(next, allow_private).map_err(|reason| HopRefusal::Target {
        url: redact(next),
        reason,
    })
}

/// A store's password page: a redirect there means the store is password-protected.
pub fn is_password_page(url: &Url) -> bool {
    url.path().trim_end_matches('/').ends_with("/password")
}

/// Follows allowed hops; stops at a password page (the client reports it, one request saved).
pub fn redirect_policy(allow_private: bool) -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(move |attempt| {
        if is_password_page(attempt.url()) {
            return attempt.stop();
        }
        match check_hop(attempt.previous(), attempt.url(), allow_private) {
            Ok(()) => attempt.follow(),
            Err(refusal) => attempt.error(refusal),
        }
    })
}

/// getaddrinfo's "no such name" answers (EAI_NONAME, EAI_NODATA), as the standard library
/// words them; a temporary failure (EAI_AGAIN) is not one of them.
fn is_nxdomain(e: &std::io::Error) -> bool {
    let text = e.to_string();
    [
        "Name or service not known",
        "No address associated with hostname",
        "nodename nor servname",
    ]
    .iter()
    .any(|m| text.contains(m))
}

/// Resolves names with the system resolver and refuses the answer if any address is not
/// allowed. Runs for every new connection, so on every redirect hop too.
pub struct CheckedResolver {
    pub allow_private: bool,
}

impl CheckedResolver {
    pub async fn lookup(host: &str, allow_private: bool) -> Result<Vec<SocketAddr>, LookupError> {
        let host_name = || host.to_string();
        let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, 0))
            .await
            .map_err(|source| match is_nxdomain(&source) {
                true => LookupError::NoSuchHost { host: host_name() },
                false => LookupError::Failed {
                    host: host_name(),
                    source,
                },
            })?
            .collect();
        for addr in &addrs {
            check_ip(addr.ip(), allow_private).map_err(|refusal| LookupError::Refused {
                host: host_name(),
                refusal,
            })?;
        }
        Ok(addrs)
    }
}

impl Resolve for CheckedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let addrs = CheckedResolver::lookup(name.as_str(), allow_private).await?;
            let addrs: Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}

/// The URL without user name or password, for errors and logs.
pub fn redact(url: &Url) -> String {
    if url.username().is_empty() && url.password().is_none() {
        return url.to_string();
    }
    let mut clean = url.clone();
    let _ = clean.set_username("");
    let _ = clean.set_password(None);
    clean.to_string()
}

/// Removes `user:password@` from any URL inside free text (reqwest and hyper messages).
pub fn redact_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let (head, tail) = rest.split_at(at + 3);
        out.push_str(head);
        let end = tail
            .find(|c: char| c.is_whitespace() || matches!(c, '/' | ')' | '"' | '\''))
            .unwrap_or(tail.len());
        match tail[..end].rfind('@') {
            Some(userinfo_end) => rest = &tail[userinfo_end + 1..],
            None => rest = tail,
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap()
    }

    #[test]
    fn non_public_addresses_are_recognised() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(is_non_public(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["23.227.38.65", "2620:127:f00f::1"] {
            assert!(!is_non_public(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn literal_private_targets_are_refused_unless_allowed() {
        let local = url("http://127.0.0.1:8080/products.json");
        assert!(matches!(
            check_target(&local, false),
            Err(TargetRefusal::Address(Refusal::Private(_)))
        ));
        assert!(check_target(&local, true).is_ok());
        let file = check_target(&url("file:///etc/passwd"), true).unwrap_err();
        assert_eq!(file, TargetRefusal::Scheme("file".into()));
        assert_eq!(file.to_string(), "scheme file is not http or https");
        for metadata in ["http://169.254.169.254/latest", "http://[fd00:ec2::254]/"] {
            let refused = check_target(&url(metadata), true);
            assert!(
                matches!(refused, Err(TargetRefusal::Address(Refusal::Metadata(_)))),
                "{metadata}"
            );
        }
    }

    #[test]
    fn redirect_hops_are_checked() {
        let shop = vec![url("https://shop.example/products.json")];
        let to_loopback = url("https://127.0.0.1/products.json");
        let refused = check_hop(&shop, &to_loopback, false).unwrap_err();
        assert!(refused.to_string().contains("127.0.0.1"), "{refused}");
        assert!(
            matches!(
                &refused,
                HopRefusal::Target {
                    reason: TargetRefusal::Address(Refusal::Private(_)),
                    ..
                }
            ),
            "{refused}"
        );
        assert!(check_hop(&shop, &to_loopback, true).is_ok());
        let downgrade = url("http://shop.example/products.json");
        assert_eq!(
            check_hop(&shop, &downgrade, true),
            Err(HopRefusal::Downgrade)
        );
        let metadata = url("https://169.254.169.254/latest/meta-data");
        assert!(matches!(
            check_hop(&shop, &metadata, true),
            Err(HopRefusal::Target {
                reason: TargetRefusal::Address(Refusal::Metadata(_)),
                ..
            })
        ));
        let secret = url("https://bob:s3cret@10.0.0.1/products.json");
        let refused = check_hop(&shop, &secret, false).unwrap_err().to_string();
        assert_eq!(
            refused,
            "redirect to https://10.0.0.1/products.json: refused: 10.0.0.1 is a private \
             address (set http.allow_private = true to allow it)"
        );
        let public = url("https://other.example/products.json");
        let sent = vec![shop[0].clone(); 6];
        assert!(
            check_hop(&sent[..5], &public, false).is_ok(),
            "the 5th redirect"
        );
        assert_eq!(
            check_hop(&sent, &public, false),
            Err(HopRefusal::TooMany),
            "the 6th redirect"
        );
        assert_eq!(HopRefusal::TooMany.to_string(), "more than 5 redirects");
    }

    #[tokio::test]
    async fn names_resolving_to_loopback_are_refused_unless_allowed() {
        let refused = CheckedResolver::lookup("localhost", false)
            .await
            .unwrap_err();
        assert!(
            matches!(
                refused,
                LookupError::Refused {
                    refusal: Refusal::Private(ip),
                    ..
                } if ip.is_loopback()
            ),
            "{refused}"
        );
        assert!(refused.to_string().contains("private address"), "{refused}");
        assert!(CheckedResolver::lookup("localhost", true).await.is_ok());
    }

    #[test]
    fn credentials_never_reach_messages() {
        let secret = url("https://user:hunter2@shop.example/products.json?page=1");
        assert_eq!(redact(&secret), "https://shop.example/products.json?page=1");
        let text = "error sending request for url (http://bob:s3cret@proxy.example:8080/x): boom";
        let clean = redact_text(text);
        assert!(
            !clean.contains("s3cret") && !clean.contains("bob"),
            "{clean}"
        );
        assert!(clean.contains("http://proxy.example:8080/x"), "{clean}");
    }
}
