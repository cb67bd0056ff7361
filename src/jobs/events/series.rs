//! The departure series: the departures of each consensus split in those back within
//! `outage_return_days` (outage candidates), those not back and decided (removal candidates),
//! and those whose return window is not covered yet (undecided, provisional removal
//! candidates), with the departures of each consensus kept for the events' members.

use std::collections::HashMap;

use super::baseline::{window_baseline, Baseline};
use super::departures::Departure;
use super::spans::EventSpan;
use crate::jobs::presence::Presence;
use crate::jobs::settings::Jobs;
use crate::util::time::DAY_MS;

/// Per consensus, the departure counts of each series (`None`: not known there).
pub(super) struct Series<'a> {
    /// A departure back within this long is an outage candidate.
    return_ms: i64,
    /// How far the data looks after each consensus, at most the return window
    /// ([`Presence::observed_after_ms`]).
    pub(super) observed_ms: Vec<i64>,
    /// Not back within the return window (known where that window is observed).
    pub(super) staying_away: Vec<Option<u32>>,
    /// Back within the return window.
    pub(super) coming_back: Vec<Option<u32>>,
    /// Not back within as long as the data looks after the consensus: where the return
    /// window is not observed, or is but too few baseline hours are (judged like for like,
    /// provisionally).
    pub(super) undecided: Vec<Option<u32>>,
    /// The counted departures of each consensus.
    pub(super) by_hour: HashMap<u32, Vec<&'a Departure>>,
}

impl<'a> Series<'a> {
    pub(super) fn new(jobs: &Jobs, presence: &Presence, departures: &'a [Departure]) -> Self {
        let n = presence.times.len();
        let return_ms = i64::from(jobs.config.outage_return_days) * DAY_MS;
        let coverage = &presence.coverage;
        let observed_ms = presence.observed_after_ms(return_ms);
        // Both series are known at every consensus but the first of a segment; the removal
        // series only where the data looks the whole return window ahead, across short gaps
        // (departures there that have not come back yet are undecided, and no baseline
        // counts the hour as zero).
        let judged = |h: usize| !coverage.starts_segment(h as u32);
        let decided = |h: usize| judged(h) && observed_ms[h] >= return_ms;
        let staying_away: Vec<Option<u32>> = (0..n).map(|h| decided(h).then_some(0)).collect();
        let coming_back: Vec<Option<u32>> = (0..n).map(|h| judged(h).then_some(0)).collect();
        // Where the return window is not observed, the departures not back yet: a removal
        // there can only be provisional, and is judged once a day has been observed after the
        // hour (a relay not back after a day did not just restart; an upgrade wave in the last
        // hours of the data is no removal yet).
        let undecided: Vec<Option<u32>> = (0..n)
            .map(|h| (judged(h) && !decided(h) && observed_ms[h] >= DAY_MS).then_some(0))
            .collect();
        let mut split = Series {
            return_ms,
            observed_ms,
            staying_away,
            coming_back,
            undecided,
            by_hour: HashMap::new(),
        };
        for d in departures {
            let at = d.at as usize;
            let series = if split.comes_back(d) {
                &mut split.coming_back
            } else if split.staying_away[at].is_some() {
                &mut split.staying_away
            } else {
                &mut split.undecided
            };
            match &mut series[at] {
                Some(count) => *count += 1,
                None => continue,
            }
            split.by_hour.entry(d.at).or_default().push(d);
        }
        // A decided hour whose baseline hours are mostly undecided (gaps before and after
        // it cut their return windows short) is judged like an undecided one: its relays not
        // back within the return window against the baseline hours' not back within as long.
        for h in 0..n {
            if split.staying_away[h].is_some()
                && window_baseline(Baseline::Series(&split.staying_away), h, 1, presence, jobs)
                    .is_none()
            {
                split.undecided[h] = split.staying_away[h];
            }
        }
        split
    }

    /// Whether a departure's relay was back within the return window.
    pub(super) fn comes_back(&self, d: &Departure) -> bool {
        d.back_after_ms.is_some_and(|ms| ms <= self.return_ms)
    }

    /// The baseline of the undecided series: at the baseline hours, the departures not back
    /// within as long as the judged hour has been observed.
    pub(super) fn not_back_yet(&self) -> Baseline<'_> {
        Baseline::NotBackWithin {
            departures: &self.by_hour,
            known: &self.coming_back,
            observed_ms: &self.observed_ms,
        }
    }

    /// The counted departures of a span's consensuses.
    pub(super) fn departures_in(&self, span: &EventSpan) -> Vec<&'a Departure> {
        (span.first..=span.last)
            .flat_map(|h| self.by_hour.get(&h).into_iter().flatten().copied())
            .collect()
    }
}
