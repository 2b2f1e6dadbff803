//! Build script: records the git commit the binary is built from as SHOPMIRROR_COMMIT, for
//! `--version` and the `shopmirror_build_info` metric. `SHOPMIRROR_COMMIT` in the build's
//! environment wins (container builds without .git); without git or outside a checkout (a
//! source tarball) it is "unknown".

use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (out.status.success() && !text.is_empty()).then_some(text)
}

fn main() {
    println!("cargo:rerun-if-env-changed=SHOPMIRROR_COMMIT");
    let from_env = std::env::var("SHOPMIRROR_COMMIT")
        .ok()
        .filter(|c| !c.trim().is_empty());
    // Only a checkout of this crate counts, not some repository the tarball was unpacked in.
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default();
    let inside = git(&["-C", &manifest_dir, "rev-parse", "--show-toplevel"])
        .is_some_and(|top| same_dir(&top, &manifest_dir));
    let commit = from_env.or_else(|| {
        inside
            .then(|| git(&["-C", &manifest_dir, "rev-parse", "--short=12", "HEAD"]))
            .flatten()
    });
    if inside {
        // Rebuild when HEAD moves: HEAD itself and the branch it points to.
        for path in ["HEAD", "logs/HEAD"] {
            if let Some(p) = git(&["-C", &manifest_dir, "rev-parse", "--git-path", path]) {
                let p = absolute(&manifest_dir, &p);
                if std::path::Path::new(&p).exists() {
                    println!("cargo:rerun-if-changed={p}");
                }
            }
        }
    }
    println!(
        "cargo:rustc-env=SHOPMIRROR_COMMIT={}",
        commit.unwrap_or_else(|| "unknown".to_string())
    );
}

fn absolute(base: &str, path: &str) -> String {
    let p = std::path::Path::new(path);
    if p.is_absolute() {
        path.to_string()
    } else {
        std::path::Path::new(base).join(p).display().to_string()
    }
}

fn same_dir(a: &str, b: &str) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}
