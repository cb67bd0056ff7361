//! Restart and session-end hour sets and the sync evidence between two of them (the
//! rarity-weighted Jaccard index of their hours, scaled by how much rare evidence they share),
//! with the bound the pair scorer uses to skip the comparison when it cannot make a link.

use std::collections::{BTreeSet, HashMap};

use super::config::AttributionConfig;

/// A relay's restart or session-end hours, ascending, each with its rarity weight.
#[derive(Default)]
pub struct HourSet {
    pub hours: Vec<i64>,
    pub weights: Vec<f64>,
    /// The summed weight of all its hours.
    pub total: f64,
}

impl HourSet {
    /// `hours` weighted by `rarity` (hours no relay of the blocks held count fully).
    pub fn new(hours: &BTreeSet<i64>, rarity: &HashMap<i64, f64>) -> Self {
        let weights: Vec<f64> = hours
            .iter()
            .map(|h| rarity.get(h).copied().unwrap_or(1.0))
            .collect();
        HourSet {
            hours: hours.iter().copied().collect(),
            total: weights.iter().sum(),
            weights,
        }
    }

    /// The rarity-weighted overlap with another set: the summed rarity of the shared hours,
    /// and that sum over the summed rarity of all their hours (each sum taken in ascending
    /// hour order).
    pub fn weighted_jaccard(&self, other: &HourSet) -> (f64, f64) {
        let (a, b) = (&self.hours, &other.hours);
        let (mut i, mut j) = (0, 0);
        let (mut shared, mut union) = (-0.0_f64, -0.0_f64);
        while i < a.len() || j < b.len() {
            let order = match (a.get(i), b.get(j)) {
                (Some(x), Some(y)) => x.cmp(y),
                (Some(_), None) => std::cmp::Ordering::Less,
                _ => std::cmp::Ordering::Greater,
            };
            match order {
                std::cmp::Ordering::Less => {
                    union += self.weights[i];
                    i += 1;
                }
                std::cmp::Ordering::Greater => {
                    union += other.weights[j];
                    j += 1;
                }
                std::cmp::Ordering::Equal => {
                    shared += self.weights[i];
                    union += self.weights[i];
                    i += 1;
                    j += 1;
                }
            }
        }
        (shared, if union > 0.0 { shared / union } else { 0.0 })
    }

    /// The sync signal's weight with another set: `weight × jaccard × strength` (strength:
    /// the shared rarity over `sync_full_evidence`, at most 1), when they share an hour and
    /// the Jaccard reaches `sync_min_jaccard`.
    pub fn sync_evidence(
        &self,
        other: &HourSet,
        weight: f64,
        config: &AttributionConfig,
    ) -> Option<f64> {
        let (shared, jaccard) = self.weighted_jaccard(other);
        (shared > 0.0 && jaccard >= config.sync_min_jaccard).then(|| {
            let strength = (shared / config.sync_full_evidence).min(1.0);
            weight * jaccard * strength
        })
    }
}

/// Keeps a bound above every rounding of the exact sums it bounds.
pub const BOUND_MARGIN: f64 = 1.0 + 1e-9;

/// At least the evidence `HourSet::sync_evidence` can give between two sets of these totals
/// (the shared weight is at most the smaller total, the union at least the larger), or 0 when
/// the Jaccard cannot reach `sync_min_jaccard`.
pub fn sync_bound(total_a: f64, total_b: f64, weight: f64, config: &AttributionConfig) -> f64 {
    let (small, large) = (total_a.min(total_b), total_a.max(total_b));
    if small <= 0.0 {
        return 0.0;
    }
    let jaccard = (small / large * BOUND_MARGIN).min(1.0);
    if jaccard < config.sync_min_jaccard {
        return 0.0;
    }
    let strength = (small * BOUND_MARGIN / config.sync_full_evidence).min(1.0);
    weight * jaccard * strength * BOUND_MARGIN
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The scorer drops a candidate when even `sync_bound` cannot make its link: the bound
    /// must never be below the evidence the exact comparison gives, for any pair of sets.
    #[test]
    fn the_sync_bound_is_never_below_the_sync_evidence() {
        let config = AttributionConfig::default();
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move |below: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % below
        };
        let mut compared = 0;
        for _ in 0..20_000 {
            let mut rarity = HashMap::new();
            let mut sets = [BTreeSet::new(), BTreeSet::new()];
            for hours in &mut sets {
                for _ in 0..next(12) {
                    let hour = next(9) as i64;
                    hours.insert(hour);
                    let weight = (next(1000) + 1) as f64 / 997.0;
                    rarity.entry(hour).or_insert(weight);
                }
            }
            let (a, b) = (
                HourSet::new(&sets[0], &rarity),
                HourSet::new(&sets[1], &rarity),
            );
            if let Some(evidence) = a.sync_evidence(&b, 1.5, &config) {
                assert!(sync_bound(a.total, b.total, 1.5, &config) >= evidence);
                compared += 1;
            }
        }
        assert!(compared > 1000, "only {compared} pairs had sync evidence");
    }

    #[test]
    fn hour_overlap_is_weighted_by_rarity() {
        let rarity: HashMap<i64, f64> = [(1, 0.2), (2, 0.5), (3, 1.0)].into_iter().collect();
        let set = |hours: &[i64]| HourSet::new(&hours.iter().copied().collect(), &rarity);
        let (shared, jaccard) = set(&[1, 2, 3]).weighted_jaccard(&set(&[2, 3, 4]));
        // Shared: hours 2 and 3; all: 1, 2, 3 and 4 (no relay of the blocks held 4: 1.0).
        assert_eq!(shared, 0.5 + 1.0);
        assert_eq!(jaccard, (0.5 + 1.0) / (0.2 + 0.5 + 1.0 + 1.0));
        assert_eq!(set(&[1]).weighted_jaccard(&set(&[2])), (0.0, 0.0));
        assert_eq!(set(&[]).weighted_jaccard(&set(&[])), (0.0, 0.0));
    }
}
