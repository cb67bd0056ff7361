//! Events: removals (many relays leaving at one consensus and not coming back), outages
//! (many leaving and coming back), and join bursts (many never-seen relays joining).
//!
//! A departure is a session's end: the relay is absent from the next consensus that exists.
//! A session that ends at the last consensus before a gap of the data (see
//! [`super::coverage`]) has no departure: nobody saw the relay leave. Departures of each
//! consensus are split in two series: those whose relay is back within
//! `outage_return_days` (outage candidates) and the others (removal candidates). A departure
//! that has not come back is decided only when the return window after it lies inside its
//! coverage segment; at hours where that window runs into a gap or past the end of the data
//! the removal series is unknown (not zero) and nothing is decided there. Each series is
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
//! [`sharing_the_evidence`]), not every relay that left in those hours; an excess whose
//! departures look like ordinary churn in every trait is no removal ([`looks_like_churn`]).
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

use std::collections::{BTreeMap, HashMap};

use anyhow::Result;
use polars::prelude::*;

use super::columns::{datetime_column, string_list_column};
use super::presence::flags_column;
use super::presence::Presence;
use super::settings::Jobs;
use crate::util::stats::median;
use crate::util::time::{DAY_MS, HOUR_MS};

/// A removal event most of whose relays declare one operator (the same contact or a mutual
/// family) is that operator switching them off, not the authorities removing them.
const OPERATOR_DEPARTURE_SHARE: f64 = 0.5;
/// ...unless at least this many authorities' votes dropped them before the consensus did
/// (reject lines added one by one; one authority early can be chance).
pub(crate) const REJECTED_BY_AUTHORITIES: u32 = 2;
/// The first and last consensus of an event stand out on their own by this many spreads.
const EDGE_MIN_SCORE: f64 = 2.0;

/// A session's end, seen at the first consensus without the relay.
#[derive(Debug, Clone)]
pub struct Departure {
    /// Index into `presence.sessions` (sorted).
    pub session: usize,
    /// Consensus number of the first consensus without the relay.
    pub at: u32,
    /// Time until the relay was listed again, if it was.
    pub back_after_ms: Option<i64>,
}

/// Every departure, in session order (sessions that end at a gap of the data or in its last
/// consensus have none).
pub fn departures(presence: &Presence, next_starts: &[Option<u32>]) -> Vec<Departure> {
    let n = presence.times.len() as u32;
    presence
        .sessions
        .iter()
        .zip(next_starts)
        .enumerate()
        .filter(|(_, (s, _))| s.end + 1 < n && !presence.ends_at_gap(s))
        .map(|(i, (s, next))| {
            let at = s.end + 1;
            Departure {
                session: i,
                at,
                back_after_ms: next
                    .map(|c| presence.times[c as usize] - presence.times[at as usize]),
            }
        })
        .collect()
}

/// An anomalous window of a departure series: `len` consecutive consensuses from `at`
/// (within one segment) whose summed count is far above the same windows on other days.
#[derive(Debug, Clone, Copy)]
struct Anomaly {
    at: u32,
    len: u32,
    score: f64,
}

/// The `len` consensuses from `at`, when they exist and lie in the segment of `at`.
fn window(at: usize, len: usize, presence: &Presence) -> Option<std::ops::RangeInclusive<usize>> {
    let last = at + len - 1;
    (last < presence.times.len()
        && presence.coverage.segment(last as u32) == presence.coverage.segment(at as u32))
    .then_some(at..=last)
}

/// The sum of `series` over the `len` consensuses from `at`, when all are known and in the
/// segment of `at`.
fn window_sum(series: &[Option<u32>], at: usize, len: usize, presence: &Presence) -> Option<u32> {
    window(at, len, presence)?.map(|j| series[j]).sum()
}

/// Whether a departure's relay was not back within `ms` (or never).
fn not_back_within(d: &Departure, ms: i64) -> bool {
    d.back_after_ms.is_none_or(|back| back > ms)
}

/// The consensuses at the same hour of the day as consensus `h` on the other days within
/// `baseline_days` (departures follow a daily rhythm: residential relays go away in the
/// evening).
fn baseline_hours<'p>(
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
enum Baseline<'s> {
    /// A series (the judged one itself, where every hour is decided).
    Series(&'s [Option<u32>]),
    /// For hours whose return window is not covered (the departures there are "not back
    /// yet"), like for like: the departures of the baseline hour not back within as long as
    /// the judged hour has been observed (`known`: the hours departures are counted at).
    NotBackWithin {
        departures: &'s HashMap<u32, Vec<&'s Departure>>,
        known: &'s [Option<u32>],
    },
}

