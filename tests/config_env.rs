//! Config without traps, through the real binary: top-level keys from the environment
//! (`SHOPMIRROR_SHARD`), unknown keys named as written (the environment variable when from
//! one) with the closest valid key, and a daemon without stores warning about it.

use crate::support;

use std::process::Stdio;

use support::shopmirror;
use tokio::io::{AsyncBufReadExt, BufReader};

async fn check_config(env: &[(&str, &str)], config: Option<&std::path::Path>) -> support::Finished {
    let mut command = shopmirror();
    for (k, v) in env {
        command.env(k, v);
    }
    if let Some(file) = config {
        command.arg("--config").arg(file);
    }
    command.arg("check-config");
    support::run(command).await
}

#[tokio::test]
async fn shard_from_the_environment_is_honoured_and_validated() {
    let done = check_config(&[("SHOPMIRROR_SHARD", "2/4")], None).await;
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    let resolved: serde_json::Value = serde_json::from_str(&done.stdout).unwrap();
    assert_eq!(resolved["shard"], "2/4");
    let bad = check_config(&[("SHOPMIRROR_SHARD", "9/2")], None).await;
    assert_eq!(bad.code, Some(2), "{}", bad.stdout);
    assert!(bad.stderr.contains("shard"), "{}", bad.stderr);
}

#[tokio::test]
async fn unknown_keys_name_their_source_and_the_closest_valid_key() {
    let done = check_config(&[("SHOPMIRROR_HTTP__MIN_DELAYY", "1s")], None).await;
    assert_eq!(done.code, Some(2));
    assert!(
        done.stderr.contains("SHOPMIRROR_HTTP__MIN_DELAYY"),
        "{}",
        done.stderr
    );
    assert!(
        done.stderr.contains("did you mean `http.min_delay`"),
        "{}",
        done.stderr
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("c.toml");
    std::fs::write(&file, "[daemon]\nshedule = \"0 0 * * * *\"\n").unwrap();
    let done = check_config(&[], Some(&file)).await;
    assert_eq!(done.code, Some(2));
    assert!(done.stderr.contains("daemon.shedule") && done.stderr.contains("c.toml"));
    assert!(
        done.stderr.contains("did you mean `daemon.schedule`"),
        "{}",
        done.stderr
    );
}

#[tokio::test]
async fn a_daemon_without_stores_warns() {
    let dir = tempfile::tempdir().unwrap();
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/config.toml");
    let mut daemon = shopmirror()
        .env("SHOPMIRROR_LOG__FORMAT", "journald")
        .args(["--config", example, "--db"])
        .arg(dir.path().join("m.db"))
        .args(["daemon", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(daemon.stderr.take().unwrap()).lines();
    let warning = tokio::time::timeout(support::WAIT, async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if line.contains("no stores configured") {
                return line;
            }
        }
        panic!("the daemon ended without warning about no stores")
    })
    .await
    .expect("the warning comes at start");
    daemon.start_kill().unwrap();
    daemon.wait().await.unwrap();
    assert!(warning.starts_with("<4>"), "{warning}");
}
