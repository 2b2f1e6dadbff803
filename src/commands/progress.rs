//! The terminal display of `shopmirror sync` on stderr: one line per running store (pages,
//! products, requests, products per second), drawn by indicatif. Log lines go above the bars
//! (see `logging::above_progress`), and a store's summary line is printed once its bar is
//! cleared. Colour only when NO_COLOR is unset (indicatif's console crate checks it).

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};

use crate::sync::Progress;

/// How often the bars are redrawn.
const TICK: Duration = Duration::from_millis(100);

/// The bars of one `sync` command.
#[derive(Clone)]
pub struct Display {
    multi: MultiProgress,
}

impl Display {
    /// Starts drawing on stderr; log lines go above the bars until [`Display::close`].
    pub fn start() -> Display {
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
        crate::logging::above_progress(Some(multi.clone()));
        Display { multi }
    }

    /// A bar for `store`, counting what `progress` counts.
    pub fn add(&self, store: &str, progress: Arc<Progress>) -> ProgressBar {
        let count = |read: fn(&Progress) -> u64| {
            let progress = progress.clone();
            move |_: &ProgressState, w: &mut dyn std::fmt::Write| {
                let _ = write!(w, "{}", read(&progress));
            }
        };
        let rate = {
            let progress = progress.clone();
            move |state: &ProgressState, w: &mut dyn std::fmt::Write| {
                let products = progress.products.load(Ordering::Relaxed) as f64;
                let seconds = state.elapsed().as_secs_f64().max(0.001);
                let _ = write!(w, "{:.0}", products / seconds);
            }
        };
        let template = "{spinner:.green} {prefix:.bold} {elapsed:>4}  {pages} pages, \
                        {products} products, {requests} requests, {rate} products/s";
        let style = ProgressStyle::with_template(template)
            .expect("static template")
            .with_key("pages", count(|p| p.pages.load(Ordering::Relaxed)))
            .with_key("products", count(|p| p.products.load(Ordering::Relaxed)))
            .with_key("requests", count(|p| p.requests.load(Ordering::Relaxed)))
            .with_key("rate", rate);
        let bar = self.multi.add(ProgressBar::new_spinner());
        bar.set_style(style);
        bar.set_prefix(store.to_string());
        bar.enable_steady_tick(TICK);
        bar
    }

    /// Clears `bar`, then prints `summary` (if any) on stdout above the remaining bars.
    pub fn finish(&self, bar: ProgressBar, summary: Option<&str>) {
        bar.finish_and_clear();
        self.multi.remove(&bar);
        if let Some(summary) = summary {
            self.multi.suspend(|| super::print_line(summary));
        }
    }

    /// Clears every bar; log lines go straight to stderr again.
    pub fn close(self) {
        let _ = self.multi.clear();
        crate::logging::above_progress(None);
    }
}
