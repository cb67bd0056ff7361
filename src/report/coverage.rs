//! The coverage of the data: the gaps between coverage segments (shaded in every chart), the
//! paragraph on how continuous the data is under the title, and the table of segments.

use anyhow::Result;
use polars::prelude::*;

use super::data::times_ms;
use super::tables::html_table;
use crate::jobs::columns::{floats, strings};
use crate::util::display::format_count;

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

/// The "Data coverage" section: the segments.
pub(super) fn section(c: &DataFrame) -> Result<String> {
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
