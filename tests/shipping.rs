//! Shipping: `--version`, completions and the manual page from the real binary; the metrics a
//! daemon exports before any sync; the Dockerfile's commands, paths, user and port checked
//! against the binary (.ci/container builds and runs the image); the Kubernetes StatefulSet's
//! shard composition run for real: N daemons, one store list, every store mirrored by exactly
//! one, the pod index from the label or else the hostname, and no index failing the pod.

use crate::support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command as StdCommand, Output, Stdio};
use std::time::{Duration, Instant};
use support::fakeshop;

use fakeshop::{Catalog, FakeShop};
use rusqlite::{Connection, OpenFlags};
use shopmirror::config::Shard;
use support::http::{metric, wait_status};
use support::{binary, clean, until, LOOPBACK, WAIT};
use tokio::process::{Child, Command};

const REPO: &str = env!("CARGO_MANIFEST_DIR");

fn run(mut command: StdCommand) -> Output {
    let output = command.output().expect("binary runs");
    assert!(
        output.status.success(),
        "{command:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn stdout(command: StdCommand) -> String {
    String::from_utf8(run(command).stdout).unwrap()
}

fn read(path: &str) -> String {
    std::fs::read_to_string(Path::new(REPO).join(path)).unwrap()
}

#[test]
fn version_names_the_version_and_the_commit() {
    let mut command = binary();
    command.arg("--version");
    let version = stdout(command);
    let git = StdCommand::new("git")
        .args(["-C", REPO, "rev-parse", "--short=12", "HEAD"])
        .output();
    // From a source tarball (no .git) the build says "unknown".
    let commit = match git {
        Ok(out) if out.status.success() => String::from_utf8(out.stdout).unwrap(),
        _ => "unknown".to_string(),
    };
    assert_eq!(
        version.trim(),
        format!(
            "shopmirror {} (commit {})",
            env!("CARGO_PKG_VERSION"),
            commit.trim()
        )
    );
}

#[test]
fn completions_and_manual_page_cover_every_command() {
    let commands = [
        "sync",
        "daemon",
        "status",
        "check-config",
        "export",
        "history",
        "healthcheck",
        "completions",
        "man",
    ];
    let mut man = binary();
    man.arg("man");
    let page = stdout(man);
    assert!(page.starts_with(".ie") || page.starts_with(".TH"), "{page}");
    assert!(page.contains(".TH shopmirror 1"), "{page}");
    let page = page.replace("\\-", "-");
    for shell in ["bash", "zsh", "fish"] {
        let mut command = binary();
        command.args(["completions", shell]);
        let script = stdout(command);
        for name in commands {
            assert!(script.contains(name), "{shell} completion lacks {name}");
            assert!(page.contains(name), "manual page lacks {name}");
        }
    }
    // The bash script really loads and registers a completion for shopmirror.
    let mut command = binary();
    command.args(["completions", "bash"]);
    let script = stdout(command);
    let check = StdCommand::new("bash")
        .arg("-c")
        .arg(format!("{script}\ncomplete -p shopmirror"))
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&check.stdout).contains("shopmirror"),
        "{check:?}"
    );
    let mut bad = binary();
    bad.args(["completions", "tcsh"]);
    assert_eq!(bad.output().unwrap().status.code(), Some(2));
}

/// A port free right now on 127.0.0.1.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A daemon child that is stopped (SIGTERM, then killed on drop) at the end of the test.
struct Daemon(Child);

impl Daemon {
    async fn stop(mut self) {
        let pid = self.0.id().expect("still running").to_string();
        StdCommand::new("kill")
            .args(["-s", "TERM", &pid])
            .status()
            .unwrap();
        let status = tokio::time::timeout(WAIT, self.0.wait())
            .await
            .expect("daemon stops")
            .unwrap();
        assert_eq!(status.code(), Some(0));
    }
}

/// `program` (the binary, or a shell running it) set up as a daemon against loopback fake
/// stores, logging into `dir`.
fn daemon_command(program: impl AsRef<std::ffi::OsStr>, dir: &Path) -> Command {
    let mut command = Command::from(clean(program));
    command
        .envs(LOOPBACK)
        .env("SHOPMIRROR_DAEMON__JITTER", "0s")
        // Yearly: stores sync because they are new, never because the clock says so.
        .env("SHOPMIRROR_DAEMON__SCHEDULE", "0 0 0 1 1 *")
        .stdout(Stdio::null())
        .stderr(Stdio::from(
            std::fs::File::create(dir.join("daemon.log")).unwrap(),
        ))
        .kill_on_drop(true);
    command
}

