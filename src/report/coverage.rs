//! The coverage of the data: the gaps between coverage segments (shaded in every chart), the
//! paragraph on how continuous the data is under the title, the table of segments, and how
//! much of the relays' presence imported server descriptors cover, month by month, with the
//! download that fills the rest.

use anyhow::Result;
use polars::prelude::*;

use super::data::times_ms;
use super::tables::html_table;
use crate::jobs::columns::{floats, strings};
use std::fmt::Write as _;

use crate::descriptor::values::civil_from_days;
use crate::util::display::{format_count, format_share};

/// Gaps of the data (between coverage segments): shaded, and no line crosses them.
pub(super) fn gaps(coverage: Option<&DataFrame>) -> Result<Vec<(i64, i64)>> {
    Ok(match coverage {
        Some(c) => {
            let starts = times_ms(c, "segment_start")?;
            let ends = times_ms(c, "segment_end")?;
            (1..starts.len())
                .map(|k| (ends[k - 1], starts[k]))
                .collect()
        }
        None => Vec::new(),
    })
}

/// Share of the relays' consensus entries an imported server descriptor covers
/// (`network_hourly.relays_with_descriptor` over `relays`; 0 for jobs of an earlier relaytrail).
pub(super) fn descriptor_share(hourly: &DataFrame) -> Result<f64> {
    let Some((relays, covered)) = descriptor_columns(hourly)? else {
        return Ok(0.0);
    };
    let total: f64 = relays.iter().sum();
    Ok(if total > 0.0 {
        covered.iter().sum::<f64>() / total
    } else {
        0.0
    })
}

fn descriptor_columns(hourly: &DataFrame) -> Result<Option<(Vec<f64>, Vec<f64>)>> {
    if hourly.column("relays_with_descriptor").is_err() {
        return Ok(None);
    }
    Ok(Some((
        floats(hourly, "relays")?,
        floats(hourly, "relays_with_descriptor")?,
    )))
}

/// Months in which imported server descriptors cover less than this share of the relays'
/// consensus entries are listed for download.
const WELL_COVERED: f64 = 0.9;

/// The paragraph on server descriptors: their coverage month by month, and the
/// `make download` that fills the months below [`WELL_COVERED`].
fn descriptors(hourly: &DataFrame) -> Result<String> {
    let Some((relays, covered)) = descriptor_columns(hourly)? else {
        return Ok(String::new());
    };
    let mut months: std::collections::BTreeMap<(i64, u32), (f64, f64)> = Default::default();
    for ((t, r), c) in times_ms(hourly, "valid_after")?
        .iter()
        .zip(&relays)
        .zip(&covered)
    {
        let (y, m, _) = civil_from_days(t.div_euclid(86_400_000));
        let e = months.entry((y, m)).or_default();
        e.0 += r;
        e.1 += c;
    }
    let thin: Vec<String> = months
        .iter()
        .filter(|(_, (r, c))| *r > 0.0 && c / r < WELL_COVERED)
        .map(|((y, m), _)| format!("{y}-{m:02}"))
        .collect();
    let share = descriptor_share(hourly)?;
    let mut html = format!(
        "<h3 id=\"descriptor-coverage\">Server descriptors</h3><p>Imported server descriptors cover {} of the relays' consensus entries (a descriptor covers the consensuses of the 24 hours after it was published: the authorities list a relay only with a descriptor at most a day old). Where none covers a relay, its contact, family, platform, exit policy, uptime and bandwidth rate are unknown, not \"none\"; groups most of whose relays are such are listed under <a href=\"#unknown-operator\">Operator unknown</a>.</p>",
        format_share(share)
    );
    if thin.is_empty() {
        html.push_str("<p>Every month is covered.</p>");
    } else {
        let _ = write!(
            html,
            "<p>Months covered less than {}: {}. Fill them with <code>make download TYPES=server-descriptors MONTHS={}</code> and import them again.</p>",
            format_share(WELL_COVERED),
            thin.join(", "),
            thin.join(",")
        );
    }
    Ok(html)
}

/// The "Data coverage" section: the segments and the server descriptors' coverage.
pub(super) fn section(c: &DataFrame, hourly: &DataFrame) -> Result<String> {
    let mut html = String::new();
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
    html.push_str(&descriptors(hourly)?);
    Ok(html)
}

/// One paragraph on how continuous the data is.
pub(super) fn summary(coverage: &DataFrame, gaps: &[(i64, i64)]) -> Result<String> {
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
