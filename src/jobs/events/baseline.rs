//! The robust per-hour baseline of a departure series: the same consensus windows at the
//! same hour of the day on the other days within `baseline_days`, their median and spread
//! (1.4826 × MAD, at least √median and 1), and what a series is compared with there (itself,
//! or for undecided hours the departures not back within as long).

use std::collections::HashMap;

use super::departures::{not_back_within, Departure};
use crate::jobs::presence::Presence;
use crate::jobs::settings::Jobs;
use crate::util::stats::median;
use crate::util::time::DAY_MS;

/// The `len` consensuses from `at`, when they exist and lie in the segment of `at`.
fn window(at: usize, len: usize, presence: &Presence) -> Option<std::ops::RangeInclusive<usize>> {
    let last = at + len - 1;
    (last < presence.times.len()
        && presence.coverage.segment(last as u32) == presence.coverage.segment(at as u32))
    .then_some(at..=last)
}

/// The sum of `series` over the `len` consensuses from `at`, when all are known and in the
/// segment of `at`.
pub(super) fn window_sum(
    series: &[Option<u32>],
    at: usize,
    len: usize,
    presence: &Presence,
) -> Option<u32> {
    window(at, len, presence)?.map(|j| series[j]).sum()
}

/// The consensuses at the same hour of the day as consensus `h` on the other days within
/// `baseline_days` (departures follow a daily rhythm: residential relays go away in the
/// evening).
pub(super) fn baseline_hours<'p>(
    h: usize,
    presence: &'p Presence,
    jobs: &Jobs,
) -> impl Iterator<Item = usize> + 'p {
    let times = &presence.times;
    let half_window = i64::from(jobs.config.baseline_days) * DAY_MS;
    let t = times[h];
    let lo = times.partition_point(|&x| x < t - half_window);
    let hi = times.partition_point(|&x| x <= t + half_window);
    (lo..hi).filter(move |&j| {
        (times[j] - t).abs() >= DAY_MS / 2 && (times[j] - t).rem_euclid(DAY_MS) == 0
    })
}

/// What a series is compared with at the baseline hours.
#[derive(Clone, Copy)]
pub(super) enum Baseline<'s> {
    /// A series (the judged one itself, where every hour is decided).
    Series(&'s [Option<u32>]),
    /// For hours whose return window is not covered (the departures there are "not back
    /// yet"), like for like: the departures of the baseline hour not back within as long as
    /// the judged hour has been observed (`known`: the hours departures are counted at).
    NotBackWithin {
        departures: &'s HashMap<u32, Vec<&'s Departure>>,
        known: &'s [Option<u32>],
        /// How far the data looks after each consensus.
        observed_ms: &'s [i64],
    },
}

impl Baseline<'_> {
    /// The baseline's value at hour `j` for judging hour `judged`.
    pub(super) fn value(&self, judged: usize, j: usize) -> Option<u32> {
        match *self {
            Baseline::Series(series) => series[j],
            Baseline::NotBackWithin {
                departures,
                known,
                observed_ms,
            } => {
                known[j]?;
                let observed = observed_ms[judged];
                Some(
                    departures
                        .get(&(j as u32))
                        .into_iter()
                        .flatten()
                        .filter(|d| not_back_within(d, observed))
                        .count() as u32,
                )
            }
        }
    }

    /// The sum over the `len` consensuses from `at` (for judging the window from `judged`),
    /// when all are known and in the segment of `at`.
    fn window_sum(&self, judged: usize, at: usize, len: usize, presence: &Presence) -> Option<u32> {
        window(at, len, presence)?
            .map(|j| self.value(judged, j))
            .sum()
    }
}

/// The robust baseline of the window of `len` consensuses from `h`: the median and spread
/// (1.4826 × MAD, at least √median and 1) of the same windows (same start hour of the day)
/// on the other days within `baseline_days`; `None` with fewer than
/// `event_min_baseline_hours` known windows.
pub(super) fn window_baseline(
    baseline: Baseline,
    h: usize,
    len: usize,
    presence: &Presence,
    jobs: &Jobs,
) -> Option<(f64, f64)> {
    let mut window: Vec<f64> = baseline_hours(h, presence, jobs)
        .filter_map(|j| baseline.window_sum(h, j, len, presence))
        .map(f64::from)
        .collect();
    if window.len() < jobs.config.event_min_baseline_hours as usize {
        return None;
    }
    let center = median(&mut window);
    let mut deviations: Vec<f64> = window.iter().map(|v| (v - center).abs()).collect();
    let spread = (1.4826 * median(&mut deviations))
        .max(center.sqrt())
        .max(1.0);
    Some((center, spread))
}
