//! `summary.md`: the period, the top undeclared groups and the removal events (in rank order,
//! with sizes and kinds), in Markdown.

use std::fmt::Write as _;

use anyhow::Result;
use polars::prelude::*;

use super::actors::{Ranked, Ranking, TOP_ACTORS};
use super::data::texts;
use super::events::Kinds;
use super::tables::column_cell;
use crate::util::display::{format_share, format_time};

/// The text of `summary.md`.
pub(super) fn markdown(
    hours: &[i64],
    max_relays: f64,
    actors: &DataFrame,
    ranking: &Ranking,
    ranked: &Ranked,
    removals: Option<&DataFrame>,
    kinds: &Kinds,
) -> Result<String> {
    let first = hours.first().copied().unwrap_or(0);
    let last = hours.last().copied().unwrap_or(0);
    let mut summary = format!(
        "# relaytrail summary\n\n{} consensuses from {} to {} UTC, at most {max_relays:.0} relays.\n\n## Undeclared groups\n\n| actor | relays | peak guard | peak middle | peak exit | why |\n|---|---|---|---|---|---|\n",
        hours.len(),
        format_time(first),
        format_time(last),
    );
    let whys = match actors.column("why") {
        Ok(_) => texts(actors, "why")?,
        Err(_) => vec![String::new(); actors.height()],
    };
    for a in ranked.undeclared.iter().take(TOP_ACTORS) {
        let _ = writeln!(
            summary,
            "| {} | {:.0} | {} | {} | {} | {} |",
            a.id,
            a.relays,
            format_share(ranking.peak_g[a.index]),
            format_share(ranking.peak_m[a.index]),
            format_share(ranking.peak_e[a.index]),
            whys[a.index]
        );
    }
    if ranked.undeclared.is_empty() {
        summary.push_str("| (none) | | | | | |\n");
    }
    if !ranked.unknown.is_empty() {
        let _ = write!(
            summary,
            "\n{} more groups are of unknown operator: most of their relays have no imported server descriptor, so whether they declare an operator is not in the data (see the report's \"Operator unknown\").\n",
            ranked.unknown.len()
        );
    }
    summary.push_str("\n## Removal events\n\n");
    if let Some(r) = removals.filter(|r| r.height() > 0) {
        let _ = write!(
            summary,
            "{} events, most worth reading first ({}; {} operator departures). Relays: the removed relays; beyond usual: the relays beyond the usual departures of those hours, as a share of the relays listed before.\n\n| rank | time | kind | relays | beyond usual | back within 30 days | provisional |\n|---|---|---|---|---|---|---|\n",
            r.height(),
            kinds.breakdown(),
            kinds.operator_departures,
        );
        // Each cell as the report shows it; `?` where the warehouse's jobs predate the column.
        let cell = |name: &str, i: usize| {
            r.column(name)
                .ok()
                .and_then(|c| c.get(i).ok())
                .map(|v| column_cell(name, &v))
                .filter(|text| !text.is_empty())
                .unwrap_or_else(|| "?".to_string())
        };
        for (i, kind) in kinds.kinds.iter().enumerate() {
            let _ = writeln!(
                summary,
                "| {} | {} | {} | {} | {} | {} | {} |",
                cell("rank", i),
                cell("event_time", i),
                kind.replace('_', " "),
                cell("relays_removed", i),
                cell("network_share", i),
                cell("returned_within_30d", i),
                cell("provisional", i),
            );
        }
    } else {
        summary.push_str("None detected.\n");
    }
    Ok(summary)
}
