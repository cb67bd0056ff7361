//! Inline SVG time-series charts: lines or stacked areas over UTC time, with axes, ticks,
//! units, a legend and vertical event markers. No scripts, no external resources.

use std::fmt::Write;

use crate::descriptor::values::civil_from_days;

const WIDTH: f64 = 960.0;
const HEIGHT: f64 = 300.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 30.0;
const BOTTOM: f64 = 60.0;
const DAY_MS: i64 = 86_400_000;

/// One plotted series.
pub struct Series {
    pub name: String,
    pub color: String,
    pub values: Vec<f64>,
}

/// A vertical marker (an event).
pub struct Marker {
    pub at_ms: i64,
    pub color: &'static str,
    pub label: String,
}

/// A chart over shared x values (milliseconds since the epoch, ascending).
pub struct Chart<'a> {
    pub title: &'a str,
    pub y_label: &'a str,
    pub x_ms: &'a [i64],
    pub series: Vec<Series>,
    pub markers: Vec<Marker>,
    /// Stack the series as areas (shares of one whole) instead of drawing lines.
    pub stacked: bool,
    /// Format y tick values as percentages (values are fractions).
    pub percent: bool,
}

/// Distinct colours for series (colour-blind friendly order).
pub const PALETTE: [&str; 10] = [
    "#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000",
    "#999999", "#7F3C8D",
];

/// Text made safe inside HTML / SVG elements and attributes.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A "nice" step for about `ticks` ticks up to `max`.
fn nice_step(max: f64, ticks: f64) -> f64 {
    let raw = (max / ticks).max(f64::MIN_POSITIVE);
    let magnitude = 10f64.powf(raw.log10().floor());
    let residual = raw / magnitude;
    let nice = if residual <= 1.0 {
        1.0
    } else if residual <= 2.0 {
        2.0
    } else if residual <= 5.0 {
        5.0
    } else {
        10.0
    };
    nice * magnitude
}

fn month_starts(from: i64, to: i64) -> Vec<(i64, String)> {
    let (mut y, mut m, _) = civil_from_days(from.div_euclid(DAY_MS));
    let mut out = Vec::new();
    loop {
        m += 1;
        if m > 12 {
            m = 1;
            y += 1;
        }
        let t = crate::descriptor::values::days_from_civil(y, m, 1) * DAY_MS;
        if t > to {
            break;
        }
        out.push((t, format!("{y:04}-{m:02}")));
    }
    out
}

