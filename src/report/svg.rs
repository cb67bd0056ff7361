//! Inline SVG time-series charts: lines or stacked areas over UTC time, with axes, ticks,
//! units, a legend and vertical event markers. Gaps of the data are shaded and break the
//! lines (a lone observation is a dot); time ticks are chosen by the span shown (hours, days,
//! weeks, months or years) so that their labels never overlap. No scripts, no external
//! resources.

use std::fmt::Write;

use crate::descriptor::values::civil_from_days;

const WIDTH: f64 = 960.0;
const HEIGHT: f64 = 300.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 30.0;
const BOTTOM: f64 = 60.0;
const HOUR_MS: i64 = 3_600_000;
/// Fill of the bands where the data has a gap.
const GAP_FILL: &str = "#efefef";
const DAY_MS: i64 = 86_400_000;
/// Width of one character of an 11 px tick label (generous for digits in sans-serif).
const LABEL_CHAR_PX: f64 = 7.0;
/// Space kept between two tick labels.
const LABEL_GAP_PX: f64 = 14.0;
/// Height of a legend row.
const LEGEND_ROW: f64 = 18.0;

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
    /// Time ranges without data (ms, exclusive of their ends): shaded, and no line crosses
    /// them.
    pub gaps: Vec<(i64, i64)>,
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

/// A y tick's text for people: `0`, `2.5k`, `250M`, `12 %`, `0.25 %`.
fn tick_label(v: f64, step: f64, y_max: f64, percent: bool) -> String {
    // Enough decimals to tell neighbouring ticks apart, no more.
    let decimals = |step: f64| (-(step.log10().floor())).max(0.0) as usize;
    if v == 0.0 {
        return "0".into();
    }
    if percent {
        let p = v * 100.0;
        return format!("{p:.*} %", decimals(step * 100.0));
    }
    let (scaled, unit, scaled_step) = if y_max >= 1e9 {
        (v / 1e9, "G", step / 1e9)
    } else if y_max >= 1e6 {
        (v / 1e6, "M", step / 1e6)
    } else if y_max >= 1e4 {
        (v / 1e3, "k", step / 1e3)
    } else {
        (v, "", step)
    };
    format!("{scaled:.*}{unit}", decimals(scaled_step))
}

/// A step between time ticks.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Step {
    Hours(i64),
    Days(i64),
    Months(i64),
    Years(i64),
}

impl Step {
    /// The shortest distance between two ticks (ms).
    fn min_ms(self) -> i64 {
        match self {
            Step::Hours(h) => h * HOUR_MS,
            Step::Days(d) => d * DAY_MS,
            Step::Months(m) => m * 28 * DAY_MS,
            Step::Years(y) => y * 365 * DAY_MS,
        }
    }

    /// Characters of a label at this step.
    fn label_chars(self) -> usize {
        match self {
            Step::Hours(_) => 11, // 08-26 20:00
            Step::Days(_) => 10,  // 2021-08-26
            Step::Months(_) => 7, // 2021-08
            Step::Years(_) => 4,  // 2021
        }
    }

    fn label(self, t: i64) -> String {
        let (y, m, d) = civil_from_days(t.div_euclid(DAY_MS));
        match self {
            Step::Hours(_) => format!("{m:02}-{d:02} {:02}:00", t.rem_euclid(DAY_MS) / HOUR_MS),
            Step::Days(_) => format!("{y:04}-{m:02}-{d:02}"),
            Step::Months(_) => format!("{y:04}-{m:02}"),
            Step::Years(_) => format!("{y:04}"),
        }
    }

    /// Every tick of this step in `[from, to]`.
    fn ticks(self, from: i64, to: i64) -> Vec<i64> {
        use crate::descriptor::values::days_from_civil;
        let mut out = Vec::new();
        match self {
            Step::Hours(h) | Step::Days(h) => {
                let every = if let Step::Hours(_) = self {
                    h * HOUR_MS
                } else {
                    h * DAY_MS
                };
                let mut t = from.div_euclid(every) * every;
                while t <= to {
                    if t >= from {
                        out.push(t);
                    }
                    t += every;
                }
            }
            Step::Months(k) | Step::Years(k) => {
                let months = if let Step::Months(_) = self {
                    k
                } else {
                    12 * k
                };
                let (y, m, _) = civil_from_days(from.div_euclid(DAY_MS));
                // Months since year 0, rounded down to a multiple of the step.
                let mut index = (y * 12 + i64::from(m) - 1).div_euclid(months) * months;
                loop {
                    let t =
                        days_from_civil(index.div_euclid(12), (index.rem_euclid(12) + 1) as u32, 1)
                            * DAY_MS;
                    if t > to {
                        break;
                    }
                    if t >= from {
                        out.push(t);
                    }
                    index += months;
                }
            }
        }
        out
    }
}