/// Every `shopmirror_*` and `process_*` name the README's metrics list documents.
fn documented_metrics() -> BTreeSet<String> {
    let readme = read("README.md");
    let start = readme.find("Metrics (labels in braces)").unwrap();
    let end = start + readme[start..].find("Alert on").unwrap();
    readme[start..end]
        .split('`')
        .filter(|t| t.starts_with("shopmirror_") || t.starts_with("process_"))
        .map(|t| t.split('{').next().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_before_any_sync_have_every_documented_series_with_help_and_type() {
    let dir = tempfile::tempdir().unwrap();
    let shop = FakeShop::start(Catalog::generate(10, 3)).await;
    // The store's first listing request waits at the fake store: no sync has ended.
    let gate = shop.pause_nth("/products.json", 1);
    let config = dir.path().join("config.toml");
    std::fs::write(&config, format!("[stores.a]\nurl = {:?}\n", shop.url())).unwrap();
    let port = free_port();
    let mut command = daemon_command(env!("CARGO_BIN_EXE_shopmirror"), dir.path());
    command
        .arg("--config")
        .arg(&config)
        .arg("--db")
        .arg(dir.path().join("mirror.db"))
        .arg("daemon")
        .arg("--listen")
        .arg(format!("127.0.0.1:{port}"));
    let daemon = Daemon(command.spawn().unwrap());
    gate.reached().await;
    let text = wait_status(&format!("http://127.0.0.1:{port}/metrics"), 200).await;

    let typed: BTreeMap<&str, &str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split_once(' '))
        .collect();
    let helped: BTreeSet<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("# HELP "))
        .filter_map(|l| l.split(' ').next())
        .collect();
    for name in documented_metrics() {
        assert!(typed.contains_key(name.as_str()), "{name} missing:\n{text}");
    }
    // Every sample belongs to a series with HELP and TYPE.
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let name = line.split(['{', ' ']).next().unwrap();
        let base = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|s| {
                name.strip_suffix(s)
                    .filter(|b| typed.get(b) == Some(&"histogram"))
            })
            .unwrap_or(name);
        assert!(typed.contains_key(base), "{line}: no # TYPE");
        assert!(helped.contains(base), "{line}: no # HELP");
    }
    let sample = |series: &str| -> f64 {
        text.lines()
            .find_map(|l| l.strip_prefix(series)?.trim().parse().ok())
            .unwrap_or_else(|| panic!("{series} missing:\n{text}"))
    };
    for zero in [
        r#"shopmirror_pages_total{store="a"}"#,
        r#"shopmirror_products_total{store="a",change="added"}"#,
        r#"shopmirror_runs_total{store="a",status="failed"}"#,
        r#"shopmirror_http_retries_total{store="a"}"#,
        r#"shopmirror_http_429_total{store="a"}"#,
        r#"shopmirror_http_requests_total{store="a",status="5xx"}"#,
        r#"shopmirror_breaker_open{store="a"}"#,
        r#"shopmirror_config_reloads_total{result="invalid"}"#,
    ] {
        assert_eq!(sample(zero), 0.0, "{zero}");
    }
    for kind in ["listing", "collection", "sitemap", "single", "deletions"] {
        let series = format!(
            r#"shopmirror_http_request_duration_seconds_count{{store="a",endpoint="{kind}"}}"#
        );
        assert_eq!(sample(&series), 0.0, "{series}");
    }
    // The paused listing request is in flight right now.
    assert_eq!(
        sample(r#"shopmirror_http_requests_in_flight{store="a"}"#),
        1.0
    );
    let mut version = binary();
    version.arg("--version");
    let version = stdout(version);
    let commit = version
        .trim()
        .rsplit(' ')
        .next()
        .unwrap()
        .trim_end_matches(')');
    assert_eq!(
        sample(&format!(
            r#"shopmirror_build_info{{version="{}",commit="{commit}"}}"#,
            env!("CARGO_PKG_VERSION")
        )),
        1.0
    );
    assert!(sample("process_resident_memory_bytes") > 1e6);
    assert!(sample("process_open_fds") >= 3.0);

    // Once released, the listing's latency lands in the listing histogram.
    gate.release();
    let metrics = format!("http://127.0.0.1:{port}/metrics");
    let mut text = String::new();
    until("the run to complete in /metrics", async || {
        text = wait_status(&metrics, 200).await;
        metric(
            &text,
            r#"shopmirror_runs_total{store="a",status="complete"}"#,
        ) == Some(1.0)
    })
    .await;
    let listing = r#"shopmirror_http_request_duration_seconds_count{store="a",endpoint="listing"}"#;
    assert!(metric(&text, listing).unwrap() >= 1.0, "{text}");
    daemon.stop().await;
}

