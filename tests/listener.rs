//! The daemon's health/metrics listener under load, against the real daemon: idle connections
//! beyond its connection cap and its descriptor limit starve neither /healthz nor the syncs
//! (the child's RLIMIT_NOFILE is set low so that a few hundred connections exhaust it).

use crate::support;

use fakeshop::{Catalog, FakeShop};
use support::daemon::*;
use support::fakeshop;
use support::http::wait_status;
use tokio::net::TcpStream;

/// The daemon's descriptor limit in this test: a few dozen of its own plus the listener's 64.
const NOFILE: u32 = 200;
/// Idle connections opened: twice the daemon's descriptor limit.
const IDLE: usize = 400;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_beyond_the_descriptor_limit_starve_neither_healthz_nor_syncs() {
    let dir = tempfile::tempdir().unwrap();
    let a = FakeShop::start(Catalog::generate(40, 1)).await;
    let b = FakeShop::start(Catalog::generate(40, 2)).await;
    config(dir.path(), "", &[("a", &a)]);
    let mut daemon = Daemon::start_limited(dir.path(), &[], NOFILE).await;
    wait_db(dir.path(), &complete_runs("a"), |n| n == 1).await;

    // Connections that never send a byte, all held open by the test until its end.
    let addr = daemon.http.clone().expect("http address");
    let mut idle = Vec::with_capacity(IDLE);
    for _ in 0..IDLE {
        idle.push(TcpStream::connect(&addr).await.unwrap());
    }

    // A store added now syncs to completion (its lock file, sockets and database need
    // descriptors), and /healthz answers.
    config(dir.path(), "", &[("a", &a), ("b", &b)]);
    daemon.signal("HUP");
    wait_db(dir.path(), &complete_runs("b"), |n| n == 1).await;
    assert_eq!(
        wait_status(&daemon.url("/healthz"), 200).await,
        "ok\n",
        "/healthz answers while {} idle connections are open",
        idle.len()
    );
    daemon.signal("TERM");
    assert_eq!(daemon.wait_exit(WAIT).await.code(), Some(0));
    drop(idle);
}