/// Ticks for a time axis from `from` to `to` drawn `width_px` wide: the finest step whose
/// labels fit side by side without overlapping, with its labels.
pub fn time_ticks(from: i64, to: i64, width_px: f64) -> Vec<(i64, String)> {
    const STEPS: [Step; 21] = [
        Step::Hours(1),
        Step::Hours(2),
        Step::Hours(3),
        Step::Hours(6),
        Step::Hours(12),
        Step::Days(1),
        Step::Days(2),
        Step::Days(7),
        Step::Days(14),
        Step::Months(1),
        Step::Months(2),
        Step::Months(3),
        Step::Months(6),
        Step::Years(1),
        Step::Years(2),
        Step::Years(5),
        Step::Years(10),
        Step::Years(20),
        Step::Years(50),
        Step::Years(100),
        Step::Years(1000),
    ];
    let span = (to - from).max(1) as f64;
    for step in STEPS {
        let label_px = step.label_chars() as f64 * LABEL_CHAR_PX + LABEL_GAP_PX;
        if step.min_ms() as f64 / span * width_px < label_px {
            continue;
        }
        let ticks = step.ticks(from, to);
        // A coarser step may still give two labels; a finer one that gives none is useless.
        if ticks.is_empty() {
            continue;
        }
        return ticks.into_iter().map(|t| (t, step.label(t))).collect();
    }
    Vec::new()
}

