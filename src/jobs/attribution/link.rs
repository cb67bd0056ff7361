//! Evidence between relays and grouping into actors.
//!
//! 1. **Strong signals** link two relays on their own: the same non-empty contact, a mutual
//!    `family` declaration, the same ed25519 master key.
//! 2. **Candidate pairs** come from shared rare keys (blocking): same IPv4 address, /24,
//!    removal event, join window, restart hour, session-end hour. Each candidate pair is
//!    scored by summing weighted signals. Configuration signals (AS, /16, /24, version,
//!    OS, ORPort, DirPort, nickname shape, exit policy, bandwidth rate/burst, missing contact)
//!    are weighted by rarity, `ln(N/df)/ln(N)` for a value held by `df` of `N` relays, so a
//!    popular AS, a default nickname or the most common version count for little; `N` and
//!    `df` are counted among the relays of one `rarity_window_days` window ([`RarityWindows`]),
//!    so a value weighs as much in a decade of history as in its own year.
//!    Behaviour signals: restarts in the same hours (descriptor `published − uptime`) and
//!    sessions ending in the same hours (sybilhunter's identical uptime sequences), each hour
//!    weighted by its rarity (an hour in which a fifth of the network restarted says little),
//!    as the rarity-weighted Jaccard index of the two hour sets, scaled by how much rare
//!    evidence is shared (`sync_full_evidence`); joining within `join_window_hours` of each
//!    other (weighted by how rare joins were then, among all joiners or those of the pair's
//!    kind; relays first seen at the start of the data or right after a gap are no
//!    joiners); the same IPv4 address within `same_address_days`; leaving in the same
//!    removal event.
//! 3. A pair links when its score reaches `link_threshold` **and** its behaviour evidence
//!    reaches `behaviour_min` or its configuration score alone reaches
//!    `config_only_threshold`: configuration likeness alone (same AS + same version + same
//!    port) never groups relays.
//! 4. Groups: the strong signals' groups, merged along the accepted links only where several
//!    links support a merge and never between two groups that each declare a contact
//!    ([`merge_with_support`]). Groups of at least `min_group_relays` are actors (groups held
//!    together by a strong signal from two relays).
//! 5. **Across removals**: a group whose relays were removed in an event is compared with each
//!    later group that appeared after the event (half of its relays first seen after it, within
//!    `return_window_days`) on its
//!    infrastructure signature: ASes, /16s, ORPorts, OS, version line, nickname shapes,
//!    contact status. A later group whose similarity reaches `return_similarity`, and whose
//!    ASes, /16s and ORPorts the removed group used to at least
//!    `return_min_rare_infrastructure` (each shared value credited by how rare it is among
//!    the groups of its rarity window, [`SignatureRarity`]), joins the removed group's actor; each adoption is
//!    judged between the two groups' own signatures and recorded with its components.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use rayon::prelude::*;

use super::burst::{self, Burst};
use super::profile::{levenshtein, nickname_shape, Profile};
use super::AttributionConfig;

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;

/// A signal that contributed to a link.
#[derive(Debug, Clone, PartialEq)]
pub struct Signal {
    pub name: &'static str,
    pub weight: f64,
}

/// Evidence between two relays.
#[derive(Debug, Clone, Default)]
pub struct Link {
    pub signals: Vec<Signal>,
}

impl Link {
    pub fn score(&self) -> f64 {
        self.signals.iter().map(|s| s.weight).sum()
    }
    /// Whether restart / session-end sync is the link's only behaviour evidence.
    pub fn sync_is_only_behaviour(&self) -> bool {
        let behaviour: Vec<&str> = self
            .signals
            .iter()
            .map(|s| s.name)
            .filter(|n| BEHAVIOUR.contains(n))
            .collect();
        !behaviour.is_empty()
            && behaviour
                .iter()
                .all(|n| *n == "restart_sync" || *n == "session_end_sync")
    }

    fn behaviour_score(&self) -> f64 {
        self.signals
            .iter()
            .filter(|s| BEHAVIOUR.contains(&s.name))
            .map(|s| s.weight)
            .sum()
    }
    fn config_score(&self) -> f64 {
        self.signals
            .iter()
            .filter(|s| !BEHAVIOUR.contains(&s.name) && !STRONG.contains(&s.name))
            .map(|s| s.weight)
            .sum()
    }
}

const STRONG: [&str; 3] = ["same_contact", "mutual_family", "same_ed25519_key"];
const BEHAVIOUR: [&str; 6] = [
    "same_address",
    "restart_sync",
    "session_end_sync",
    "join_batch",
    "removed_together",
    "rejected_together",
];

struct UnionFind {
    parent: Vec<usize>,
}

impl UnionFind {
    fn new(n: usize) -> Self {
        UnionFind {
            parent: (0..n).collect(),
        }
    }
    fn find(&mut self, x: usize) -> usize {
        let mut root = x;
        while self.parent[root] != root {
            root = self.parent[root];
        }
        let mut y = x;
        while self.parent[y] != root {
            let next = self.parent[y];
            self.parent[y] = root;
            y = next;
        }
        root
    }
    fn union(&mut self, a: usize, b: usize) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra != rb {
            // Smaller index wins: deterministic roots.
            let (lo, hi) = if ra < rb { (ra, rb) } else { (rb, ra) };
            self.parent[hi] = lo;
        }
    }
}

fn prefix(address: &str, octets: usize) -> Option<String> {
    let parts: Vec<&str> = address.split('.').collect();
    (parts.len() == 4).then(|| parts[..octets].join("."))
}

/// The configuration values of a relay, per signal (several values per signal possible).
fn config_values(p: &Profile) -> Vec<(usize, String)> {
    let signal = |name: &str| CONFIG_SIGNALS.iter().position(|s| *s == name).unwrap();
    let mut out = Vec::new();
    for a in &p.addresses {
        if let Some(x) = prefix(a, 3) {
            out.push((signal("same_slash24"), x));
        }
        if let Some(x) = prefix(a, 2) {
            out.push((signal("same_slash16"), x));
        }
    }
    for asn in &p.asns {
        out.push((signal("same_as"), asn.to_string()));
    }
    for prefix in &p.ipv6_prefixes {
        out.push((signal("same_ipv6_slash48"), prefix.clone()));
    }
    if let Some(v) = &p.version {
        out.push((signal("same_version"), v.clone()));
    }
    if let Some(os) = &p.os {
        out.push((signal("same_os"), os.to_lowercase()));
    }
    for port in &p.or_ports {
        out.push((signal("same_or_port"), port.to_string()));
    }
    if let Some(port) = p.dir_port {
        out.push((signal("same_dir_port"), port.to_string()));
    }
    if !p.nickname.is_empty() {
        out.push((signal("nickname_shape"), nickname_shape(&p.nickname)));
    }
    if let Some(h) = &p.exit_policy_hash {
        out.push((signal("same_exit_policy"), h.clone()));
    }
    if let Some((rate, burst)) = p.bandwidth_rate_burst {
        out.push((signal("same_bandwidth_rate"), format!("{rate}/{burst}")));
    }
    if p.contact.is_none() {
        out.push((signal("both_without_contact"), String::new()));
    }
    out.sort();
    out.dedup();
    out
}

