//! The presence pass: one sequential walk over every consensus entry, month by month, that
//! cuts each relay's history into sessions and counts flag changes per consensus.
//!
//! Consensuses are numbered in time order (`cidx`). A relay's consecutive entries belong to
//! one session when their numbers are consecutive and no gap of the data lies between them
//! (see [`super::coverage`]): a missing consensus within `max_gap_hours` has no number, so it
//! never splits a session, a consensus that exists and lacks the relay does, and so does a
//! longer gap (the session ends at the last consensus before it, censored, and a new one
//! starts after it). Entries arrive sorted by (fingerprint, time) within a month; the state
//! of each relay carries over to the next month.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use anyhow::{bail, Result};
use polars::prelude::*;
use smallvec::SmallVec;

use super::columns::build_string_lists;
use super::coverage::Coverage;
use crate::util::time::HOUR_MS;

/// Relay flags tracked as bits of a mask (counts and churn per flag).
pub const FLAGS: [&str; 16] = [
    "Authority",
    "BadExit",
    "Exit",
    "Fast",
    "Guard",
    "HSDir",
    "MiddleOnly",
    "Named",
    "NoEdConsensus",
    "Running",
    "Stable",
    "StaleDesc",
    "Sybil",
    "Unnamed",
    "V2Dir",
    "Valid",
];

/// The bit of a flag in [`FLAGS`].
pub fn flag_bit(name: &str) -> u32 {
    1 << FLAGS.iter().position(|f| *f == name).expect("known flag")
}

/// The flag names set in a mask, in [`FLAGS`] order.
pub fn flag_names(mask: u32) -> Vec<&'static str> {
    FLAGS
        .iter()
        .enumerate()
        .filter(|(i, _)| mask & (1 << i) != 0)
        .map(|(_, f)| *f)
        .collect()
}

/// Path-selection shares of a relay in one consensus (Onionoo's definitions).
#[derive(Debug, Clone, Copy, Default)]
pub struct Shares {
    pub consensus_weight_fraction: Option<f64>,
    pub guard_probability: Option<f64>,
    pub middle_probability: Option<f64>,
    pub exit_probability: Option<f64>,
}

impl Shares {
    /// The higher of each share (a missing share loses).
    pub fn max(&self, other: &Shares) -> Shares {
        Shares {
            consensus_weight_fraction: max_opt(
                self.consensus_weight_fraction,
                other.consensus_weight_fraction,
            ),
            guard_probability: max_opt(self.guard_probability, other.guard_probability),
            middle_probability: max_opt(self.middle_probability, other.middle_probability),
            exit_probability: max_opt(self.exit_probability, other.exit_probability),
        }
    }
}

/// The distinct values a session saw, in order (one, in most sessions, held inline).
pub type Seen<T> = SmallVec<[T; 1]>;

/// One continuous presence of a fingerprint. Its texts are shared with every other session
/// holding the same value (see [`Presence::intern`]): a decade holds tens of millions of
/// sessions.
#[derive(Debug, Clone)]
pub struct Session {
    pub fingerprint: Arc<str>,
    /// Consensus numbers of the first and last consensus listing the relay.
    pub start: u32,
    pub end: u32,
    pub hours: u32,
    /// Whether this is the relay's first session (its start is a join, else a return).
    pub first_of_relay: bool,
    pub nicknames: Seen<Arc<str>>,
    pub addresses: Seen<Arc<str>>,
    pub or_ports: SmallVec<[u16; 4]>,
    pub versions: Seen<Arc<str>>,
    /// Every flag held at some time in the session.
    pub flags_ever: u32,
    pub first_flags: u32,
    pub last_flags: u32,
    pub last_nickname: Option<Arc<str>>,
    pub last_address: Option<Arc<str>>,
    pub last_or_port: Option<u16>,
    pub last_version: Option<Arc<str>>,
    pub last_bandwidth: Option<i64>,
    pub max_bandwidth: Option<i64>,
    /// Shares in the session's last consensus.
    pub last_shares: Shares,
    /// Highest shares over the session.
    pub peak_shares: Shares,
}

/// Per consensus counts of flag changes inside sessions (boundaries are derived from the
/// sessions themselves).
#[derive(Debug, Clone, Default)]
pub struct FlagChanges {
    pub gained: [u32; FLAGS.len()],
    pub lost: [u32; FLAGS.len()],
}