impl Baseline<'_> {
    /// The baseline's value at hour `j` for judging hour `judged`.
    fn value(&self, judged: usize, j: usize, presence: &Presence) -> Option<u32> {
        match *self {
            Baseline::Series(series) => series[j],
            Baseline::NotBackWithin { departures, known } => {
                known[j]?;
                let observed = presence.covered_after_ms(judged as u32);
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
            .map(|j| self.value(judged, j, presence))
            .sum()
    }
}

/// The robust baseline of the window of `len` consensuses from `h`: the median and spread
/// (1.4826 × MAD, at least √median and 1) of the same windows (same start hour of the day)
/// on the other days within `baseline_days`; `None` with fewer than
/// `event_min_baseline_hours` known windows.
fn window_baseline(
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

/// The anomalous windows of a departure series (`None`: not known at that hour), each
/// compared with the same windows of `baseline` (the series itself, or a broader one).
/// Windows of 1 to `event_window_consensuses` consecutive consensuses are tested: a removal
/// the authorities carry out over a few consensuses (reject lines added one by one) may pass
/// no single hour's test.
fn anomalies(
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
struct EventSpan {
    first: u32,
    last: u32,
    score: f64,
}

/// Anomalous windows merged into events (overlapping or within `event_merge_hours`
/// consensuses, never across a gap of the data), each cut to its run of consecutive
/// consensuses with the highest score, then to begin and end with consensuses whose own
/// count is `EDGE_MIN_SCORE` spreads above their baseline.
fn group_anomalies(
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
    // Of the consensuses the windows cover, the run that stands out most (and is itself
    // anomalous): a window may reach over an ordinary consensus before or after the event,
    // which would date it early or add the churn of an extra hour.
    let config = jobs.config;
    let judge = |a: u32, b: u32| -> Option<f64> {
        let len = (b - a + 1) as usize;
        let count = f64::from(window_sum(series, a as usize, len, presence)?);
        let (center, spread) = window_baseline(baseline, a as usize, len, presence, jobs)?;
        let score = (count - center) / spread;
        (count - center >= f64::from(config.event_min_relays) && score >= config.event_min_score)
            .then_some(score)
    };
    for s in &mut spans {
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
        // The score favours any consensus a little above its baseline; the event begins and
        // ends with consensuses that stand out on their own (when the rest still is an
        // anomaly).
        let stands_out = |h: u32| {
            let count = f64::from(series[h as usize].unwrap_or(0));
            window_baseline(baseline, h as usize, 1, presence, jobs)
                .is_none_or(|(center, spread)| count - center >= EDGE_MIN_SCORE * spread)
        };
        let (mut first, mut last) = (s.first, s.last);
        while first < last && !stands_out(first) {
            first += 1;
        }
        while last > first && !stands_out(last) {
            last -= 1;
        }
        if let Some(score) = judge(first, last) {
            (s.score, s.first, s.last) = (score, first, last);
        }
    }
    spans
}

/// The expected departures (sum of the per-consensus baseline medians) of a span.
fn span_baseline(span: &EventSpan, baseline: Baseline, presence: &Presence, jobs: &Jobs) -> f64 {
    (span.first..=span.last)
        .filter_map(|h| window_baseline(baseline, h as usize, 1, presence, jobs))
        .map(|b| b.0)
        .sum()
}

/// What a departure is described by when an event's members are told from the hour's
/// ordinary churn: its AS (or /16 without AS data), whether it has a contact, how long the
/// relay had been known, and its tor version.
type Traits = [String; 4];

/// Which of an event's departures share its evidence. The departures of an event's
/// consensuses are a mixture of the event (the excess over the baseline) and ordinary churn
/// (`expected` of them, distributed over each trait like `baseline`, the departures of the
/// baseline hours). The event's distribution of each trait is what the observed counts have
/// beyond the churn's expected counts; a departure is a member when the event explains it
/// at least as well as churn does (naive Bayes over the traits, prior = excess / count).
/// Ordinary churn then drops out where it differs from the event in any trait (a relay
/// with a contact in a removal of contactless ones, a days-old relay in a removal of
/// months-old ones).
/// One trait's values counted among an event's departures and the churn's (`baseline`).
struct TraitCounts<'t> {
    observed: BTreeMap<&'t str, f64>,
    churn: BTreeMap<&'t str, f64>,
    /// The values seen in either.
    values: std::collections::BTreeSet<&'t str>,
    churn_total: f64,
}

impl<'t> TraitCounts<'t> {
    fn of(candidates: &'t [Traits], baseline: &'t [Traits], trait_index: usize) -> Self {
        let count = |rows: &'t [Traits]| {
            let mut counts: BTreeMap<&'t str, f64> = BTreeMap::new();
            for r in rows {
                *counts.entry(r[trait_index].as_str()).or_default() += 1.0;
            }
            counts
        };
        let (observed, churn) = (count(candidates), count(baseline));
        let values = observed.keys().chain(churn.keys()).copied().collect();
        TraitCounts {
            observed,
            churn,
            values,
            churn_total: baseline.len() as f64,
        }
    }

    /// The churn's share of value `v`, smoothed (half a count added to every value).
    fn churn_share(&self, v: &str) -> f64 {
        (self.churn.get(v).copied().unwrap_or(0.0) + 0.5)
            / (self.churn_total + 0.5 * self.values.len() as f64)
    }
}

fn sharing_the_evidence(candidates: &[Traits], baseline: &[Traits], expected: f64) -> Vec<bool> {
    let count = candidates.len() as f64;
    let excess = count - expected;
    if baseline.is_empty() || expected <= 0.0 || excess >= count {
        return vec![true; candidates.len()];
    }
    if excess <= 0.0 {
        return vec![false; candidates.len()];
    }
    let prior = (excess / count).ln() - (expected / count).ln();
    let mut log_odds = vec![prior; candidates.len()];
    for t in 0..4 {
        let counts = TraitCounts::of(candidates, baseline, t);
        let values = counts.values.len() as f64;
        let event_count = |v: &str, n: f64| (n - expected * counts.churn_share(v)).max(0.0);
        let event_total: f64 = counts
            .observed
            .iter()
            .map(|(v, &n)| event_count(v, n))
            .sum();
        for (c, odds) in candidates.iter().zip(&mut log_odds) {
            let v = c[t].as_str();
            let event_share =
                (event_count(v, counts.observed[v]) + 0.1) / (event_total + 0.1 * values);
            *odds += event_share.ln() - counts.churn_share(v).ln();
        }
    }
    log_odds.into_iter().map(|o| o >= 0.0).collect()
}

/// Whether an event's departures look like ordinary churn in every trait but the AS: a
/// G-test of their contact, tenure and version counts against the churn's distribution
/// (`baseline`, smoothed), with the Wilson–Hilferty approximation of the χ² tail; churn-like
/// when p ≥ 0.01. An authority removal targets something (contactless relays of one actor,
/// months-old relays of a kind, a version); a random excess of ordinary departures does not.
/// (The AS is left out: its many sparse values would make any small sample look unusual.)
fn looks_like_churn(candidates: &[Traits], baseline: &[Traits]) -> bool {
    let count = candidates.len() as f64;
    let (mut g, mut df) = (0.0, 0.0);
    for t in 1..4 {
        let counts = TraitCounts::of(candidates, baseline, t);
        for (v, &o) in &counts.observed {
            g += 2.0 * o * (o / (count * counts.churn_share(v))).ln();
        }
        df += counts.values.len() as f64 - 1.0;
    }
    if df <= 0.0 {
        return true;
    }
    // P(χ²_df ≥ g) < 0.01 ⇔ z ≥ 2.326 (Wilson–Hilferty).
    let z = ((g.max(0.0) / df).cbrt() - (1.0 - 2.0 / (9.0 * df))) / (2.0 / (9.0 * df)).sqrt();
    z < 2.326
}

/// The tenure bucket of a relay known for `ms` when it left.
fn tenure(ms: i64) -> &'static str {
    match ms / DAY_MS {
        0 => "under a day",
        1..=6 => "days",
        7..=29 => "weeks",
        _ => "months",
    }
}

