//! Scoring one candidate pair: configuration likeness (each shared value weighed by its
//! rarity in the pair's window, nested locations counted once), behaviour evidence (blocks,
//! join batches, restart and session-end sync) and the acceptance rule of a link.

use std::collections::HashMap;

use super::candidates::{Blocks, Candidate};
use super::config::AttributionConfig;
use super::profile::{levenshtein, Profile};
use super::rarity::{per_window, rarity, RarityWindows};
use super::signals::{
    config_values, config_weight, Link, Signal, CONFIG_SIGNALS, NESTED_LOCATION, NICKNAME_SHAPE,
    SIMILAR_NICKNAME,
};
use super::sync::{sync_bound, HourSet, BOUND_MARGIN};

/// Scores candidate pairs: behaviour evidence from the blocks and the sync signals,
/// configuration likeness from each relay's values (interned, each weighted by its rarity).
pub struct PairScorer<'a> {
    profiles: &'a [&'a Profile],
    config: &'a AttributionConfig,
    restarts: Vec<HourSet>,
    session_ends: Vec<HourSet>,
    /// Each relay's configuration values (ids, ascending).
    values: Vec<Vec<u32>>,
    /// The signal of each value id.
    value_signal: Vec<usize>,
    /// The weight of each value id in each rarity window from its first (the signal's weight
    /// times the value's rarity among the relays of the window): `value_weight[value_at[id]
    /// + window - value_first_window[id]]`.
    value_first_window: Vec<u32>,
    value_at: Vec<u32>,
    value_weight: Vec<f64>,
    windows: RarityWindows,
    lower_nicknames: Vec<String>,
    /// Their lengths in characters (names more than two apart are more than two edits apart).
    nickname_lengths: Vec<usize>,
    /// The nicknames' lengths in bytes and the relays' first-seen times, here rather than read
    /// from the (large) profiles of a random partner for every candidate pair.
    nickname_bytes: Vec<usize>,
    first_seen: Vec<i64>,
    /// The total weights of each relay's restart and session-end hour sets, side by side.
    sync_totals: Vec<[f64; 2]>,
}

