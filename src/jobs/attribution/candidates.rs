//! Which pairs of relays are compared at all: the blocking keys (one address, /24, removal,
//! rejection, restart hour, session-end hour) with the evidence a key itself is, the join
//! windows of each cohort of joiners, and one worker's gathering of a relay's candidate
//! partners with what their shared blocks say.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::config::AttributionConfig;
use super::profile::{ContactStatus, Profile};
use super::rarity::{per_window, rarity, RarityWindows};
use super::signals::prefix;
use crate::util::time::{DAY_MS, HOUR_MS};

/// What makes relays sharing a block key candidates, and the evidence the key itself is.
#[derive(Clone, Copy, PartialEq)]
pub enum BlockKind {
    /// One IPv4 address: `same_address` for the relays near each other in time.
    Address,
    /// One removal event: `removed_together`.
    Removal,
    /// The relays of one removal event that the authorities rejected (their votes dropped
    /// each before the consensus did): `rejected_together`, of this weight.
    Rejection(f64),
    /// A /24, a restart hour or a session-end hour: a candidate, no evidence by itself.
    Plain,
}

/// The blocking keys: relays sharing one are candidate pairs (blocks larger than
/// `max_block_relays` give none), and the rarity of each restart and session-end hour.
pub struct Blocks {
    pub members: Vec<Vec<u32>>,
    pub kind: Vec<BlockKind>,
    /// The blocks of each relay.
    pub of: Vec<Vec<u32>>,
    pub restart_rarity: HashMap<i64, f64>,
    pub end_rarity: HashMap<i64, f64>,
    /// The rarity windows the hours (and the pair scorer's values) are weighed in.
    pub windows: RarityWindows,
}

impl Blocks {
    pub fn of(profiles: &[&Profile], config: &AttributionConfig) -> Blocks {
        let mut by_address: BTreeMap<&str, Vec<u32>> = BTreeMap::new();
        let mut by_slash24: BTreeMap<String, Vec<u32>> = BTreeMap::new();
        let mut by_removal: BTreeMap<i64, Vec<u32>> = BTreeMap::new();
        let mut by_rejection: BTreeMap<i64, Vec<u32>> = BTreeMap::new();
        let mut by_restart: BTreeMap<i64, Vec<u32>> = BTreeMap::new();
        let mut by_end: BTreeMap<i64, Vec<u32>> = BTreeMap::new();
        for (i, p) in profiles.iter().enumerate() {
            let i = i as u32;
            for a in &p.addresses {
                by_address.entry(a).or_default().push(i);
                if let Some(x) = prefix(a, 3) {
                    by_slash24.entry(x).or_default().push(i);
                }
            }
            for &t in &p.removed_in {
                by_removal.entry(t).or_default().push(i);
            }
            for &t in &p.rejected_in {
                by_rejection.entry(t).or_default().push(i);
            }
            if p.restarts.len() <= config.sync_max_events {
                for &h in &p.restarts {
                    by_restart.entry(h).or_default().push(i);
                }
            }
            if p.session_ends.len() <= config.sync_max_events {
                for &h in &p.session_ends {
                    by_end.entry(h).or_default().push(i);
                }
            }
        }
        // A shared hour counts by how rare it is: ln(N/k)/ln(N) for an hour k of the N
        // relays with hours in its rarity window share.
        let windows = RarityWindows::of(profiles.iter().copied(), config);
        let hour_rarity = |buckets: &BTreeMap<i64, Vec<u32>>| -> HashMap<i64, f64> {
            let mut in_window: Vec<(usize, u32)> = buckets
                .iter()
                .flat_map(|(&h, m)| m.iter().map(move |&i| (windows.at(h), i)))
                .collect();
            in_window.sort_unstable();
            in_window.dedup();
            let relays_of_window = per_window(in_window.iter().map(|&(w, _)| w));
            buckets
                .iter()
                .map(|(&h, m)| (h, rarity(relays_of_window[windows.at(h)], m.len())))
                .collect()
        };
        let mut blocks = Blocks {
            members: Vec::new(),
            kind: Vec::new(),
            of: vec![Vec::new(); profiles.len()],
            restart_rarity: hour_rarity(&by_restart),
            end_rarity: hour_rarity(&by_end),
            windows,
        };
        let keyed = [
            (
                BlockKind::Address,
                by_address.into_values().collect::<Vec<_>>(),
            ),
            (BlockKind::Plain, by_slash24.into_values().collect()),
            (BlockKind::Removal, by_removal.into_values().collect()),
            (
                BlockKind::Rejection(0.0),
                by_rejection.into_values().collect(),
            ),
            (BlockKind::Plain, by_restart.into_values().collect()),
            (BlockKind::Plain, by_end.into_values().collect()),
        ];
        for (kind, lists) in keyed {
            for mut members in lists {
                members.dedup();
                if members.len() < 2 || members.len() > config.max_block_relays {
                    continue;
                }
                let kind = match kind {
                    BlockKind::Rejection(_) => {
                        BlockKind::Rejection(rejection_weight(profiles, &members, config))
                    }
                    kind => kind,
                };
                let id = blocks.members.len() as u32;
                for &m in &members {
                    blocks.of[m as usize].push(id);
                }
                blocks.members.push(members);
                blocks.kind.push(kind);
            }
        }
        blocks
    }
}

