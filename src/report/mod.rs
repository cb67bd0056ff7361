//! The report: a self-contained `index.html` (inline SVG charts, no scripts, opens from
//! disk), `summary.md`, and Parquet copies of the tables it shows, built from the warehouse's
//! job and attribution datasets.

pub mod svg;

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use polars::prelude::*;

use crate::descriptor::values::format_timestamp;
use crate::jobs::columns::{floats, times};
use crate::jobs::{scan_dataset, write_atomic};

/// Milliseconds of a timestamp column (nulls as 0).
fn times_ms(frame: &DataFrame, name: &str) -> Result<Vec<i64>> {
    Ok(times(frame, name)?
        .into_iter()
        .map(|t| t.unwrap_or(0))
        .collect())
}
use svg::{escape, Chart, Marker, Series, PALETTE};

/// Actors shown with their own section and in the stacked timelines.
const TOP_ACTORS: usize = 8;
/// Rows shown per table (the Parquet copies have all).
const TABLE_ROWS: usize = 50;

/// Tables copied next to the report.
const TABLES: [&str; 10] = [
    "coverage",
    "actors",
    "actor_members",
    "actor_timeline",
    "removal_events",
    "removal_event_relays",
    "outages",
    "join_bursts",
    "network_hourly",
    "relays",
];

fn read(root: &Path, dataset: &str) -> Result<Option<DataFrame>> {
    match scan_dataset(root, dataset)? {
        Some(scan) => Ok(Some(
            scan.collect()
                .map_err(anyhow::Error::from)
                .with_context(|| format!("cannot read {dataset}"))?,
        )),
        None => Ok(None),
    }
}

/// A cell's text in a column: fractions (probabilities, shares) as percentages.
fn column_cell(column: &str, value: &AnyValue) -> String {
    let is_share =
        column.contains("probability") || column.contains("fraction") || column.ends_with("_share");
    match value {
        AnyValue::Float64(v) if is_share => format!("{:.2} %", v * 100.0),
        // The strongest piece of evidence only; all of it is in the Parquet table.
        AnyValue::List(series) if column == "evidence" => {
            series.get(0).map(|v| cell(&v)).unwrap_or_default()
        }
        _ => cell(value),
    }
}

/// A cell's text.
fn cell(value: &AnyValue) -> String {
    match value {
        AnyValue::Null => String::new(),
        AnyValue::String(s) => s.to_string(),
        AnyValue::StringOwned(s) => s.to_string(),
        AnyValue::Datetime(ms, _, _) | AnyValue::DatetimeOwned(ms, _, _) => {
            format_timestamp(ms.div_euclid(1000))[..16].to_string()
        }
        AnyValue::Float64(v) => {
            if v.fract() == 0.0 && v.abs() < 1e15 {
                format!("{v:.0}")
            } else if v.abs() < 1.0 {
                format!("{v:.4}")
            } else {
                format!("{v:.1}")
            }
        }
        AnyValue::Float32(v) => format!("{v:.4}"),
        AnyValue::List(series) => {
            let items: Vec<String> = series.iter().map(|v| cell(&v)).collect();
            items.join("; ")
        }
        other => other.to_string(),
    }
}

/// An HTML table of some columns of a frame (first `TABLE_ROWS` rows).
fn html_table(frame: &DataFrame, columns: &[&str]) -> Result<String> {
    let mut html = String::from("<table><thead><tr>");
    let present: Vec<&str> = columns
        .iter()
        .copied()
        .filter(|c| frame.column(c).is_ok())
        .collect();
    for c in &present {
        let _ = write!(html, "<th>{}</th>", escape(&c.replace('_', " ")));
    }
    html.push_str("</tr></thead><tbody>");
    for row in 0..frame.height().min(TABLE_ROWS) {
        html.push_str("<tr>");
        for c in &present {
            let value = frame.column(c)?.get(row)?;
            let _ = write!(html, "<td>{}</td>", escape(&column_cell(c, &value)));
        }
        html.push_str("</tr>");
    }
    html.push_str("</tbody></table>");
    if frame.height() > TABLE_ROWS {
        let _ = write!(
            html,
            "<p class=\"note\">First {TABLE_ROWS} of {} rows; all in the Parquet table.</p>",
            frame.height()
        );
    }
    Ok(html)
}

fn pct(v: f64) -> String {
    format!("{:.2} %", v * 100.0)
}

