//! Events: removals (many relays leaving at one consensus and not coming back), outages
//! (many leaving and coming back), and join bursts (many never-seen relays joining).
//!
//! A departure is a session's end: the relay is absent from the next consensus that exists.
//! A session that ends at the last consensus before a gap of the data (see
//! [`super::coverage`]) has no departure: nobody saw the relay leave. Departures of each
//! consensus are split in two series: those whose relay is back within
//! `outage_return_days` (outage candidates) and the others (removal candidates). A departure
//! that has not come back is decided only when the data observes the return window after it
//! (across gaps missing at most a quarter of its hours); at hours where it does not, the
//! removal series is unknown (not zero) and nothing is decided there. Each series is
//! compared with its own baseline, the median of the same hour of the day on the other days
//! within `baseline_days` on either side where the series is known, and a robust spread
//! (1.4826 × MAD of those, at least √median and 1); an hour with fewer than
//! `event_min_baseline_hours` such hours is not judged. Windows of 1 to
//! `event_window_consensuses` consecutive consensuses are tested against the same windows
//! on the other days (a removal carried out over a few consensuses need not stand out in any
//! one hour): a window is anomalous when its count is `event_min_relays` above the baseline
//! and `event_min_score` spreads above it; anomalous windows overlapping or at most
//! `event_merge_hours` consensuses apart (within one segment) form one event, dated by its
//! first consensus. Its members are the departures that share its evidence (AS, contact,
//! tenure and version against the churn of the baseline hours; see
//! `churn::sharing_the_evidence`), not every relay that left in those hours; an excess whose
//! departures look like ordinary churn in every trait is no removal (`churn::looks_like_churn`).
//! A removal event is provisional while less than 30 days of continuous data follow it (its
//! `returned_within_30d` may still grow). Hours whose return window is not covered get
//! provisional removal events of their own once a day has been observed after them: the
//! relays that left and are not back yet, against the departures of the baseline hours not
//! back within as long (like for like), so a removal near the end of the data or before a gap
//! is reported, marked, and decided once the data covers it. When at least half
//! of its relays declare one operator (the same contact, or mutual family), its `kind` is
//! `operator_departure` rather than `removal`: presence alone cannot tell an authority
//! removal from an operator switching its relays off, the declarations can. Where votes are
//! imported, they can too ([`super::votes`]): relays that at least two authorities stopped
//! listing before the consensus did were rejected, so such an event is a `removal` whatever
//! its relays declare; each event carries how many authorities voted, dropped its relays and
//! dropped them early, and the hours between the first and the last authority's drop.
//! Otherwise its kind says what its relays did afterwards (`kinds`): `rekey` (half or more of
//! their addresses back under new fingerprints within the return window), `long_outage`
//! (half or more back themselves within 30 days), `data_hole` (right after missing hours, and
//! no event spread over them), else `removal`; and each event has a `rank` (removals first, by
//! their excess as a share of the network).
//!
//! The rooms: `departures` (a session's end), `series` (the departures of each consensus
//! split in the removal, outage and undecided series), `baseline` (the robust per-hour
//! baseline), `spans` (anomalous windows merged into event spans), `churn` (which
//! departures share an event's evidence), `members` (what is known about a departed relay),
//! `removals` (removal events, their relays and the votes' evidence), `kinds` (departure kinds
//! and ranks), `outages`, `tables`
//! (the columns both event tables share) and `bursts` (join bursts). This file only
//! wires them together.

mod baseline;
mod bursts;
mod churn;
mod departures;
mod kinds;
mod members;
mod outages;
mod removals;
mod series;
mod spans;
mod tables;

use anyhow::Result;
use polars::prelude::*;

pub use bursts::join_bursts;
pub use departures::{departures, Departure};
pub(crate) use removals::REJECTED_BY_AUTHORITIES;

use crate::jobs::presence::Presence;
use crate::jobs::settings::Jobs;
use members::RelayFacts;
use series::Series;

/// The datasets `detect` builds.
pub struct Detected {
    pub removal_events: DataFrame,
    pub removal_event_relays: DataFrame,
    pub outages: DataFrame,
}

/// Finds removal events and outages.
pub fn detect(
    jobs: &Jobs,
    presence: &Presence,
    departures: &[Departure],
    relays: &DataFrame,
) -> Result<Detected> {
    let series = Series::new(jobs, presence, departures);
    let facts = RelayFacts::new(jobs, presence, relays)?;
    let removals = removals::find(jobs, presence, &series, &facts);
    let outages = outages::table(jobs, presence, &series, &facts)?;
    let (removal_events, removal_event_relays) = removals.tables(jobs)?;
    Ok(Detected {
        removal_events,
        removal_event_relays,
        outages,
    })
}
