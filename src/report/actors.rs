//! The actors' part of the report: undeclared groups first, then the groups whose operator the
//! data cannot tell (most of their relays without an imported server descriptor), then declared
//! operators, each kind ranked by its highest guard, middle or exit probability in one
//! consensus; the stacked daily timelines of the top undeclared ones, and a section per top
//! actor with its members' evidence.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use anyhow::Result;
use polars::prelude::*;

use super::data::{texts, times_ms};
use super::svg::{escape, Chart, Series, PALETTE};
use super::tables::{self, html_table};
use crate::jobs::columns::floats;

/// Actors shown in the stacked timelines and with sections of their own, per kind.
pub(super) const TOP_ACTORS: usize = 8;

/// An actor as the report needs it.
pub(super) struct ActorRow {
    pub(super) index: usize,
    pub(super) id: String,
    /// Declared operator, undeclared group, or unknown (None: most of its relays without a
    /// descriptor, so their contacts and families are not in the data).
    pub(super) declared: Option<bool>,
    pub(super) peak: f64,
    pub(super) relays: f64,
}

/// The actors ranked: undeclared groups first, each kind ranked by its highest guard, middle
/// or exit probability in one consensus, then by size.
pub(super) struct Ranking {
    ranked: Vec<ActorRow>,
    /// The highest guard, middle and exit probability of each actor (by row of `actors`).
    pub(super) peak_g: Vec<f64>,
    pub(super) peak_m: Vec<f64>,
    pub(super) peak_e: Vec<f64>,
}

/// The ranked actors of each kind, and the ones charted over time.
pub(super) struct Ranked<'r> {
    pub(super) undeclared: Vec<&'r ActorRow>,
    pub(super) unknown: Vec<&'r ActorRow>,
    pub(super) declared: Vec<&'r ActorRow>,
    /// The top undeclared groups (the top declared operators where there are none).
    charted: Vec<&'r ActorRow>,
    charted_kind: &'static str,
}

impl Ranking {
    pub(super) fn of(actors: &DataFrame) -> Result<Self> {
        let actor_ids = texts(actors, "actor_id")?;
        let peak_g = floats(actors, "peak_guard_probability")?;
        let peak_m = floats(actors, "peak_middle_probability")?;
        let peak_e = floats(actors, "peak_exit_probability")?;
        let relays_of = floats(actors, "relays")?;
        let declared: Vec<Option<bool>> = match actors.column("declared") {
            Ok(c) => c.bool()?.iter().collect(),
            Err(_) => vec![Some(false); actors.height()],
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
        Ok(Ranking {
            ranked,
            peak_g,
            peak_m,
            peak_e,
        })
    }

    /// How many actors there are.
    pub(super) fn count(&self) -> usize {
        self.ranked.len()
    }

    /// The actors of each kind, in rank order.
    pub(super) fn split(&self) -> Ranked<'_> {
        let of = |kind: Option<bool>| -> Vec<&ActorRow> {
            self.ranked.iter().filter(|a| a.declared == kind).collect()
        };
        let (undeclared, unknown, declared_rows) = (of(Some(false)), of(None), of(Some(true)));
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
        Ranked {
            undeclared,
            unknown,
            declared: declared_rows,
            charted,
            charted_kind,
        }
    }
}

/// The stacked daily timelines of the charted actors' probabilities.
pub(super) struct Timelines {
    guard_chart: String,
    middle_chart: String,
    exit_chart: String,
}

impl Timelines {
    pub(super) fn of(timeline: &DataFrame, ranked: &Ranked, gaps: &[(i64, i64)]) -> Result<Self> {
        let Ranked {
            charted,
            charted_kind,
            ..
        } = ranked;
        // Daily axis for the stacked timelines.
        let days: Vec<i64> = {
            let mut d: Vec<i64> = times_ms(timeline, "day")?;
            d.sort_unstable();
            d.dedup();
            d
        };
        let t_ids = texts(timeline, "actor_id")?;
        let t_days = times_ms(timeline, "day")?;
        let stacked = |column: &str, title: &str| -> Result<String> {
            let values = floats(timeline, column)?;
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
                gaps: gaps.to_vec(),
            }
            .render())
        };
        let guard_title = format!("Guard probability of the top {charted_kind}");
        let middle_title = format!("Middle probability of the top {charted_kind}");
        let exit_title = format!("Exit probability of the top {charted_kind}");
        let guard_chart = stacked("guard_probability", &guard_title)?;
        let middle_chart = stacked("middle_probability", &middle_title)?;
        let exit_chart = stacked("exit_probability", &exit_title)?;
        Ok(Timelines {
            guard_chart,
            middle_chart,
            exit_chart,
        })
    }
}

