//! Outages: the anomalous spans of the series of departures back within
//! `outage_return_days` (many relays leaving and coming back), with how long they were down.

use anyhow::Result;
use polars::prelude::*;

use super::baseline::Baseline;
use super::members::RelayFacts;
use super::series::Series;
use super::spans::{anomalies, group_anomalies, span_baseline};
use super::tables::EventColumns;
use crate::jobs::columns::string_list_column;
use crate::jobs::presence::Presence;
use crate::jobs::settings::Jobs;
use crate::util::stats::median;
use crate::util::time::HOUR_MS;

/// The `outages` table.
pub(super) fn table(
    jobs: &Jobs,
    presence: &Presence,
    series: &Series,
    facts: &RelayFacts,
) -> Result<DataFrame> {
    let coming_back = &series.coming_back;
    let mut outage = EventColumns::default();
    let mut hours_down: Vec<Option<f64>> = Vec::new();
    let mut max_down: Vec<Option<f64>> = Vec::new();
    let mut outage_fingerprints: Vec<Vec<String>> = Vec::new();
    for span in group_anomalies(
        anomalies(coming_back, Baseline::Series(coming_back), presence, jobs),
        coming_back,
        Baseline::Series(coming_back),
        presence,
        jobs,
    ) {
        let gone = series.departures_in(&span);
        let down = facts.members_where(series, &gone, true);
        let expected = span_baseline(&span, Baseline::Series(coming_back), presence, jobs);
        outage.push_common(
            presence,
            &span,
            expected,
            down.len() as u32,
            &down,
            gone.len(),
        );
        let mut durations: Vec<f64> = down
            .iter()
            .filter_map(|m| m.departure.back_after_ms)
            .map(|ms| ms as f64 / HOUR_MS as f64)
            .collect();
        max_down.push(durations.iter().copied().reduce(f64::max));
        hours_down.push(Some(median(&mut durations)));
        let mut fps: Vec<String> = down
            .iter()
            .map(|m| {
                presence.sessions[m.departure.session]
                    .fingerprint
                    .to_string()
            })
            .collect();
        fps.sort();
        outage_fingerprints.push(fps);
    }

    let mut outage_columns = outage.columns("relays_down")?;
    outage_columns.push(Column::new("median_hours_down".into(), hours_down));
    outage_columns.push(Column::new("max_hours_down".into(), max_down));
    outage_columns.push(string_list_column("fingerprints", &outage_fingerprints));
    Ok(DataFrame::new_infer_height(outage_columns)?)
}
