//! Config loading against real files: layering, and errors that name the key and the file.

use super::*;

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn defaults_need_no_file() {
    let config = Config::load(None, None).unwrap();
    assert_eq!(config.db_path, PathBuf::from(DEFAULT_DB));
    assert!(!config.http.allow_private);
    assert_eq!(config.http.min_delay, Duration::from_secs(1));
    assert_eq!(config.page_size, 250);
}

#[test]
fn toml_file_and_flag_layer_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "c.toml",
        "[database]\npath = \"from-file.db\"\n[http]\nmin_delay = \"250ms\"\n\
         [stores.annies]\nurl = \"https://annies.example.com/collections/all\"\n",
    );
    let config = Config::load(Some(&file), Some(Path::new("flag.db"))).unwrap();
    assert_eq!(config.db_path, PathBuf::from("flag.db"));
    assert_eq!(config.http.min_delay, Duration::from_millis(250));
    assert_eq!(config.stores[0].name, "annies");
    assert_eq!(config.stores[0].url.as_str(), "https://annies.example.com/");
    let config = Config::load(Some(&file), None).unwrap();
    assert_eq!(config.db_path, PathBuf::from("from-file.db"));
}

#[test]
fn json_file_is_read_as_json() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "c.json",
        r#"{"http": {"allow_private": true}, "stores": {"a": {"url": "http://127.0.0.1:1"}}}"#,
    );
    let config = Config::load(Some(&file), None).unwrap();
    assert!(config.http.allow_private);
    assert_eq!(config.stores.len(), 1);
}

#[test]
fn unknown_key_names_the_key_and_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "bad.toml", "[http]\nallow_privat = true\n");
    let message = Config::load(Some(&file), None).unwrap_err().to_string();
    assert!(message.contains("allow_privat"), "{message}");
    assert!(message.contains("bad.toml"), "{message}");
}

#[test]
fn wrong_type_names_the_key_and_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "bad.toml", "[http]\nmin_delay = \"soon\"\n");
    let message = Config::load(Some(&file), None).unwrap_err().to_string();
    assert!(message.contains("min_delay"), "{message}");
    assert!(message.contains("bad.toml"), "{message}");
}

#[test]
fn invalid_store_url_names_the_key_and_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "bad.toml", "[stores.x]\nurl = \"ftp://x\"\n");
    let message = Config::load(Some(&file), None).unwrap_err().to_string();
    assert!(message.contains("stores.x.url"), "{message}");
    assert!(message.contains("bad.toml"), "{message}");
}

#[test]
fn missing_file_is_an_error() {
    let message = Config::load(Some(Path::new("/nonexistent/c.toml")), None)
        .unwrap_err()
        .to_string();
    assert!(message.contains("/nonexistent/c.toml"), "{message}");
}

#[test]
fn url_targets_are_named_by_host_and_port() {
    let config = Config::load(None, None).unwrap();
    let stores = config
        .targets(&["http://127.0.0.1:8080/anything".to_string()])
        .unwrap();
    assert_eq!(stores[0].name, "127.0.0.1:8080");
    assert!(config.targets(&["unknown-name".to_string()]).is_err());
}

#[test]
fn the_shipped_example_config_is_valid_crawls_nobody_and_names_the_units_database() {
    let file = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/config.toml"));
    let config = Config::load(Some(file), None).unwrap();
    assert!(
        config.stores.is_empty(),
        "the example store must stay commented out"
    );
    // The unit passes no --db: the installed config's path is the service's database.
    let unit = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/systemd/shopmirror.service"
    ))
    .unwrap();
    let exec = unit.lines().find(|l| l.starts_with("ExecStart=")).unwrap();
    assert!(!exec.contains("--db"), "{exec}");
    assert!(
        exec.contains("--config /etc/shopmirror/config.toml"),
        "{exec}"
    );
    assert!(unit.contains("StateDirectory=shopmirror"));
    assert_eq!(
        config.db_path,
        PathBuf::from("/var/lib/shopmirror/shopmirror.db")
    );
    // It ships as /etc/shopmirror/config.toml: no live store, but its example is one
    // uncommenting away from working.
    let text = std::fs::read_to_string(file).unwrap();
    let uncommented: String = text
        .lines()
        .map(|l| {
            l.strip_prefix("# ")
                .filter(|l| l.starts_with("[stores.") || l.starts_with("url ="))
                .unwrap_or(l)
        })
        .collect::<Vec<_>>()
        .join("\n");
    let dir = tempfile::tempdir().unwrap();
    let edited = write(dir.path(), "config.toml", &uncommented);
    let config = Config::load(Some(&edited), None).unwrap();
    assert_eq!(config.stores.len(), 1);
}

#[test]
fn store_collection_switches_default_on_and_are_validated() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "c.toml",
        "[stores.a]\nurl = \"https://a.example\"\n\
         [stores.b]\nurl = \"https://b.example\"\ncollections = false\n\
         [stores.c]\nurl = \"https://c.example\"\ncollection_handles = [\"sale\", \"all\"]\n",
    );
    let config = Config::load(Some(&file), None).unwrap();
    let [a, b, c] = &config.stores[..] else {
        panic!("three stores")
    };
    assert!(a.collections && a.collection_handles.is_none());
    assert!(!b.collections);
    assert_eq!(c.collection_handles.as_deref().unwrap(), ["sale", "all"]);
    let bad = write(
        dir.path(),
        "bad.toml",
        "[stores.a]\nurl = \"https://a.example\"\ncollection_handles = []\n",
    );
    let message = Config::load(Some(&bad), None).unwrap_err().to_string();
    assert!(message.contains("stores.a.collection_handles"), "{message}");
}

