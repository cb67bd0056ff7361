//! The watchlists' part of the report: per list, its description, presence over time,
//! overlap with actors and the removal events its relays left in.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use anyhow::Result;
use polars::prelude::*;

use super::data::{texts, times_ms};
use super::svg::{escape, Chart, Series, PALETTE};
use super::tables::{self, table_html};
use crate::jobs::columns::{floats, strings};
use crate::jobs::watchlist::StoredList;
use crate::util::display::format_share;

/// The "Watchlists" section: one subsection per stored list.
pub(super) fn section(
    lists: &[StoredList],
    list_presence: Option<&DataFrame>,
    list_relays: Option<&DataFrame>,
    removals: &Option<DataFrame>,
    gaps: &[(i64, i64)],
) -> Result<String> {
    let mut html = String::new();
    html.push_str("<h2 id=\"watchlists\">Watchlists</h2>");
    if lists.is_empty() {
        html.push_str("<p>No relay lists added (<code>relaytrail watchlist add FILE --warehouse W</code>, then <code>relaytrail jobs</code>).</p>");
    }
    for (k, list) in lists.iter().enumerate() {
        html.push_str(&watchlist_section(
            k,
            list,
            list_presence,
            list_relays,
            removals,
            gaps,
        )?);
    }
    Ok(html)
}

/// One watchlist: its description, presence over time, overlap with actors and removal
/// events, and the relays in no actor.
fn watchlist_section(
    k: usize,
    list: &StoredList,
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
    let coverage = crate::jobs::watchlist::DescriptorCoverage::of(&mine)?.sentence();
    let _ = write!(
        html,
        "<p>{seen_count} of them seen in the warehouse; {} in an actor, {} in none. {}</p>",
        seen_count - in_none.len(),
        in_none.len(),
        code_spans(&escape(&coverage))
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

/// `text` with each pair of backticks made a `<code>` span.
fn code_spans(text: &str) -> String {
    let mut out = String::new();
    for (i, part) in text.split('`').enumerate() {
        if i % 2 == 1 {
            let _ = write!(out, "<code>{part}</code>");
        } else {
            out.push_str(part);
        }
    }
    out
}
