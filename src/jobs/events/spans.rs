//! Window scanning: the anomalous windows of a departure series (1 to
//! `event_window_consensuses` consecutive consensuses far above the same windows on other
//! days), merged into event spans within one segment and cut to the run that stands out.

use super::baseline::{window_baseline, window_sum, Baseline};
use crate::jobs::presence::Presence;
use crate::jobs::settings::Jobs;

/// The first and last consensus of an event stand out on their own by this many spreads.
const EDGE_MIN_SCORE: f64 = 2.0;
/// ...and carry at least this share of the mean excess of the event's consensuses (half: a few
/// departures above a quiet hour's baseline next to a removal of dozens are churn).
const EDGE_SHARE: f64 = 0.5;

/// An anomalous window of a departure series: `len` consecutive consensuses from `at`
/// (within one segment) whose summed count is far above the same windows on other days.
#[derive(Debug, Clone, Copy)]
pub(super) struct Anomaly {
    at: u32,
    len: u32,
    score: f64,
}

/// The anomalous windows of a departure series (`None`: not known at that hour), each
/// compared with the same windows of `baseline` (the series itself, or a broader one).
/// Windows of 1 to `event_window_consensuses` consecutive consensuses are tested: a removal
/// the authorities carry out over a few consensuses (reject lines added one by one) may pass
/// no single hour's test.
pub(super) fn anomalies(
    series: &[Option<u32>],
    baseline: Baseline,
    presence: &Presence,
    jobs: &Jobs,
) -> Vec<Anomaly> {
    let config = jobs.config;
    let mut found = Vec::new();
    for len in 1..=config.event_window_consensuses.max(1) as usize {
        for h in 0..series.len() {
            let Some(count) = window_sum(series, h, len, presence) else {
                continue;
            };
            // The window's first consensus must carry departures of its own (a window is
            // not started on a quiet hour before the event).
            if count < config.event_min_relays || series[h] == Some(0) {
                continue;
            }
            let Some((center, spread)) = window_baseline(baseline, h, len, presence, jobs) else {
                continue;
            };
            let excess = f64::from(count) - center;
            let score = excess / spread;
            if excess >= f64::from(config.event_min_relays) && score >= config.event_min_score {
                found.push(Anomaly {
                    at: h as u32,
                    len: len as u32,
                    score,
                });
            }
        }
    }
    found.sort_by_key(|a| (a.at, a.len));
    found
}

/// An event: consecutive consensuses `first..=last` of one segment.
#[derive(Debug, Clone, Copy)]
pub(super) struct EventSpan {
    pub(super) first: u32,
    pub(super) last: u32,
    pub(super) score: f64,
}

/// Anomalous windows merged into events (overlapping or within `event_merge_hours`
/// consensuses, never across a gap of the data), each cut to its run of consecutive
/// consensuses with the highest score, then to begin and end with consensuses whose own
/// count is `EDGE_MIN_SCORE` spreads above their baseline.
pub(super) fn group_anomalies(
    found: Vec<Anomaly>,
    series: &[Option<u32>],
    baseline: Baseline,
    presence: &Presence,
    jobs: &Jobs,
) -> Vec<EventSpan> {
    let merge = jobs.config.event_merge_hours;
    let segment = |at: u32| presence.coverage.segment(at);
    let mut spans: Vec<EventSpan> = Vec::new();
    for a in found {
        let last = a.at + a.len - 1;
        match spans.last_mut() {
            Some(s) if a.at <= s.last + merge && segment(a.at) == segment(s.last) => {
                s.last = s.last.max(last);
                s.score = s.score.max(a.score);
            }
            _ => spans.push(EventSpan {
                first: a.at,
                last,
                score: a.score,
            }),
        }
    }
    // A window may reach over an ordinary consensus before or after the event, which would
    // date it early or add the churn of an extra hour.
    let config = jobs.config;
    let judge = |a: u32, b: u32| -> Option<f64> {
        let len = (b - a + 1) as usize;
        let count = f64::from(window_sum(series, a as usize, len, presence)?);
        let (center, spread) = window_baseline(baseline, a as usize, len, presence, jobs)?;
        let score = (count - center) / spread;
        (count - center >= f64::from(config.event_min_relays) && score >= config.event_min_score)
            .then_some(score)
    };
    // The score favours any consensus a little above its baseline, and a short run over a
    // long one (a window of fewer consensuses has a tighter baseline): the event is the
    // consensuses of the merged windows that stand out on their own, from the first to the
    // last (when they still make an anomaly together); otherwise the run that stands out
    // most, cut the same way.
    let excess = |h: u32| -> Option<(f64, f64)> {
        let count = f64::from(series[h as usize].unwrap_or(0));
        window_baseline(baseline, h as usize, 1, presence, jobs)
            .map(|(center, spread)| (count - center, spread))
    };
    // An edge consensus stands out on its own, and carries a fair part of the event: at least
    // `EDGE_SHARE` of the mean excess of the consensuses from the first to the last (a few
    // departures above a quiet hour's baseline next to a removal of dozens are churn).
    let trim = |(mut first, mut last): (u32, u32)| {
        let stands_out = |h: u32, first: u32, last: u32| {
            let Some((own, spread)) = excess(h) else {
                return true;
            };
            let total: f64 = (first..=last)
                .filter_map(excess)
                .map(|e| e.0.max(0.0))
                .sum();
            let mean = total / f64::from(last - first + 1);
            own >= EDGE_MIN_SCORE * spread && own >= EDGE_SHARE * mean
        };
        while first < last && !stands_out(first, first, last) {
            first += 1;
        }
        while last > first && !stands_out(last, first, last) {
            last -= 1;
        }
        (first, last)
    };
    for s in &mut spans {
        let (first, last) = trim((s.first, s.last));
        if let Some(score) = judge(first, last) {
            (s.score, s.first, s.last) = (score, first, last);
            continue;
        }
        let mut best = (s.score, s.first, s.last);
        let mut found = false;
        for a in s.first..=s.last {
            for b in a..=s.last {
                if let Some(score) = judge(a, b) {
                    if !found || score > best.0 {
                        best = (score, a, b);
                        found = true;
                    }
                }
            }
        }
        (s.score, s.first, s.last) = best;
        let (first, last) = trim((s.first, s.last));
        if let Some(score) = judge(first, last) {
            (s.score, s.first, s.last) = (score, first, last);
        }
    }
    spans
}

/// The expected departures (sum of the per-consensus baseline medians) of a span.
pub(super) fn span_baseline(
    span: &EventSpan,
    baseline: Baseline,
    presence: &Presence,
    jobs: &Jobs,
) -> f64 {
    (span.first..=span.last)
        .filter_map(|h| window_baseline(baseline, h as usize, 1, presence, jobs))
        .map(|b| b.0)
        .sum()
}