#[test]
fn full_walk_every_is_global_with_a_per_store_override() {
    let dir = tempfile::tempdir().unwrap();
    let none = Config::load(None, None).unwrap();
    assert_eq!(
        none.full_walk_every,
        Duration::ZERO,
        "today's walk is the default"
    );
    let file = write(
        dir.path(),
        "c.toml",
        "[collections]\nfull_walk_every = \"7d\"\n\
         [stores.a]\nurl = \"https://a.example\"\n\
         [stores.b]\nurl = \"https://b.example\"\ncollections_full_walk_every = \"0s\"\n\
         [stores.c]\nurl = \"https://c.example\"\ncollections_full_walk_every = \"1d 12h\"\n",
    );
    let config = Config::load(Some(&file), None).unwrap();
    let every: Vec<u64> = config
        .stores
        .iter()
        .map(|s| s.full_walk_every.as_secs())
        .collect();
    assert_eq!(every, [7 * 86_400, 0, 36 * 3_600]);
    let url = config.targets(&["https://d.example".into()]).unwrap();
    assert_eq!(url[0].full_walk_every.as_secs(), 7 * 86_400);
    let bad = write(
        dir.path(),
        "bad.toml",
        "[stores.a]\nurl = \"https://a.example\"\ncollections_full_walk_every = \"weekly\"\n",
    );
    let message = Config::load(Some(&bad), None).unwrap_err().to_string();
    assert!(message.contains("collections_full_walk_every"), "{message}");
}

#[test]
fn schedules_and_zones_are_checked_under_their_keys_in_the_file() {
    let dir = tempfile::tempdir().unwrap();
    for (text, key, what) in [
        (
            "[daemon]\nschedule = \"0 */6 * *\"\n",
            "daemon.schedule",
            "4 fields",
        ),
        (
            "[daemon]\ntimezone = \"Berlin\"\n",
            "daemon.timezone",
            "IANA",
        ),
        (
            "[stores.a]\nurl = \"https://a.example\"\nschedule = \"@often\"\n",
            "stores.a.schedule",
            "unknown nickname",
        ),
        (
            "[stores.a]\nurl = \"https://a.example\"\ntimezone = \"Europe/Paaris\"\n",
            "stores.a.timezone",
            "IANA",
        ),
    ] {
        let file = write(dir.path(), "bad.toml", text);
        let message = Config::load(Some(&file), None).unwrap_err().to_string();
        assert!(message.contains(&format!("key `{key}`")), "{message}");
        assert!(message.contains("bad.toml"), "{message}");
        assert!(message.contains(what), "{message}");
    }
}

#[test]
fn a_store_inherits_the_daemon_schedule_and_zone_and_may_override_either() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "c.toml",
        "[daemon]\nschedule = \"@daily\"\ntimezone = \"Europe/Berlin\"\n\
         [stores.a]\nurl = \"https://a.example\"\n\
         [stores.b]\nurl = \"https://b.example\"\ntimezone = \"America/New_York\"\n\
         [stores.c]\nurl = \"https://c.example\"\nschedule = \"30 2 * * *\"\n",
    );
    let config = Config::load(Some(&file), None).unwrap();
    let of = |name: &str| {
        let s = config.daemon.schedule_of(name);
        (s.as_str().to_string(), s.zone().name().to_string())
    };
    assert_eq!(of("a"), ("@daily".into(), "Europe/Berlin".into()));
    assert_eq!(of("b"), ("@daily".into(), "America/New_York".into()));
    assert_eq!(of("c"), ("30 2 * * *".into(), "Europe/Berlin".into()));
}

#[test]
fn proxies_are_chosen_deliberately_and_checked() {
    use crate::storefront::ProxyChoice;
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(
        Config::load(None, None).unwrap().http.proxy,
        ProxyChoice::Off
    );
    let load = |text: &str| Config::load(Some(&write(dir.path(), "p.toml", text)), None);
    let config = load("[http]\nproxy = \"http://u:secret@proxy.example:3128\"\n").unwrap();
    assert!(matches!(&config.http.proxy, ProxyChoice::Url(u) if u.port() == Some(3128)));
    assert!(!format!("{:?}", config.http).contains("secret"));
    let config = load("[http]\nproxy_from_env = true\n").unwrap();
    assert_eq!(config.http.proxy, ProxyChoice::FromEnv);
    for bad in ["proxy = \"proxy.example:3128\"", "proxy = \"socks5://p:1\""] {
        let message = load(&format!("[http]\n{bad}\n")).unwrap_err().to_string();
        assert!(message.contains("http.proxy"), "{message}");
    }
    let both = "[http]\nproxy = \"http://p:1\"\nproxy_from_env = true\n";
    assert!(load(both).unwrap_err().to_string().contains("not both"));
}
