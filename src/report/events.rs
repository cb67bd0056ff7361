//! The events' part of the report: removal events split by kind, with who lost relays in
//! each (actors and watchlists), operator departures, outages and join bursts.

use std::collections::{BTreeMap, HashMap};

use std::fmt::Write as _;

use anyhow::Result;
use polars::prelude::*;

use super::data::{texts, times_ms};
use super::tables::{self, html_table, table_html};
use crate::jobs::columns::floats;
use crate::jobs::watchlist::StoredList;
use crate::util::display::{format_share, format_time};

/// The kind of each removal event (`removal`, `operator_departure`, `rekey`, `long_outage`,
/// `data_hole`), rows in rank order (see [`by_rank`]).
pub(super) struct Kinds {
    /// Per row of `removal_events`.
    pub(super) kinds: Vec<String>,
    pub(super) operator_departures: usize,
}

impl Kinds {
    pub(super) fn of(removals: Option<&DataFrame>) -> Result<Self> {
        let kinds: Vec<String> = match removals {
            Some(r) if r.column("kind").is_ok() => texts(r, "kind")?,
            Some(r) => vec!["removal".into(); r.height()],
            None => Vec::new(),
        };
        let operator_departures = kinds.iter().filter(|k| *k == "operator_departure").count();
        Ok(Kinds {
            kinds,
            operator_departures,
        })
    }

    /// The events of one kind.
    pub(super) fn count(&self, kind: &str) -> usize {
        self.kinds.iter().filter(|k| *k == kind).count()
    }

    /// The removal events that are not operator departures (removals, re-keys, long outages
    /// and data holes: departures nobody declared).
    pub(super) fn removals(&self) -> usize {
        self.kinds.len() - self.operator_departures
    }

    /// "3 removals, 1 re-key, …": what the departures nobody declared were.
    pub(super) fn breakdown(&self) -> String {
        let parts: Vec<String> = [
            ("removal", "removal", "removals"),
            ("rekey", "re-key", "re-keys"),
            ("long_outage", "long outage", "long outages"),
            ("data_hole", "data hole", "data holes"),
        ]
        .iter()
        .filter_map(|(kind, one, many)| {
            let n = self.count(kind);
            (n > 0).then(|| format!("{n} {}", if n == 1 { one } else { many }))
        })
        .collect();
        parts.join(", ")
    }
}

/// `removal_events` in rank order (most worth reading first; by time where the jobs predate
/// the rank).
pub(super) fn by_rank(removals: DataFrame) -> Result<DataFrame> {
    sorted_by(&removals, &["rank", "event_time"], false)
}

/// Outages, most relays down beyond the usual first.
pub(super) fn outages_by_size(outages: &DataFrame) -> Result<DataFrame> {
    sorted_by(outages, &["excess", "relays_down"], true)
}

/// `frame` sorted by the first of `keys` it has (older warehouses lack the newer columns).
fn sorted_by(frame: &DataFrame, keys: &[&str], descending: bool) -> Result<DataFrame> {
    let key = keys
        .iter()
        .copied()
        .find(|k| frame.column(k).is_ok())
        .unwrap_or(keys[keys.len() - 1]);
    Ok(frame.sort(
        [key],
        SortMultipleOptions::default()
            .with_order_descending(descending)
            .with_maintain_order(true),
    )?)
}

/// Who holds each relay: its actor and the watchlists listing it.
pub(super) struct Holders<'l> {
    actor_of: HashMap<String, String>,
    lists_of: HashMap<&'l str, Vec<&'l str>>,
}

impl<'l> Holders<'l> {
    pub(super) fn of(members: &DataFrame, lists: &'l [StoredList]) -> Result<Self> {
        let actor_of: HashMap<String, String> = texts(members, "fingerprint")?
            .into_iter()
            .zip(texts(members, "actor_id")?)
            .collect();
        let mut lists_of: HashMap<&str, Vec<&str>> = HashMap::new();
        for list in lists {
            for fp in &list.fingerprints {
                lists_of.entry(fp).or_default().push(&list.name);
            }
        }
        Ok(Holders { actor_of, lists_of })
    }
}