/// What rejected together says of the relays of one rejection: the full weight when they
/// declare at most one operator; shared among the operators they declare otherwise (the
/// authorities also reject relays by policy, end-of-life versions say, whoever runs them).
/// The operators are the distinct shared contacts, and all relays declaring none (no
/// contact, or one only they write) count as one more: a made-up contact per relay must not
/// make an actor look like a sweep of many operators.
pub fn rejection_weight(profiles: &[&Profile], members: &[u32], config: &AttributionConfig) -> f64 {
    let mut operators: BTreeSet<Option<&str>> = BTreeSet::new();
    for &m in members {
        let p = profiles[m as usize];
        operators.insert(p.contact.as_deref().filter(|_| p.contact_shared));
    }
    config.weights.rejected_together / operators.len().max(1) as f64
}

/// Join batches: relays first seen within `join_window_hours` of each other (not the
/// relays already running when the data starts or first seen right after a gap of it). A
/// window's evidence grows with how far its joins exceed the usual number; a pair takes the
/// best of its two relays' windows that give evidence and hold at most `max_block_relays`.
/// Joins are counted twice: among all joiners, and among the joiners of the relay's kind
/// (tor version, exit or not, contact or not): a day in which thirty contact-less exits of
/// one old version appeared is a batch even when the network's joins hide it.
pub struct JoinWindows {
    cohorts: Vec<JoinCohort>,
    /// Each relay's cohorts and its place in each: (cohort, index into its joiners).
    position: Vec<Vec<(u32, u32)>>,
}

/// The joiners of one cohort by first-seen time, each joiner's window (indices into
/// `joiners`) and its evidence (None when it gives none or is too large).
pub struct JoinCohort {
    joiners: Vec<usize>,
    window: Vec<(usize, usize)>,
    weight: Vec<Option<f64>>,
}

impl JoinWindows {
    pub fn of(profiles: &[&Profile], config: &AttributionConfig) -> JoinWindows {
        let n = profiles.len();
        let mut joiners: Vec<usize> = (0..n)
            .filter(|&i| !profiles[i].first_seen_censored)
            .collect();
        joiners.sort_by_key(|&i| (profiles[i].first_seen, i));
        let data_start = profiles.iter().map(|p| p.first_seen).min().unwrap_or(0);
        let span_hours = ((profiles.iter().map(|p| p.last_seen).max().unwrap_or(0) - data_start)
            / HOUR_MS)
            .max(1) as f64;
        let mut kinds: BTreeMap<(Option<&str>, bool, ContactStatus), Vec<usize>> = BTreeMap::new();
        for &i in &joiners {
            let p = &profiles[i];
            kinds
                .entry((p.version.as_deref(), p.is_exit(), p.contact_status()))
                .or_default()
                .push(i);
        }
        let cohorts: Vec<JoinCohort> = std::iter::once(joiners)
            .chain(kinds.into_values().filter(|members| members.len() > 1))
            .map(|members| JoinCohort::of(members, profiles, config, span_hours))
            .collect();
        let mut position = vec![Vec::new(); n];
        for (c, cohort) in cohorts.iter().enumerate() {
            for (k, &i) in cohort.joiners.iter().enumerate() {
                position[i].push((c as u32, k as u32));
            }
        }
        JoinWindows { cohorts, position }
    }
}