impl Chart<'_> {
    pub fn render(&self) -> String {
        let mut svg = String::new();
        let header = |svg: &mut String, height: f64| {
            let _ = write!(
                svg,
                r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" width="100%" role="img" aria-label="{t}"><title>{t}</title><rect width="{WIDTH}" height="{height}" fill="white"/><text x="{LEFT}" y="18" font-size="14" font-weight="bold">{t}</text>"#,
                t = escape(self.title)
            );
        };
        let n = self.x_ms.len();
        if n == 0 || self.series.is_empty() {
            header(&mut svg, HEIGHT);
            svg.push_str(r##"<text x="480" y="150" text-anchor="middle" font-size="13" fill="#666">no data</text></svg>"##);
            return svg;
        }
        // At least two hours shown, so one consensus is a dot between two ticks, and a little
        // room on either side so the first and last points are not hidden by the axes.
        let (mut x0, mut x1) = (self.x_ms[0], self.x_ms[n - 1]);
        if x1 - x0 < 2 * HOUR_MS {
            let middle = (x0 + x1) / 2;
            x0 = middle - HOUR_MS;
            x1 = middle + HOUR_MS;
        } else {
            let pad = (x1 - x0) / 80;
            x0 -= pad;
            x1 += pad;
        }
        // The legend below the axis, wrapped into as many rows as it needs (the chart grows).
        let legend = self.legend(x0, x1);
        let legend_rows = legend.last().map_or(1, |item| item.row + 1);
        header(&mut svg, HEIGHT + LEGEND_ROW * (legend_rows - 1) as f64);
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
            let label = tick_label(v, step, y_max, self.percent);
            let _ = write!(
                svg,
                r##"<line x1="{LEFT}" y1="{y:.1}" x2="{x2}" y2="{y:.1}" stroke="#e5e5e5"/><text class="ytick" x="{tx}" y="{ty:.1}" font-size="11" text-anchor="end">{label}</text>"##,
                x2 = WIDTH - RIGHT,
                tx = LEFT - 6.0,
                ty = y + 4.0
            );
            v += step;
        }
        // Gaps of the data, shaded.
        for &(a, b) in &self.gaps {
            let (a, b) = (a.max(x0), b.min(x1));
            if a >= b {
                continue;
            }
            let _ = write!(
                svg,
                r##"<rect class="gap" x="{x:.1}" y="{TOP}" width="{w:.1}" height="{plot_h}" fill="{GAP_FILL}"><title>no data from {from} to {to}</title></rect>"##,
                x = x_of(a),
                w = (x_of(b) - x_of(a)).max(0.5),
                from = &crate::descriptor::values::format_timestamp(a.div_euclid(1000))[..16],
                to = &crate::descriptor::values::format_timestamp(b.div_euclid(1000))[..16],
            );
        }
        // X ticks chosen by the span shown.
        let ticks = time_ticks(x0, x1, plot_w);
        for (t, label) in &ticks {
            let x = x_of(*t);
            let _ = write!(
                svg,
                r##"<line x1="{x:.1}" y1="{TOP}" x2="{x:.1}" y2="{yb}" stroke="#f0f0f0"/><text class="xtick" x="{x:.1}" y="{ty}" font-size="11" text-anchor="middle">{label}</text>"##,
                yb = TOP + plot_h,
                ty = TOP + plot_h + 16.0
            );
        }
        // Series, drawn run by run: no line or area crosses a gap of the data.
        let runs = self.runs();
        let mut base = vec![0.0; n];
        for s in &self.series {
            let top: Vec<f64> = (0..n)
                .map(|i| {
                    if self.stacked {
                        base[i] + s.values[i].max(0.0)
                    } else {
                        s.values[i]
                    }
                })
                .collect();
            let mut d = String::new();
            let mut dots = String::new();
            for run in &runs {
                // A run too short to see as a line is drawn as a dot (a bar when stacked).
                let extent = x_of(self.x_ms[run.end - 1]) - x_of(self.x_ms[run.start]);
                if run.len() == 1 || extent < 3.0 {
                    let i = run.start;
                    let (x, y) = (x_of(self.x_ms[i]), y_of(top[i]));
                    if self.stacked {
                        let _ = write!(
                            d,
                            "M{a:.1},{y:.1} L{b:.1},{y:.1} L{b:.1},{y0:.1} L{a:.1},{y0:.1} Z ",
                            a = x - 1.5,
                            b = x + 1.5,
                            y0 = y_of(base[i])
                        );
                    } else {
                        let _ = write!(
                            dots,
                            r#"<circle cx="{x:.1}" cy="{y:.1}" r="2.2" fill="{c}"/>"#,
                            c = s.color
                        );
                    }
                    continue;
                }
                for (k, i) in run.clone().enumerate() {
                    let command = if k == 0 { "M" } else { "L" };
                    let _ = write!(d, "{command}{:.1},{:.1} ", x_of(self.x_ms[i]), y_of(top[i]));
                }
                if self.stacked {
                    for i in run.clone().rev() {
                        let _ = write!(d, "L{:.1},{:.1} ", x_of(self.x_ms[i]), y_of(base[i]));
                    }
                    d.push_str("Z ");
                }
            }
            let name = escape(&s.name);
            if self.stacked {
                let _ = write!(
                    svg,
                    r#"<path class="series" d="{d}" fill="{c}" fill-opacity="0.8" stroke="none"><title>{name}</title></path>"#,
                    c = s.color,
                );
                for (b, v) in base.iter_mut().zip(&s.values) {
                    *b += v.max(0.0);
                }
            } else {
                let _ = write!(
                    svg,
                    r#"<g class="series"><path d="{d}" fill="none" stroke="{c}" stroke-width="1.3"/>{dots}<title>{name}</title></g>"#,
                    c = s.color,
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
        for item in legend {
            let (lx, ly) = (item.x, HEIGHT - 14.0 + LEGEND_ROW * item.row as f64);
            if item.dashed {
                let _ = write!(
                    svg,
                    r#"<line x1="{lx:.1}" y1="{y:.1}" x2="{x2:.1}" y2="{y:.1}" stroke="{color}" stroke-width="2" stroke-dasharray="4 3"/>"#,
                    y = ly - 4.0,
                    x2 = lx + 14.0,
                    color = item.color
                );
            } else {
                let _ = write!(
                    svg,
                    r##"<rect x="{lx:.1}" y="{y:.1}" width="14" height="9" fill="{color}" stroke="{edge}" stroke-width="0.6"/>"##,
                    edge = if item.color == GAP_FILL {
                        "#999"
                    } else {
                        item.color.as_str()
                    },
                    color = item.color,
                    y = ly - 9.0
                );
            }
            let _ = write!(
                svg,
                r#"<text class="legend" x="{tx:.1}" y="{ly}" font-size="11">{label}</text>"#,
                tx = lx + 18.0,
                label = escape(&item.name)
            );
        }
        svg.push_str("</svg>");
        svg
    }
}

/// One entry of a chart's legend, placed.
struct LegendItem {
    name: String,
    color: String,
    dashed: bool,
    x: f64,
    row: usize,
}

impl Chart<'_> {
    /// The legend: series, the kinds of markers, and the gap shading when a gap is shown;
    /// laid out left to right, wrapping before the right edge.
    fn legend(&self, x0: i64, x1: i64) -> Vec<LegendItem> {
        let mut entries: Vec<(String, String, bool)> = self
            .series
            .iter()
            .map(|s| (s.name.clone(), s.color.clone(), false))
            .collect();
        let mut seen = Vec::new();
        for m in &self.markers {
            let kind = m.label.split(':').next().unwrap_or("").to_string();
            if !seen.contains(&kind) {
                seen.push(kind.clone());
                entries.push((kind, m.color.to_string(), true));
            }
        }
        if self.gaps.iter().any(|&(a, b)| b > x0 && a < x1) {
            entries.push(("no data".into(), GAP_FILL.into(), false));
        }
        let mut items = Vec::new();
        let (mut x, mut row) = (LEFT, 0);
        for (name, color, dashed) in entries {
            let width = 30.0 + LABEL_CHAR_PX * name.chars().count() as f64;
            if x > LEFT && x + width > WIDTH - RIGHT {
                x = LEFT;
                row += 1;
            }
            items.push(LegendItem {
                name,
                color,
                dashed,
                x,
                row,
            });
            x += width;
        }
        items
    }

    /// Index ranges of consecutive points with no gap of the data between them.
    fn runs(&self) -> Vec<std::ops::Range<usize>> {
        let mut runs = Vec::new();
        let mut start = 0;
        for i in 1..=self.x_ms.len() {
            let broken = i == self.x_ms.len() || {
                let (a, b) = (self.x_ms[i - 1], self.x_ms[i]);
                self.gaps.iter().any(|&(g0, g1)| g0 < b && g1 > a)
            };
            if broken {
                runs.push(start..i);
                start = i;
            }
        }
        runs
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
            gaps: Vec::new(),
        };
        let svg = chart.render();
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("Relays &amp; weight"));
        assert!(svg.contains(">removal<"), "marker kind in the legend");
        assert!(svg.contains("stroke-dasharray"));
    }

    /// Tick labels (at 11 px) never overlap and are never fewer than two, from a few hours
    /// to decades.
    #[test]
    fn time_ticks_fit_every_span() {
        let start = 1_630_000_000_000i64; // 2021-08-26
        let width = WIDTH - LEFT - RIGHT;
        for span_hours in [
            2i64,
            3,
            5,
            12,
            30,
            72,
            24 * 10,
            24 * 45,
            24 * 200,
            24 * 800,
            24 * 365 * 5,
            24 * 365 * 14,
            24 * 365 * 20,
            24 * 365 * 60,
        ] {
            let end = start + span_hours * HOUR_MS;
            let ticks = time_ticks(start, end, width);
            assert!(ticks.len() >= 2, "{span_hours} h: {ticks:?}");
            let px = |t: i64| (t - start) as f64 / (end - start) as f64 * width;
            for pair in ticks.windows(2) {
                let room = px(pair[1].0) - px(pair[0].0);
                let needed = (pair[0].1.len() + pair[1].1.len()) as f64 / 2.0 * LABEL_CHAR_PX;
                assert!(room >= needed + 4.0, "{span_hours} h: {pair:?} {room}");
            }
            assert!(ticks.iter().all(|(t, _)| *t >= start && *t <= end));
        }
        // The label says what the step is.
        let hours = time_ticks(start, start + 3 * HOUR_MS, width);
        assert!(hours[0].1.ends_with(":00"), "{hours:?}");
        let years = time_ticks(start, start + 24 * 365 * 14 * HOUR_MS, width);
        assert_eq!(years[0].1.len(), 4, "{years:?}");
    }

    #[test]
    fn gaps_are_shaded_and_break_the_lines() {
        let x: Vec<i64> = [0i64, 1, 2, 30, 31, 100]
            .iter()
            .map(|h| 1_630_000_000_000 + h * HOUR_MS)
            .collect();
        let gaps = vec![(x[2], x[3]), (x[4], x[5])];
        let chart = Chart {
            title: "t",
            y_label: "y",
            x_ms: &x,
            series: vec![Series {
                name: "relays".into(),
                color: PALETTE[0].into(),
                values: vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
            }],
            markers: Vec::new(),
            stacked: false,
            percent: false,
            gaps,
        };
        assert_eq!(chart.runs(), vec![0..3, 3..5, 5..6]);
        let svg = chart.render();
        assert_eq!(svg.matches("class=\"gap\"").count(), 2);
        // Two subpaths (M) and one dot for the lone last point.
        let path = svg.split("<path d=\"").nth(1).unwrap();
        let path = &path[..path.find('"').unwrap()];
        assert_eq!(path.matches('M').count(), 2, "{path}");
        assert_eq!(svg.matches("<circle").count(), 1);
    }
}