impl<'a> PairScorer<'a> {
    pub fn new(
        profiles: &'a [&'a Profile],
        config: &'a AttributionConfig,
        blocks: &Blocks,
    ) -> Self {
        let mut ids: HashMap<(usize, String), u32> = HashMap::new();
        let mut value_signal = Vec::new();
        let values: Vec<Vec<u32>> = profiles
            .iter()
            .map(|p| {
                let mut v: Vec<u32> = config_values(p)
                    .into_iter()
                    .map(|(signal, value)| {
                        *ids.entry((signal, value)).or_insert_with(|| {
                            value_signal.push(signal);
                            value_signal.len() as u32 - 1
                        })
                    })
                    .collect();
                v.sort_unstable();
                v
            })
            .collect();
        // The windows each value was held in, then its holders and all relays per window.
        let windows = blocks.windows;
        let relays_of_window = per_window(profiles.iter().flat_map(|p| windows.of_relay(p)));
        let mut span = vec![(u32::MAX, 0u32); value_signal.len()];
        for (p, ids) in profiles.iter().zip(&values) {
            let held = windows.of_relay(p);
            for &id in ids {
                let s = &mut span[id as usize];
                s.0 = s.0.min(*held.start() as u32);
                s.1 = s.1.max(*held.end() as u32);
            }
        }
        let mut value_at = Vec::with_capacity(span.len());
        let mut slots = 0u32;
        for &(first, last) in &span {
            value_at.push(slots);
            slots += last - first + 1;
        }
        let mut holders = vec![0usize; slots as usize];
        for (p, ids) in profiles.iter().zip(&values) {
            for w in windows.of_relay(p) {
                for &id in ids {
                    holders[(value_at[id as usize] + w as u32 - span[id as usize].0) as usize] += 1;
                }
            }
        }
        let mut value_weight = vec![0.0; slots as usize];
        for (id, &(first, last)) in span.iter().enumerate() {
            let weight = config_weight(config, CONFIG_SIGNALS[value_signal[id]]);
            for w in first..=last {
                let slot = (value_at[id] + w - first) as usize;
                value_weight[slot] = weight * rarity(relays_of_window[w as usize], holders[slot]);
            }
        }
        let lower_nicknames: Vec<String> =
            profiles.iter().map(|p| p.nickname.to_lowercase()).collect();
        let restarts: Vec<HourSet> = profiles
            .iter()
            .map(|p| HourSet::new(&p.restarts, &blocks.restart_rarity))
            .collect();
        let session_ends: Vec<HourSet> = profiles
            .iter()
            .map(|p| HourSet::new(&p.session_ends, &blocks.end_rarity))
            .collect();
        PairScorer {
            profiles,
            config,
            sync_totals: restarts
                .iter()
                .zip(&session_ends)
                .map(|(r, e)| [r.total, e.total])
                .collect(),
            restarts,
            session_ends,
            values,
            value_signal,
            value_first_window: span.iter().map(|s| s.0).collect(),
            value_at,
            value_weight,
            windows,
            nickname_lengths: lower_nicknames.iter().map(|n| n.chars().count()).collect(),
            lower_nicknames,
            nickname_bytes: profiles.iter().map(|p| p.nickname.len()).collect(),
            first_seen: profiles.iter().map(|p| p.first_seen).collect(),
        }
    }

    /// The link between `a` and a candidate partner, when it is accepted.
    pub fn score(&self, a: usize, candidate: &Candidate) -> Option<Link> {
        self.evidence(a, candidate, false)
            .filter(|link| accepts(link, self.config))
    }

    /// All the evidence between `a` and a candidate partner (`exhaustive`), or, for scoring,
    /// None as soon as the evidence cannot make a link.
    pub fn evidence(&self, a: usize, candidate: &Candidate, exhaustive: bool) -> Option<Link> {
        let config = self.config;
        let b = candidate.relay;
        // Values weigh by their rarity in the window in which both relays were first in
        // the network.
        let window = self.windows.at(self.first_seen[a].max(self.first_seen[b])) as u32;
        // Configuration likeness: the best-matching value of each signal (both value lists
        // are sorted: walk them together).
        let mut best: [Option<f64>; CONFIG_SIGNALS.len()] = [None; CONFIG_SIGNALS.len()];
        let (va, vb) = (&self.values[a], &self.values[b]);
        let (mut i, mut j) = (0, 0);
        while i < va.len() && j < vb.len() {
            match va[i].cmp(&vb[j]) {
                std::cmp::Ordering::Less => i += 1,
                std::cmp::Ordering::Greater => j += 1,
                std::cmp::Ordering::Equal => {
                    let id = va[i] as usize;
                    let w = self.value_weight
                        [(self.value_at[id] + window - self.value_first_window[id]) as usize];
                    let e = best[self.value_signal[id]].get_or_insert(0.0);
                    *e = e.max(w);
                    i += 1;
                    j += 1;
                }
            }
        }
        // Nicknames a few edits apart (`relayAB12` / `relayAB17`), when not already the
        // same shape.
        if best[NICKNAME_SHAPE].is_none()
            && self.nickname_bytes[a] >= 6
            && self.nickname_bytes[b] >= 6
            && self.nickname_lengths[a].abs_diff(self.nickname_lengths[b]) <= 2
            && self.profiles[a].nickname != self.profiles[b].nickname
            && levenshtein(&self.lower_nicknames[a], &self.lower_nicknames[b]) <= 2
        {
            best[SIMILAR_NICKNAME] = Some(config.weights.similar_nickname);
        }
        // One place, counted once: the same address is in the same /24, /16 and AS, so of
        // these nested location signals only the strongest counts (a cloud address handed
        // to the next customer would otherwise score as four pieces of evidence). Place 0 is
        // the address, place k the nested signal k - 1; ties go to the most specific.
        // A re-keyed address (the old key left in a re-key event, the new one came right
        // after) is the same place and more: the operator rotating its keys.
        let address = if candidate.rekeyed {
            config.weights.rekeyed.max(config.weights.same_address)
        } else if candidate.same_address {
            config.weights.same_address
        } else {
            0.0
        };
        let location = |place: usize| match place {
            0 => address,
            k => best[NESTED_LOCATION[k - 1]].unwrap_or(0.0),
        };
        let strongest = (0..=NESTED_LOCATION.len())
            .max_by(|&x, &y| location(x).total_cmp(&location(y)).then(y.cmp(&x)))
            .unwrap_or(0);

        // Most candidates share a busy hour and little else: bound what the two hour-set
        // comparisons can add from the sets' totals, and stop when even that cannot make the
        // link (the bound is never below the evidence, so the accepted links are the same).
        let fixed_behaviour = address
            + if candidate.removed_together {
                config.weights.removed_together
            } else {
                0.0
            }
            + candidate.rejected_together.unwrap_or(0.0)
            + candidate.join_batch.unwrap_or(0.0);
        let config_bound: f64 = best.iter().flatten().sum();
        let cannot_link = |behaviour: f64| {
            !exhaustive
                && ((behaviour + config_bound) * BOUND_MARGIN < config.link_threshold
                    || (behaviour * BOUND_MARGIN < config.behaviour_min
                        && config_bound * BOUND_MARGIN < config.config_only_threshold))
        };
        let (restarts, ends) = (
            (&self.restarts[a], &self.restarts[b]),
            (&self.session_ends[a], &self.session_ends[b]),
        );
        let (restart_weight, end_weight) =
            (config.weights.restart_sync, config.weights.session_end_sync);
        let ([restarts_a, ends_a], [restarts_b, ends_b]) =
            (self.sync_totals[a], self.sync_totals[b]);
        let end_bound = sync_bound(ends_a, ends_b, end_weight, config);
        if cannot_link(
            fixed_behaviour
                + sync_bound(restarts_a, restarts_b, restart_weight, config)
                + end_bound,
        ) {
            return None;
        }
        let restart_sync = restarts.0.sync_evidence(restarts.1, restart_weight, config);
        if cannot_link(fixed_behaviour + restart_sync.unwrap_or(0.0) + end_bound) {
            return None;
        }
        let session_end_sync = ends.0.sync_evidence(ends.1, end_weight, config);

        let mut link = Link::default();
        if (candidate.same_address || candidate.rekeyed) && strongest == 0 {
            link.signals.push(Signal {
                name: if candidate.rekeyed {
                    "rekeyed"
                } else {
                    "same_address"
                },
                weight: address,
            });
        }
        if candidate.removed_together {
            link.signals.push(Signal {
                name: "removed_together",
                weight: config.weights.removed_together,
            });
        }
        if let Some(weight) = candidate.rejected_together {
            link.signals.push(Signal {
                name: "rejected_together",
                weight,
            });
        }
        if let Some(weight) = candidate.join_batch {
            link.signals.push(Signal {
                name: "join_batch",
                weight,
            });
        }
        for (name, weight) in [
            ("restart_sync", restart_sync),
            ("session_end_sync", session_end_sync),
        ] {
            if let Some(weight) = weight {
                link.signals.push(Signal { name, weight });
            }
        }
        for (k, (name, weight)) in CONFIG_SIGNALS.iter().zip(best).enumerate() {
            let Some(weight) = weight else { continue };
            let nested = NESTED_LOCATION
                .iter()
                .position(|&n| n == k)
                .is_some_and(|place| place + 1 != strongest);
            if weight > 0.0 && !nested {
                link.signals.push(Signal { name, weight });
            }
        }
        Some(link)
    }
}

/// Whether a pair's evidence makes a link: its score reaches `link_threshold` and its
/// behaviour evidence `behaviour_min`, or its configuration likeness alone
/// `config_only_threshold`.
pub fn accepts(link: &Link, config: &AttributionConfig) -> bool {
    link.score() >= config.link_threshold
        && (link.behaviour_score() >= config.behaviour_min
            || link.config_score() >= config.config_only_threshold)
}
