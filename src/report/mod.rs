//! The report: a self-contained `index.html` (inline SVG charts and one small inline script
//! that sorts tables; opens from disk, fetches nothing), `summary.md`, and Parquet copies of
//! the tables it shows, built from the warehouse's job and attribution datasets. It is written
//! for an analyst: undeclared groups first, then declared operators, each removal event with
//! the actors and watchlists that lost relays in it, each watchlist's presence over time, and
//! the coverage of the data with every gap visible.

pub mod svg;
pub mod tables;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use polars::prelude::*;

use crate::jobs::columns::{floats, strings, times};
use crate::jobs::io::{scan_dataset, write_atomic};
use crate::util::display::{format_count, format_share, format_time};
use svg::{escape, Chart, Marker, Series, PALETTE};
use tables::{html_table, table_html, SORT_SCRIPT};

/// Actors shown in the stacked timelines and with sections of their own, per kind.
const TOP_ACTORS: usize = 8;

/// Tables copied next to the report.
const TABLES: [&str; 13] = [
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
    "watchlists",
    "watchlist_presence",
    "watchlist_relays",
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

/// Milliseconds of a timestamp column (nulls as 0).
fn times_ms(frame: &DataFrame, name: &str) -> Result<Vec<i64>> {
    Ok(times(frame, name)?
        .into_iter()
        .map(|t| t.unwrap_or(0))
        .collect())
}

/// A string column with nulls as empty strings.
fn texts(frame: &DataFrame, name: &str) -> Result<Vec<String>> {
    Ok(strings(frame, name)?
        .into_iter()
        .map(Option::unwrap_or_default)
        .collect())
}

const STYLE: &str = r#"body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:2em auto;max-width:1000px;padding:0 1em;color:#222;line-height:1.4}
h1{font-size:1.6em}h2{margin-top:2em;border-bottom:1px solid #ddd;padding-bottom:.2em}h3{margin-top:1.5em}
table{border-collapse:collapse;font-size:12px;margin:.5em 0;width:100%;table-layout:auto}th,td{border:1px solid #ddd;padding:3px 6px;text-align:left;vertical-align:top}
th{background:#f4f4f4;cursor:pointer}th[data-order=asc]::after{content:" ▲"}th[data-order=desc]::after{content:" ▼"}td{max-width:420px;overflow-wrap:anywhere}.note{color:#666;font-size:12px}
.cards{display:flex;gap:1em;flex-wrap:wrap}.card{border:1px solid #ddd;border-radius:6px;padding:.6em 1em;min-width:140px}.card b{display:block;font-size:1.4em}
figure{margin:1em 0}figcaption{font-size:12px;color:#555}details summary{cursor:pointer;color:#0645ad;margin:.4em 0}nav ul{columns:2;font-size:14px}
.tag{display:inline-block;border-radius:3px;padding:0 4px;font-size:11px;background:#eee}.undeclared{background:#fde2e1}.declared{background:#e3f1e3}"#;

/// What `build` wrote.
pub struct ReportSummary {
    pub index: PathBuf,
    pub actors: usize,
}

/// An actor as the report needs it.
struct ActorRow {
    index: usize,
    id: String,
    declared: bool,
    peak: f64,
    relays: f64,
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
    let removal_relays = read(root, "removal_event_relays")?;
    let outages = read(root, "outages")?;
    let bursts = read(root, "join_bursts")?;
    let imports = read(root, "imports")?;
    let errors = read(root, "import_errors")?;
    let coverage = read(root, "coverage")?;
    let lists = crate::jobs::watchlist::load(root)?;
    let list_presence = read(root, "watchlist_presence")?;
    let list_relays = read(root, "watchlist_relays")?;

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

    // Removal events split by kind: authority-style removals, operators switching off.
    let kinds: Vec<String> = match &removals {
        Some(r) if r.column("kind").is_ok() => texts(r, "kind")?,
        Some(r) => vec!["removal".into(); r.height()],
        None => Vec::new(),
    };
    let operator_departures = kinds.iter().filter(|k| *k == "operator_departure").count();
    let mut markers = Vec::new();
    if let Some(r) = &removals {
        let n = floats(r, "relays_removed")?;
        for ((t, k), kind) in times_ms(r, "event_time")?.into_iter().zip(n).zip(&kinds) {
            let (color, what) = if kind == "operator_departure" {
                ("#7F3C8D", "operator departure")
            } else {
                ("#C00000", "removal")
            };
            markers.push(Marker {
                at_ms: t,
                color,
                label: format!("{what}: {k:.0} relays at {}", format_time(t)),
            });
        }
    }
    if let Some(o) = &outages {
        let n = floats(o, "relays_down")?;
        for (t, k) in times_ms(o, "event_time")?.into_iter().zip(n) {
            markers.push(Marker {
                at_ms: t,
                color: "#E69F00",
                label: format!("outage: {k:.0} relays at {}", format_time(t)),
            });
        }
    }
    let copy_markers = |markers: &[Marker]| -> Vec<Marker> {
        markers
            .iter()
            .map(|m| Marker {
                at_ms: m.at_ms,
                color: m.color,
                label: m.label.clone(),
            })
            .collect()
    };
    let network_chart = Chart {
        title: "Relays in each consensus",
        y_label: "relays",
        x_ms: &hours,
        series: vec![Series {
            name: "relays".into(),
            color: PALETTE[0].into(),
            values: floats(&hourly, "relays")?,
        }],
        markers: copy_markers(&markers),
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
        markers: copy_markers(&markers),
        stacked: false,
        percent: false,
        gaps: gaps.clone(),
    }
    .render();

    // Actors: undeclared groups first, each kind ranked by its highest guard, middle or exit
    // probability in one consensus, then by size.
    let actor_ids = texts(&actors, "actor_id")?;
    let peak_g = floats(&actors, "peak_guard_probability")?;
    let peak_m = floats(&actors, "peak_middle_probability")?;
    let peak_e = floats(&actors, "peak_exit_probability")?;
    let relays_of = floats(&actors, "relays")?;
    let declared: Vec<bool> = match actors.column("declared") {
        Ok(c) => c.bool()?.iter().map(|b| b.unwrap_or(false)).collect(),
        Err(_) => vec![false; actors.height()],
    };
    let mut ranked: Vec<ActorRow> = (0..actor_ids.len())
        .map(|i| ActorRow {
            index: i,
            id: actor_ids[i].clone(),
            declared: declared[i],
            peak: peak_g[i].max(peak_m[i]).max(peak_e[i]),
            relays: relays_of[i],
        })
        .collect();
    ranked.sort_by(|a, b| {
        b.peak
            .total_cmp(&a.peak)
            .then(b.relays.total_cmp(&a.relays))
            .then(a.id.cmp(&b.id))
    });
    let undeclared: Vec<&ActorRow> = ranked.iter().filter(|a| !a.declared).collect();
    let declared_rows: Vec<&ActorRow> = ranked.iter().filter(|a| a.declared).collect();
    let charted: Vec<&ActorRow> = if undeclared.is_empty() {
        declared_rows.iter().copied().take(TOP_ACTORS).collect()
    } else {
        undeclared.iter().copied().take(TOP_ACTORS).collect()
    };
    let charted_kind = if undeclared.is_empty() {
        "declared operators"
    } else {
        "undeclared groups"
    };

    // Daily axis for the stacked timelines.
    let days: Vec<i64> = {
        let mut d: Vec<i64> = times_ms(&timeline, "day")?;
        d.sort_unstable();
        d.dedup();
        d
    };
    let t_ids = texts(&timeline, "actor_id")?;
    let t_days = times_ms(&timeline, "day")?;
    let stacked = |column: &str, title: &str| -> Result<String> {
        let values = floats(&timeline, column)?;
        let series = charted
            .iter()
            .enumerate()
            .map(|(k, a)| {
                let mut v = vec![0.0; days.len()];
                for i in 0..t_ids.len() {
                    if t_ids[i] == a.id {
                        if let Ok(d) = days.binary_search(&t_days[i]) {
                            v[d] = values[i];
                        }
                    }
                }
                Series {
                    name: a.id.clone(),
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
    let guard_title = format!("Guard probability of the top {charted_kind}");
    let middle_title = format!("Middle probability of the top {charted_kind}");
    let exit_title = format!("Exit probability of the top {charted_kind}");
    let guard_chart = stacked("guard_probability", &guard_title)?;
    let middle_chart = stacked("middle_probability", &middle_title)?;
    let exit_chart = stacked("exit_probability", &exit_title)?;

    // Who holds each relay: its actor and the watchlists listing it.
    let actor_of: HashMap<String, String> = texts(&members, "fingerprint")?
        .into_iter()
        .zip(texts(&members, "actor_id")?)
        .collect();
    let mut lists_of: HashMap<&str, Vec<&str>> = HashMap::new();
    for list in &lists {
        for fp in &list.fingerprints {
            lists_of.entry(fp).or_default().push(&list.name);
        }
    }

    // The page.
    let mut html = String::new();
    let first = hours.first().copied().unwrap_or(0);
    let last = hours.last().copied().unwrap_or(0);
    let _ = write!(
        html,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>relaytrail report</title><style>{STYLE}</style></head><body>"
    );
    let _ = write!(
        html,
        "<h1>relaytrail report</h1><p>Tor network from {} to {} UTC: {} consensuses. Generated by relaytrail {} from <code>{}</code>.</p>",
        format_time(first),
        format_time(last),
        format_count(hours.len() as f64),
        env!("CARGO_PKG_VERSION"),
        escape(&root.display().to_string())
    );
    if let Some(c) = &coverage {
        html.push_str(&coverage_summary(c, &gaps)?);
    }
    let max_relays = floats(&hourly, "relays")?.into_iter().fold(0.0, f64::max);
    let removal_count = kinds.len() - operator_departures;
    let card =
        |value: String, label: &str| format!("<div class=\"card\"><b>{value}</b>{label}</div>");
    let _ = write!(
        html,
        "<div class=\"cards\">{}{}{}{}{}{}{}</div>",
        card(format_count(max_relays), "relays at most"),
        card(undeclared.len().to_string(), "undeclared groups"),
        card(declared_rows.len().to_string(), "declared operators"),
        card(removal_count.to_string(), "removal events"),
        card(
            outages.as_ref().map_or(0, DataFrame::height).to_string(),
            "outages"
        ),
        card(
            bursts.as_ref().map_or(0, DataFrame::height).to_string(),
            "join bursts"
        ),
        card(lists.len().to_string(), "watchlists"),
    );
    html.push_str("<nav><ul><li><a href=\"#network\">The network</a></li><li><a href=\"#undeclared\">Undeclared groups</a></li><li><a href=\"#declared\">Declared operators</a></li><li><a href=\"#removal-events\">Removal events</a></li><li><a href=\"#outages\">Outages</a></li><li><a href=\"#join-bursts\">Join bursts</a></li><li><a href=\"#watchlists\">Watchlists</a></li><li><a href=\"#coverage\">Data coverage</a></li><li><a href=\"#provenance\">Provenance</a></li></ul></nav>");
    let _ = write!(
        html,
        "<h2 id=\"network\">The network</h2><figure>{network_chart}<figcaption>Relays per hourly consensus; grey bands: gaps of the data (nothing is counted across them); dashed red lines: removal events (relays leaving and not coming back), purple: operator departures (most of the relays declare one operator), orange: outages (relays leaving and back within days).</figcaption></figure><figure>{weight_chart}</figure>"
    );

    // Actors.
    let actor_columns = [
        "actor_id",
        "why",
        "relays",
        "peak_relays",
        "peak_guard_probability",
        "peak_middle_probability",
        "peak_exit_probability",
        "first_seen",
        "last_seen",
        "relays_removed",
        "returns_after_removal",
    ];
    let take = |rows: &[&ActorRow]| -> Result<DataFrame> {
        Ok(actors.take(&IdxCa::new(
            "".into(),
            rows.iter().map(|a| a.index as IdxSize).collect::<Vec<_>>(),
        ))?)
    };
    let sections: Vec<&ActorRow> = undeclared
        .iter()
        .take(TOP_ACTORS)
        .chain(declared_rows.iter().take(TOP_ACTORS / 2))
        .copied()
        .collect();
    let with_section: BTreeSet<String> = sections.iter().map(|a| a.id.clone()).collect();
    let actor_links = Some(("actor_id", &with_section));
    html.push_str("<h2 id=\"undeclared\">Undeclared groups</h2><p>Relays held together by behaviour and configuration: fewer than half of them declare one operator (a shared contact or mutual family declarations). KAX17-style actors look like this. Ranked by their highest guard, middle or exit probability in one consensus, then by size; each row says why it is listed.</p>");
    if undeclared.is_empty() {
        html.push_str("<p>None found.</p>");
    } else {
        html.push_str(&html_table(
            &take(&undeclared)?,
            &actor_columns,
            actor_links,
        )?);
    }
    if !charted.is_empty() {
        let _ = write!(
            html,
            "<p>The top {charted_kind} over time (stacked daily means of their relays' probabilities):</p><figure>{guard_chart}</figure><figure>{middle_chart}</figure><figure>{exit_chart}</figure>"
        );
    }
    html.push_str("<h2 id=\"declared\">Declared operators</h2><p>Groups most of whose relays declare one operator: the same contact, or mutual family declarations. Honest operators usually declare themselves; a large declared operator matters for path selection but is not hiding.</p>");
    if declared_rows.is_empty() {
        html.push_str("<p>None found.</p>");
    } else {
        html.push_str(&html_table(
            &take(&declared_rows)?,
            &[
                "actor_id",
                "declared_by",
                "relays",
                "peak_relays",
                "peak_guard_probability",
                "peak_middle_probability",
                "peak_exit_probability",
                "first_seen",
                "last_seen",
                "relays_removed",
            ],
            actor_links,
        )?);
    }

    // One section per top actor of each kind, with its members' evidence.
    let m_ids = texts(&members, "actor_id")?;
    for a in &sections {
        let row = actors.slice(a.index as i64, 1);
        let value = |c: &str| -> Result<String> {
            Ok(match row.column(c) {
                Ok(col) => tables::cell(&col.get(0)?),
                Err(_) => String::new(),
            })
        };
        let tag = if a.declared {
            "<span class=\"tag declared\">declared operator</span>"
        } else {
            "<span class=\"tag undeclared\">undeclared group</span>"
        };
        let _ = write!(
            html,
            "<h3 id=\"{id}\">{id} {tag}</h3><p>{}.</p><p><b>Strongest signals:</b> {}<br><b>ASes:</b> {}<br><b>Removals:</b> {}<br><b>Contact:</b> {}</p>",
            escape(&value("why")?),
            escape(&value("strongest_signals")?),
            escape(&match value("top_asns")? {
                ases if ases.is_empty() => "unknown (no AS data given to the jobs)".to_string(),
                ases => ases,
            }),
            escape(&or_none(value("removal_events")?)),
            escape(&or_none(value("contact")?)),
            id = escape(&a.id),
        );
        let mask: BooleanChunked = m_ids.iter().map(|m| *m == a.id).collect();
        html.push_str(&html_table(
            &members.filter(&mask)?,
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
            None,
        )?);
    }

    // Removal events with who lost relays in them.
    html.push_str("<h2 id=\"removal-events\">Removal events</h2><p>Many relays leaving at once and not coming back within the outage window. For each: the actors and watchlists that lost relays in it, with the probability they held.</p>");
    match &removals {
        Some(r) if removal_count > 0 => {
            let mask: BooleanChunked = kinds.iter().map(|k| k != "operator_departure").collect();
            let mut rows = r.filter(&mask)?;
            let mut columns = vec![
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
            ];
            // Where votes are imported: how many authorities dropped the relays before the
            // consensus did (reject lines added one by one).
            let voted = rows
                .column("authorities_voting")
                .is_ok_and(|c| c.null_count() < c.len());
            if voted {
                html.push_str("<p>Authorities dropping early: of the directory authorities whose votes are imported around the event, those that stopped listing its relays before the consensus did (and the hours from the first authority's drop to the last's), as when reject lines are added one authority at a time; relays that go down leave every vote at once.</p>");
                let voting = rows.column("authorities_voting")?.u32()?.clone();
                let early = rows.column("authorities_dropping_early")?.u32()?.clone();
                let spread = rows.column("authority_drop_spread_hours")?.f64()?.clone();
                let shown: Vec<Option<String>> = voting
                    .iter()
                    .zip(early.iter())
                    .zip(spread.iter())
                    .map(|((v, e), s)| {
                        let (v, e) = (v?, e?);
                        Some(match s {
                            Some(s) => format!("{e} of {v} ({s:.0} h)"),
                            None => format!("{e} of {v}"),
                        })
                    })
                    .collect();
                rows.with_column(Column::new("authorities_dropping_early".into(), shown))?;
                columns.push("authorities_dropping_early");
            }
            html.push_str(&html_table(&rows, &columns, None)?);
            html.push_str(&who_left(
                &rows,
                removal_relays.as_ref(),
                &actor_of,
                &lists_of,
            )?);
        }
        _ => html.push_str("<p>None detected.</p>"),
    }
    if operator_departures > 0 {
        let r = removals.as_ref().expect("events");
        let mask: BooleanChunked = kinds.iter().map(|k| k == "operator_departure").collect();
        let rows = r.filter(&mask)?;
        html.push_str("<h3 id=\"operator-departures\">Operator departures</h3><p>Events in which most of the departed relays declare one operator (the same contact or mutual family): that operator switching its relays off, not the directory authorities removing them.</p>");
        html.push_str(&html_table(
            &rows,
            &[
                "event_time",
                "relays_removed",
                "operator",
                "operator_share",
                "guard_probability",
                "middle_probability",
                "exit_probability",
            ],
            None,
        )?);
    }
    html.push_str("<h2 id=\"outages\">Outages</h2>");
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
            None,
        )?),
        _ => html.push_str("<p>None detected.</p>"),
    }
    html.push_str("<h2 id=\"join-bursts\">Join bursts</h2>");
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
                None,
            )?)
        }
        _ => html.push_str("<p>None at the configured thresholds.</p>"),
    }

    // Watchlists.
    html.push_str("<h2 id=\"watchlists\">Watchlists</h2>");
    if lists.is_empty() {
        html.push_str("<p>No relay lists added (<code>relaytrail watchlist add FILE --warehouse W</code>, then <code>relaytrail jobs</code>).</p>");
    }
    for (k, list) in lists.iter().enumerate() {
        html.push_str(&watchlist_section(
            k,
            list,
            list_presence.as_ref(),
            list_relays.as_ref(),
            &removals,
            &gaps,
        )?);
    }

    // Coverage and provenance.
    if let Some(c) = &coverage {
        html.push_str("<h2 id=\"coverage\">Data coverage</h2><p>Runs of consensuses with no gap longer than the jobs' <code>max_gap_hours</code>; sessions end at a gap, and no join, departure, event or burst is counted across one.</p>");
        html.push_str(&html_table(
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
            None,
        )?);
    }
    html.push_str("<h2 id=\"provenance\">Data provenance</h2>");
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
            None,
        )?);
    }
    match &errors {
        Some(e) if e.height() > 0 => {
            let _ = write!(html, "<p>{} import error(s):</p>", e.height());
            html.push_str(&html_table(
                e,
                &["source_file", "source_member", "line", "kind", "message"],
                None,
            )?);
        }
        _ => html.push_str("<p>No import errors.</p>"),
    }
    html.push_str("<p class=\"note\">Tables: <code>tables/*.parquet</code> next to this page. Methods: docs/warehouse.md and docs/attribution.md of relaytrail.</p>");
    html.push_str(SORT_SCRIPT);
    html.push_str("</body></html>");

    // Files.
    fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let index = out.join("index.html");
    write_atomic(&index, html.as_bytes())?;
    let mut summary = format!(
        "# relaytrail summary\n\n{} consensuses from {} to {} UTC, at most {max_relays:.0} relays.\n\n## Undeclared groups\n\n| actor | relays | peak guard | peak middle | peak exit | why |\n|---|---|---|---|---|---|\n",
        hours.len(),
        format_time(first),
        format_time(last),
    );
    let whys = match actors.column("why") {
        Ok(_) => texts(&actors, "why")?,
        Err(_) => vec![String::new(); actors.height()],
    };
    for a in undeclared.iter().take(TOP_ACTORS) {
        let _ = writeln!(
            summary,
            "| {} | {:.0} | {} | {} | {} | {} |",
            a.id,
            a.relays,
            format_share(peak_g[a.index]),
            format_share(peak_m[a.index]),
            format_share(peak_e[a.index]),
            whys[a.index]
        );
    }
    summary.push_str("\n## Removal events\n\n");
    if let Some(r) = &removals {
        for (t, kind) in times_ms(r, "event_time")?.iter().zip(&kinds) {
            let _ = writeln!(
                summary,
                "- {} ({})",
                format_time(*t),
                kind.replace('_', " ")
            );
        }
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

/// Per removal event: the actors and watchlists that lost relays in it, with counts and the
/// guard / middle / exit probability those relays held.
fn who_left(
    events: &DataFrame,
    relays: Option<&DataFrame>,
    actor_of: &HashMap<String, String>,
    lists_of: &HashMap<&str, Vec<&str>>,
) -> Result<String> {
    let Some(relays) = relays else {
        return Ok(String::new());
    };
    let event_times: BTreeSet<i64> = times_ms(events, "event_time")?.into_iter().collect();
    let r_times = times_ms(relays, "event_time")?;
    let r_fps = texts(relays, "fingerprint")?;
    let shares = [
        floats(relays, "guard_probability")?,
        floats(relays, "middle_probability")?,
        floats(relays, "exit_probability")?,
    ];
    // (event, holder) → (relays, [guard, middle, exit]).
    let mut held: BTreeMap<(i64, String), (usize, [f64; 3])> = BTreeMap::new();
    for i in 0..r_fps.len() {
        if !event_times.contains(&r_times[i]) {
            continue;
        }
        let mut holders: Vec<String> = Vec::new();
        holders.push(match actor_of.get(&r_fps[i]) {
            Some(a) => format!("actor {a}"),
            None => "in no actor".to_string(),
        });
        for list in lists_of.get(r_fps[i].as_str()).into_iter().flatten() {
            holders.push(format!("watchlist {list}"));
        }
        for holder in holders {
            let e = held.entry((r_times[i], holder)).or_default();
            e.0 += 1;
            for (sum, column) in e.1.iter_mut().zip(&shares) {
                *sum += column[i];
            }
        }
    }
    let mut rows: Vec<Vec<(String, String)>> = held
        .iter()
        .map(|((t, holder), (n, [g, m, x]))| {
            vec![
                ("event_time".into(), format_time(*t)),
                ("lost_by".into(), holder.clone()),
                ("relays".into(), n.to_string()),
                ("guard_probability".into(), format_share(*g)),
                ("middle_probability".into(), format_share(*m)),
                ("exit_probability".into(), format_share(*x)),
            ]
        })
        .collect();
    // Most relays first within each event.
    rows.sort_by(|a, b| {
        a[0].1
            .cmp(&b[0].1)
            .then(
                b[2].1
                    .parse::<usize>()
                    .unwrap_or(0)
                    .cmp(&a[2].1.parse::<usize>().unwrap_or(0)),
            )
            .then(a[1].1.cmp(&b[1].1))
    });
    let total = rows.len();
    let shown: Vec<Vec<(String, String)>> = rows.into_iter().take(tables::TABLE_ROWS).collect();
    Ok(format!(
        "<h3>Who lost relays in each removal event</h3>{}",
        table_html(
            &[
                "event_time",
                "lost_by",
                "relays",
                "guard_probability",
                "middle_probability",
                "exit_probability"
            ],
            &shown,
            total,
            None
        )
    ))
}

/// One watchlist: its description, presence over time, overlap with actors and removal
/// events, and the relays in no actor.
fn watchlist_section(
    k: usize,
    list: &crate::jobs::watchlist::StoredList,
    presence: Option<&DataFrame>,
    relays: Option<&DataFrame>,
    removals: &Option<DataFrame>,
    gaps: &[(i64, i64)],
) -> Result<String> {
    let mut html = format!(
        "<h3 id=\"watchlist-{}\">{}</h3><p>{} relays listed, from <code>{}</code>.</p>",
        k + 1,
        escape(&list.name),
        list.fingerprints.len(),
        escape(&list.source_file)
    );
    if !list.description.is_empty() {
        let _ = write!(
            html,
            "<blockquote class=\"note\">{}</blockquote>",
            escape(&list.description).replace('\n', "<br>")
        );
    }
    // Presence over time.
    if let Some(p) = presence {
        let names = texts(p, "name")?;
        let mask: BooleanChunked = names.iter().map(|n| *n == list.name).collect();
        let rows = p.filter(&mask)?;
        let x = times_ms(&rows, "valid_after")?;
        let present = floats(&rows, "relays_present")?;
        if present.iter().any(|v| *v > 0.0) {
            let relays_chart = Chart {
                title: "Listed relays present in each consensus",
                y_label: "relays",
                x_ms: &x,
                series: vec![Series {
                    name: "listed relays present".into(),
                    color: PALETTE[0].into(),
                    values: present,
                }],
                markers: Vec::new(),
                stacked: false,
                percent: false,
                gaps: gaps.to_vec(),
            }
            .render();
            let probability_chart = Chart {
                title: "Probability held by the listed relays",
                y_label: "probability",
                x_ms: &x,
                series: vec![
                    Series {
                        name: "guard".into(),
                        color: PALETTE[0].into(),
                        values: floats(&rows, "guard_probability")?,
                    },
                    Series {
                        name: "middle".into(),
                        color: PALETTE[1].into(),
                        values: floats(&rows, "middle_probability")?,
                    },
                    Series {
                        name: "exit".into(),
                        color: PALETTE[2].into(),
                        values: floats(&rows, "exit_probability")?,
                    },
                ],
                markers: Vec::new(),
                stacked: false,
                percent: true,
                gaps: gaps.to_vec(),
            }
            .render();
            let _ = write!(
                html,
                "<figure>{relays_chart}</figure><figure>{probability_chart}</figure>"
            );
        } else {
            html.push_str("<p>None of its relays is in any consensus of the warehouse.</p>");
        }
    }
    let Some(relays) = relays else {
        return Ok(html);
    };
    let names = texts(relays, "name")?;
    let mask: BooleanChunked = names.iter().map(|n| *n == list.name).collect();
    let mine = relays.filter(&mask)?;
    let seen: Vec<bool> = mine
        .column("seen")?
        .bool()?
        .iter()
        .map(|b| b.unwrap_or(false))
        .collect();
    let actors = strings(&mine, "actor_id")?;
    let fps = texts(&mine, "fingerprint")?;
    let seen_count = seen.iter().filter(|s| **s).count();
    let mut by_actor: BTreeMap<&str, usize> = BTreeMap::new();
    let mut in_none: Vec<&str> = Vec::new();
    for i in 0..fps.len() {
        if !seen[i] {
            continue;
        }
        match &actors[i] {
            Some(a) => *by_actor.entry(a).or_default() += 1,
            None => in_none.push(&fps[i]),
        }
    }
    let _ = write!(
        html,
        "<p>{seen_count} of them seen in the warehouse; {} in an actor, {} in none.</p>",
        seen_count - in_none.len(),
        in_none.len()
    );
    if !by_actor.is_empty() {
        let mut rows: Vec<(&str, usize)> = by_actor.into_iter().collect();
        rows.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        let total = rows.len();
        let cells: Vec<Vec<(String, String)>> = rows
            .iter()
            .take(tables::TABLE_ROWS)
            .map(|(a, n)| {
                vec![
                    ("actor_id".into(), a.to_string()),
                    ("listed_relays".into(), n.to_string()),
                    (
                        "share_of_seen".into(),
                        format_share(*n as f64 / seen_count.max(1) as f64),
                    ),
                ]
            })
            .collect();
        html.push_str(&table_html(
            &["actor_id", "listed_relays", "share_of_seen"],
            &cells,
            total,
            None,
        ));
    }
    // Removal events its relays left in.
    let events = crate::jobs::columns::string_lists(&mine, "removal_events")?;
    let mut per_event: BTreeMap<&str, usize> = BTreeMap::new();
    for e in events.iter().flatten() {
        *per_event.entry(e).or_default() += 1;
    }
    if per_event.is_empty() {
        if removals.as_ref().is_some_and(|r| r.height() > 0) {
            html.push_str("<p>None of its relays left in a removal event.</p>");
        }
    } else {
        let items: Vec<String> = per_event
            .iter()
            .map(|(e, n)| format!("{}: {n} listed relays", &e[..16.min(e.len())]))
            .collect();
        let _ = write!(
            html,
            "<p><b>Removal events:</b> {}</p>",
            escape(&items.join("; "))
        );
    }
    if !in_none.is_empty() {
        let _ = write!(
            html,
            "<details><summary>{} seen relays in no actor</summary><p class=\"note\">{}</p></details>",
            in_none.len(),
            in_none.join(" ")
        );
    }
    Ok(html)
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
    let flavors = strings(coverage, "flavor")?;
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
        "<p class=\"coverage\"><b>Coverage:</b> {} consensuses in {} continuous segment(s) (no gap over {max_gap:.0} h; {missing:.0} hour(s) missing inside them){longest}. <a href=\"#coverage\">Segments</a>.{flavor_note}</p>",
        format_count(consensuses),
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