/// Per consensus totals.
#[derive(Debug, Clone, Default)]
pub struct ConsensusTotals {
    pub relays: u32,
    pub per_flag: [u32; FLAGS.len()],
    pub consensus_weight: i64,
    pub changes: FlagChanges,
}

struct RelayState {
    last_cidx: u32,
    last_flags: u32,
    session: usize,
}

/// The pass's accumulated result.
pub struct Presence {
    /// `valid_after` (ms) of each consensus number.
    pub times: Vec<i64>,
    /// The segments of `times`.
    pub coverage: Coverage,
    pub sessions: Vec<Session>,
    pub totals: Vec<ConsensusTotals>,
    relays: HashMap<Arc<str>, RelayState>,
    /// Every distinct fingerprint, nickname, address and version seen, stored once.
    texts: HashSet<Arc<str>>,
}

/// Columns a month frame must provide (see `jobs::month_frame`).
pub const PASS_COLUMNS: [&str; 12] = [
    "fingerprint",
    "cidx",
    "flag_mask",
    "bandwidth",
    "nickname",
    "address",
    "or_port",
    "version",
    "consensus_weight_fraction",
    "guard_probability",
    "middle_probability",
    "exit_probability",
];

/// Appends `value` unless `values` holds it already (lists of a few values: a linear search).
pub fn push_distinct<A: smallvec::Array>(values: &mut SmallVec<A>, value: A::Item)
where
    A::Item: PartialEq,
{
    if !values.contains(&value) {
        values.push(value);
    }
}

fn max_opt<T: PartialOrd + Copy>(a: Option<T>, b: Option<T>) -> Option<T> {
    match (a, b) {
        (Some(x), Some(y)) => Some(if y > x { y } else { x }),
        (x, None) => x,
        (None, y) => y,
    }
}

impl Presence {
    pub fn new(times: Vec<i64>, coverage: Coverage) -> Self {
        let totals = vec![ConsensusTotals::default(); times.len()];
        Presence {
            times,
            coverage,
            sessions: Vec::new(),
            totals,
            relays: HashMap::new(),
            texts: HashSet::new(),
        }
    }

    /// The shared copy of a text.
    fn intern(texts: &mut HashSet<Arc<str>>, text: &str) -> Arc<str> {
        match texts.get(text) {
            Some(shared) => shared.clone(),
            None => {
                let shared: Arc<str> = Arc::from(text);
                texts.insert(shared.clone());
                shared
            }
        }
    }