fn config_weight(config: &AttributionConfig, signal: &str) -> f64 {
    let w = &config.weights;
    match signal {
        "same_slash24" => w.slash24,
        "same_slash16" => w.slash16,
        "same_ipv6_slash48" => w.ipv6_slash48,
        "same_as" => w.asn,
        "same_version" => w.version,
        "same_os" => w.os,
        "same_or_port" => w.or_port,
        "same_dir_port" => w.dir_port,
        "nickname_shape" => w.nickname_shape,
        "same_exit_policy" => w.exit_policy,
        "same_bandwidth_rate" => w.bandwidth_rate,
        "both_without_contact" => w.no_contact,
        _ => 0.0,
    }
}

/// The configuration signals in name order (the order a link lists them); the last,
/// `similar_nickname`, is judged between the two nicknames rather than by shared values.
const CONFIG_SIGNALS: [&str; 13] = [
    "both_without_contact",
    "nickname_shape",
    "same_as",
    "same_bandwidth_rate",
    "same_dir_port",
    "same_exit_policy",
    "same_ipv6_slash48",
    "same_or_port",
    "same_os",
    "same_slash16",
    "same_slash24",
    "same_version",
    "similar_nickname",
];
const NICKNAME_SHAPE: usize = 1;
const SIMILAR_NICKNAME: usize = 12;
/// The configuration signals of location nested inside `same_address`, most specific first
/// (indices into [`CONFIG_SIGNALS`]): a pair sharing several counts only the strongest.
const NESTED_LOCATION: [usize; 3] = [10, 9, 2];

/// The rarity windows: `rarity_window_days` long, from the first consensus of the data.
#[derive(Clone, Copy)]
struct RarityWindows {
    start: i64,
    length: i64,
}

impl RarityWindows {
    fn of<'p>(profiles: impl IntoIterator<Item = &'p Profile>, config: &AttributionConfig) -> Self {
        RarityWindows {
            start: profiles
                .into_iter()
                .map(|p| p.first_seen)
                .min()
                .unwrap_or(0),
            length: i64::from(config.rarity_window_days.max(1)) * DAY_MS,
        }
    }

    /// The window of a time.
    fn at(&self, time: i64) -> usize {
        ((time - self.start).max(0) / self.length) as usize
    }

    /// The windows a relay was in the network in.
    fn of_relay(&self, p: &Profile) -> std::ops::RangeInclusive<usize> {
        self.at(p.first_seen)..=self.at(p.last_seen.max(p.first_seen))
    }
}

/// How many of the given windows fall in each window (index = window).
fn per_window(windows: impl Iterator<Item = usize>) -> Vec<usize> {
    let mut counts = Vec::new();
    for w in windows {
        if counts.len() <= w {
            counts.resize(w + 1, 0);
        }
        counts[w] += 1;
    }
    counts
}

/// How rare a value held by `holders` of the `relays` of its window is: ln(N/k)/ln(N).
fn rarity(relays: usize, holders: usize) -> f64 {
    let n = relays.max(2) as f64;
    ((n / holders.max(1) as f64).ln() / n.ln()).clamp(0.0, 1.0)
}

/// A relay's restart or session-end hours, ascending, each with its rarity weight.
#[derive(Default)]
struct HourSet {
    hours: Vec<i64>,
    weights: Vec<f64>,
    /// The summed weight of all its hours.
    total: f64,
}

