//! "The network" section: relays and total consensus weight in each consensus, with the
//! removal events, operator departures and outages marked.

use std::fmt::Write as _;

use anyhow::Result;
use polars::prelude::*;

use super::data::times_ms;
use super::events::Kinds;
use super::svg::{Chart, Marker, Series, PALETTE};
use crate::jobs::columns::floats;
use crate::util::display::format_time;

/// The events as markers on the network charts: removals red, operator departures purple,
/// outages orange.
pub(super) fn markers(
    removals: Option<&DataFrame>,
    outages: Option<&DataFrame>,
    kinds: &Kinds,
) -> Result<Vec<Marker>> {
    let mut markers = Vec::new();
    if let Some(r) = removals {
        let n = floats(r, "relays_removed")?;
        for ((t, k), kind) in times_ms(r, "event_time")?
            .into_iter()
            .zip(n)
            .zip(&kinds.kinds)
        {
            let (color, what) = match kind.as_str() {
                "operator_departure" => ("#7F3C8D", "operator departure"),
                "rekey" => ("#3969AC", "re-key"),
                "long_outage" => ("#E68310", "long outage"),
                "data_hole" => ("#999999", "data hole"),
                _ => ("#C00000", "removal"),
            };
            markers.push(Marker {
                at_ms: t,
                color,
                label: format!("{what}: {k:.0} relays at {}", format_time(t)),
            });
        }
    }
    if let Some(o) = outages {
        let n = floats(o, "relays_down")?;
        for (t, k) in times_ms(o, "event_time")?.into_iter().zip(n) {
            markers.push(Marker {
                at_ms: t,
                color: "#E69F00",
                label: format!("outage: {k:.0} relays at {}", format_time(t)),
            });
        }
    }
    Ok(markers)
}

/// The two charts of the network over time.
pub(super) struct NetworkCharts {
    network_chart: String,
    weight_chart: String,
}

impl NetworkCharts {
    pub(super) fn of(
        hourly: &DataFrame,
        hours: &[i64],
        markers: &[Marker],
        gaps: &[(i64, i64)],
    ) -> Result<Self> {
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
            x_ms: hours,
            series: vec![Series {
                name: "relays".into(),
                color: PALETTE[0].into(),
                values: floats(hourly, "relays")?,
            }],
            markers: copy_markers(markers),
            stacked: false,
            percent: false,
            gaps: gaps.to_vec(),
        }
        .render();
        let weight_chart = Chart {
            title: "Total consensus weight (sum of the w Bandwidth= values)",
            y_label: "weight (kB/s)",
            x_ms: hours,
            series: vec![Series {
                name: "total consensus weight".into(),
                color: PALETTE[2].into(),
                values: floats(hourly, "total_consensus_weight")?,
            }],
            markers: copy_markers(markers),
            stacked: false,
            percent: false,
            gaps: gaps.to_vec(),
        }
        .render();
        Ok(NetworkCharts {
            network_chart,
            weight_chart,
        })
    }

    /// The section with both charts.
    pub(super) fn section(&self) -> String {
        let NetworkCharts {
            network_chart,
            weight_chart,
        } = self;
        let mut html = String::new();
        let _ = write!(
        html,
        "<h2 id=\"network\">The network</h2><figure>{network_chart}<figcaption>Relays per hourly consensus; grey bands: gaps of the data (nothing is counted across them); dashed red lines: removal events (relays leaving and not coming back), purple: operator departures (most of the relays declare one operator), orange: outages (relays leaving and back within days).</figcaption></figure><figure>{weight_chart}</figure>"
    );
        html
    }
}