    /// Adds one month of entries, sorted by fingerprint then time.
    pub fn add_month(&mut self, frame: &DataFrame, label: &str) -> Result<()> {
        let fingerprints = frame.column("fingerprint")?.str()?;
        let cidxs = frame.column("cidx")?.u32()?;
        let masks = frame.column("flag_mask")?.u32()?;
        let bandwidths = frame.column("bandwidth")?.i64()?;
        let nicknames = frame.column("nickname")?.str()?;
        let addresses = frame.column("address")?.str()?;
        let or_ports = frame.column("or_port")?.u16()?;
        let versions = frame.column("version")?.str()?;
        let cwf = frame.column("consensus_weight_fraction")?.f64()?;
        let gp = frame.column("guard_probability")?.f64()?;
        let mp = frame.column("middle_probability")?.f64()?;
        let ep = frame.column("exit_probability")?.f64()?;

        let mut previous: Option<(&str, u32)> = None;
        let mut current: Option<usize> = None;
        let rows = fingerprints
            .iter()
            .zip(cidxs.iter())
            .zip(masks.iter())
            .zip(bandwidths.iter())
            .zip(nicknames.iter())
            .zip(addresses.iter())
            .zip(or_ports.iter())
            .zip(versions.iter())
            .zip(cwf.iter().zip(gp.iter()).zip(mp.iter().zip(ep.iter())));
        for (
            (((((((fp, cidx), mask), bandwidth), nickname), address), or_port), version),
            ((cw, guard), (middle, exit)),
        ) in rows
        {
            let (Some(fp), Some(cidx)) = (fp, cidx) else {
                bail!("{label}: consensus entry without fingerprint or known consensus");
            };
            let mask = mask.unwrap_or(0);
            let shares = Shares {
                consensus_weight_fraction: cw,
                guard_probability: guard,
                middle_probability: middle,
                exit_probability: exit,
            };
            // The state this row continues from: the previous row of the same relay in this
            // month, or what an earlier month left.
            let same_relay = previous.is_some_and(|(p, _)| p == fp);
            if let Some((p, pc)) = previous {
                if same_relay && pc >= cidx {
                    bail!("{label}: entries of {p} are not in time order (duplicate consensus entry?)");
                }
                if !same_relay && p > fp {
                    bail!("{label}: entries are not sorted by fingerprint ({p} before {fp})");
                }
            }
            let prior = if same_relay {
                let s = current.expect("session of the previous row");
                Some((previous.unwrap().1, self.sessions[s].last_flags, s))
            } else {
                self.relays
                    .get(fp)
                    .map(|st| (st.last_cidx, st.last_flags, st.session))
            };
            let session = match prior {
                Some((last_cidx, last_flags, s))
                    if last_cidx + 1 == cidx && !self.coverage.starts_segment(cidx) =>
                {
                    let changes = &mut self.totals[cidx as usize].changes;
                    for (bit, _) in FLAGS.iter().enumerate() {
                        let b = 1 << bit;
                        if mask & b != 0 && last_flags & b == 0 {
                            changes.gained[bit] += 1;
                        }
                        if mask & b == 0 && last_flags & b != 0 {
                            changes.lost[bit] += 1;
                        }
                    }
                    s
                }
                _ => {
                    let first_of_relay = prior.is_none();
                    self.sessions.push(Session {
                        fingerprint: Self::intern(&mut self.texts, fp),
                        start: cidx,
                        end: cidx,
                        hours: 0,
                        first_of_relay,
                        nicknames: Seen::new(),
                        addresses: Seen::new(),
                        or_ports: SmallVec::new(),
                        versions: Seen::new(),
                        flags_ever: 0,
                        first_flags: mask,
                        last_flags: mask,
                        last_nickname: None,
                        last_address: None,
                        last_or_port: None,
                        last_version: None,
                        last_bandwidth: None,
                        max_bandwidth: None,
                        last_shares: Shares::default(),
                        peak_shares: Shares::default(),
                    });
                    self.sessions.len() - 1
                }
            };
            let s = &mut self.sessions[session];
            s.end = cidx;
            s.hours += 1;
            s.flags_ever |= mask;
            s.last_flags = mask;
            if s.last_nickname.as_deref() != nickname {
                s.last_nickname = nickname.map(|n| Self::intern(&mut self.texts, n));
                if let Some(n) = &s.last_nickname {
                    push_distinct(&mut s.nicknames, n.clone());
                }
            }
            if s.last_address.as_deref() != address {
                s.last_address = address.map(|a| Self::intern(&mut self.texts, a));
                if let Some(a) = &s.last_address {
                    push_distinct(&mut s.addresses, a.clone());
                }
            }
            if s.last_or_port != or_port {
                s.last_or_port = or_port;
                if let Some(p) = or_port {
                    push_distinct(&mut s.or_ports, p);
                }
            }
            if s.last_version.as_deref() != version {
                s.last_version = version.map(|v| Self::intern(&mut self.texts, v));
                if let Some(v) = &s.last_version {
                    push_distinct(&mut s.versions, v.clone());
                }
            }
            s.last_bandwidth = bandwidth;
            s.max_bandwidth = max_opt(s.max_bandwidth, bandwidth);
            s.last_shares = shares;
            s.peak_shares = s.peak_shares.max(&shares);

            let totals = &mut self.totals[cidx as usize];
            totals.relays += 1;
            totals.consensus_weight += bandwidth.unwrap_or(0);
            for (bit, count) in totals.per_flag.iter_mut().enumerate() {
                if mask & (1 << bit) != 0 {
                    *count += 1;
                }
            }

            // Remember where the previous relay stood when its run in this month ended.
            if !same_relay {
                if let Some((p, pc)) = previous {
                    self.remember(p, pc, current.expect("session of the previous row"));
                }
            }
            previous = Some((fp, cidx));
            current = Some(session);
        }
        if let (Some((p, pc)), Some(s)) = (previous, current) {
            self.remember(p, pc, s);
        }
        Ok(())
    }

