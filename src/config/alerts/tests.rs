//! `[alerts]` validation: errors name the key and the file; secrets never reach the resolved
//! config.

use std::path::Path;

use crate::config::Config;

const SINKS: &str = "[alerts.sinks.ops]\nkind = \"webhook\"\n\
                     url = \"https://user:pw@hooks.example.com/shopmirror?token=abc\"\n\
                     secret = \"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"\n\
                     [alerts.sinks.chat]\nkind = \"slack\"\n\
                     url = \"https://hooks.slack.com/services/T0/B0/XXXX\"\n";

fn load(text: &str) -> Result<Config, String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("alerts.toml");
    std::fs::write(&path, text).unwrap();
    Config::load(Some(Path::new(&path)), None).map_err(|e| e.to_string())
}

#[test]
fn a_rule_naming_an_unknown_sink_names_both() {
    let text =
        format!("{SINKS}[alerts.rules.big-drops]\nwhen = [\"price_drop\"]\nsinks = [\"phone\"]\n");
    let message = load(&text).unwrap_err();
    assert!(
        message.contains("alerts.rules.big-drops.sinks"),
        "{message}"
    );
    assert!(
        message.contains("`phone`") && message.contains("big-drops"),
        "{message}"
    );
    assert!(message.contains("alerts.toml"), "{message}");
}

#[test]
fn bad_values_name_their_key() {
    for (table, key) in [
        ("[alerts.sinks.x]\nkind = \"email\"\nurl = \"https://a/\"\n", "alerts.sinks.x.kind"),
        ("[alerts.sinks.x]\nkind = \"webhook\"\nurl = \"ftp://a/\"\n", "alerts.sinks.x.url"),
        (
            "[alerts.sinks.x]\nkind = \"webhook\"\nurl = \"https://a/\"\nsecret = \"nope\"\n",
            "alerts.sinks.x.secret",
        ),
        (
            "[alerts.rules.r]\nwhen = [\"price_jump\"]\nsinks = [\"ops\"]\n",
            "alerts.rules.r.when",
        ),
        (
            "[alerts.rules.r]\nwhen = [\"back_in_stock\"]\nmin_drop_percent = 5\nsinks = [\"ops\"]\n",
            "alerts.rules.r.min_drop_percent",
        ),
        (
            "[alerts.rules.r]\nwhen = [\"product_added\"]\nbelow = 5\nsinks = [\"ops\"]\n",
            "alerts.rules.r.below",
        ),
        (
            "[alerts.rules.r]\nwhen = [\"price_drop\"]\ncooldown = \"soon\"\nsinks = [\"ops\"]\n",
            "alerts.rules.r.cooldown",
        ),
        ("[alerts]\ntimeout = \"30s\"\n", "alerts.timeout"),
    ] {
        let message = load(&format!("{SINKS}{table}")).unwrap_err();
        assert!(message.contains(&format!("`{key}`")), "{key}: {message}");
    }
}

#[test]
fn the_resolved_config_holds_no_secret_nor_url_credentials() {
    let config = load(SINKS).unwrap();
    let text = config.resolved.to_string();
    for secret in [
        "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "pw@",
        "token=abc",
        "XXXX",
        "T0/B0",
    ] {
        assert!(!text.contains(secret), "{secret} in {text}");
    }
    assert!(
        text.contains("https://hooks.example.com/shopmirror"),
        "{text}"
    );
    assert!(format!("{:?}", config.alerts).contains("[redacted]"));
    assert!(!format!("{:?}", config.alerts.sinks["ops"].secret).contains("MfKQ"));
}
