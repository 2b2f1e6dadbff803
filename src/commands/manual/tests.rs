use std::collections::BTreeSet;

use serde_json::Value;

use super::config::keys;

/// Every leaf key of the built-in defaults, as `table.key`.
fn leaves(value: &Value, prefix: &str, out: &mut BTreeSet<String>) {
    for (key, v) in value.as_object().into_iter().flatten() {
        let path = match prefix {
            "" => key.clone(),
            p => format!("{p}.{key}"),
        };
        match v {
            Value::Object(_) => leaves(v, &path, out),
            _ => {
                out.insert(path);
            }
        }
    }
}

#[test]
fn the_configuration_section_documents_every_key_with_default_and_variable() {
    let mut all = BTreeSet::new();
    leaves(&crate::config::defaults(), "", &mut all);
    assert!(all.contains("http.min_delay") && all.contains("stores.NAME.url"));
    let documented: BTreeSet<String> = keys().iter().map(|k| k.path()).collect();
    let missing: Vec<&String> = all.difference(&documented).collect();
    assert!(
        missing.is_empty(),
        "config.toml does not document {missing:?}"
    );
    let defaults = crate::config::defaults();
    let by_path = |p: &str| keys().into_iter().find(|k| k.path() == p).unwrap();
    assert_eq!(
        by_path("http.min_delay").env(),
        "SHOPMIRROR_HTTP__MIN_DELAY"
    );
    assert_eq!(by_path("shard").env(), "SHOPMIRROR_SHARD");
    assert_eq!(
        by_path("stores.NAME.url").env(),
        "SHOPMIRROR_STORES__<NAME>__URL"
    );
    assert_eq!(
        by_path("http.min_delay").default_value(&defaults).unwrap(),
        "\"1s\""
    );
    // The example's /var/lib path is the service's, not the built-in default.
    assert_eq!(
        by_path("database.path").default_value(&defaults).unwrap(),
        "\"shopmirror.db\""
    );
    assert!(by_path("sync.page_size")
        .doc
        .join(" ")
        .contains("page size"));

    let page = String::from_utf8(super::pages().unwrap().remove(0).1).unwrap();
    let page = page
        .replace("\\-", "-")
        .replace("\\fB", "")
        .replace("\\fR", "");
    let page = page.replace("\\fI", "");
    for key in keys() {
        assert!(page.contains(&key.path()), "{} not in the page", key.path());
        assert!(page.contains(&key.env()), "{} not in the page", key.env());
    }
}

#[test]
fn every_page_the_main_page_names_is_generated() {
    let pages = super::pages().unwrap();
    let names: BTreeSet<String> = pages.iter().map(|(n, _)| n.clone()).collect();
    assert!(names.contains("shopmirror-stores-list.1"), "{names:?}");
    assert!(!names.iter().any(|n| n.contains("help")), "{names:?}");
    let main = String::from_utf8(pages[0].1.clone()).unwrap();
    for section in [
        "CONFIGURATION",
        "FILES",
        "ENVIRONMENT",
        "EXIT STATUS",
        "EXAMPLES",
        "SEE ALSO",
    ] {
        assert!(
            main.contains(&format!(".SH \"{section}\""))
                || main.contains(&format!(".SH {section}")),
            "{section}"
        );
    }
    let mut referenced = BTreeSet::new();
    for (name, text) in &pages {
        let text = String::from_utf8(text.clone()).unwrap();
        let text = text
            .replace("\\-", "-")
            .replace("\\fB", " ")
            .replace("\\fR", "");
        let title = name.trim_end_matches(".1");
        assert!(text.contains(&format!(".TH {title} 1")), "{name}");
        // Every shopmirror page any page refers to exists.
        for reference in text.split(|c: char| !(c.is_alphanumeric() || "-(".contains(c))) {
            if let Some(page) = reference
                .strip_suffix("(1")
                .filter(|p| p.starts_with("shopmirror"))
            {
                assert!(
                    names.contains(&format!("{page}.1")),
                    "{name} names {page}(1)"
                );
                referenced.insert(format!("{page}.1"));
            }
        }
    }
    // Every page is named by one (SEE ALSO or a SUBCOMMANDS list), bar the main one.
    referenced.insert("shopmirror.1".to_string());
    assert_eq!(referenced, names);
}