    fn remember(&mut self, fingerprint: &str, cidx: u32, session: usize) {
        let last_flags = self.sessions[session].last_flags;
        match self.relays.get_mut(fingerprint) {
            Some(st) => {
                st.last_cidx = cidx;
                st.last_flags = last_flags;
                st.session = session;
            }
            None => {
                self.relays.insert(
                    self.sessions[session].fingerprint.clone(),
                    RelayState {
                        last_cidx: cidx,
                        last_flags,
                        session,
                    },
                );
            }
        }
    }

    /// The last consensus number.
    pub fn last_cidx(&self) -> Option<u32> {
        self.times.len().checked_sub(1).map(|n| n as u32)
    }

    /// Whether a session still runs in the newest consensus of the warehouse.
    pub fn is_open(&self, s: &Session) -> bool {
        Some(s.end) == self.last_cidx()
    }

    /// Whether a session starts at the first consensus after a gap of the data (the relay
    /// may have been running before it).
    pub fn starts_after_gap(&self, s: &Session) -> bool {
        self.coverage.after_gap(s.start)
    }

    /// Whether a session ends at the last consensus before a gap of the data (the relay may
    /// have kept running in it): not a departure.
    pub fn ends_at_gap(&self, s: &Session) -> bool {
        self.coverage.before_gap(s.end)
    }

    /// How long the data runs on without a gap after consensus `cidx` (ms to the last
    /// consensus of its coverage segment).
    pub fn covered_after_ms(&self, cidx: u32) -> i64 {
        self.times[self.coverage.segment_end(cidx) as usize] - self.times[cidx as usize]
    }

    /// How far the data looks after each consensus, up to `limit_ms`: the longest horizon
    /// (to a later consensus, or the whole `limit_ms` when the data goes on past it) in which
    /// the consensuses missing are at most a quarter of the hours, and never less than the
    /// continuous data after it ([`covered_after_ms`](Self::covered_after_ms)). Across such
    /// gaps a relay seen in none of the consensuses after a departure is not back (one back
    /// and gone again inside a gap escapes it; a short gap hides few).
    pub fn observed_after_ms(&self, limit_ms: i64) -> Vec<i64> {
        let n = self.times.len();
        (0..n)
            .map(|at| {
                let t = self.times[at];
                let continuous = self.covered_after_ms(at as u32).min(limit_ms);
                let mostly_listed = |k: usize, horizon: i64| {
                    let hours = horizon / HOUR_MS;
                    hours - (k - at) as i64 <= hours / 4
                };
                let last = self.times.partition_point(|&x| x <= t + limit_ms) - 1;
                if last + 1 < n && mostly_listed(last, limit_ms) {
                    return limit_ms;
                }
                (at + 1..=last)
                    .rev()
                    .find(|&k| mostly_listed(k, self.times[k] - t))
                    .map_or(continuous, |k| (self.times[k] - t).max(continuous))
            })
            .collect()
    }

    /// Whether a session's start is censored: at the first consensus of the data or of a
    /// segment after a gap, where nobody can tell a join from a relay already running.
    pub fn start_censored(&self, s: &Session) -> bool {
        self.coverage.starts_segment(s.start)
    }

    /// Sessions sorted by fingerprint and start; for each, the start of the same relay's next
    /// session (consensus number), if any.
    pub fn sorted_sessions(&mut self) -> Vec<Option<u32>> {
        self.sessions
            .sort_by(|a, b| (&a.fingerprint, a.start).cmp(&(&b.fingerprint, b.start)));
        let mut next = vec![None; self.sessions.len()];
        for i in 1..self.sessions.len() {
            if self.sessions[i].fingerprint == self.sessions[i - 1].fingerprint {
                next[i - 1] = Some(self.sessions[i].start);
            }
        }
        next
    }
}

/// The flag names of each mask, as a `list<string>` column.
pub fn flags_column(name: &str, masks: impl Iterator<Item = u32>) -> Column {
    build_string_lists(name, masks.map(|m| flag_names(m).into_iter()))
}

/// Lower-case column-name form of a flag (`HSDir` → `hsdir`).
pub fn flag_column_name(flag: &str) -> String {
    flag.to_ascii_lowercase()
}

/// The flags as column-name suffixes, in [`FLAGS`] order.
pub fn flag_suffixes() -> impl Iterator<Item = (usize, String)> {
    FLAGS
        .iter()
        .enumerate()
        .map(|(i, f)| (i, flag_column_name(f)))
}
