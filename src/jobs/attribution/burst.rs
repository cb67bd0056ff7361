//! Return waves found as join bursts. A removed group's operator that comes back often
//! deploys its new relays within a day or two, configured as before but with few shared
//! traits among themselves (fresh keys, fresh addresses on big hosters, the commonest ports),
//! so the relays link to each other too weakly to form a group of their own and there is
//! nothing for the return signature to adopt. What does stand out is their number: after the
//! removal, relays of the removed group's kind (exit or not, contact or not) appear on its
//! hosters (ASes) far faster than such relays usually join. This module finds that burst among
//! the relays left in no group and tests it against the local join rate of the same relays.

use super::config::AttributionConfig;
use super::profile::{ContactStatus, Profile};
use crate::util::time::{DAY_MS, HOUR_MS};

/// Days before and after a burst window over which the usual join rate is counted.
pub const BASELINE_DAYS: i64 = 28;

/// The relays a removed group's operator would come back with: its kind (the group's
/// majority exit and contact status) on one of its ASes, each of them like the group
/// (`resembles`: its own signature matches the group's as a returning group's must; another
/// customer of the same hosters joining at the same time differs in its habits).
pub struct Kind<'a> {
    pub exit: bool,
    /// The contact status its relays must have (any where the group's is unknown).
    pub contact: ContactStatus,
    /// The group's ASes (sorted).
    pub asns: &'a [u32],
    pub resembles: &'a dyn Fn(usize) -> bool,
}

impl Kind<'_> {
    fn holds(&self, profiles: &[Profile], i: usize) -> bool {
        let p = &profiles[i];
        p.is_exit() == self.exit
            && (self.contact == ContactStatus::Unknown || p.contact_status() == self.contact)
            && p.asns.iter().any(|a| self.asns.binary_search(a).is_ok())
            && (self.resembles)(i)
    }
}

/// A burst of joins after a removal: who joined, when, and how unusual it is.
#[derive(Debug, Clone)]
pub struct Burst {
    /// Relay indices, by first-seen time.
    pub members: Vec<usize>,
    /// First-seen time of the first member.
    pub from: i64,
    /// Joins of the kind expected in the window at the usual rate.
    pub expected: f64,
    /// −ln P(at least this many joins at the usual rate).
    pub surprise: f64,
    /// Windows tested (one per candidate start).
    pub tested: usize,
}

/// The densest window of `return_burst_hours` of joins of `kind` among the ungrouped relays
/// first seen in the `return_burst_days` after `removed_at`, if its number of joins is
/// significant at `return_burst_significance` against the usual rate of such joins (all
/// relays of the kind, grouped or not, in the `BASELINE_DAYS` around the window), corrected
/// for the number of windows tested.
pub fn find(
    profiles: &[Profile],
    grouped: &[bool],
    kind: &Kind,
    removed_at: i64,
    config: &AttributionConfig,
) -> Option<Burst> {
    let until = removed_at + i64::from(config.return_burst_days) * DAY_MS;
    let width = i64::from(config.return_burst_hours) * HOUR_MS;
    // Only joins a window or its baseline can reach are of interest: the kind's test (a
    // signature per relay) is not run over the whole history for every removal.
    let reach = (removed_at - BASELINE_DAYS * DAY_MS)..=(until + width + BASELINE_DAYS * DAY_MS);
    let mut joiners: Vec<usize> = (0..profiles.len())
        .filter(|&i| {
            let p = &profiles[i];
            !p.first_seen_censored && reach.contains(&p.first_seen) && kind.holds(profiles, i)
        })
        .collect();
    joiners.sort_by_key(|&i| (profiles[i].first_seen, i));
    let candidates: Vec<usize> = joiners
        .iter()
        .copied()
        .filter(|&i| {
            let t = profiles[i].first_seen;
            !grouped[i] && t > removed_at && t <= until
        })
        .collect();
    // The window starting at each candidate; the fullest, earliest first.
    let mut best: Option<(usize, usize)> = None;
    let mut end = 0;
    for start in 0..candidates.len() {
        let t = profiles[candidates[start]].first_seen;
        end = end.max(start);
        while end + 1 < candidates.len() && profiles[candidates[end + 1]].first_seen < t + width {
            end += 1;
        }
        if best.is_none_or(|(s, e)| end - start > e - s) {
            best = Some((start, end));
        }
    }
    let (start, end) = best?;
    let members = candidates[start..=end].to_vec();
    if members.len() < config.min_group_relays {
        return None;
    }
    let from = profiles[members[0]].first_seen;
    // The usual rate: joins of the kind around the window, over the hours of data there.
    let data_start = profiles.iter().map(|p| p.first_seen).min()?;
    let data_end = profiles.iter().map(|p| p.last_seen).max()?;
    let (lo, hi) = (
        (from - BASELINE_DAYS * DAY_MS).max(data_start),
        (from + width + BASELINE_DAYS * DAY_MS).min(data_end),
    );
    let around = joiners
        .iter()
        .map(|&i| profiles[i].first_seen)
        .filter(|&t| t >= lo && t <= hi && !(t >= from && t < from + width))
        .count();
    let baseline_hours = ((hi - lo - width) as f64 / HOUR_MS as f64).max(1.0);
    let expected = around.max(1) as f64 / baseline_hours * config.return_burst_hours as f64;
    let surprise = poisson_surprise(members.len(), expected);
    let tested = candidates.len();
    (surprise >= (tested as f64 / config.return_burst_significance).ln()).then_some(Burst {
        members,
        from,
        expected,
        surprise,
        tested,
    })
}