/// The datasets `detect` builds.
pub struct Detected {
    pub removal_events: DataFrame,
    pub removal_event_relays: DataFrame,
    pub outages: DataFrame,
}

/// Facts about a departed relay used in the event tables.
struct Member<'a> {
    departure: &'a Departure,
    asn: Option<u32>,
    as_name: Option<String>,
    has_contact: Option<bool>,
}

fn top_counts<'a>(values: impl Iterator<Item = &'a str>, limit: usize) -> Vec<String> {
    let mut counts: BTreeMap<&str, u32> = BTreeMap::new();
    for v in values {
        *counts.entry(v).or_default() += 1;
    }
    let mut ranked: Vec<(&str, u32)> = counts.into_iter().collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    ranked
        .into_iter()
        .take(limit)
        .map(|(v, c)| format!("{v}: {c}"))
        .collect()
}

fn as_label(asn: Option<u32>, name: Option<&str>) -> String {
    match (asn, name) {
        (Some(n), Some(name)) => format!("AS{n} {name}"),
        (Some(n), None) => format!("AS{n}"),
        _ => "unknown AS".to_string(),
    }
}

/// Finds removal events and outages.
pub fn detect<'a>(
    jobs: &Jobs,
    presence: &Presence,
    departures: &'a [Departure],
    relays: &DataFrame,
) -> Result<Detected> {
    let times = &presence.times;
    let n = times.len();
    let return_ms = i64::from(jobs.config.outage_return_days) * DAY_MS;
    let comes_back = |d: &Departure| d.back_after_ms.is_some_and(|ms| ms <= return_ms);
    let coverage = &presence.coverage;
    // Both series are known at every consensus but the first of a segment; the removal
    // series only where the return window after the hour is inside its segment (departures
    // there that have not come back yet are undecided, left out, and no baseline counts the
    // hour as zero).
    let decided = |h: usize| {
        !coverage.starts_segment(h as u32) && presence.covered_after_ms(h as u32) >= return_ms
    };
    let mut staying_away: Vec<Option<u32>> = (0..n).map(|h| decided(h).then_some(0)).collect();
    let mut coming_back: Vec<Option<u32>> = (0..n)
        .map(|h| (!coverage.starts_segment(h as u32)).then_some(0))
        .collect();
    // Where the return window is not covered, the departures not back yet: a removal there
    // can only be provisional, and is judged once a day has been observed after the hour (a
    // relay not back after a day did not just restart; an upgrade wave in the last hours of
    // the data is no removal yet).
    let observed_a_day = |h: usize| presence.covered_after_ms(h as u32) >= DAY_MS;
    let mut undecided: Vec<Option<u32>> = (0..n)
        .map(|h| {
            (!decided(h) && !coverage.starts_segment(h as u32) && observed_a_day(h)).then_some(0)
        })
        .collect();
    let mut by_hour: HashMap<u32, Vec<&'a Departure>> = HashMap::new();
    for d in departures {
        let at = d.at as usize;
        let series = if comes_back(d) {
            &mut coming_back
        } else if staying_away[at].is_some() {
            &mut staying_away
        } else {
            &mut undecided
        };
        match &mut series[at] {
            Some(count) => *count += 1,
            None => continue,
        }
        by_hour.entry(d.at).or_default().push(d);
    }
    // The baseline of the undecided series: at the baseline hours, the departures not back
    // within as long as the judged hour has been observed.
    let not_back_yet = Baseline::NotBackWithin {
        departures: &by_hour,
        known: &coming_back,
    };
    // Continuous data after an hour (days).
    let covered_days_after = |h: usize| presence.covered_after_ms(h as u32) as f64 / DAY_MS as f64;
    let contact: HashMap<&str, bool> = match relays.column("has_contact") {
        Ok(has) => relays
            .column("fingerprint")?
            .str()?
            .iter()
            .zip(has.bool()?.iter())
            .filter_map(|(f, c)| Some((f?, c.unwrap_or(false))))
            .collect(),
        Err(_) => HashMap::new(),
    };
    // What each relay declares about its operator (newest descriptor), for operator
    // departures.
    let declared: HashMap<String, (Option<String>, Vec<String>)> =
        match (relays.column("contact"), relays.column("family")) {
            (Ok(_), Ok(_)) => {
                let fps = super::columns::strings(relays, "fingerprint")?;
                let contacts = super::columns::strings(relays, "contact")?;
                let families = super::columns::string_lists(relays, "family")?;
                fps.into_iter()
                    .zip(contacts.into_iter().zip(families))
                    .filter_map(|(f, cf)| Some((f?, cf)))
                    .collect()
            }
            _ => HashMap::new(),
        };
    let operator_of = |removed: &[Member]| -> (f64, Option<String>) {
        let none = (None, Vec::new());
        let facts: Vec<(&str, Option<&str>, &[String])> = removed
            .iter()
            .map(|m| {
                let fp = presence.sessions[m.departure.session].fingerprint.as_ref();
                let (contact, family) = declared.get(fp).unwrap_or(&none);
                (fp, contact.as_deref(), family.as_slice())
            })
            .collect();
        let Some(group) = super::identity::largest_declared_group(&facts) else {
            return (0.0, None);
        };
        let size = group.len();
        let contact = group
            .iter()
            .find_map(|&k| facts[k].1.and_then(super::identity::normalise_contact));
        let who = contact.unwrap_or_else(|| format!("mutual family of {size} relays"));
        (size as f64 / removed.len() as f64, Some(who))
    };
    let describe = |d: &Departure| {
        let s = &presence.sessions[d.session];
        let info = s
            .last_address
            .as_deref()
            .map(|a| jobs.enricher.lookup(a, times[s.end as usize]))
            .unwrap_or_default();
        (
            info.asn,
            info.as_name,
            contact.get(s.fingerprint.as_ref()).copied(),
        )
    };

    // The departures of an event that did (or did not) come back, described.
    let member = |d: &'a Departure| {
        let (asn, as_name, has_contact) = describe(d);
        Member {
            departure: d,
            asn,
            as_name,
            has_contact,
        }
    };
    let members_where = |gone: &[&'a Departure], back: bool| -> Vec<Member<'a>> {
        gone.iter()
            .filter(|d| comes_back(d) == back)
            .map(|d| member(d))
            .collect()
    };

    // Removals.
    let mut removal = EventColumns::default();
    let mut members = MemberColumns::default();
    // Each removal event as the authorities' votes are asked about it.
    let mut asked_of_votes = Vec::new();
    // When each relay was first seen (for the tenure trait).
    let mut first_seen: HashMap<&str, i64> = HashMap::new();
    for s in &presence.sessions {
        let t = times[s.start as usize];
        first_seen
            .entry(s.fingerprint.as_ref())
            .and_modify(|f| *f = (*f).min(t))
            .or_insert(t);
    }
    let traits = |m: &Member| -> Traits {
        let s = &presence.sessions[m.departure.session];
        let place = match m.asn {
            Some(asn) => format!("AS{asn}"),
            None => s
                .last_address
                .as_deref()
                .and_then(|a| a.rsplitn(3, '.').nth(2).map(str::to_string))
                .unwrap_or_default(),
        };
        let known = times[m.departure.at as usize] - first_seen[s.fingerprint.as_ref()];
        [
            place,
            format!("{:?}", m.has_contact),
            tenure(known).to_string(),
            s.last_version.as_deref().unwrap_or_default().to_string(),
        ]
    };
    let decided = Baseline::Series(&staying_away);
    let decided_events = group_anomalies(
        anomalies(&staying_away, decided, presence, jobs),
        &staying_away,
        decided,
        presence,
        jobs,
    );
    // Hours whose return window runs into a gap or past the end of the data: relays that
    // left and are not back yet, against the departures of the baseline hours not back
    // within as long (a removal reported before it can be decided; it stays provisional).
    let provisional_events = group_anomalies(
        anomalies(&undecided, not_back_yet, presence, jobs),
        &undecided,
        not_back_yet,
        presence,
        jobs,
    );
    let groups = decided_events
        .into_iter()
        .map(|g| (g, decided, false))
        .chain(
            provisional_events
                .into_iter()
                .map(|g| (g, not_back_yet, true)),
        );
    let departures_in = |span: &EventSpan| -> Vec<&Departure> {
        (span.first..=span.last)
            .flat_map(|h| by_hour.get(&h).into_iter().flatten().copied())
            .collect()
    };
    for (span, baseline, undecided_hours) in groups {
        let gone = departures_in(&span);
        let candidates = members_where(&gone, false);
        // The departures the baseline was made of, for what ordinary churn looks like.
        let first = span.first as usize;
        let mut baseline_hours_seen: Vec<usize> = (span.first..=span.last)
            .flat_map(|h| baseline_hours(h as usize, presence, jobs))
            .filter(|&j| baseline.value(first, j, presence).is_some())
            .collect();
        baseline_hours_seen.sort_unstable();
        baseline_hours_seen.dedup();
        let baseline_gone: Vec<&Departure> = baseline_hours_seen
            .iter()
            .flat_map(|j| by_hour.get(&(*j as u32)).into_iter().flatten().copied())
            .collect();
        // The departures the baseline counted: not back within the return window, or (for
        // undecided hours) within as long as the event has been observed.
        let observed = presence.covered_after_ms(span.first);
        let churn_traits: Vec<Traits> = baseline_gone
            .iter()
            .filter(|d| {
                if undecided_hours {
                    not_back_within(d, observed)
                } else {
                    !comes_back(d)
                }
            })
            .map(|d| traits(&member(d)))
            .collect();
        let expected = span_baseline(&span, baseline, presence, jobs);
        let candidate_traits: Vec<Traits> = candidates.iter().map(traits).collect();
        // More departures than usual that look like the usual ones in every trait are no
        // removal (the windows' many tests find such chance excesses now and then).
        if expected > 0.0
            && !churn_traits.is_empty()
            && looks_like_churn(&candidate_traits, &churn_traits)
        {
            continue;
        }
        let keep = sharing_the_evidence(&candidate_traits, &churn_traits, expected);
        let mut removed: Vec<Member> = Vec::new();
        let mut churn: Vec<Member> = Vec::new();
        for (m, k) in candidates.into_iter().zip(keep) {
            if k {
                removed.push(m)
            } else {
                churn.push(m)
            }
        }
        // The event begins and ends with its relays' departures: a window may reach over an
        // ordinary consensus before them (a missing consensus before the removal's first
        // hour makes the consensus before it look like part of it).
        let span = EventSpan {
            first: removed
                .iter()
                .map(|m| m.departure.at)
                .min()
                .unwrap_or(span.first),
            last: removed
                .iter()
                .map(|m| m.departure.at)
                .max()
                .unwrap_or(span.last),
            ..span
        };
        let expected = span_baseline(&span, baseline, presence, jobs);
        let gone = departures_in(&span);
        let churn_excluded = churn
            .iter()
            .filter(|m| (span.first..=span.last).contains(&m.departure.at))
            .count() as u32;
        let event_time = times[span.first as usize];
        let series = if undecided_hours {
            &undecided
        } else {
            &staying_away
        };
        let count: u32 = (span.first..=span.last)
            .filter_map(|h| series[h as usize])
            .sum();
        removal.push_common(presence, &span, expected, count, &removed, gone.len());
        removal.churn_excluded.push(churn_excluded);
        removal.returned_30d.push(
            removed
                .iter()
                .filter(|m| {
                    m.departure
                        .back_after_ms
                        .is_some_and(|ms| ms <= 30 * DAY_MS)
                })
                .count() as u32,
        );
        removal.returned_later.push(
            removed
                .iter()
                .filter(|m| m.departure.back_after_ms.is_some_and(|ms| ms > 30 * DAY_MS))
                .count() as u32,
        );
        removal
            .came_back_7d
            .push(gone.iter().filter(|d| comes_back(d)).count() as u32);
        let observed = covered_days_after(span.first as usize);
        removal.observed_days_after.push(observed);
        removal.provisional.push(undecided_hours || observed < 30.0);
        // Most of the relays declaring one operator: that operator switched them off.
        let (share, operator) = operator_of(&removed);
        let departure = share >= OPERATOR_DEPARTURE_SHARE;
        removal.kind.push(if departure {
            "operator_departure"
        } else {
            "removal"
        });
        removal.operator_share.push(share);
        removal.operator.push(operator);
        asked_of_votes.push(super::votes::EventRelays {
            first: event_time,
            last: times[span.last as usize],
            members: removed
                .iter()
                .map(|m| {
                    let fingerprint = &presence.sessions[m.departure.session].fingerprint;
                    let at = m.departure.at as usize;
                    (fingerprint.to_string(), times[at], times[at - 1])
                })
                .collect(),
        });
        for m in &removed {
            members.push(presence, event_time, m);
        }
    }

    // Outages.
    let mut outage = EventColumns::default();
    let mut hours_down: Vec<Option<f64>> = Vec::new();
    let mut max_down: Vec<Option<f64>> = Vec::new();
    let mut outage_fingerprints: Vec<Vec<String>> = Vec::new();
    for span in group_anomalies(
        anomalies(&coming_back, Baseline::Series(&coming_back), presence, jobs),
        &coming_back,
        Baseline::Series(&coming_back),
        presence,
        jobs,
    ) {
        let gone: Vec<&Departure> = (span.first..=span.last)
            .flat_map(|h| by_hour.get(&h).into_iter().flatten().copied())
            .collect();
        let down = members_where(&gone, true);
        let expected = span_baseline(&span, Baseline::Series(&coming_back), presence, jobs);
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

    // The authorities' votes, where imported: relays some authorities stopped listing before
    // the consensus dropped them were rejected, whatever operator they declare.
    let votes = super::votes::evidence(jobs.root, &asked_of_votes)?;
    for (kind, evidence) in removal.kind.iter_mut().zip(&votes) {
        if evidence.authorities_dropping_early >= Some(REJECTED_BY_AUTHORITIES) {
            *kind = "removal";
        }
    }
    // Each member's own count (unknown where no authority voted around its event).
    for (event, evidence) in asked_of_votes.iter().zip(&votes) {
        if evidence.member_dropped_early.is_empty() {
            members
                .dropped_early_by
                .extend(std::iter::repeat_n(None, event.members.len()));
        } else {
            members
                .dropped_early_by
                .extend(evidence.member_dropped_early.iter().copied().map(Some));
        }
    }
    let mut removal_columns = removal.columns("relays_removed")?;
    removal_columns.push(Column::new(
        "returned_within_30d".into(),
        removal.returned_30d,
    ));
    removal_columns.push(Column::new(
        "returned_after_30d".into(),
        removal.returned_later,
    ));
    removal_columns.push(Column::new("churn_excluded".into(), removal.churn_excluded));
    removal_columns.push(Column::new(
        "came_back_within_return_days".into(),
        removal.came_back_7d,
    ));
    removal_columns.push(Column::new(
        "observed_days_after".into(),
        removal.observed_days_after,
    ));
    removal_columns.push(Column::new("provisional".into(), removal.provisional));
    removal_columns.push(Column::new("kind".into(), removal.kind));
    removal_columns.push(Column::new("operator_share".into(), removal.operator_share));
    removal_columns.push(Column::new("operator".into(), removal.operator));
    let vote_column = |name: &str, value: fn(&super::votes::VoteEvidence) -> Option<u32>| {
        Column::new(name.into(), votes.iter().map(value).collect::<Vec<_>>())
    };
    removal_columns.push(vote_column("authorities_voting", |v| v.authorities_voting));
    removal_columns.push(vote_column("authorities_dropping", |v| {
        v.authorities_dropping
    }));
    removal_columns.push(vote_column("authorities_dropping_early", |v| {
        v.authorities_dropping_early
    }));
    removal_columns.push(Column::new(
        "authority_drop_spread_hours".into(),
        votes
            .iter()
            .map(|v| v.drop_spread_hours)
            .collect::<Vec<_>>(),
    ));
    let mut outage_columns = outage.columns("relays_down")?;
    outage_columns.push(Column::new("median_hours_down".into(), hours_down));
    outage_columns.push(Column::new("max_hours_down".into(), max_down));
    outage_columns.push(string_list_column("fingerprints", &outage_fingerprints));
    Ok(Detected {
        removal_events: DataFrame::new_infer_height(removal_columns)?.sort(
            ["event_time"],
            SortMultipleOptions::default().with_maintain_order(true),
        )?,
        removal_event_relays: members.frame()?,
        outages: DataFrame::new_infer_height(outage_columns)?,
    })
}

/// Columns shared by removal events and outages.
#[derive(Default)]
struct EventColumns {
    event_time: Vec<Option<i64>>,
    last_seen_before: Vec<Option<i64>>,
    hours: Vec<u32>,
    relays: Vec<u32>,
    departures: Vec<u32>,
    baseline: Vec<f64>,
    excess: Vec<f64>,
    score: Vec<f64>,
    shares: [Vec<f64>; 4],
    top_asns: Vec<Vec<String>>,
    distinct_asns: Vec<u32>,
    top_versions: Vec<Vec<String>>,
    contactless_share: Vec<Option<f64>>,
    returned_30d: Vec<u32>,
    returned_later: Vec<u32>,
    came_back_7d: Vec<u32>,
    churn_excluded: Vec<u32>,
    observed_days_after: Vec<f64>,
    provisional: Vec<bool>,
    kind: Vec<&'static str>,
    operator_share: Vec<f64>,
    operator: Vec<Option<String>>,
}

impl EventColumns {
    /// One event's common columns: `count` departures of its series over its consensuses
    /// against `baseline` expected.
    fn push_common(
        &mut self,
        presence: &Presence,
        span: &EventSpan,
        baseline: f64,
        count: u32,
        members: &[Member],
        departures: usize,
    ) {
        let first = span.first as usize;
        self.event_time.push(Some(presence.times[first]));
        self.last_seen_before
            .push(first.checked_sub(1).map(|p| presence.times[p]));
        self.hours.push(span.last - span.first + 1);
        self.relays.push(members.len() as u32);
        self.departures.push(departures as u32);
        self.baseline.push(baseline);
        self.excess.push(f64::from(count) - baseline);
        self.score.push(span.score);
        let session = |m: &Member| &presence.sessions[m.departure.session];
        let sums = [
            members
                .iter()
                .filter_map(|m| session(m).last_shares.consensus_weight_fraction)
                .sum(),
            members
                .iter()
                .filter_map(|m| session(m).last_shares.guard_probability)
                .sum(),
            members
                .iter()
                .filter_map(|m| session(m).last_shares.middle_probability)
                .sum(),
            members
                .iter()
                .filter_map(|m| session(m).last_shares.exit_probability)
                .sum(),
        ];
        for (column, value) in self.shares.iter_mut().zip(sums) {
            column.push(value);
        }
        let labels: Vec<String> = members
            .iter()
            .map(|m| as_label(m.asn, m.as_name.as_deref()))
            .collect();
        self.top_asns
            .push(top_counts(labels.iter().map(String::as_str), 5));
        let mut asns: Vec<u32> = members.iter().filter_map(|m| m.asn).collect();
        asns.sort_unstable();
        asns.dedup();
        self.distinct_asns.push(asns.len() as u32);
        self.top_versions.push(top_counts(
            members
                .iter()
                .map(|m| session(m).last_version.as_deref().unwrap_or("unknown")),
            5,
        ));
        let known: Vec<bool> = members.iter().filter_map(|m| m.has_contact).collect();
        self.contactless_share.push(
            (!known.is_empty())
                .then(|| known.iter().filter(|c| !**c).count() as f64 / known.len() as f64),
        );
    }

    fn columns(&self, relays_name: &str) -> Result<Vec<Column>> {
        Ok(vec![
            datetime_column("event_time", self.event_time.clone())?,
            datetime_column("last_seen_before", self.last_seen_before.clone())?,
            Column::new("consensuses".into(), self.hours.clone()),
            Column::new(relays_name.into(), self.relays.clone()),
            Column::new("departures_total".into(), self.departures.clone()),
            Column::new("baseline_departures".into(), self.baseline.clone()),
            Column::new("excess".into(), self.excess.clone()),
            Column::new("score".into(), self.score.clone()),
            Column::new("consensus_weight_fraction".into(), self.shares[0].clone()),
            Column::new("guard_probability".into(), self.shares[1].clone()),
            Column::new("middle_probability".into(), self.shares[2].clone()),
            Column::new("exit_probability".into(), self.shares[3].clone()),
            string_list_column("top_asns", &self.top_asns),
            Column::new("distinct_asns".into(), self.distinct_asns.clone()),
            string_list_column("top_versions", &self.top_versions),
            Column::new("contactless_share".into(), self.contactless_share.clone()),
        ])
    }
}

/// `removal_event_relays` rows.
#[derive(Default)]
struct MemberColumns {
    event_time: Vec<Option<i64>>,
    fingerprint: Vec<String>,
    nickname: Vec<Option<String>>,
    address: Vec<Option<String>>,
    asn: Vec<Option<u32>>,
    version: Vec<Option<String>>,
    flags: Vec<u32>,
    has_contact: Vec<Option<bool>>,
    session_start: Vec<Option<i64>>,
    shares: [Vec<Option<f64>>; 4],
    back_after_hours: Vec<Option<f64>>,
    /// Filled once the votes are read, in the order the members were pushed.
    dropped_early_by: Vec<Option<u32>>,
}

impl MemberColumns {
    fn push(&mut self, presence: &Presence, event_time: i64, m: &Member) {
        let s = &presence.sessions[m.departure.session];
        self.event_time.push(Some(event_time));
        self.fingerprint.push(s.fingerprint.to_string());
        self.nickname
            .push(s.last_nickname.as_deref().map(str::to_string));
        self.address
            .push(s.last_address.as_deref().map(str::to_string));
        self.asn.push(m.asn);
        self.version
            .push(s.last_version.as_deref().map(str::to_string));
        self.flags.push(s.last_flags);
        self.has_contact.push(m.has_contact);
        self.session_start
            .push(Some(presence.times[s.start as usize]));
        let shares = [
            s.last_shares.consensus_weight_fraction,
            s.last_shares.guard_probability,
            s.last_shares.middle_probability,
            s.last_shares.exit_probability,
        ];
        for (column, value) in self.shares.iter_mut().zip(shares) {
            column.push(value);
        }
        self.back_after_hours.push(
            m.departure
                .back_after_ms
                .map(|ms| ms as f64 / HOUR_MS as f64),
        );
    }

    fn frame(self) -> Result<DataFrame> {
        let frame = DataFrame::new_infer_height(vec![
            datetime_column("event_time", self.event_time)?,
            Column::new("fingerprint".into(), self.fingerprint),
            Column::new("nickname".into(), self.nickname),
            Column::new("address".into(), self.address),
            Column::new("as_number".into(), self.asn),
            Column::new("version".into(), self.version),
            flags_column("flags", self.flags.into_iter()),
            Column::new("has_contact".into(), self.has_contact),
            datetime_column("session_start", self.session_start)?,
            Column::new("consensus_weight_fraction".into(), self.shares[0].clone()),
            Column::new("guard_probability".into(), self.shares[1].clone()),
            Column::new("middle_probability".into(), self.shares[2].clone()),
            Column::new("exit_probability".into(), self.shares[3].clone()),
            Column::new("back_after_hours".into(), self.back_after_hours),
            Column::new("authorities_dropping_early".into(), self.dropped_early_by),
        ])?;
        Ok(frame.sort(
            ["event_time", "fingerprint"],
            SortMultipleOptions::default(),
        )?)
    }
}

/// `join_bursts`: windows in which at least the configured number of never-seen relays
/// joined, overall and per AS, /16, country, tor version and nickname prefix. Relays listed
/// in the first consensus of the data or of a segment after a gap may have been running
/// before it: they are not joins; nor are relays first seen less than
/// `burst_min_history_hours` into a segment (too little history to call them new). A window
/// never reaches across a gap.
pub fn join_bursts(jobs: &Jobs, presence: &Presence) -> Result<DataFrame> {
    let config = jobs.config;
    // (dimension, key, segment) → join times with fingerprints, in time order.
    type Key = (&'static str, String, u32);
    let mut joins: BTreeMap<Key, Vec<(i64, &str)>> = BTreeMap::new();
    let mut order: Vec<&super::presence::Session> = presence
        .sessions
        .iter()
        .filter(|s| {
            let history = presence.times[s.start as usize]
                - presence.times[presence.coverage.segment_start(s.start) as usize];
            s.first_of_relay
                && !presence.start_censored(s)
                && history >= i64::from(config.burst_min_history_hours) * HOUR_MS
        })
        .collect();
    order.sort_by_key(|s| (s.start, s.fingerprint.as_ref()));
    for s in order {
        let t = presence.times[s.start as usize];
        let fp = s.fingerprint.as_ref();
        let segment = presence.coverage.segment(s.start);
        let mut add = |dimension: &'static str, key: String| {
            joins
                .entry((dimension, key, segment))
                .or_default()
                .push((t, fp));
        };
        add("all", "all".to_string());
        if let Some(address) = s.addresses.first() {
            let info = jobs.enricher.lookup(address, t);
            if let Some(asn) = info.asn {
                add("as", as_label(Some(asn), info.as_name.as_deref()));
            }
            if let Some(country) = info.country {
                add("country", country);
            }
            let octets: Vec<&str> = address.split('.').collect();
            if octets.len() == 4 {
                add("prefix16", format!("{}.{}.0.0/16", octets[0], octets[1]));
            }
        }
        if let Some(version) = s.versions.first() {
            add("version", version.to_string());
        }
        if let Some(nickname) = s.nicknames.first() {
            let prefix: String = nickname
                .chars()
                .take(config.nickname_prefix_chars)
                .collect();
            add("nickname_prefix", prefix);
        }
    }
    let mut rows = BurstColumns::default();
    for ((dimension, key, _), list) in &joins {
        for (window, hours, threshold) in [
            ("1h", 1, config.burst_min_relays_1h),
            ("24h", 24, config.burst_min_relays_24h),
        ] {
            for burst in bursts(list, hours * HOUR_MS, threshold as usize) {
                rows.dimension.push(dimension.to_string());
                rows.key.push(key.clone());
                rows.window.push(window.to_string());
                rows.start.push(Some(burst.start));
                rows.end.push(Some(burst.end));
                rows.relays.push(burst.fingerprints.len() as u32);
                rows.peak.push(burst.peak as u32);
                rows.fingerprints.push(burst.fingerprints);
            }
        }
    }
    let frame = DataFrame::new_infer_height(vec![
        Column::new("dimension".into(), rows.dimension),
        Column::new("key".into(), rows.key),
        Column::new("window".into(), rows.window),
        datetime_column("burst_start", rows.start)?,
        datetime_column("burst_end", rows.end)?,
        Column::new("relays_joined".into(), rows.relays),
        Column::new("peak_in_window".into(), rows.peak),
        string_list_column("fingerprints", &rows.fingerprints),
    ])?;
    Ok(frame.sort(
        ["burst_start", "dimension", "key", "window"],
        SortMultipleOptions::default(),
    )?)
}

#[derive(Default)]
struct BurstColumns {
    dimension: Vec<String>,
    key: Vec<String>,
    window: Vec<String>,
    start: Vec<Option<i64>>,
    end: Vec<Option<i64>>,
    relays: Vec<u32>,
    peak: Vec<u32>,
    fingerprints: Vec<Vec<String>>,
}

struct Burst {
    start: i64,
    end: i64,
    peak: usize,
    fingerprints: Vec<String>,
}

/// Merged windows `(t - window, t]` holding at least `threshold` joins.
fn bursts(joins: &[(i64, &str)], window: i64, threshold: usize) -> Vec<Burst> {
    let mut found: Vec<Burst> = Vec::new();
    let mut lo = 0;
    let mut hi = 0;
    while hi < joins.len() {
        // Extend to every join at the same time as joins[hi].
        let t = joins[hi].0;
        let mut end = hi;
        while end + 1 < joins.len() && joins[end + 1].0 == t {
            end += 1;
        }
        while joins[lo].0 <= t - window {
            lo += 1;
        }
        let count = end + 1 - lo;
        if count >= threshold {
            let start = joins[lo].0;
            match found.last_mut() {
                Some(b) if start <= b.end => {
                    b.end = t;
                    b.peak = b.peak.max(count);
                }
                _ => found.push(Burst {
                    start,
                    end: t,
                    peak: count,
                    fingerprints: Vec::new(),
                }),
            }
        }
        hi = end + 1;
    }
    for b in &mut found {
        let mut fps: Vec<String> = joins
            .iter()
            .filter(|(t, _)| *t >= b.start && *t <= b.end)
            .map(|(_, f)| f.to_string())
            .collect();
        fps.sort();
        b.fingerprints = fps;
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn traits(place: &str, contact: bool, tenure: &str, version: &str) -> Traits {
        [
            place.to_string(),
            format!("{:?}", Some(contact)),
            tenure.to_string(),
            version.to_string(),
        ]
    }

    /// The removal of 40 months-old contactless relays on hosters, during an hour with the
    /// usual churn (days-old relays, mostly with contacts, on residential ASes): the churn
    /// drops out, the removed relays stay, also the one on a residential AS.
    #[test]
    fn ordinary_churn_does_not_share_a_removals_evidence() {
        let mut candidates: Vec<Traits> = (0..40)
            .map(|i| traits(&format!("AS{}", 100 + i % 8), false, "months", "0.4.8.9"))
            .collect();
        candidates.push(traits("AS3320", false, "months", "0.4.8.9"));
        let churn = [
            traits("AS3320", true, "under a day", "0.4.8.9"),
            traits("AS7922", true, "days", "0.4.7.16"),
            traits("AS3215", false, "under a day", "0.4.8.9"),
            traits("AS3320", true, "weeks", "0.4.8.9"),
        ];
        candidates.extend(churn.iter().cloned());
        // A week of the same hours: 3 to 5 departures each, like `churn`.
        let baseline: Vec<Traits> = (0..28)
            .map(|i| {
                let mut t = churn[i % churn.len()].clone();
                t[0] = ["AS3320", "AS7922", "AS3215", "AS6830", "AS100"][i % 5].to_string();
                t
            })
            .collect();
        let keep = sharing_the_evidence(&candidates, &baseline, 4.0);
        assert!(keep[..41].iter().all(|k| *k), "{keep:?}");
        assert!(keep[41..].iter().all(|k| !*k), "{keep:?}");
        // Nothing expected: every departure is a member; only the expected: none.
        assert!(sharing_the_evidence(&candidates, &baseline, 0.0)
            .iter()
            .all(|k| *k));
        assert!(sharing_the_evidence(&churn, &baseline, 4.0)
            .iter()
            .all(|k| !*k));
        // The removal does not look like churn; twelve departures drawn like the churn do.
        assert!(!looks_like_churn(&candidates, &baseline));
        let ordinary: Vec<Traits> = (0..12).map(|i| churn[i % churn.len()].clone()).collect();
        assert!(looks_like_churn(&ordinary, &baseline));
    }
}
