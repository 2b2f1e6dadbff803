//! `shopmirror healthcheck`: asks a running daemon's /healthz, so a container image needs no
//! curl for its HEALTHCHECK.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use super::Failure;
use crate::config::Config;

pub fn run(config: &Config, url: Option<&str>) -> Result<(), Failure> {
    let url = url.map_or_else(|| default_url(config.daemon.listen), str::to_string);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::Failed(format!("cannot start runtime: {e}")))?;
    runtime.block_on(async {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| Failure::Failed(format!("cannot build the HTTP client: {e}")))?;
        let response = client
            .get(&url)
            .send()
            .await
            .map_err(|e| Failure::Failed(format!("{url}: {e}")))?;
        match response.status().as_u16() {
            200 => {
                super::print_line(&format!("{url}: healthy"));
                Ok(())
            }
            status => Err(Failure::Failed(format!("{url}: HTTP {status}"))),
        }
    })
}

/// /healthz on the listen address; an any-address is asked on loopback.
fn default_url(listen: SocketAddr) -> String {
    let mut addr = listen;
    if addr.ip().is_unspecified() {
        addr.set_ip(match addr {
            SocketAddr::V4(_) => Ipv4Addr::LOCALHOST.into(),
            SocketAddr::V6(_) => Ipv6Addr::LOCALHOST.into(),
        });
    }
    format!("http://{addr}/healthz")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_address_is_asked_on_loopback() {
        assert_eq!(
            default_url("0.0.0.0:9187".parse().unwrap()),
            "http://127.0.0.1:9187/healthz"
        );
        assert_eq!(
            default_url("[::]:9187".parse().unwrap()),
            "http://[::1]:9187/healthz"
        );
        assert_eq!(
            default_url("10.0.0.5:80".parse().unwrap()),
            "http://10.0.0.5:80/healthz"
        );
    }
}
