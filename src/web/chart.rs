//! The price-history chart, an SVG written here (no charting script): a step line of the
//! price over time, the compare-at price dashed above it, out-of-stock periods shaded, the
//! first and last prices labelled, and a point with its own `<title>` per recorded price.

use askama::Template;

use super::series::{seconds, Series};

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 220.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 22.0;
const BOTTOM: f64 = 30.0;

/// One price point: where it is drawn and what its title says.
pub struct Point {
    pub x: String,
    pub y: String,
    pub at: String,
    pub price: String,
    pub cents: i64,
}

/// A shaded period without stock.
pub struct Shade {
    pub x: String,
    pub width: String,
    pub from: String,
    pub until: String,
}

/// A text label at a place.
pub struct Label {
    pub x: String,
    pub y: String,
    pub text: String,
    pub anchor: &'static str,
}

/// The drawn chart of one variant.
#[derive(Template)]
#[template(path = "chart.svg")]
pub struct Chart {
    /// With its own XML declaration-free root attributes and style (served alone).
    pub standalone: bool,
    pub id: String,
    pub title: String,
    pub description: String,
    pub width: f64,
    pub height: f64,
    pub plot_top: String,
    pub plot_height: String,
    pub price_path: String,
    pub compare_paths: Vec<String>,
    pub shades: Vec<Shade>,
    pub points: Vec<Point>,
    pub labels: Vec<Label>,
}

fn num(v: f64) -> String {
    format!("{v:.1}")
}

/// A time on the axis: the day, or day and minute when the chart spans less than two days.
fn axis_time(at: &str, span: f64) -> String {
    let shown = if span < 2.0 * 86_400.0 { 16 } else { 10 };
    at.get(..shown).unwrap_or(at).to_string()
}

fn money(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    format!("{sign}{}.{:02}", (cents / 100).abs(), (cents % 100).abs())
}

impl Chart {
    /// Lays `series` out. `name` says whose variant it is, for the title.
    pub fn draw(series: &Series, name: &str, standalone: bool) -> Chart {
        let t0 = seconds(&series.prices[0].at);
        let t1 = seconds(&series.end).max(
            series
                .prices
                .iter()
                .map(|p| seconds(&p.at))
                .max()
                .unwrap_or(t0),
        );
        let span = (t1 - t0).max(1) as f64;
        let x = |at: &str| LEFT + (seconds(at) - t0) as f64 / span * (WIDTH - LEFT - RIGHT);
        let x_end = WIDTH - RIGHT;
        let cents: Vec<i64> = series
            .prices
            .iter()
            .map(|p| p.value.cents)
            .chain(
                series
                    .compare_at
                    .iter()
                    .filter_map(|c| c.value.as_ref().map(|p| p.cents)),
            )
            .collect();
        let (lo, hi) = (
            *cents.iter().min().unwrap_or(&0),
            *cents.iter().max().unwrap_or(&0),
        );
        let pad = ((hi - lo) as f64 * 0.1).max(if hi == lo {
            (hi.abs() as f64 * 0.1).max(1.0)
        } else {
            0.0
        });
        // Prices are not negative: the axis stops at zero rather than pad below it.
        let lo_v = if lo >= 0 {
            (lo as f64 - pad).max(0.0)
        } else {
            lo as f64 - pad
        };
        let hi_v = hi as f64 + pad;
        let plot = HEIGHT - TOP - BOTTOM;
        let y = |c: i64| TOP + (hi_v - c as f64) / (hi_v - lo_v) * plot;

        let mut price_path = String::new();
        for (i, p) in series.prices.iter().enumerate() {
            let (px, py) = (x(&p.at), y(p.value.cents));
            if i == 0 {
                price_path.push_str(&format!("M{} {}", num(px), num(py)));
            } else {
                price_path.push_str(&format!(" H{} V{}", num(px), num(py)));
            }
        }
        price_path.push_str(&format!(" H{}", num(x_end)));

        let mut compare_paths = Vec::new();
        for (i, c) in series.compare_at.iter().enumerate() {
            let Some(price) = &c.value else { continue };
            let until = series.compare_at.get(i + 1).map_or(x_end, |n| x(&n.at));
            let yy = num(y(price.cents));
            compare_paths.push(format!("M{} {yy} H{}", num(x(&c.at)), num(until)));
        }

        let mut shades = Vec::new();
        for (i, a) in series.available.iter().enumerate() {
            if a.value != Some(false) {
                continue;
            }
            let next = series.available.get(i + 1);
            let (from, until) = (x(&a.at), next.map_or(x_end, |n| x(&n.at)));
            shades.push(Shade {
                x: num(from),
                width: num((until - from).max(1.0)),
                from: a.at.clone(),
                until: next.map_or_else(|| series.end.clone(), |n| n.at.clone()),
            });
        }

        let points: Vec<Point> = series
            .prices
            .iter()
            .map(|p| Point {
                x: num(x(&p.at)),
                y: num(y(p.value.cents)),
                at: p.at.clone(),
                price: p.value.text.clone(),
                cents: p.value.cents,
            })
            .collect();
        let first = &series.prices[0];
        let last = &series.prices[series.prices.len() - 1];
        let mut labels = vec![
            Label {
                x: num(x(&first.at) + 4.0),
                y: num(y(first.value.cents) - 7.0),
                text: first.value.text.clone(),
                anchor: "start",
            },
            Label {
                x: num(LEFT - 6.0),
                y: num(TOP + 4.0),
                text: money(hi_v.round() as i64),
                anchor: "end",
            },
            Label {
                x: num(LEFT - 6.0),
                y: num(TOP + plot + 4.0),
                text: money(lo_v.round() as i64),
                anchor: "end",
            },
            Label {
                x: num(LEFT),
                y: num(HEIGHT - 8.0),
                text: axis_time(&first.at, span),
                anchor: "start",
            },
            Label {
                x: num(x_end),
                y: num(HEIGHT - 8.0),
                text: axis_time(&series.end, span),
                anchor: "end",
            },
        ];
        if series.prices.len() > 1 {
            labels.push(Label {
                x: num(x_end),
                y: num(y(last.value.cents) - 7.0),
                text: last.value.text.clone(),
                anchor: "end",
            });
        }
        let changes = series.prices.len() - 1;
        Chart {
            standalone,
            id: format!("chart-{}", series.variant_id),
            title: format!("Price history of {name}"),
            description: format!(
                "From {} to {}: first price {}, last price {}, {changes} price change{}, {} \
                 out-of-stock period{}.",
                first.at,
                series.end,
                first.value.text,
                last.value.text,
                if changes == 1 { "" } else { "s" },
                shades.len(),
                if shades.len() == 1 { "" } else { "s" },
            ),
            width: WIDTH,
            height: HEIGHT,
            plot_top: num(TOP),
            plot_height: num(plot),
            price_path,
            compare_paths,
            shades,
            points,
            labels,
        }
    }
}