impl JoinCohort {
    /// `joiners` sorted by first-seen time; their usual number per window is their number
    /// over the `span_hours` of the data.
    pub fn of(
        joiners: Vec<usize>,
        profiles: &[&Profile],
        config: &AttributionConfig,
        span_hours: f64,
    ) -> JoinCohort {
        let joins_per_window =
            joiners.len() as f64 / span_hours * (2 * config.join_window_hours + 1) as f64;
        let span = i64::from(config.join_window_hours) * HOUR_MS;
        let mut window = Vec::with_capacity(joiners.len());
        let mut weight = Vec::with_capacity(joiners.len());
        let mut lo = 0;
        for k in 0..joiners.len() {
            let t = profiles[joiners[k]].first_seen;
            while profiles[joiners[lo]].first_seen < t - span {
                lo += 1;
            }
            let mut hi = k;
            while hi + 1 < joiners.len() && profiles[joiners[hi + 1]].first_seen <= t + span {
                hi += 1;
            }
            let in_window = (hi + 1 - lo) as f64;
            let w =
                config.weights.join_batch * (1.0 - joins_per_window.max(1.0) / in_window).max(0.0);
            window.push((lo, hi));
            weight.push((w > 0.0 && hi + 1 - lo <= config.max_block_relays).then_some(w));
        }
        JoinCohort {
            joiners,
            window,
            weight,
        }
    }

    /// The evidence between joiners `k` and `p` (in each other's window): the better of
    /// their windows that give any.
    pub fn pair_weight(&self, k: usize, p: usize) -> Option<f64> {
        match (self.weight[k], self.weight[p]) {
            (Some(x), Some(y)) => Some(x.max(y)),
            (x, y) => x.or(y),
        }
    }
}

/// A candidate partner of a relay and the evidence its blocks gave.
#[derive(Default)]
pub struct Candidate {
    pub relay: usize,
    pub same_address: bool,
    /// On one address, one of them left in a re-key event and the other was first seen
    /// within `same_address_days` after it: the address's new key.
    pub rekeyed: bool,
    pub removed_together: bool,
    pub rejected_together: Option<f64>,
    pub join_batch: Option<f64>,
}

/// Whether `new` took an address of `old` as its new key: `old` left in a re-key event and
/// `new` was first seen from that event to `near` after it.
fn rekeyed(old: &Profile, new: &Profile, near: i64) -> bool {
    old.rekeyed_in
        .iter()
        .any(|&t| new.first_seen >= t - HOUR_MS && new.first_seen <= t + near)
}

/// A candidate's evidence from several blocks: the best of them.
pub fn keep_best(evidence: &mut Option<f64>, weight: f64) {
    *evidence = Some(evidence.map_or(weight, |e| e.max(weight)));
}

/// One worker's scratch space: the candidate partners of the relay at hand.
pub struct Partners {
    /// Index + 1 into `list` of each relay (0: not a partner).
    pub slot: Vec<u32>,
    pub list: Vec<Candidate>,
}

impl Partners {
    pub fn new(n: usize) -> Self {
        Partners {
            slot: vec![0; n],
            list: Vec::new(),
        }
    }

    pub fn entry(&mut self, relay: usize) -> &mut Candidate {
        if self.slot[relay] == 0 {
            self.list.push(Candidate {
                relay,
                ..Candidate::default()
            });
            self.slot[relay] = self.list.len() as u32;
        }
        &mut self.list[self.slot[relay] as usize - 1]
    }