impl Chart<'_> {
    pub fn render(&self) -> String {
        let mut svg = String::new();
        let _ = write!(
            svg,
            r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" role="img" aria-label="{t}"><title>{t}</title><rect width="{WIDTH}" height="{HEIGHT}" fill="white"/><text x="{LEFT}" y="18" font-size="14" font-weight="bold">{t}</text>"#,
            t = escape(self.title)
        );
        let n = self.x_ms.len();
        if n == 0 || self.series.is_empty() {
            svg.push_str(r##"<text x="480" y="150" text-anchor="middle" font-size="13" fill="#666">no data</text></svg>"##);
            return svg;
        }
        let (x0, x1) = (self.x_ms[0], self.x_ms[n - 1].max(self.x_ms[0] + 1));
        let plot_w = WIDTH - LEFT - RIGHT;
        let plot_h = HEIGHT - TOP - BOTTOM;
        let x_of = |t: i64| LEFT + (t - x0) as f64 / (x1 - x0) as f64 * plot_w;
        let totals: Vec<f64> = (0..n)
            .map(|i| {
                if self.stacked {
                    self.series.iter().map(|s| s.values[i].max(0.0)).sum()
                } else {
                    self.series.iter().map(|s| s.values[i]).fold(0.0, f64::max)
                }
            })
            .collect();
        let max = totals
            .iter()
            .copied()
            .fold(0.0, f64::max)
            .max(f64::MIN_POSITIVE);
        let step = nice_step(max, 5.0);
        let y_max = (max / step).ceil() * step;
        let y_of = |v: f64| TOP + plot_h - v / y_max * plot_h;

        // Grid and y ticks.
        let mut v = 0.0;
        while v <= y_max + step / 2.0 {
            let y = y_of(v);
            let label = if self.percent {
                format!("{:.*}%", if step * 100.0 < 1.0 { 2 } else { 0 }, v * 100.0)
            } else if step < 1.0 {
                format!("{v:.2}")
            } else if y_max >= 1e6 {
                format!("{:.1}M", v / 1e6)
            } else if y_max >= 1e4 {
                format!("{:.0}k", v / 1e3)
            } else {
                format!("{v:.0}")
            };
            let _ = write!(
                svg,
                r##"<line x1="{LEFT}" y1="{y:.1}" x2="{x2}" y2="{y:.1}" stroke="#e5e5e5"/><text x="{tx}" y="{ty:.1}" font-size="11" text-anchor="end">{label}</text>"##,
                x2 = WIDTH - RIGHT,
                tx = LEFT - 6.0,
                ty = y + 4.0
            );
            v += step;
        }
        // X ticks at month starts (or days for short spans).
        let mut ticks = month_starts(x0, x1);
        if ticks.len() < 2 {
            let days = (x1 - x0) / DAY_MS;
            let every = (days / 8).max(1);
            ticks = (1..=days)
                .step_by(every as usize)
                .map(|d| {
                    let t = (x0.div_euclid(DAY_MS) + d) * DAY_MS;
                    let (y, m, dd) = civil_from_days(t / DAY_MS);
                    (t, format!("{y:04}-{m:02}-{dd:02}"))
                })
                .collect();
        }
        for (t, label) in &ticks {
            let x = x_of(*t);
            let _ = write!(
                svg,
                r##"<line x1="{x:.1}" y1="{TOP}" x2="{x:.1}" y2="{yb}" stroke="#f0f0f0"/><text x="{x:.1}" y="{ty}" font-size="11" text-anchor="middle">{label}</text>"##,
                yb = TOP + plot_h,
                ty = TOP + plot_h + 16.0
            );
        }
        // Series.
        let mut base = vec![0.0; n];
        for s in &self.series {
            let points: Vec<(f64, f64)> = (0..n)
                .map(|i| {
                    let v = if self.stacked {
                        base[i] + s.values[i].max(0.0)
                    } else {
                        s.values[i]
                    };
                    (x_of(self.x_ms[i]), y_of(v))
                })
                .collect();
            if self.stacked {
                let mut d = String::new();
                for (i, (x, y)) in points.iter().enumerate() {
                    let _ = write!(d, "{}{x:.1},{y:.1} ", if i == 0 { "M" } else { "L" });
                }
                for i in (0..n).rev() {
                    let _ = write!(d, "L{:.1},{:.1} ", x_of(self.x_ms[i]), y_of(base[i]));
                }
                let _ = write!(
                    svg,
                    r#"<path d="{d}Z" fill="{c}" fill-opacity="0.75" stroke="{c}" stroke-width="0.5"><title>{name}</title></path>"#,
                    c = s.color,
                    name = escape(&s.name)
                );
                for (b, v) in base.iter_mut().zip(&s.values) {
                    *b += v.max(0.0);
                }
            } else {
                let mut d = String::new();
                for (i, (x, y)) in points.iter().enumerate() {
                    let _ = write!(d, "{}{x:.1},{y:.1} ", if i == 0 { "M" } else { "L" });
                }
                let _ = write!(
                    svg,
                    r#"<path d="{d}" fill="none" stroke="{c}" stroke-width="1.3"><title>{name}</title></path>"#,
                    c = s.color,
                    name = escape(&s.name)
                );
            }
        }
        // Event markers.
        for m in &self.markers {
            if m.at_ms < x0 || m.at_ms > x1 {
                continue;
            }
            let x = x_of(m.at_ms);
            let _ = write!(
                svg,
                r#"<line x1="{x:.1}" y1="{TOP}" x2="{x:.1}" y2="{yb}" stroke="{c}" stroke-width="1.5" stroke-dasharray="4 3"><title>{l}</title></line>"#,
                yb = TOP + plot_h,
                c = m.color,
                l = escape(&m.label)
            );
        }
        // Axes, y label, legend.
        let _ = write!(
            svg,
            r##"<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{yb}" stroke="#333"/><line x1="{LEFT}" y1="{yb}" x2="{x2}" y2="{yb}" stroke="#333"/><text transform="translate(16,{my}) rotate(-90)" font-size="12" text-anchor="middle">{yl}</text>"##,
            yb = TOP + plot_h,
            x2 = WIDTH - RIGHT,
            my = TOP + plot_h / 2.0,
            yl = escape(self.y_label)
        );
        let mut lx = LEFT;
        let ly = HEIGHT - 14.0;
        let mut legend: Vec<(String, String, bool)> = self
            .series
            .iter()
            .map(|s| (s.name.clone(), s.color.clone(), false))
            .collect();
        let mut seen = Vec::new();
        for m in &self.markers {
            let kind = m.label.split(':').next().unwrap_or("").to_string();
            if !seen.contains(&kind) {
                seen.push(kind.clone());
                legend.push((kind, m.color.to_string(), true));
            }
        }
        for (name, color, dashed) in legend {
            if dashed {
                let _ = write!(
                    svg,
                    r#"<line x1="{lx:.1}" y1="{y:.1}" x2="{x2:.1}" y2="{y:.1}" stroke="{color}" stroke-width="2" stroke-dasharray="4 3"/>"#,
                    y = ly - 4.0,
                    x2 = lx + 14.0
                );
            } else {
                let _ = write!(
                    svg,
                    r#"<rect x="{lx:.1}" y="{y:.1}" width="14" height="9" fill="{color}"/>"#,
                    y = ly - 9.0
                );
            }
            let label = escape(&name);
            let _ = write!(
                svg,
                r#"<text x="{tx:.1}" y="{ly}" font-size="11">{label}</text>"#,
                tx = lx + 18.0
            );
            lx += 30.0 + 6.5 * name.chars().count() as f64;
        }
        svg.push_str("</svg>");
        svg
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_are_nice() {
        assert_eq!(nice_step(100.0, 5.0), 20.0);
        assert_eq!(nice_step(0.16, 5.0), 0.05);
        assert_eq!(nice_step(7.0, 5.0), 2.0);
    }

    #[test]
    fn a_chart_has_axes_legend_and_markers() {
        let x: Vec<i64> = (0..48).map(|h| 1_630_000_000_000 + h * 3_600_000).collect();
        let chart = Chart {
            title: "Relays & weight",
            y_label: "relays",
            x_ms: &x,
            series: vec![Series {
                name: "relays".into(),
                color: PALETTE[0].into(),
                values: (0..48).map(|i| 100.0 + i as f64).collect(),
            }],
            markers: vec![Marker {
                at_ms: x[10],
                color: "#c00",
                label: "removal: 40 relays".into(),
            }],
            stacked: false,
            percent: false,
        };
        let svg = chart.render();
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("Relays &amp; weight"));
        assert!(svg.contains(">removal<"), "marker kind in the legend");
        assert!(svg.contains("stroke-dasharray"));
    }
}