// ----- Dockerfile -------------------------------------------------------------------------

/// The Dockerfile's instructions of the final stage, continuation lines joined, comments out.
fn final_stage() -> Vec<(String, String)> {
    let text = read("Dockerfile");
    let mut joined = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        match line.strip_suffix('\\') {
            Some(part) => current.push_str(part),
            None => {
                current.push_str(line);
                joined.push(std::mem::take(&mut current));
            }
        }
    }
    let last_from = joined.iter().rposition(|l| l.starts_with("FROM ")).unwrap();
    joined[last_from..]
        .iter()
        .map(|l| {
            let (op, rest) = l.split_once(' ').unwrap();
            (op.to_string(), rest.trim().to_string())
        })
        .collect()
}

fn instruction<'a>(stage: &'a [(String, String)], op: &str) -> Vec<&'a str> {
    stage
        .iter()
        .filter(|(o, _)| o == op)
        .map(|(_, r)| r.as_str())
        .collect()
}

/// `["a", "b"]` (exec form) as words.
fn exec_form(text: &str) -> Vec<String> {
    serde_json::from_str(text).unwrap_or_else(|_| panic!("not exec form: {text}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dockerfile_runs_the_binary_as_it_is() {
    let stage = final_stage();
    // The binary lands on PATH where ENTRYPOINT finds it.
    let copies = instruction(&stage, "COPY");
    assert!(copies.contains(&"--from=build /src/target/release/shopmirror /usr/bin/shopmirror"));
    let entrypoint = exec_form(instruction(&stage, "ENTRYPOINT")[0]);
    assert_eq!(entrypoint, ["shopmirror"]);
    let cmd = exec_form(instruction(&stage, "CMD")[0]);
    let healthcheck = instruction(&stage, "HEALTHCHECK")[0];
    let health_cmd = exec_form(healthcheck.split_once("CMD ").unwrap().1);
    assert_eq!(health_cmd[0], "shopmirror");
    // The ENV the image sets.
    let env: BTreeMap<String, String> = instruction(&stage, "ENV")
        .iter()
        .flat_map(|e| e.split_whitespace())
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let config_dest = copies
        .iter()
        .find_map(|c| c.strip_prefix("config.toml "))
        .unwrap();
    assert_eq!(env["SHOPMIRROR_CONFIG"], config_dest);
    let volume = exec_form(instruction(&stage, "VOLUME")[0]);
    assert_eq!(volume, ["/data"]);
    assert!(env["SHOPMIRROR_DB"].starts_with("/data/"));
    let port = instruction(&stage, "EXPOSE")[0];
    assert_eq!(env["SHOPMIRROR_DAEMON__LISTEN"], format!("0.0.0.0:{port}"));
    // A non-root user that owns the volume.
    let user = instruction(&stage, "USER")[0];
    let uid = user.split(':').next().unwrap();
    assert_ne!(uid, "0");
    let run_lines = instruction(&stage, "RUN").join(" ");
    assert!(run_lines.contains(&format!("--uid {uid}")), "{run_lines}");
    assert!(
        run_lines.contains(&format!("chown {user} /data")),
        "{run_lines}"
    );

    // The image's ENV with the shipped config resolves to the volume and the exposed port.
    let with_env = |args: &[&str]| {
        let mut command = binary();
        command.envs(&env).args(args);
        command.env("SHOPMIRROR_CONFIG", Path::new(REPO).join("config.toml"));
        command
    };
    let resolved: serde_json::Value =
        serde_json::from_str(&stdout(with_env(&["check-config"]))).unwrap();
    assert_eq!(resolved["database"]["path"], env["SHOPMIRROR_DB"].as_str());
    assert_eq!(resolved["daemon"]["listen"], format!("0.0.0.0:{port}"));
    assert_eq!(resolved["stores"], serde_json::json!({}));

    // CMD and HEALTHCHECK for real: the daemon with the image's ENV (database and port moved
    // into this test's reach), then the health check command against it.
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let listen = format!("0.0.0.0:{port}");
    let mut daemon = Command::from(with_env(
        &cmd.iter().map(String::as_str).collect::<Vec<_>>(),
    ));
    daemon
        .env("SHOPMIRROR_DB", dir.path().join("shopmirror.db"))
        .env("SHOPMIRROR_DAEMON__LISTEN", &listen)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    let daemon = Daemon(daemon.spawn().unwrap());
    wait_status(&format!("http://127.0.0.1:{port}/readyz"), 200).await;
    let health_args: Vec<&str> = health_cmd[1..].iter().map(String::as_str).collect();
    let mut health = with_env(&health_args);
    health.env("SHOPMIRROR_DAEMON__LISTEN", &listen);
    let out = run(health);
    assert!(String::from_utf8_lossy(&out.stdout).contains("healthy"));
    daemon.stop().await;
    // With the daemon gone the same check fails.
    let mut health = with_env(&health_args);
    health.env("SHOPMIRROR_DAEMON__LISTEN", &listen);
    assert_eq!(health.output().unwrap().status.code(), Some(1));
}

// ----- Kubernetes -------------------------------------------------------------------------

/// The value of `key: value` on the line after `after` in the manifest (first match).
fn yaml_value_after(text: &str, after: &str, key: &str) -> String {
    let start = text
        .find(after)
        .unwrap_or_else(|| panic!("{after} missing"));
    text[start..]
        .lines()
        .find_map(|l| l.trim().strip_prefix(&format!("{key}:")))
        .unwrap_or_else(|| panic!("{key} after {after} missing"))
        .trim()
        .trim_matches('"')
        .to_string()
}

/// The container's shell script (the `args: - |` block) of the StatefulSet.
fn shard_script(text: &str) -> String {
    let start = text.find("- |\n").expect("a literal block in args") + 4;
    let block: Vec<&str> = text[start..]
        .lines()
        .take_while(|l| l.starts_with("              "))
        .map(str::trim)
        .collect();
    block.join("\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statefulset_pods_split_the_stores_every_store_in_exactly_one_shard() {
    let manifest = read("deploy/kubernetes/statefulset.yaml");
    let replicas: u32 = yaml_value_after(&manifest, "spec:", "replicas")
        .parse()
        .unwrap();
    assert_eq!(
        yaml_value_after(&manifest, "name: SHARDS", "value"),
        replicas.to_string(),
        "SHARDS must equal replicas"
    );
    assert_eq!(
        yaml_value_after(&manifest, "name: POD_INDEX", "fieldPath"),
        "metadata.labels['apps.kubernetes.io/pod-index']"
    );
    let script = shard_script(&manifest);
    assert!(script.contains("SHOPMIRROR_SHARD"), "{script}");
    assert!(replicas >= 3, "pods with, without and with an empty label");
    // The probes and port name endpoints the daemon serves (checked live below).
    assert_eq!(
        yaml_value_after(&manifest, "livenessProbe:", "path"),
        "/healthz"
    );
    assert_eq!(
        yaml_value_after(&manifest, "readinessProbe:", "path"),
        "/readyz"
    );
    assert_eq!(
        yaml_value_after(&manifest, "prometheus.io/path", "prometheus.io/path"),
        "/metrics"
    );

    // One store list (the ConfigMap), one fake store per store name, distinct catalogues.
    let dir = tempfile::tempdir().unwrap();
    let names: Vec<String> = (0..2 * replicas).map(|i| format!("store-{i}")).collect();
    let mut shops = BTreeMap::new();
    let mut config = String::new();
    for (i, name) in names.iter().enumerate() {
        let shop = FakeShop::start(Catalog::generate(5 + i, i as u64)).await;
        config.push_str(&format!("[stores.{name:?}]\nurl = {:?}\n", shop.url()));
        shops.insert(name.clone(), shop);
    }
    let config_file = dir.path().join("config.toml");
    std::fs::write(&config_file, config).unwrap();

    // The pods: the manifest's script with the binary on PATH. Pod 0 has the pod-index label;
    // the others have it empty or missing (clusters before 1.28) and fall back to the ordinal
    // at the end of their hostname.
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_shopmirror"))
        .parent()
        .unwrap();
    let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap());
    let pod = |pod_dir: &Path, label: Option<String>, hostname: &str| {
        let port = free_port();
        let mut command = daemon_command("sh", pod_dir);
        command
            .arg("-c")
            .arg(&script)
            .env("PATH", &path)
            .env("HOSTNAME", hostname)
            .env("SHARDS", replicas.to_string())
            .env("SHOPMIRROR_CONFIG", &config_file)
            .env("SHOPMIRROR_DB", pod_dir.join("shopmirror.db"))
            .env("SHOPMIRROR_DAEMON__LISTEN", format!("127.0.0.1:{port}"));
        match label {
            Some(index) => command.env("POD_INDEX", index),
            None => command.env_remove("POD_INDEX"),
        };
        (port, command)
    };
    let mut pods = Vec::new();
    for index in 0..replicas {
        let pod_dir = dir.path().join(format!("pod-{index}"));
        std::fs::create_dir(&pod_dir).unwrap();
        let label = match index % 3 {
            0 => Some(index.to_string()),
            1 => Some(String::new()),
            _ => None,
        };
        let (port, mut command) = pod(&pod_dir, label, &format!("shopmirror-{index}"));
        pods.push((pod_dir, port, Daemon(command.spawn().unwrap())));
    }
    // Neither a label nor an ordinal: the pod fails, saying why, and syncs nothing.
    for label in [Some(String::new()), None] {
        let pod_dir = dir.path().join("pod-without-index");
        std::fs::create_dir_all(&pod_dir).unwrap();
        let (_, mut command) = pod(&pod_dir, label, "shopmirror");
        let status = tokio::time::timeout(WAIT, command.status())
            .await
            .expect("the pod ends")
            .unwrap();
        assert_eq!(status.code(), Some(1));
        let log = std::fs::read_to_string(pod_dir.join("daemon.log")).unwrap();
        assert!(log.contains("apps.kubernetes.io/pod-index"), "{log}");
        assert!(!pod_dir.join("shopmirror.db").exists());
    }

    let mut owner: BTreeMap<String, u32> = BTreeMap::new();
    for (index, (pod_dir, port, _)) in pods.iter().enumerate() {
        let shard = index as u32 + 1;
        wait_status(&format!("http://127.0.0.1:{port}/healthz"), 200).await;
        wait_status(&format!("http://127.0.0.1:{port}/readyz"), 200).await;
        let expected: BTreeSet<&String> = names
            .iter()
            .filter(|n| Shard::of(n, replicas) == shard)
            .collect();
        let db = pod_dir.join("shopmirror.db");
        let mirrored = wait_complete(&db, expected.len()).await;
        for (store, products) in mirrored {
            assert_eq!(
                products,
                shops[&store].expected_products().len(),
                "{store} in shard {shard}"
            );
            assert!(expected.contains(&store), "{store} is not shard {shard}'s");
            assert!(
                owner.insert(store.clone(), shard).is_none(),
                "{store} mirrored twice"
            );
        }
    }
    assert_eq!(
        owner.keys().collect::<Vec<_>>(),
        names
            .iter()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect::<Vec<_>>(),
        "every store mirrored"
    );
    for (_, _, daemon) in pods {
        daemon.stop().await;
    }
}

/// Waits until `count` stores of the database have a complete run; returns each store's
/// product count.
async fn wait_complete(db: &PathBuf, count: usize) -> BTreeMap<String, usize> {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Ok(conn) = Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_ONLY) {
            let done: rusqlite::Result<Vec<(String, i64)>> = conn
                .prepare(
                    "SELECT s.name, (SELECT count(*) FROM products p \
                     WHERE p.store_id = s.store_id AND p.deleted_at IS NULL) \
                     FROM stores s WHERE EXISTS (SELECT 1 FROM sync_runs r \
                     WHERE r.store_id = s.store_id AND r.status = 'complete')",
                )
                .and_then(|mut st| st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect());
            let stores: rusqlite::Result<i64> =
                conn.query_row("SELECT count(*) FROM stores", [], |r| r.get(0));
            if let (Ok(done), Ok(stores)) = (done, stores) {
                if done.len() == count {
                    assert_eq!(stores as usize, count, "a shard registered a foreign store");
                    return done.into_iter().map(|(n, c)| (n, c as usize)).collect();
                }
            }
        }
        if Instant::now() > deadline {
            let log = db.with_file_name("daemon.log");
            let log = std::fs::read_to_string(log).unwrap_or_default();
            panic!("{} never completed; its log:\n{log}", db.display());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