    /// Gathers the partners of `a` with a higher index (every partner with `all`).
    pub fn collect(
        &mut self,
        a: usize,
        profiles: &[&Profile],
        config: &AttributionConfig,
        blocks: &Blocks,
        joins: &JoinWindows,
        all: bool,
    ) {
        for c in &self.list {
            self.slot[c.relay] = 0;
        }
        self.list.clear();
        // Relays on one address: the same operator only while they are near in time (cloud
        // providers hand a released address to the next customer).
        let near = i64::from(config.same_address_days) * DAY_MS;
        for &block in &blocks.of[a] {
            let members = &blocks.members[block as usize];
            let later = if all {
                0
            } else {
                members.partition_point(|&m| m as usize <= a)
            };
            for &b in &members[later..] {
                let b = b as usize;
                if b == a {
                    continue;
                }
                match blocks.kind[block as usize] {
                    BlockKind::Address => {
                        let (pa, pb) = (&profiles[a], &profiles[b]);
                        let apart =
                            (pa.first_seen - pb.last_seen).max(pb.first_seen - pa.last_seen);
                        if apart <= near {
                            self.entry(b).same_address = true;
                        }
                        if rekeyed(pa, pb, near) || rekeyed(pb, pa, near) {
                            self.entry(b).rekeyed = true;
                        }
                    }
                    BlockKind::Removal => self.entry(b).removed_together = true,
                    BlockKind::Rejection(w) => keep_best(&mut self.entry(b).rejected_together, w),
                    BlockKind::Plain => {
                        self.entry(b);
                    }
                }
            }
        }
        for &(c, k) in &joins.position[a] {
            let cohort = &joins.cohorts[c as usize];
            let k = k as usize;
            let (lo, hi) = cohort.window[k];
            for p in lo..=hi {
                let b = cohort.joiners[p];
                if b == a || (b < a && !all) {
                    continue;
                }
                if let Some(w) = cohort.pair_weight(k, p) {
                    keep_best(&mut self.entry(b).join_batch, w);
                }
            }
        }
        // In relay order, the scorer reads its per-relay tables front to back. (`slot` is
        // only read while collecting, and the next collect clears it through `list`.)
        self.list.sort_unstable_by_key(|c| c.relay);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The join evidence `a` (the lower number) gathers for its partner `b`.
    fn join_weight(profiles: &[Profile], a: usize, b: usize) -> Option<f64> {
        let config = AttributionConfig::default();
        let profiles: Vec<&Profile> = profiles.iter().collect();
        let blocks = Blocks::of(&profiles, &config);
        let joins = JoinWindows::of(&profiles, &config);
        let mut partners = Partners::new(profiles.len());
        partners.collect(a, &profiles, &config, &blocks, &joins, false);
        partners.list.iter().find(|c| c.relay == b)?.join_batch
    }

    /// Thirty joiners a day for a month, all of one kind, and a burst of eight relays over 16
    /// hours: when the burst's relays are of a kind of their own (an old version, exits, no
    /// contact), the burst is a join batch (two in a few hours where none is usual); of the
    /// network's usual kind, it hardly exceeds the network's joins, and a pair of ordinary
    /// joiners shows nothing.
    #[test]
    fn a_burst_of_one_kind_is_a_join_batch_where_the_networks_joins_hide_it() {
        const DAY: i64 = 86_400_000;
        let config = AttributionConfig::default();
        let network = |own_kind: bool| -> Vec<Profile> {
            let ordinary = (0..900).map(|i: i64| Profile {
                fingerprint: format!("{i:040X}"),
                first_seen: DAY + i * DAY / 30,
                last_seen: 32 * DAY,
                contact: Some(format!("operator {i}")),
                version: Some("0.4.8.9".to_string()),
                ..Profile::default()
            });
            let burst = (0..8).map(|i: i64| Profile {
                fingerprint: format!("B{i:039X}"),
                first_seen: 15 * DAY + 2 * i * HOUR_MS,
                last_seen: 32 * DAY,
                contact: (!own_kind).then(|| format!("burst operator {i}")),
                version: Some(if own_kind { "0.4.5.16" } else { "0.4.8.9" }.to_string()),
                peak_exit_probability: if own_kind { 0.001 } else { 0.0 },
                ..Profile::default()
            });
            let start = Profile {
                fingerprint: "S".repeat(40),
                first_seen: 0,
                last_seen: 32 * DAY,
                first_seen_censored: true,
                ..Profile::default()
            };
            std::iter::once(start)
                .chain(ordinary)
                .chain(burst)
                .collect()
        };
        let (first, second) = (901, 902);
        let own_kind = network(true);
        let weight = join_weight(&own_kind, first, second).expect("the burst is a batch");
        assert!(
            weight >= 0.6 * config.weights.join_batch,
            "own kind: {weight}"
        );
        let usual_kind = network(false);
        let hidden = join_weight(&usual_kind, first, second).unwrap_or(0.0);
        assert!(
            hidden < 0.5 * weight,
            "usual kind: {hidden} against {weight}"
        );
        assert_eq!(join_weight(&usual_kind, 10, 11), None, "ordinary joiners");
    }
}
