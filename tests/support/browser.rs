//! A real browser for the web tests: headless Chromium dumping a page's DOM after its scripts
//! (if any) ran, or taking a screenshot. Where Chromium is missing the tests say so and skip,
//! unless CI_REQUIRE_BROWSER=1 (CI sets it) makes that a failure.

use std::path::{Path, PathBuf};
use std::time::Duration;

/// The Chromium binary, or None (after saying why) when the browser tests must skip.
pub fn chromium(test: &str) -> Option<PathBuf> {
    let found = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find_map(which);
    if found.is_none() {
        assert!(
            std::env::var("CI_REQUIRE_BROWSER").as_deref() != Ok("1"),
            "{test}: Chromium is required (CI_REQUIRE_BROWSER=1) but not installed"
        );
        eprintln!("{test}: SKIPPED, Chromium is not installed (apt-get install chromium)");
    }
    found
}

fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// Runs Chromium headless on `url` with `args`; its stdout.
async fn run(chromium: &Path, url: &str, args: &[String]) -> String {
    let profile = tempfile::tempdir().unwrap();
    let mut command = tokio::process::Command::new(chromium);
    command
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .arg(url)
        .kill_on_drop(true);
    let output = tokio::time::timeout(Duration::from_secs(90), command.output())
        .await
        .expect("chromium finishes")
        .expect("chromium runs");
    assert!(
        output.status.success(),
        "chromium failed on {url}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The DOM of `url` once loaded, serialized.
pub async fn dump_dom(chromium: &Path, url: &str) -> String {
    run(chromium, url, &["--dump-dom".to_string()]).await
}

/// A `width`x`height` screenshot of `url` saved as `path` (PNG).
pub async fn screenshot(chromium: &Path, url: &str, path: &Path, width: u32, height: u32) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let _ = std::fs::remove_file(path);
    run(
        chromium,
        url,
        &[
            format!("--screenshot={}", path.display()),
            format!("--window-size={width},{height}"),
        ],
    )
    .await;
    assert!(
        path.is_file(),
        "no screenshot of {url} at {}",
        path.display()
    );
}

/// The share of pixels of the PNG at `path` that differ from its top-left pixel, and how many
/// distinct colours it has: a blank page has about none of either.
pub fn ink(path: &Path) -> (f64, usize) {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let channels = info.color_type.samples();
    let pixels: Vec<&[u8]> = buf[..info.buffer_size()].chunks(channels).collect();
    let background = pixels[0];
    let inked = pixels.iter().filter(|p| **p != background).count();
    let colours: std::collections::HashSet<&[u8]> = pixels.iter().copied().collect();
    (inked as f64 / pixels.len() as f64, colours.len())
}
