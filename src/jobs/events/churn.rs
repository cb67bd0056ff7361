//! Members and churn: which of an event's departures share its evidence (AS, contact,
//! tenure and version against the departures of the baseline hours), and whether an excess
//! of departures looks like ordinary churn in every trait (then it is no removal).

use std::collections::BTreeMap;

use crate::util::time::DAY_MS;

/// What a departure is described by when an event's members are told from the hour's
/// ordinary churn: its AS (or /16 without AS data), whether it has a contact, how long the
/// relay had been known, and its tor version.
pub(super) type Traits = [String; 4];

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

/// Which of an event's departures share its evidence. The departures of an event's
/// consensuses are a mixture of the event (the excess over the baseline) and ordinary churn
/// (`expected` of them, distributed over each trait like `baseline`, the departures of the
/// baseline hours). The event's distribution of each trait is what the observed counts have
/// beyond the churn's expected counts; a departure is a member when the event explains it
/// at least as well as churn does (naive Bayes over the traits, prior = excess / count).
/// Ordinary churn then drops out where it differs from the event in any trait (a relay
/// with a contact in a removal of contactless ones, a days-old relay in a removal of
/// months-old ones).
pub(super) fn sharing_the_evidence(
    candidates: &[Traits],
    baseline: &[Traits],
    expected: f64,
) -> Vec<bool> {
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
pub(super) fn looks_like_churn(candidates: &[Traits], baseline: &[Traits]) -> bool {
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
pub(super) fn tenure(ms: i64) -> &'static str {
    match ms / DAY_MS {
        0 => "under a day",
        1..=6 => "days",
        7..=29 => "weeks",
        _ => "months",
    }
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