/// The "Undeclared groups" and "Declared operators" sections, with the timelines and one
/// section per top actor of each kind.
pub(super) fn sections(
    actors: &DataFrame,
    members: &DataFrame,
    ranked: &Ranked,
    timelines: &Timelines,
) -> Result<String> {
    let Ranked {
        undeclared,
        unknown,
        declared: declared_rows,
        charted,
        charted_kind,
    } = ranked;
    let Timelines {
        guard_chart,
        middle_chart,
        exit_chart,
    } = timelines;
    let mut html = String::new();
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
            &take(undeclared)?,
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
    html.push_str(&unknown_section(actors, unknown, &take)?);
    html.push_str("<h2 id=\"declared\">Declared operators</h2><p>Groups most of whose relays declare one operator: the same contact, or mutual family declarations. Honest operators usually declare themselves; a large declared operator matters for path selection but is not hiding.</p>");
    if declared_rows.is_empty() {
        html.push_str("<p>None found.</p>");
    } else {
        html.push_str(&html_table(
            &take(declared_rows)?,
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
    let m_ids = texts(members, "actor_id")?;
    for a in &sections {
        let row = actors.slice(a.index as i64, 1);
        let value = |c: &str| -> Result<String> {
            Ok(match row.column(c) {
                Ok(col) => tables::cell(&col.get(0)?),
                Err(_) => String::new(),
            })
        };
        let tag = match a.declared {
            Some(true) => "<span class=\"tag declared\">declared operator</span>",
            Some(false) => "<span class=\"tag undeclared\">undeclared group</span>",
            None => "<span class=\"tag\">operator unknown</span>",
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
    Ok(html)
}

/// "Operator unknown": the groups most of whose relays have no imported server descriptor,
/// how many relays that is, and what fills it in.
fn unknown_section(
    actors: &DataFrame,
    unknown: &[&ActorRow],
    take: &dyn Fn(&[&ActorRow]) -> Result<DataFrame>,
) -> Result<String> {
    let mut html = String::from("<h2 id=\"unknown-operator\">Operator unknown</h2>");
    if unknown.is_empty() {
        html.push_str("<p>None: every group has server descriptors for most of its relays.</p>");
        return Ok(html);
    }
    let relays = floats(actors, "relays")?;
    let with_descriptor = match actors.column("relays_with_descriptor") {
        Ok(_) => floats(actors, "relays_with_descriptor")?,
        Err(_) => vec![0.0; actors.height()],
    };
    let total: f64 = unknown.iter().map(|a| relays[a.index]).sum();
    let without: f64 = unknown
        .iter()
        .map(|a| relays[a.index] - with_descriptor[a.index])
        .sum();
    let _ = write!(
        html,
        "<p>{} groups ({} relays) are held together by behaviour and configuration, but {} of their relays have no imported server descriptor for any hour they were listed: their contacts and family declarations are not in the data, so nobody can say whether they declare an operator. They are neither declared nor undeclared; import the server descriptors of their months (see <a href=\"#coverage\">Data coverage</a> for the command) to tell.</p>",
        unknown.len(),
        total,
        without
    );
    html.push_str(&html_table(
        &take(unknown)?,
        &[
            "actor_id",
            "relays",
            "relays_with_descriptor",
            "hours_with_descriptor_share",
            "peak_relays",
            "peak_guard_probability",
            "peak_middle_probability",
            "peak_exit_probability",
            "first_seen",
            "last_seen",
        ],
        None,
    )?);
    Ok(html)
}

fn or_none(text: String) -> String {
    if text.is_empty() {
        "none".into()
    } else {
        text
    }
}
