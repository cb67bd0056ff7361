//! The simulated network as data: relays, their descriptors, actors and families, and the
//! ground-truth events (removals, return waves, outages, missing consensus hours), with the
//! queries the renderers ask of it ([`World`]). The simulation fills it in; nothing here
//! produces text.

use std::collections::HashSet;

use super::intervals::interval_contains;
use super::policy::Policy;
use super::scenario::Clock;
use super::time::{Ts, HOUR};
use super::versions::VersionHabit;

/// One relay identity (one RSA fingerprint).
#[derive(Debug, Clone)]
pub struct Relay {
    pub fp: [u8; 20],
    pub signing_der: [u8; 140],
    pub master_ed: [u8; 32],
    /// Seed of everything derived per descriptor/epoch (keys, signatures).
    pub key_seed: u64,
    pub nickname: String,
    /// Index into [`World::actors`] (planted actors and honest families).
    pub actor: Option<usize>,
    pub wave: Option<u32>,
    /// Index into [`World::families`].
    pub family: Option<usize>,
    pub family_lists_self: bool,
    pub asn: u32,
    /// (from time, IPv4) – the first entry is the initial address.
    pub addrs: Vec<(Ts, u32)>,
    pub ipv6: Option<String>,
    pub exit_addr: Option<u32>,
    pub or_port: u16,
    pub dir_port: u16,
    pub os: &'static str,
    pub contact: Option<String>,
    pub policy: Policy,
    pub capacity_kbs: f64,
    pub rate: (u64, u64),
    pub habit: VersionHabit,
    pub dircache: bool,
    pub flaky: bool,
    pub dynamic_ip: bool,
    pub birth: i64,
    pub death: i64,
    /// Presence hours [a, b), sorted, disjoint (before removing missing consensus hours).
    pub up: Vec<(i64, i64)>,
    /// Tor process lifetimes [start, end) in seconds.
    pub procs: Vec<(Ts, Ts)>,
    /// Hour from which bandwidth is measured (before: `Unmeasured=1`).
    pub measured_from: i64,
    /// (from hour, consensus weight).
    pub weights: Vec<(i64, u32)>,
    /// Range of this relay's descriptors in [`World::descs`].
    pub descs: (usize, usize),
    pub hard_negative: Option<&'static str>,
}

/// One server descriptor publication.
#[derive(Debug, Clone)]
pub struct Desc {
    pub relay: usize,
    pub published: Ts,
    pub proc_start: Ts,
    pub version: usize,
    pub addr: u32,
    pub observed: u64,
    pub digest: [u8; 20],
}

/// An actor or honest family as listed in `actors.json`.
#[derive(Debug, Clone)]
pub struct ActorInfo {
    pub id: String,
    pub kind: String,
    pub contact: Option<String>,
    pub description: String,
}

#[derive(Debug, Clone)]
pub struct RemovalEvent {
    pub actor: usize,
    /// The first hour without some of the relays...
    pub hour: i64,
    /// ...and the number of consecutive hours over which they went.
    pub consensuses: i64,
    pub relays: Vec<usize>,
    /// The operator switched them off (no authority rejected them).
    pub by_operator: bool,
}

#[derive(Debug, Clone)]
pub struct ReturnWave {
    pub actor: usize,
    pub after_hour: i64,
    pub relays: Vec<usize>,
}

#[derive(Debug, Clone)]
pub struct Outage {
    pub asn: u32,
    pub start: i64,
    pub end: i64,
    pub relays: Vec<usize>,
}

/// Everything the renderers and the ground truth need.
#[derive(Debug)]
pub struct World {
    pub seed: u64,
    pub clock: Clock,
    pub relays: Vec<Relay>,
    /// Relay indices sorted by fingerprint (consensus order).
    pub by_fp: Vec<usize>,
    pub descs: Vec<Desc>,
    pub actors: Vec<ActorInfo>,
    pub families: Vec<Vec<usize>>,
    pub removals: Vec<RemovalEvent>,
    pub returns: Vec<ReturnWave>,
    pub outages: Vec<Outage>,
    /// Sorted hours without a consensus.
    pub missing: Vec<i64>,
    pub missing_set: HashSet<i64>,
}

impl World {
    /// valid-after of hour `h`.
    pub fn va(&self, h: i64) -> Ts {
        self.clock.start + h * HOUR
    }

    pub fn hours(&self) -> i64 {
        self.clock.hours
    }

    /// Whether hour `h` has a consensus.
    pub fn published(&self, h: i64) -> bool {
        (0..self.clock.hours).contains(&h) && !self.missing_set.contains(&h)
    }

    /// Whether relay `r` is running at hour `h`.
    pub fn present(&self, r: usize, h: i64) -> bool {
        interval_contains(&self.relays[r].up, h)
    }

    /// Latest descriptor of `r` published strictly before `t`.
    pub fn desc_before(&self, r: usize, t: Ts) -> Option<usize> {
        let (a, b) = self.relays[r].descs;
        let n = self.descs[a..b].partition_point(|d| d.published < t);
        (n > 0).then(|| a + n - 1)
    }

    /// Consensus weight of `r` at hour `h` and whether it is measured.
    pub fn weight(&self, r: usize, h: i64, observed: u64) -> (u32, bool) {
        let rel = &self.relays[r];
        if h < rel.measured_from || rel.weights.is_empty() {
            return (((observed / 1000) as u32).clamp(1, 20), false);
        }
        let n = rel.weights.partition_point(|w| w.0 <= h);
        (rel.weights[n.saturating_sub(1)].1, true)
    }

    /// The IPv4 address of `r` at time `t`.
    pub fn addr_at(&self, r: usize, t: Ts) -> u32 {
        let a = &self.relays[r].addrs;
        let n = a.partition_point(|x| x.0 <= t);
        a[n.saturating_sub(1)].1
    }
}

/// Whether an actor kind of the ground truth is an honest operator (with mutual family, or a
/// contactless group declaring nothing) rather than a planted actor.
pub fn is_honest(kind: &str) -> bool {
    matches!(kind, "honest-family" | "honest-group")
}