impl HourSet {
    /// `hours` weighted by `rarity` (hours no relay of the blocks held count fully).
    fn new(hours: &BTreeSet<i64>, rarity: &HashMap<i64, f64>) -> Self {
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
    fn weighted_jaccard(&self, other: &HourSet) -> (f64, f64) {
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
    fn sync_evidence(
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
const BOUND_MARGIN: f64 = 1.0 + 1e-9;

/// At least the evidence `HourSet::sync_evidence` can give between two sets of these totals
/// (the shared weight is at most the smaller total, the union at least the larger), or 0 when
/// the Jaccard cannot reach `sync_min_jaccard`.
fn sync_bound(total_a: f64, total_b: f64, weight: f64, config: &AttributionConfig) -> f64 {
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

/// What makes relays sharing a block key candidates, and the evidence the key itself is.
#[derive(Clone, Copy, PartialEq)]
enum BlockKind {
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
struct Blocks {
    members: Vec<Vec<u32>>,
    kind: Vec<BlockKind>,
    /// The blocks of each relay.
    of: Vec<Vec<u32>>,
    restart_rarity: HashMap<i64, f64>,
    end_rarity: HashMap<i64, f64>,
    /// The rarity windows the hours (and the pair scorer's values) are weighed in.
    windows: RarityWindows,
}

impl Blocks {
    fn of(profiles: &[&Profile], config: &AttributionConfig) -> Blocks {
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
fn rejection_weight(profiles: &[&Profile], members: &[u32], config: &AttributionConfig) -> f64 {
    let operators: BTreeSet<&str> = members
        .iter()
        .filter_map(|&m| profiles[m as usize].contact.as_deref())
        .collect();
    config.weights.rejected_together / operators.len().max(1) as f64
}

/// Join batches: relays first seen within `join_window_hours` of each other (not the
/// relays already running when the data starts or first seen right after a gap of it). A
/// window's evidence grows with how far its joins exceed the usual number; a pair takes the
/// best of its two relays' windows that give evidence and hold at most `max_block_relays`.
/// Joins are counted twice: among all joiners, and among the joiners of the relay's kind
/// (tor version, exit or not, contact or not): a day in which thirty contact-less exits of
/// one old version appeared is a batch even when the network's joins hide it.
struct JoinWindows {
    cohorts: Vec<JoinCohort>,
    /// Each relay's cohorts and its place in each: (cohort, index into its joiners).
    position: Vec<Vec<(u32, u32)>>,
}

/// The joiners of one cohort by first-seen time, each joiner's window (indices into
/// `joiners`) and its evidence (None when it gives none or is too large).
struct JoinCohort {
    joiners: Vec<usize>,
    window: Vec<(usize, usize)>,
    weight: Vec<Option<f64>>,
}

impl JoinWindows {
    fn of(profiles: &[&Profile], config: &AttributionConfig) -> JoinWindows {
        let n = profiles.len();
        let mut joiners: Vec<usize> = (0..n)
            .filter(|&i| !profiles[i].first_seen_censored)
            .collect();
        joiners.sort_by_key(|&i| (profiles[i].first_seen, i));
        let data_start = profiles.iter().map(|p| p.first_seen).min().unwrap_or(0);
        let span_hours = ((profiles.iter().map(|p| p.last_seen).max().unwrap_or(0) - data_start)
            / HOUR_MS)
            .max(1) as f64;
        let mut kinds: BTreeMap<(Option<&str>, bool, bool), Vec<usize>> = BTreeMap::new();
        for &i in &joiners {
            let p = &profiles[i];
            kinds
                .entry((p.version.as_deref(), p.is_exit(), p.contact.is_some()))
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
    fn of(
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
    fn pair_weight(&self, k: usize, p: usize) -> Option<f64> {
        match (self.weight[k], self.weight[p]) {
            (Some(x), Some(y)) => Some(x.max(y)),
            (x, y) => x.or(y),
        }
    }
}

/// A candidate partner of a relay and the evidence its blocks gave.
#[derive(Default)]
struct Candidate {
    relay: usize,
    same_address: bool,
    removed_together: bool,
    rejected_together: Option<f64>,
    join_batch: Option<f64>,
}

/// A candidate's evidence from several blocks: the best of them.
fn keep_best(evidence: &mut Option<f64>, weight: f64) {
    *evidence = Some(evidence.map_or(weight, |e| e.max(weight)));
}

/// One worker's scratch space: the candidate partners of the relay at hand.
struct Partners {
    /// Index + 1 into `list` of each relay (0: not a partner).
    slot: Vec<u32>,
    list: Vec<Candidate>,
}

impl Partners {
    fn new(n: usize) -> Self {
        Partners {
            slot: vec![0; n],
            list: Vec::new(),
        }
    }

    fn entry(&mut self, relay: usize) -> &mut Candidate {
        if self.slot[relay] == 0 {
            self.list.push(Candidate {
                relay,
                ..Candidate::default()
            });
            self.slot[relay] = self.list.len() as u32;
        }
        &mut self.list[self.slot[relay] as usize - 1]
    }

    /// Gathers the partners of `a` with a higher index.
    fn collect(
        &mut self,
        a: usize,
        profiles: &[&Profile],
        config: &AttributionConfig,
        blocks: &Blocks,
        joins: &JoinWindows,
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
            let later = members.partition_point(|&m| m as usize <= a);
            for &b in &members[later..] {
                let b = b as usize;
                match blocks.kind[block as usize] {
                    BlockKind::Address => {
                        let (pa, pb) = (&profiles[a], &profiles[b]);
                        let apart =
                            (pa.first_seen - pb.last_seen).max(pb.first_seen - pa.last_seen);
                        if apart <= near {
                            self.entry(b).same_address = true;
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
                if b <= a {
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

/// Scores candidate pairs: behaviour evidence from the blocks and the sync signals,
/// configuration likeness from each relay's values (interned, each weighted by its rarity).
struct PairScorer<'a> {
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
    fn new(profiles: &'a [&'a Profile], config: &'a AttributionConfig, blocks: &Blocks) -> Self {
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
    fn score(&self, a: usize, candidate: &Candidate) -> Option<Link> {
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
        let address = if candidate.same_address {
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
            (behaviour + config_bound) * BOUND_MARGIN < config.link_threshold
                || (behaviour * BOUND_MARGIN < config.behaviour_min
                    && config_bound * BOUND_MARGIN < config.config_only_threshold)
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
        if candidate.same_address && strongest == 0 {
            link.signals.push(Signal {
                name: "same_address",
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
        let accepted = link.score() >= config.link_threshold
            && (link.behaviour_score() >= config.behaviour_min
                || link.config_score() >= config.config_only_threshold);
        accepted.then_some(link)
    }
}

/// Merges the groups the strong signals formed (in `uf`) along the accepted links, resisting
/// the chaining of single-link clustering: two groups merge only when enough links join them
/// (one for two lone relays; otherwise at least two, and a tenth of the smaller group's
/// relays), the best-supported merges first, repeated until nothing changes; and never two
/// groups that each declare their own contact (had they declared a shared one, or a mutual
/// family, the strong signals would have joined them already).
fn merge_with_support(
    profiles: &[Profile],
    links: &BTreeMap<(usize, usize), Link>,
    uf: &mut UnionFind,
) {
    let n = profiles.len();
    let mut size = vec![0usize; n];
    let mut declares = vec![false; n];
    for (i, profile) in profiles.iter().enumerate() {
        let root = uf.find(i);
        size[root] += 1;
        declares[root] |= profile.contact.is_some();
    }
    let required = |a: usize, b: usize| -> usize {
        if a == 1 && b == 1 {
            1
        } else {
            2.max(a.min(b).div_ceil(10))
        }
    };
    loop {
        // Links and summed scores between current groups.
        let mut between: BTreeMap<(usize, usize), (usize, f64)> = BTreeMap::new();
        for (&(a, b), link) in links {
            let (ra, rb) = (uf.find(a), uf.find(b));
            if ra != rb {
                let e = between.entry((ra.min(rb), ra.max(rb))).or_default();
                e.0 += 1;
                e.1 += link.score();
            }
        }
        let mut ready: Vec<((usize, usize), f64)> = between
            .into_iter()
            .filter(|((a, b), (count, _))| *count >= required(size[*a], size[*b]))
            .map(|(key, (_, score))| (key, score))
            .collect();
        ready.sort_by(|x, y| y.1.total_cmp(&x.1).then(x.0.cmp(&y.0)));
        let mut merged = false;
        for ((a, b), _) in ready {
            let (ra, rb) = (uf.find(a), uf.find(b));
            if ra == rb || (declares[ra] && declares[rb]) {
                continue;
            }
            uf.union(ra, rb);
            let root = uf.find(ra);
            let other = if root == ra { rb } else { ra };
            size[root] += size[other];
            declares[root] |= declares[other];
            merged = true;
        }
        if !merged {
            break;
        }
    }
}

/// The result of grouping.
pub struct Grouping {
    /// Group number of each relay (index into `groups`), None for relays in no group.
    pub group_of: Vec<Option<usize>>,
    /// Members of each group (relay indices, sorted).
    pub groups: Vec<Vec<usize>>,
    /// Accepted links (i < j) with their evidence.
    pub links: BTreeMap<(usize, usize), Link>,
    /// The keys of `links` touching each relay.
    pub links_of: Vec<Vec<(usize, usize)>>,
}

/// Scores candidate pairs and groups relays.
pub fn group(profiles: &[Profile], config: &AttributionConfig) -> Grouping {
    let n = profiles.len();
    let mut uf = UnionFind::new(n);
    let mut links: BTreeMap<(usize, usize), Link> = BTreeMap::new();
    let strong = |links: &mut BTreeMap<(usize, usize), Link>,
                  uf: &mut UnionFind,
                  members: &[usize],
                  name: &'static str| {
        // A star is enough to connect them; evidence recorded on each star edge.
        for &m in &members[1..] {
            let key = (members[0].min(m), members[0].max(m));
            links.entry(key).or_default().signals.push(Signal {
                name,
                weight: config.link_threshold,
            });
            uf.union(members[0], m);
        }
    };

    // 1. Strong signals.
    let mut by_contact: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    let mut by_ed: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    let index: HashMap<&str, usize> = profiles
        .iter()
        .enumerate()
        .map(|(i, p)| (p.fingerprint.as_str(), i))
        .collect();
    for (i, p) in profiles.iter().enumerate() {
        if let Some(c) = &p.contact {
            by_contact.entry(c).or_default().push(i);
        }
        if let Some(k) = &p.ed25519 {
            by_ed.entry(k).or_default().push(i);
        }
    }
    for members in by_contact.values().filter(|m| m.len() > 1) {
        strong(&mut links, &mut uf, members, "same_contact");
    }
    for members in by_ed.values().filter(|m| m.len() > 1) {
        strong(&mut links, &mut uf, members, "same_ed25519_key");
    }
    for (i, p) in profiles.iter().enumerate() {
        for f in &p.family {
            if let Some(&j) = index.get(f.as_str()) {
                if i < j && profiles[j].family.contains(&p.fingerprint) {
                    strong(&mut links, &mut uf, &[i, j], "mutual_family");
                }
            }
        }
    }

    // 2. and 3. Candidate pairs (relays sharing a block key), each scored once from its
    // lower-numbered relay, in parallel; only the accepted links are kept. Here relays are
    // numbered by first appearance: a relay's candidates are mostly relays of its own months,
    // so the per-relay tables the scorer reads for them lie near each other in memory (in
    // fingerprint order they are spread over the whole history, and a long history's reads
    // miss the cache). A pair's evidence does not depend on which of its relays is first.
    let mut by_time: Vec<usize> = (0..n).collect();
    by_time.sort_by_key(|&i| (profiles[i].first_seen, i));
    let timed: Vec<&Profile> = by_time.iter().map(|&i| &profiles[i]).collect();
    let blocks = Blocks::of(&timed, config);
    let joins = JoinWindows::of(&timed, config);
    let scorer = PairScorer::new(&timed, config, &blocks);
    let accepted: Vec<((usize, usize), Link)> = (0..n)
        .into_par_iter()
        .map_init(
            || Partners::new(n),
            |partners, a| {
                partners.collect(a, &timed, config, &blocks, &joins);
                partners
                    .list
                    .iter()
                    .filter_map(|c| {
                        let (x, y) = (by_time[a], by_time[c.relay]);
                        scorer.score(a, c).map(|link| ((x.min(y), x.max(y)), link))
                    })
                    .collect::<Vec<_>>()
            },
        )
        .flatten_iter()
        .collect();
    for (key, link) in accepted {
        links.entry(key).or_default().signals.extend(link.signals);
    }
    merge_with_support(profiles, &links, &mut uf);

    // 4. Groups.
    let mut members_of: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for i in 0..n {
        members_of.entry(uf.find(i)).or_default().push(i);
    }
    // Groups held together by a strong signal (a declared operator) count from two relays;
    // groups found through behaviour and likeness need `min_group_relays`.
    let mut strongly_linked = vec![false; n];
    for ((a, b), link) in &links {
        if link.signals.iter().any(|s| STRONG.contains(&s.name)) {
            strongly_linked[*a] = true;
            strongly_linked[*b] = true;
        }
    }
    let mut groups: Vec<Vec<usize>> = members_of
        .into_values()
        .filter(|m| {
            m.len() >= config.min_group_relays
                || (m.len() >= 2 && m.iter().any(|&i| strongly_linked[i]))
        })
        .collect();
    groups.sort_by_key(|m| (profiles[m[0]].first_seen, m[0]));
    let mut group_of = vec![None; n];
    for (g, members) in groups.iter().enumerate() {
        for &i in members {
            group_of[i] = Some(g);
        }
    }
    let mut links_of = vec![Vec::new(); n];
    for &(a, b) in links.keys() {
        links_of[a].push((a, b));
        links_of[b].push((a, b));
    }
    Grouping {
        group_of,
        groups,
        links,
        links_of,
    }
}

/// A group's infrastructure signature: shares of its relays per value.
#[derive(Debug, Default)]
pub struct Signature {
    pub asns: BTreeMap<u32, f64>,
    pub slash16: BTreeMap<String, f64>,
    pub or_ports: BTreeMap<u32, f64>,
    pub os: BTreeMap<String, f64>,
    pub version_line: BTreeMap<String, f64>,
    pub nickname_shape: BTreeMap<String, f64>,
    pub contactless: f64,
    /// Share of the relays that were exits (an exit operator comes back with exits).
    pub exits: f64,
    /// The exit policies of its exits (empty when it has none).
    pub exit_policies: BTreeMap<String, f64>,
    /// Its number of relays.
    pub relays: usize,
}

fn version_line(v: &str) -> String {
    v.split('.').take(3).collect::<Vec<_>>().join(".")
}

pub fn signature(profiles: &[Profile], members: &[usize]) -> Signature {
    let mut s = Signature::default();
    let n = members.len().max(1) as f64;
    let bump_all = |map: &mut BTreeMap<String, f64>, values: Vec<String>| {
        let mut values = values;
        values.sort();
        values.dedup();
        for v in values {
            *map.entry(v).or_default() += 1.0 / n;
        }
    };
    for &i in members {
        let p = &profiles[i];
        let mut asns = p.asns.clone();
        asns.sort_unstable();
        asns.dedup();
        for a in asns {
            *s.asns.entry(a).or_default() += 1.0 / n;
        }
        let mut ports = p.or_ports.clone();
        ports.sort_unstable();
        ports.dedup();
        for port in ports {
            *s.or_ports.entry(port).or_default() += 1.0 / n;
        }
        bump_all(
            &mut s.slash16,
            p.addresses.iter().filter_map(|a| prefix(a, 2)).collect(),
        );
        bump_all(&mut s.os, p.os.iter().map(|o| o.to_lowercase()).collect());
        bump_all(
            &mut s.version_line,
            p.version.iter().map(|v| version_line(v)).collect(),
        );
        bump_all(&mut s.nickname_shape, vec![shape_class(&p.nickname)]);
        if p.contact.is_none() {
            s.contactless += 1.0 / n;
        }
        if p.is_exit() {
            s.exits += 1.0 / n;
            if let Some(policy) = &p.exit_policy_hash {
                *s.exit_policies.entry(policy.clone()).or_default() += 1.0 / n;
            }
        }
    }
    s.relays = members.len();
    s
}

/// How far a later group spreads over an earlier group's ASes, against how far a sample of
/// its size drawn from the earlier group's relays would: distinct shared ASes over their
/// expected number `Σ 1 − (1 − p_a)^n` (at most 1). A return wave of an actor on eight
/// hosters lands on most of them; another customer of one or two of them does not.
fn as_spread(earlier: &Signature, later: &Signature) -> Option<f64> {
    let total: f64 = earlier.asns.values().sum();
    if total <= 0.0 || later.asns.is_empty() {
        return None;
    }
    let n = later.relays.max(1) as i32;
    let expected: f64 = earlier
        .asns
        .values()
        .map(|share| 1.0 - (1.0 - share / total).powi(n))
        .sum();
    let shared = later
        .asns
        .keys()
        .filter(|a| earlier.asns.contains_key(a))
        .count() as f64;
    Some((shared / expected.max(1.0)).min(1.0))
}

/// Coarse nickname style: `default`, `prefix#`, `<hex>`, or `word`.
fn shape_class(nickname: &str) -> String {
    let lower = nickname.to_lowercase();
    if [
        "unnamed",
        "default",
        "ididnteditheconfig",
        "myrelay",
        "noname",
    ]
    .contains(&lower.as_str())
    {
        return "default".into();
    }
    let shape = nickname_shape(nickname);
    if shape.ends_with("<hex>") {
        "hex".into()
    } else if shape.ends_with('#') {
        format!("numbered:{shape}")
    } else {
        "word".into()
    }
}

/// A shared value that every group uses still earns this much of full credit.
const COMMON_VALUE_CREDIT: f64 = 0.25;

/// How rare each AS, /16 and ORPort is among the groups: `ln(G/g)/ln(G/2)` for a value that
/// `g` of the `G` groups use, at most 1 (a value only the two compared groups use counts
/// fully, one that every group uses not at all). Sharing two big hosters' ASes or port 9001
/// with a removed group is what any group would; sharing its small hosters is evidence.
#[derive(Debug, Default)]
pub struct SignatureRarity {
    asns: HashMap<u32, f64>,
    slash16: HashMap<String, f64>,
    or_ports: HashMap<u32, f64>,
}

impl SignatureRarity {
    pub fn of<'s>(signatures: impl Iterator<Item = &'s Signature> + Clone) -> SignatureRarity {
        fn rarity<K: Clone + Eq + std::hash::Hash>(
            maps: impl Iterator<Item = Vec<K>>,
            groups: f64,
        ) -> HashMap<K, f64> {
            let mut used: HashMap<K, f64> = HashMap::new();
            for keys in maps {
                for k in keys {
                    *used.entry(k).or_default() += 1.0;
                }
            }
            let scale = (groups / 2.0).ln();
            used.into_iter()
                .map(|(k, g)| {
                    let r = if scale > 0.0 {
                        ((groups / g).ln() / scale).clamp(0.0, 1.0)
                    } else {
                        1.0
                    };
                    (k, r)
                })
                .collect()
        }
        let groups = signatures.clone().count() as f64;
        SignatureRarity {
            asns: rarity(
                signatures.clone().map(|s| s.asns.keys().copied().collect()),
                groups,
            ),
            slash16: rarity(
                signatures
                    .clone()
                    .map(|s| s.slash16.keys().cloned().collect()),
                groups,
            ),
            or_ports: rarity(
                signatures.map(|s| s.or_ports.keys().copied().collect()),
                groups,
            ),
        }
    }
}

/// Share of `later`'s relays whose value the earlier group also used (weighted overlap),
/// each shared value credited by `credit` (1 = fully).
fn coverage<K: Ord>(
    earlier: &BTreeMap<K, f64>,
    later: &BTreeMap<K, f64>,
    credit: impl Fn(&K) -> f64,
) -> Option<f64> {
    if later.is_empty() || earlier.is_empty() {
        return None;
    }
    let total: f64 = later.values().sum();
    let covered: f64 = later
        .iter()
        .filter(|(k, _)| earlier.contains_key(k))
        .map(|(k, v)| v * credit(k))
        .fold(0.0, |a, b| a + b);
    Some((covered / total).min(1.0))
}

/// How much two distributions of values overlap: `Σ min(p_k, q_k)` over their shares (a policy
/// one of fifty removed exits used is not the group's policy).
fn overlap<K: Ord>(earlier: &BTreeMap<K, f64>, later: &BTreeMap<K, f64>) -> Option<f64> {
    let (te, tl): (f64, f64) = (earlier.values().sum(), later.values().sum());
    if te <= 0.0 || tl <= 0.0 {
        return None;
    }
    Some(
        later
            .iter()
            .filter_map(|(k, v)| Some((v / tl).min(earlier.get(k)? / te)))
            .sum(),
    )
}

/// Full credit for every shared value.
fn full_credit<K>(_: &K) -> f64 {
    1.0
}

/// Weights of the AS, /16 and ORPort components, in the similarity and in the rare shared
/// infrastructure alike.
const ASNS_WEIGHT: f64 = 3.0;
const SLASH16_WEIGHT: f64 = 1.0;
const OR_PORTS_WEIGHT: f64 = 1.5;
/// The exits' policies weigh this many times `weights.exit_policy` in the similarity (4 by
/// default: a policy written by hand says more of its operator than its hosters do; 0 in
/// the `exit_policy` ablation).
const EXIT_POLICIES_PER_WEIGHT: f64 = 2.0;

/// The credit of a shared value of rarity `r` (unknown values count as rare).
fn rare_credit<K: Eq + std::hash::Hash>(rarity: &HashMap<K, f64>, k: &K) -> f64 {
    let r = rarity.get(k).copied().unwrap_or(1.0);
    COMMON_VALUE_CREDIT + (1.0 - COMMON_VALUE_CREDIT) * r
}

/// Similarity of a later group to an earlier one, with its components (every shared value
/// counted fully), and how much of the later group's infrastructure (ASes, /16s, ORPorts) the
/// earlier group used, each shared value credited by its `rarity` among the groups: any
/// contactless Linux group resembles a removed one in OS, version, nickname style and contact
/// status, and shares big hosters and port 9001 with it; only the rare infrastructure it
/// shares says it is the same operator.
pub fn signature_similarity(
    earlier: &Signature,
    later: &Signature,
    rarity: &SignatureRarity,
    config: &AttributionConfig,
) -> (f64, f64, Vec<(String, f64)>) {
    // The ASes count as far as the later group spreads over them.
    let spread = as_spread(earlier, later);
    let spread_over = |c: Option<f64>| Some(c? * spread.unwrap_or(1.0));
    let infrastructure: Vec<(f64, Option<f64>)> = vec![
        (
            ASNS_WEIGHT,
            spread_over(coverage(&earlier.asns, &later.asns, |k| {
                rare_credit(&rarity.asns, k)
            })),
        ),
        (
            SLASH16_WEIGHT,
            coverage(&earlier.slash16, &later.slash16, |k| {
                rare_credit(&rarity.slash16, k)
            }),
        ),
        (
            OR_PORTS_WEIGHT,
            coverage(&earlier.or_ports, &later.or_ports, |k| {
                rare_credit(&rarity.or_ports, k)
            }),
        ),
    ];
    let components: Vec<(&str, f64, Option<f64>)> = vec![
        (
            "asns",
            ASNS_WEIGHT,
            spread_over(coverage(&earlier.asns, &later.asns, full_credit)),
        ),
        (
            "slash16",
            SLASH16_WEIGHT,
            coverage(&earlier.slash16, &later.slash16, full_credit),
        ),
        (
            "or_ports",
            OR_PORTS_WEIGHT,
            coverage(&earlier.or_ports, &later.or_ports, full_credit),
        ),
        ("os", 1.0, coverage(&earlier.os, &later.os, full_credit)),
        (
            "version_line",
            1.0,
            coverage(&earlier.version_line, &later.version_line, full_credit),
        ),
        (
            "nickname_style",
            1.5,
            coverage(&earlier.nickname_shape, &later.nickname_shape, full_credit),
        ),
        (
            "contact_status",
            2.0,
            Some(1.0 - (earlier.contactless - later.contactless).abs()),
        ),
        (
            "exit_status",
            2.0,
            Some(1.0 - (earlier.exits - later.exits).abs()),
        ),
        (
            "exit_policies",
            EXIT_POLICIES_PER_WEIGHT * config.weights.exit_policy,
            overlap(&earlier.exit_policies, &later.exit_policies),
        ),
    ];
    let mean = |parts: &[(f64, Option<f64>)]| {
        let (total, weight) = parts
            .iter()
            .filter_map(|(w, v)| v.map(|v| (w * v, *w)))
            .fold((0.0, 0.0), |(t, w), (a, b)| (t + a, w + b));
        if weight > 0.0 {
            total / weight
        } else {
            0.0
        }
    };
    let similarity = mean(
        &components
            .iter()
            .map(|(_, w, v)| (*w, *v))
            .collect::<Vec<_>>(),
    );
    let rare_shared = mean(&infrastructure);
    let mut parts: Vec<(String, f64)> = components
        .into_iter()
        .filter_map(|(name, _, v)| Some((name.to_string(), v?)))
        .collect();
    if let Some(spread) = spread {
        parts.push(("as_spread".to_string(), spread));
    }
    parts.push(("rare_infrastructure".to_string(), rare_shared));
    (similarity, rare_shared, parts)
}

/// Whether a later group (or a join burst) with this signature similarity and rare shared
/// infrastructure continues the removed group.
fn is_return(similarity: f64, rare_shared: f64, config: &AttributionConfig) -> bool {
    similarity >= config.return_similarity && rare_shared >= config.return_min_rare_infrastructure
}

/// A later group's match with an earlier, removed group.
#[derive(Debug, Clone)]
pub struct ReturnMatch {
    pub earlier: usize,
    pub similarity: f64,
    /// Each signature component's value.
    pub components: Vec<(String, f64)>,
    /// For a group made of a join burst after the removal: the burst.
    pub burst: Option<Burst>,
}

/// For each group, the earlier removed group it continues (by signature), if any. Then, for
/// each removal in time order, the relays of the removed group's kind left in no group that
/// joined in a burst after it ([`burst::find`]) become a group of their own that continues
/// the removed group when their signature matches it (appended to `grouping`).
pub fn link_across_removals(
    profiles: &[Profile],
    grouping: &mut Grouping,
    config: &AttributionConfig,
) -> Vec<Option<ReturnMatch>> {
    let groups = &grouping.groups;
    let signatures: Vec<Signature> = groups.iter().map(|m| signature(profiles, m)).collect();
    // When each group appeared: by the time half of its relays had (a few survivors of a
    // partial removal that joined the return wave do not make it "earlier").
    let appeared: Vec<i64> = groups
        .iter()
        .map(|members| {
            let mut starts: Vec<i64> = members.iter().map(|&i| profiles[i].first_seen).collect();
            starts.sort_unstable();
            starts[(starts.len() - 1) / 2]
        })
        .collect();
    // Infrastructure is as rare as it is among the groups in the network in the rarity window
    // in which the later group appeared.
    let windows = RarityWindows::of(profiles, config);
    let window_of: Vec<usize> = appeared.iter().map(|&t| windows.at(t)).collect();
    let present: Vec<std::ops::RangeInclusive<usize>> = groups
        .iter()
        .map(|members| {
            let first = members.iter().map(|&i| profiles[i].first_seen).min();
            let last = members.iter().map(|&i| profiles[i].last_seen).max();
            windows.at(first.unwrap_or(0))..=windows.at(last.unwrap_or(0))
        })
        .collect();
    let rarity: Vec<SignatureRarity> = (0..present.iter().map(|r| r.end() + 1).max().unwrap_or(0))
        .map(|w| {
            SignatureRarity::of(
                signatures
                    .iter()
                    .zip(&present)
                    .filter(move |(_, windows)| windows.contains(&w))
                    .map(|(s, _)| s),
            )
        })
        .collect();
    // Removal times of each group (events in which at least half of the relays it had
    // running then were removed is approximated by: at least min_group_relays removed).
    let removals: Vec<Vec<i64>> = groups
        .iter()
        .map(|members| {
            let mut counts: BTreeMap<i64, usize> = BTreeMap::new();
            for &i in members {
                for &t in &profiles[i].removed_in {
                    *counts.entry(t).or_default() += 1;
                }
            }
            counts
                .into_iter()
                .filter(|&(_, c)| c >= config.min_group_relays)
                .map(|(t, _)| t)
                .collect()
        })
        .collect();
    // Every removal of a group, by time: a later group looks only at the removals of the
    // `return_window_days` before it appeared (not at every earlier group).
    let mut by_time: Vec<(i64, usize)> = removals
        .iter()
        .enumerate()
        .flat_map(|(g, times)| times.iter().map(move |&t| (t, g)))
        .collect();
    by_time.sort_unstable();
    let window = i64::from(config.return_window_days) * DAY_MS;
    let mut result = vec![None; groups.len()];
    for later in 0..groups.len() {
        let first = appeared[later];
        let from = by_time.partition_point(|&(t, _)| t < first - window);
        let to = by_time.partition_point(|&(t, _)| t <= first);
        let mut earlier_groups: Vec<usize> = by_time[from..to]
            .iter()
            .map(|&(_, g)| g)
            .filter(|&g| g != later)
            .collect();
        earlier_groups.sort_unstable();
        earlier_groups.dedup();
        let mut best: Option<ReturnMatch> = None;
        for earlier in earlier_groups {
            let (similarity, rare_shared, parts) = signature_similarity(
                &signatures[earlier],
                &signatures[later],
                &rarity[window_of[later]],
                config,
            );
            if is_return(similarity, rare_shared, config)
                && best.as_ref().is_none_or(|b| similarity > b.similarity)
            {
                best = Some(ReturnMatch {
                    earlier,
                    similarity,
                    components: parts,
                    burst: None,
                });
            }
        }
        result[later] = best;
    }

    // Return waves that formed no group: join bursts of the removed group's kind.
    let mut grouped: Vec<bool> = grouping.group_of.iter().map(Option::is_some).collect();
    for &(removed_at, earlier) in &by_time {
        let removed = &signatures[earlier];
        let asns: Vec<u32> = removed.asns.keys().copied().collect();
        let rarity = &rarity[windows.at(removed_at).min(rarity.len() - 1)];
        let resembles = |i: usize| {
            let (similarity, _, _) =
                signature_similarity(removed, &signature(profiles, &[i]), rarity, config);
            similarity >= config.return_similarity
        };
        let kind = burst::Kind {
            exit: removed.exits >= 0.5,
            contactless: removed.contactless >= 0.5,
            asns: &asns,
            resembles: &resembles,
        };
        let Some(found) = burst::find(profiles, &grouped, &kind, removed_at, config) else {
            continue;
        };
        let wave = signature(profiles, &found.members);
        let (similarity, rare_shared, parts) = signature_similarity(removed, &wave, rarity, config);
        if !is_return(similarity, rare_shared, config) {
            continue;
        }
        let g = grouping.groups.len();
        let mut members = found.members.clone();
        members.sort_unstable();
        for &m in &members {
            grouped[m] = true;
            grouping.group_of[m] = Some(g);
        }
        grouping.groups.push(members);
        result.push(Some(ReturnMatch {
            earlier,
            similarity,
            components: parts,
            burst: Some(found),
        }));
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shares<K: Ord + Clone>(values: &[K]) -> BTreeMap<K, f64> {
        let mut map = BTreeMap::new();
        for v in values {
            *map.entry(v.clone()).or_default() += 1.0 / values.len() as f64;
        }
        map
    }

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
    fn configuration_signals_are_listed_in_name_order() {
        let mut sorted = CONFIG_SIGNALS;
        sorted.sort_unstable();
        assert_eq!(
            sorted, CONFIG_SIGNALS,
            "links list their signals in name order"
        );
        assert_eq!(CONFIG_SIGNALS[NICKNAME_SHAPE], "nickname_shape");
        assert_eq!(CONFIG_SIGNALS[SIMILAR_NICKNAME], "similar_nickname");
        let nested = NESTED_LOCATION.map(|k| CONFIG_SIGNALS[k]);
        assert_eq!(nested, ["same_slash24", "same_slash16", "same_as"]);
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

    /// Three relays on one address among 40 with addresses, ports and versions of their own:
    /// the two that ran at the same time are linked by `same_address`, the one that took the
    /// address a year later is linked to neither.
    #[test]
    fn one_address_links_relays_near_in_time_only() {
        const DAY: i64 = 86_400_000;
        let mut profiles: Vec<Profile> = (0..40)
            .map(|i| Profile {
                fingerprint: format!("{i:040X}"),
                first_seen: 0,
                last_seen: 30 * DAY,
                nickname: format!("filler{i}x{}", i * 7),
                contact: Some(format!("operator {i}")),
                addresses: vec![format!("198.{i}.{i}.1")],
                version: Some(format!("0.4.{i}.1")),
                or_ports: vec![1000 + i],
                ..Profile::default()
            })
            .collect();
        for (k, first_seen) in [(37, 0), (38, 5 * DAY), (39, 400 * DAY)] {
            let p = &mut profiles[k];
            p.addresses = vec!["203.0.113.5".to_string()];
            p.first_seen = first_seen;
            p.last_seen = first_seen + 20 * DAY;
            p.or_ports = vec![9001];
            p.version = Some("0.4.9.9".to_string());
            p.contact = None;
        }
        let grouping = super::group(&profiles, &AttributionConfig::default());
        let names = |a: usize, b: usize| -> Vec<&str> {
            grouping
                .links
                .get(&(a, b))
                .map_or(Vec::new(), |l| l.signals.iter().map(|s| s.name).collect())
        };
        assert!(
            names(37, 38).contains(&"same_address"),
            "{:?}",
            names(37, 38)
        );
        assert!(
            grouping.links_of[39].is_empty(),
            "{:?}",
            grouping.links_of[39]
        );
    }

    /// Two contactless relays sharing a /24, a version, a port and restart hours among 40
    /// relays of their year: the evidence between them is the same when nine later years of
    /// unrelated relays follow (rarity is counted among the relays of a window), and it would
    /// not be with one window over the whole history (`ln(N)` grows with it).
    #[test]
    fn a_pairs_evidence_does_not_depend_on_the_length_of_the_history() {
        const DAY: i64 = 86_400_000;
        let relay = |i: u32, first_seen: i64| Profile {
            fingerprint: format!("{i:040X}"),
            first_seen,
            last_seen: first_seen + 200 * DAY,
            nickname: format!("filler{i}x{}", i * 7),
            contact: Some(format!("operator {i}")),
            addresses: vec![format!("{}.{}.{}.1", 11 + i / 250, i % 250, i / 7)],
            version: Some(format!("0.4.{}.{}", i % 9, i % 5)),
            or_ports: vec![1000 + i],
            restarts: [first_seen + i64::from(i % 24 + 1) * HOUR_MS].into(),
            ..Profile::default()
        };
        let mut year: Vec<Profile> = (0..40)
            .map(|i| relay(i, (i64::from(i) % 30) * DAY))
            .collect();
        for (k, address) in [(37, "203.0.113.5"), (38, "203.0.113.77")] {
            let p = &mut year[k];
            p.addresses = vec![address.to_string()];
            p.or_ports = vec![9001];
            p.version = Some("0.4.9.9".to_string());
            p.contact = None;
            p.restarts = [10, 50, 90].iter().map(|d| d * DAY).collect();
        }
        let decade: Vec<Profile> = year
            .iter()
            .cloned()
            .chain((40..400).map(|i| relay(i, (400 + 37 * i64::from(i - 40) % 3285) * DAY)))
            .collect();
        let evidence =
            |profiles: &[Profile], config: &AttributionConfig| -> Vec<(&'static str, f64)> {
                let grouping = super::group(profiles, config);
                let link = grouping.links.get(&(37, 38)).expect("the pair links");
                link.signals.iter().map(|s| (s.name, s.weight)).collect()
            };
        let config = AttributionConfig::default();
        let in_its_year = evidence(&year, &config);
        assert!(
            in_its_year.iter().any(|(name, _)| *name == "same_slash24"),
            "{in_its_year:?}"
        );
        assert_eq!(evidence(&decade, &config), in_its_year);
        let whole_history = AttributionConfig {
            rarity_window_days: 100_000,
            ..AttributionConfig::default()
        };
        assert_eq!(evidence(&year, &whole_history), in_its_year);
        assert_ne!(evidence(&decade, &whole_history), in_its_year);
    }

    /// One removal event of 30 relays that share nothing else (different hosters, versions,
    /// ports, nicknames): the 12 the authorities rejected (their votes dropped them first)
    /// become one group when they declare no operator; rejected with as many contacts as
    /// relays (a policy rejection, end-of-life versions say), and the relays that merely
    /// left in the same hour, link nothing.
    #[test]
    fn relays_the_authorities_rejected_together_link_unless_they_declare_many_operators() {
        const DAY: i64 = 86_400_000;
        let event = 40 * DAY;
        let relays = |contacts: bool| -> Vec<Profile> {
            (0..30u32)
                .map(|i| Profile {
                    fingerprint: format!("{i:040X}"),
                    first_seen: i64::from(i) * DAY,
                    last_seen: event - HOUR_MS,
                    nickname: format!("n{i}q{}", i * 31 % 97),
                    contact: (contacts && i < 12).then(|| format!("operator {i}")),
                    addresses: vec![format!("{}.{}.7.1", 20 + i, i * 3)],
                    version: Some(format!("0.4.{}.{}", i % 7, i % 11)),
                    or_ports: vec![2000 + i],
                    removed_in: vec![event],
                    rejected_in: if i < 12 { vec![event] } else { Vec::new() },
                    ..Profile::default()
                })
                .collect()
        };
        let config = AttributionConfig::default();
        let contactless = super::group(&relays(false), &config);
        assert_eq!(contactless.groups.len(), 1, "{:?}", contactless.groups);
        assert_eq!(contactless.groups[0], (0..12).collect::<Vec<usize>>());
        let link = &contactless.links[&(0, 1)];
        assert!(link.signals.iter().any(|s| s.name == "rejected_together"));
        let policy = super::group(&relays(true), &config);
        assert!(policy.groups.is_empty(), "{:?}", policy.groups);
    }

    /// The join evidence `a` (the lower number) gathers for its partner `b`.
    fn join_weight(profiles: &[Profile], a: usize, b: usize) -> Option<f64> {
        let config = AttributionConfig::default();
        let profiles: Vec<&Profile> = profiles.iter().collect();
        let blocks = Blocks::of(&profiles, &config);
        let joins = JoinWindows::of(&profiles, &config);
        let mut partners = Partners::new(profiles.len());
        partners.collect(a, &profiles, &config, &blocks, &joins);
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

    fn group(asns: &[u32], ports: &[u32]) -> Signature {
        Signature {
            asns: shares(asns),
            or_ports: shares(ports),
            os: shares(&["linux".to_string()]),
            version_line: shares(&["0.4.8".to_string()]),
            nickname_shape: shares(&["word".to_string()]),
            contactless: 1.0,
            ..Signature::default()
        }
    }

    /// A removed group on ten hosters (two of them the network's biggest); an unrelated
    /// contactless group on the two big hosters with port 9001, like forty other groups;
    /// the real return wave on eight of the small hosters. Counting every shared value fully,
    /// both pass `return_similarity` (the issue measured 0.909 for such a group); credited by
    /// rarity, only the return wave's shared infrastructure passes.
    #[test]
    fn common_hosters_and_ports_do_not_make_a_return() {
        let removed = group(
            &[1, 2, 101, 102, 103, 104, 105, 106, 107, 108],
            &[9001, 443, 9100],
        );
        let unrelated = group(&[1, 2, 1, 2, 1, 2, 1, 2], &[9001]);
        let wave = group(
            &[101, 102, 103, 104, 105, 106, 107, 108, 1],
            &[9001, 443, 9100],
        );
        let mut all = vec![removed, unrelated, wave];
        for k in 0..40 {
            all.push(group(&[1 + k % 2, 200 + k], &[9001, 443]));
        }
        let rarity = SignatureRarity::of(all.iter());
        let config = AttributionConfig::default();
        let (similarity, rare, parts) = signature_similarity(&all[0], &all[1], &rarity, &config);
        assert!(similarity >= config.return_similarity, "{similarity}");
        assert!(rare < config.return_min_rare_infrastructure, "{parts:?}");
        let (similarity, rare, parts) = signature_similarity(&all[0], &all[2], &rarity, &config);
        assert!(similarity >= config.return_similarity, "{parts:?}");
        assert!(rare >= config.return_min_rare_infrastructure, "{parts:?}");
    }

    /// A removed contactless group on eight hosters; ten relays of another operator on two of
    /// them (its port, its version line, its own nicknames) against ten relays of the return
    /// wave spread over seven: the same hosters, but only the wave spreads over them as the
    /// group did; and exits of the default policy on two of an unusual-policy exit group's
    /// three hosters are no return of it.
    #[test]
    fn another_customer_of_the_same_hosters_is_no_return() {
        let config = AttributionConfig::default();
        let hosters = [101, 102, 103, 104, 105, 106, 107, 108];
        let removed = Signature {
            relays: 80,
            nickname_shape: shares(&["default".to_string()]),
            ..group(&hosters, &[9001, 443])
        };
        let customer = Signature {
            relays: 10,
            ..group(&[101, 101, 101, 101, 101, 102, 102, 102, 102, 102], &[9001])
        };
        let wave = Signature {
            relays: 10,
            nickname_shape: shares(&["default".to_string()]),
            ..group(
                &[101, 102, 103, 104, 105, 106, 107, 101, 102, 103],
                &[9001, 443],
            )
        };
        let mut all = vec![removed, customer, wave];
        for k in 0..20 {
            all.push(group(&[1 + k % 2, 200 + k], &[9001]));
        }
        let rarity = SignatureRarity::of(all.iter());
        let (of_customer, _, parts) = signature_similarity(&all[0], &all[1], &rarity, &config);
        assert!(of_customer < config.return_similarity, "{parts:?}");
        let (of_wave, _, parts) = signature_similarity(&all[0], &all[2], &rarity, &config);
        assert!(of_wave >= config.return_similarity, "{parts:?}");

        let exits = |policy: &str, asns: &[u32]| Signature {
            relays: 10,
            exits: 1.0,
            exit_policies: shares(&[policy.to_string()]),
            ..group(asns, &[9001, 443])
        };
        let (removed, honest, returned) = (
            exits("unusual", &[101, 102, 103]),
            exits("default", &[101, 102, 101, 102]),
            exits("unusual", &[101, 102, 103]),
        );
        let mut all = vec![removed, honest, returned];
        for k in 0..20 {
            all.push(group(&[1 + k % 2, 200 + k], &[9001]));
        }
        let rarity = SignatureRarity::of(all.iter());
        let (of_honest, _, parts) = signature_similarity(&all[0], &all[1], &rarity, &config);
        let (of_returned, _, _) = signature_similarity(&all[0], &all[2], &rarity, &config);
        assert!(of_honest < of_returned, "{parts:?}");
        assert!(of_honest < config.return_similarity, "{parts:?}");
    }

    /// Two removed groups on the same hosters and ports, one of exits, one of guards and
    /// middles, and a later wave of exits there: the wave continues the exit group (in the
    /// 29-month study a KAX17-like group's removal claimed an exit actor's return wave before
    /// the signature compared exit status).
    #[test]
    fn an_exit_group_returns_as_exits() {
        let exits = |asns: &[u32]| Signature {
            exits: 1.0,
            ..group(asns, &[9001, 443])
        };
        let removed_exits = exits(&[101, 102, 103]);
        let removed_middles = group(&[101, 102, 103], &[9001, 443]);
        let wave = exits(&[101, 102, 103]);
        let mut all = vec![removed_exits, removed_middles, wave];
        for k in 0..20 {
            all.push(group(&[1 + k % 2, 200 + k], &[9001]));
        }
        let rarity = SignatureRarity::of(all.iter());
        let config = AttributionConfig::default();
        let (of_exits, _, parts) = signature_similarity(&all[0], &all[2], &rarity, &config);
        assert!(of_exits >= config.return_similarity, "{parts:?}");
        let (of_middles, _, parts) = signature_similarity(&all[1], &all[2], &rarity, &config);
        assert!(of_middles < of_exits, "{parts:?}");
    }
}