const STYLE: &str = r#"body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:2em auto;max-width:1000px;color:#222;line-height:1.4}
h1{font-size:1.6em}h2{margin-top:2em;border-bottom:1px solid #ddd;padding-bottom:.2em}h3{margin-top:1.5em}
table{border-collapse:collapse;font-size:12px;margin:.5em 0;width:100%}th,td{border:1px solid #ddd;padding:3px 6px;text-align:left;vertical-align:top}
th{background:#f4f4f4}td{max-width:420px;overflow-wrap:anywhere}.note{color:#666;font-size:12px}
.cards{display:flex;gap:1em;flex-wrap:wrap}.card{border:1px solid #ddd;border-radius:6px;padding:.6em 1em;min-width:150px}.card b{display:block;font-size:1.4em}
figure{margin:1em 0}figcaption{font-size:12px;color:#555}"#;

/// What `build` wrote.
pub struct ReportSummary {
    pub index: PathBuf,
    pub actors: usize,
}

/// Writes the report for the warehouse at `root` into `out`.
pub fn build(root: &Path, out: &Path) -> Result<ReportSummary> {
    let hourly = read(root, "network_hourly")?
        .context("no network_hourly dataset: run `relaytrail jobs` first")?;
    let actors =
        read(root, "actors")?.context("no actors dataset: run `relaytrail attribute` first")?;
    let members = read(root, "actor_members")?.context("no actor_members dataset")?;
    let timeline = read(root, "actor_timeline")?.context("no actor_timeline dataset")?;
    let removals = read(root, "removal_events")?;
    let outages = read(root, "outages")?;
    let bursts = read(root, "join_bursts")?;
    let imports = read(root, "imports")?;
    let errors = read(root, "import_errors")?;
    let coverage = read(root, "coverage")?;

    let hours = times_ms(&hourly, "valid_after")?;
    // Gaps of the data (between coverage segments): shaded, and no line crosses them.
    let gaps: Vec<(i64, i64)> = match &coverage {
        Some(c) => {
            let starts = times_ms(c, "segment_start")?;
            let ends = times_ms(c, "segment_end")?;
            (1..starts.len())
                .map(|k| (ends[k - 1], starts[k]))
                .collect()
        }
        None => Vec::new(),
    };
    let mut markers = Vec::new();
    let mut event_rows = Vec::new();
    if let Some(r) = &removals {
        let n = floats(r, "relays_removed")?;
        for (t, k) in times_ms(r, "event_time")?.into_iter().zip(n) {
            markers.push(Marker {
                at_ms: t,
                color: "#C00000",
                label: format!("removal: {k:.0} relays at {}", format_timestamp(t / 1000)),
            });
            event_rows.push(t);
        }
    }
    if let Some(o) = &outages {
        let n = floats(o, "relays_down")?;
        for (t, k) in times_ms(o, "event_time")?.into_iter().zip(n) {
            markers.push(Marker {
                at_ms: t,
                color: "#E69F00",
                label: format!("outage: {k:.0} relays at {}", format_timestamp(t / 1000)),
            });
        }
    }
    let network_chart = Chart {
        title: "Relays in each consensus",
        y_label: "relays",
        x_ms: &hours,
        series: vec![Series {
            name: "relays".into(),
            color: PALETTE[0].into(),
            values: floats(&hourly, "relays")?,
        }],
        markers: markers
            .iter()
            .map(|m| Marker {
                at_ms: m.at_ms,
                color: m.color,
                label: m.label.clone(),
            })
            .collect(),
        stacked: false,
        percent: false,
        gaps: gaps.clone(),
    }
    .render();
    let weight_chart = Chart {
        title: "Total consensus weight (sum of the w Bandwidth= values)",
        y_label: "weight (kB/s)",
        x_ms: &hours,
        series: vec![Series {
            name: "total consensus weight".into(),
            color: PALETTE[2].into(),
            values: floats(&hourly, "total_consensus_weight")?,
        }],
        markers,
        stacked: false,
        percent: false,
        gaps: gaps.clone(),
    }
    .render();

    // Top actors by their highest guard / middle / exit probability.
    let actor_ids: Vec<String> = actors
        .column("actor_id")?
        .str()?
        .iter()
        .map(|s| s.unwrap_or_default().to_string())
        .collect();
    let peak_g = floats(&actors, "peak_guard_probability")?;
    let peak_m = floats(&actors, "peak_middle_probability")?;
    let peak_e = floats(&actors, "peak_exit_probability")?;
    let mut order: Vec<usize> = (0..actor_ids.len()).collect();
    order.sort_by(|&a, &b| {
        let key = |i: usize| peak_g[i].max(peak_m[i]).max(peak_e[i]);
        key(b)
            .total_cmp(&key(a))
            .then(actor_ids[a].cmp(&actor_ids[b]))
    });
    let top: Vec<usize> = order.into_iter().take(TOP_ACTORS).collect();

    // Daily axis for the stacked timelines.
    let days: Vec<i64> = {
        let mut d: Vec<i64> = times_ms(&timeline, "day")?;
        d.sort_unstable();
        d.dedup();
        d
    };
    let t_ids: Vec<String> = timeline
        .column("actor_id")?
        .str()?
        .iter()
        .map(|s| s.unwrap_or_default().to_string())
        .collect();
    let t_days = times_ms(&timeline, "day")?;
    let stacked = |column: &str, title: &str| -> Result<String> {
        let values = floats(&timeline, column)?;
        let series = top
            .iter()
            .enumerate()
            .map(|(k, &a)| {
                let mut v = vec![0.0; days.len()];
                for i in 0..t_ids.len() {
                    if t_ids[i] == actor_ids[a] {
                        if let Ok(d) = days.binary_search(&t_days[i]) {
                            v[d] = values[i];
                        }
                    }
                }
                Series {
                    name: actor_ids[a].clone(),
                    color: PALETTE[k % PALETTE.len()].into(),
                    values: v,
                }
            })
            .collect();
        Ok(Chart {
            title,
            y_label: "daily mean probability",
            x_ms: &days,
            series,
            markers: Vec::new(),
            stacked: true,
            percent: true,
            gaps: gaps.clone(),
        }
        .render())
    };
    let guard_chart = stacked("guard_probability", "Guard probability of the top actors")?;
    let middle_chart = stacked("middle_probability", "Middle probability of the top actors")?;
    let exit_chart = stacked("exit_probability", "Exit probability of the top actors")?;

    // The page.
    let mut html = String::new();
    let first = hours.first().copied().unwrap_or(0);
    let last = hours.last().copied().unwrap_or(0);
    let _ = write!(
        html,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>relaytrail report</title><style>{STYLE}</style></head><body>"
    );
    let _ = write!(
        html,
        "<h1>relaytrail report</h1><p>Tor network from {} to {} UTC: {} consensuses. Generated by relaytrail {} from <code>{}</code>.</p>",
        &format_timestamp(first / 1000)[..16],
        &format_timestamp(last / 1000)[..16],
        hours.len(),
        env!("CARGO_PKG_VERSION"),
        escape(&root.display().to_string())
    );
    if let Some(c) = &coverage {
        html.push_str(&coverage_summary(c, &gaps)?);
    }
    let max_relays = floats(&hourly, "relays")?.into_iter().fold(0.0, f64::max);
    let _ = write!(
        html,
        "<div class=\"cards\"><div class=\"card\"><b>{max_relays:.0}</b>relays at most</div><div class=\"card\"><b>{}</b>actors</div><div class=\"card\"><b>{}</b>removal events</div><div class=\"card\"><b>{}</b>outages</div><div class=\"card\"><b>{}</b>join bursts</div></div>",
        actor_ids.len(),
        removals.as_ref().map_or(0, DataFrame::height),
        outages.as_ref().map_or(0, DataFrame::height),
        bursts.as_ref().map_or(0, DataFrame::height)
    );
    let _ = write!(
        html,
        "<h2>The network</h2><figure>{network_chart}<figcaption>Relays per hourly consensus; grey bands: gaps of the data (nothing is counted across them); dashed red lines: removal events (relays leaving and not coming back), dashed orange: outages (relays leaving and back within days).</figcaption></figure><figure>{weight_chart}</figure>"
    );
    html.push_str("<h2>Top actors</h2><p>Actors ranked by their highest guard, middle or exit probability in one consensus; stacked daily means below.</p>");
    let top_frame = actors.take(&IdxCa::new(
        "".into(),
        top.iter().map(|&i| i as IdxSize).collect::<Vec<_>>(),
    ))?;
    html.push_str(&html_table(
        &top_frame,
        &[
            "actor_id",
            "relays",
            "peak_relays",
            "peak_guard_probability",
            "peak_middle_probability",
            "peak_exit_probability",
            "contact_status",
            "first_seen",
            "last_seen",
            "relays_removed",
            "returns_after_removal",
        ],
    )?);
    let _ = write!(
        html,
        "<figure>{guard_chart}</figure><figure>{middle_chart}</figure><figure>{exit_chart}</figure>"
    );

    // One section per top actor.
    let m_ids: Vec<String> = members
        .column("actor_id")?
        .str()?
        .iter()
        .map(|s| s.unwrap_or_default().to_string())
        .collect();
    for &a in &top {
        let id = &actor_ids[a];
        let row = actors.slice(a as i64, 1);
        let _ = write!(
            html,
            "<h2 id=\"{id}\">{id}</h2><p>{} relays in {} group(s); peak guard {}, middle {}, exit {} probability; contact: {}.</p>",
            cell(&row.column("relays")?.get(0)?),
            cell(&row.column("groups")?.get(0)?),
            pct(peak_g[a]),
            pct(peak_m[a]),
            pct(peak_e[a]),
            escape(&cell(&row.column("contact_status")?.get(0)?))
        );
        let _ = write!(
            html,
            "<p><b>Strongest signals:</b> {}<br><b>ASes:</b> {}<br><b>Removals:</b> {}<br><b>Returns after removal:</b> {}</p>",
            escape(&cell(&row.column("strongest_signals")?.get(0)?)),
            escape(&cell(&row.column("top_asns")?.get(0)?)),
            escape(&or_none(cell(&row.column("removal_events")?.get(0)?))),
            cell(&row.column("returns_after_removal")?.get(0)?)
        );
        let mask: BooleanChunked = m_ids.iter().map(|m| m == id).collect();
        let actor_members = members.filter(&mask)?;
        html.push_str(&html_table(
            &actor_members,
            &[
                "fingerprint",
                "nickname",
                "from",
                "to",
                "group",
                "joined_by",
                "confidence",
                "evidence",
            ],
        )?);
    }

    html.push_str("<h2>Removal events</h2>");
    match &removals {
        Some(r) if r.height() > 0 => html.push_str(&html_table(
            r,
            &[
                "event_time",
                "relays_removed",
                "baseline_departures",
                "score",
                "guard_probability",
                "middle_probability",
                "exit_probability",
                "contactless_share",
                "top_asns",
                "returned_within_30d",
                "provisional",
            ],
        )?),
        _ => html.push_str("<p>None detected.</p>"),
    }
    html.push_str("<h2>Outages</h2>");
    match &outages {
        Some(o) if o.height() > 0 => html.push_str(&html_table(
            o,
            &[
                "event_time",
                "relays_down",
                "baseline_departures",
                "score",
                "median_hours_down",
                "top_asns",
            ],
        )?),
        _ => html.push_str("<p>None detected.</p>"),
    }
    html.push_str("<h2>Join bursts</h2>");
    match &bursts {
        Some(b) if b.height() > 0 => {
            let sorted = b.sort(
                ["relays_joined"],
                SortMultipleOptions::default()
                    .with_order_descending(true)
                    .with_maintain_order(true),
            )?;
            html.push_str(&html_table(
                &sorted,
                &[
                    "dimension",
                    "key",
                    "window",
                    "burst_start",
                    "burst_end",
                    "relays_joined",
                    "peak_in_window",
                ],
            )?)
        }
        _ => html.push_str("<p>None at the configured thresholds.</p>"),
    }

    if let Some(c) = &coverage {
        html.push_str("<h2 id=\"coverage\">Data coverage</h2><p>Runs of consensuses with no gap longer than the jobs' <code>max_gap_hours</code>; sessions end at a gap, and no join, departure, event or burst is counted across one.</p>");
        html.push_str(&folded_table(
            c,
            &[
                "segment",
                "segment_start",
                "segment_end",
                "consensuses",
                "hours_spanned",
                "missing_hours",
                "longest_gap_hours",
                "hours_since_previous_segment",
                "flavor",
            ],
            "segments",
        )?);
    }
    html.push_str("<h2>Data provenance</h2>");
    if let Some(i) = &imports {
        html.push_str(&html_table(
            i,
            &[
                "file_name",
                "format",
                "status",
                "members",
                "documents_imported",
                "documents_rejected",
                "errors",
                "finished",
            ],
        )?);
    }
    match &errors {
        Some(e) if e.height() > 0 => {
            let _ = write!(html, "<p>{} import error(s):</p>", e.height());
            html.push_str(&html_table(
                e,
                &["source_file", "source_member", "line", "kind", "message"],
            )?);
        }
        _ => html.push_str("<p>No import errors.</p>"),
    }
    html.push_str("<p class=\"note\">Tables: <code>tables/*.parquet</code> next to this page. Methods: docs/warehouse.md and docs/attribution.md of relaytrail.</p></body></html>");

    // Files.
    fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let index = out.join("index.html");
    write_atomic(&index, html.as_bytes())?;
    let mut summary = format!(
        "# relaytrail summary\n\n{} consensuses from {} to {} UTC, at most {max_relays:.0} relays.\n\n## Top actors\n\n| actor | relays | peak guard | peak middle | peak exit | contact |\n|---|---|---|---|---|---|\n",
        hours.len(),
        &format_timestamp(first / 1000)[..16],
        &format_timestamp(last / 1000)[..16],
    );
    for &a in &top {
        let row = actors.slice(a as i64, 1);
        let _ = writeln!(
            summary,
            "| {} | {} | {} | {} | {} | {} |",
            actor_ids[a],
            cell(&row.column("relays")?.get(0)?),
            pct(peak_g[a]),
            pct(peak_m[a]),
            pct(peak_e[a]),
            cell(&row.column("contact_status")?.get(0)?)
        );
    }
    summary.push_str("\n## Removal events\n\n");
    for t in &event_rows {
        let _ = writeln!(summary, "- {}", &format_timestamp(t / 1000)[..16]);
    }
    write_atomic(&out.join("summary.md"), summary.as_bytes())?;
    let tables = out.join("tables");
    fs::create_dir_all(&tables)?;
    for t in TABLES {
        let source = root.join(t).join("part-0.parquet");
        if source.is_file() {
            let bytes = fs::read(&source)?;
            write_atomic(&tables.join(format!("{t}.parquet")), &bytes)?;
        }
    }
    Ok(ReportSummary {
        index,
        actors: actor_ids.len(),
    })
}

/// A table that folds into `<details>` when it is long.
fn folded_table(frame: &DataFrame, columns: &[&str], what: &str) -> Result<String> {
    let table = html_table(frame, columns)?;
    Ok(if frame.height() > 12 {
        format!(
            "<details><summary>{} {what}</summary>{table}</details>",
            frame.height()
        )
    } else {
        table
    })
}

/// One paragraph on how continuous the data is.
fn coverage_summary(coverage: &DataFrame, gaps: &[(i64, i64)]) -> Result<String> {
    let consensuses: f64 = floats(coverage, "consensuses")?.iter().sum();
    let missing: f64 = floats(coverage, "missing_hours")?.iter().sum();
    let max_gap = floats(coverage, "max_gap_hours")?
        .first()
        .copied()
        .unwrap_or(0.0);
    let longest = gaps
        .iter()
        .map(|(a, b)| b - a)
        .max()
        .map(|ms| format!("; the longest gap: {}", human_duration(ms)))
        .unwrap_or_default();
    let flavors = crate::jobs::columns::strings(coverage, "flavor")?;
    let microdesc = flavors
        .iter()
        .filter(|f| f.as_deref() != Some("ns"))
        .count();
    let flavor_note = if microdesc > 0 {
        format!(
            " {microdesc} segment(s) use microdesc consensuses (for the hours without an ns one)."
        )
    } else {
        String::new()
    };
    Ok(format!(
        "<p class=\"coverage\"><b>Coverage:</b> {consensuses:.0} consensuses in {} continuous segment(s) (no gap over {max_gap:.0} h; {missing:.0} hour(s) missing inside them){longest}. <a href=\"#coverage\">Segments</a>.{flavor_note}</p>",
        coverage.height()
    ))
}

/// A duration for people: hours, days, months or years.
fn human_duration(ms: i64) -> String {
    let hours = ms as f64 / 3_600_000.0;
    if hours < 48.0 {
        format!("{hours:.0} hours")
    } else if hours < 24.0 * 60.0 {
        format!("{:.0} days", hours / 24.0)
    } else if hours < 24.0 * 730.0 {
        format!("{:.1} months", hours / 24.0 / 30.44)
    } else {
        format!("{:.1} years", hours / 24.0 / 365.25)
    }
}

fn or_none(text: String) -> String {
    if text.is_empty() {
        "none".into()
    } else {
        text
    }
}