/// −ln P(X ≥ k) for X Poisson with mean `mean` (0 when k is at most the mean).
pub fn poisson_surprise(k: usize, mean: f64) -> f64 {
    if k == 0 || (k as f64) <= mean {
        return 0.0;
    }
    // P(X ≥ k) = P(X = k) · (1 + λ/(k+1) + λ²/((k+1)(k+2)) + ...), the series shrinking
    // from the first term on (k > λ).
    let ln_first = -mean + k as f64 * mean.ln() - (1..=k).map(|i| (i as f64).ln()).sum::<f64>();
    let (mut sum, mut term) = (1.0f64, 1.0f64);
    let mut i = k;
    while term > 1e-15 * sum {
        i += 1;
        term *= mean / i as f64;
        sum += term;
    }
    -(ln_first + sum.ln())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A network of 60 days: 20 joiners a day of the usual kinds, a contactless exit on the
    /// removed group's ASes every four days, the group removed on day 20 and `wave` relays
    /// of its kind joining on its ASes `apart` hours apart from day 30 (on ASes `wave_asns`).
    fn network(wave: usize, apart: i64, wave_asns: [u32; 2]) -> Vec<Profile> {
        let exit = |i: i64, first_seen: i64, asn: u32| Profile {
            fingerprint: format!("E{i:039X}"),
            first_seen,
            last_seen: 60 * DAY_MS,
            asns: vec![asn],
            peak_exit_probability: 0.001,
            descriptor_known: true,
            ..Profile::default()
        };
        let ordinary = (0..1200).map(|i: i64| Profile {
            fingerprint: format!("{i:040X}"),
            first_seen: i * DAY_MS / 20,
            last_seen: 60 * DAY_MS,
            asns: vec![101 + (i % 3) as u32],
            contact: (i % 2 == 0).then(|| format!("operator {i}")),
            descriptor_known: true,
            ..Profile::default()
        });
        let trickle = (0..15).map(|i| exit(i, i * 4 * DAY_MS + 7 * HOUR_MS, 101));
        let burst = (0..wave as i64).map(|i| {
            exit(
                1000 + i,
                30 * DAY_MS + i * apart * HOUR_MS,
                wave_asns[i as usize % 2],
            )
        });
        ordinary.chain(trickle).chain(burst).collect()
    }

    fn burst_of(profiles: &[Profile]) -> Option<Burst> {
        let asns = [101, 102];
        let kind = Kind {
            exit: true,
            contact: ContactStatus::None,
            asns: &asns,
            resembles: &|_| true,
        };
        let grouped = vec![false; profiles.len()];
        find(
            profiles,
            &grouped,
            &kind,
            20 * DAY_MS,
            &AttributionConfig::default(),
        )
    }

    /// Twelve contactless exits on the removed group's ASes within a day are the burst, and
    /// only they; the same relays joining two a day, or on other hosters, or the usual
    /// trickle alone are not.
    #[test]
    fn a_burst_of_the_removed_groups_kind_on_its_hosters_is_found_against_the_usual_rate() {
        let profiles = network(12, 2, [101, 102]);
        let found = burst_of(&profiles).expect("a burst");
        let names: Vec<&str> = found
            .members
            .iter()
            .map(|&i| &profiles[i].fingerprint[..4])
            .collect();
        assert_eq!(found.members.len(), 12, "{names:?}");
        assert!(names.iter().all(|n| n.starts_with("E00")), "{names:?}");
        assert!(found.expected < 1.0, "{found:?}");
        assert!(
            burst_of(&network(12, 12, [101, 102])).is_none(),
            "two a day"
        );
        assert!(
            burst_of(&network(12, 2, [201, 202])).is_none(),
            "other hosters"
        );
        assert!(
            burst_of(&network(0, 2, [101, 102])).is_none(),
            "the trickle"
        );
    }

    /// The tail against a direct sum of the probabilities.
    #[test]
    fn poisson_surprise_is_the_tail_probability() {
        for &(k, mean) in &[(1usize, 0.5f64), (3, 1.0), (10, 2.5), (36, 0.4), (5, 4.9)] {
            let mut p_below = 0.0;
            let mut term = (-mean).exp();
            for i in 0..k {
                p_below += term;
                term *= mean / (i + 1) as f64;
            }
            let direct = -(1.0 - p_below).ln();
            let surprise = poisson_surprise(k, mean);
            if direct.is_finite() && direct < 30.0 {
                assert!(
                    (surprise - direct).abs() < 1e-6,
                    "k {k} mean {mean}: {surprise} vs {direct}"
                );
            } else {
                assert!(surprise > 30.0, "k {k} mean {mean}: {surprise}");
            }
        }
        assert_eq!(poisson_surprise(2, 3.0), 0.0);
    }
}