/// The sections on removal events (with who lost relays in them), operator departures,
/// outages and join bursts.
pub(super) fn sections(
    removals: Option<&DataFrame>,
    removal_relays: Option<&DataFrame>,
    outages: Option<&DataFrame>,
    bursts: Option<&DataFrame>,
    kinds: &Kinds,
    holders: &Holders,
) -> Result<String> {
    let mut html = String::new();
    let removal_count = kinds.removals();
    // Removal events with who lost relays in them.
    html.push_str("<h2 id=\"removal-events\">Removal events</h2><p>Many relays leaving at once and not coming back within the outage window, most worth reading first (rank: the directory authorities' removals where their votes show them, then removals, re-keys, long outages and data holes, each by the relays beyond the usual departures as a share of the network). Kinds: <b>removal</b>, left together and stayed away; <b>rekey</b>, half or more of their addresses back under new fingerprints within the outage window; <b>long outage</b>, half or more back themselves within 30 days; <b>data hole</b>, right after hours missing from the data. For each: the actors and watchlists that lost relays in it, with the probability they held.</p>");
    match removals {
        Some(r) if removal_count > 0 => {
            let _ = write!(
                html,
                "<p>{removal_count} events of departures nobody declared: {}.</p>",
                kinds.breakdown()
            );
            let mask: BooleanChunked = kinds
                .kinds
                .iter()
                .map(|k| k != "operator_departure")
                .collect();
            let mut rows = r.filter(&mask)?;
            let mut columns = vec![
                "rank",
                "event_time",
                "kind",
                "relays_removed",
                "network_share",
                "baseline_departures",
                "guard_probability",
                "middle_probability",
                "exit_probability",
                "contactless_share",
                "top_asns",
                "returned_within_30d",
                "rekeyed",
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
            html.push_str(&tables::html_table_all(&rows, &columns, None)?);
            html.push_str(&who_left(
                &rows,
                removal_relays,
                &holders.actor_of,
                &holders.lists_of,
            )?);
        }
        _ => html.push_str("<p>None detected.</p>"),
    }
    if kinds.operator_departures > 0 {
        let r = removals.expect("events");
        let mask: BooleanChunked = kinds
            .kinds
            .iter()
            .map(|k| k == "operator_departure")
            .collect();
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
    html.push_str("<h2 id=\"outages\">Outages</h2><p>Many relays leaving at once and back within the outage window, most relays down beyond the usual first.</p>");
    match outages {
        Some(o) if o.height() > 0 => html.push_str(&tables::html_table_all(
            &outages_by_size(o)?,
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
    match bursts {
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
    Ok(html)
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
    // Events in the order of `events` (rank order).
    let order: HashMap<i64, usize> = times_ms(events, "event_time")?
        .into_iter()
        .enumerate()
        .map(|(i, t)| (t, i))
        .collect();
    let r_times = times_ms(relays, "event_time")?;
    let r_fps = texts(relays, "fingerprint")?;
    let shares = [
        floats(relays, "guard_probability")?,
        floats(relays, "middle_probability")?,
        floats(relays, "exit_probability")?,
    ];
    // (event's rank position, event time, holder) → (relays, [guard, middle, exit]).
    type Held = BTreeMap<(usize, i64, String), (usize, [f64; 3])>;
    let mut held: Held = BTreeMap::new();
    for i in 0..r_fps.len() {
        let Some(&position) = order.get(&r_times[i]) else {
            continue;
        };
        let mut holders: Vec<String> = Vec::new();
        holders.push(match actor_of.get(&r_fps[i]) {
            Some(a) => format!("actor {a}"),
            None => "in no actor".to_string(),
        });
        for list in lists_of.get(r_fps[i].as_str()).into_iter().flatten() {
            holders.push(format!("watchlist {list}"));
        }
        for holder in holders {
            let e = held.entry((position, r_times[i], holder)).or_default();
            e.0 += 1;
            for (sum, column) in e.1.iter_mut().zip(&shares) {
                *sum += column[i];
            }
        }
    }
    // Events in rank order (the map's first key), most relays first within each.
    let mut keyed: Vec<_> = held.iter().collect();
    keyed.sort_by(|(a, (na, _)), (b, (nb, _))| a.0.cmp(&b.0).then(nb.cmp(na)).then(a.2.cmp(&b.2)));
    let rows: Vec<Vec<(String, String)>> = keyed
        .into_iter()
        .map(|((_, t, holder), (n, [g, m, x]))| {
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
    let total = rows.len();
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
            &rows,
            total,
            None
        )
    ))
}
