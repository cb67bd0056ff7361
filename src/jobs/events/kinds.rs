//! What kind of departure a removal event is, from what its relays did afterwards and what the
//! data looked like around it: a **re-key** (their addresses back under new fingerprints), a
//! **long outage** (the relays themselves back after the outage window), a **data hole** (the
//! departures of missing hours counted at one consensus), or a **removal** (left together and
//! stayed away); and the **rank** that puts the events worth reading first.

use std::collections::HashMap;
use std::sync::Arc;

use super::departures::Departure;
use crate::jobs::presence::Presence;
use crate::util::time::{DAY_MS, HOUR_MS};

/// A kind holds when at least this share of the event's relays show it.
const KIND_SHARE: f64 = 0.5;
/// How long after their departure relays count as back for a long outage (and for
/// `returned_within_30d`).
pub(super) const LONG_OUTAGE_DAYS: i64 = 30;

/// Departure kinds, in the order the ranking reads them (removals first).
pub(super) const KINDS: [&str; 5] = [
    "removal",
    "operator_departure",
    "rekey",
    "long_outage",
    "data_hole",
];

/// The sessions that start at each address, in time order: (first consensus, fingerprint).
pub(super) struct AddressIndex<'p> {
    starts: HashMap<&'p str, Vec<(u32, &'p Arc<str>)>>,
}

impl<'p> AddressIndex<'p> {
    pub(super) fn new(presence: &'p Presence) -> Self {
        let mut starts: HashMap<&'p str, Vec<(u32, &'p Arc<str>)>> = HashMap::new();
        for s in &presence.sessions {
            for address in &s.addresses {
                starts
                    .entry(address.as_ref())
                    .or_default()
                    .push((s.start, &s.fingerprint));
            }
        }
        for list in starts.values_mut() {
            list.sort_unstable();
        }
        Self { starts }
    }

    /// Whether a relay under another fingerprint started at one of the departed relay's
    /// addresses from its departure to `within_ms` after it.
    fn rekeyed(&self, presence: &Presence, d: &Departure, within_ms: i64) -> bool {
        let session = &presence.sessions[d.session];
        let until = presence.times[d.at as usize] + within_ms;
        session.addresses.iter().any(|address| {
            let Some(list) = self.starts.get(address.as_ref()) else {
                return false;
            };
            let from = list.partition_point(|(start, _)| *start < d.at);
            list[from..]
                .iter()
                .take_while(|(start, _)| presence.times[*start as usize] <= until)
                .any(|(_, fp)| fp.as_ref() != session.fingerprint.as_ref())
        })
    }
}

/// The evidence of an event's kind.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct KindEvidence {
    /// Relays whose address was listed again under another fingerprint within the return
    /// window.
    pub(super) rekeyed: u32,
    /// Relays back (same fingerprint) after the return window and within 30 days.
    pub(super) back_within_30d: u32,
    /// Hours without a consensus right before the event's first consensus.
    pub(super) missing_hours_before: u32,
}

impl KindEvidence {
    pub(super) fn of(
        presence: &Presence,
        addresses: &AddressIndex,
        removed: &[&Departure],
        first: u32,
        return_ms: i64,
    ) -> Self {
        let times = &presence.times;
        let at = first as usize;
        let missing_hours_before = if at == 0 {
            0
        } else {
            ((times[at] - times[at - 1]) / HOUR_MS - 1).max(0) as u32
        };
        Self {
            rekeyed: removed
                .iter()
                .filter(|d| addresses.rekeyed(presence, d, return_ms))
                .count() as u32,
            back_within_30d: removed
                .iter()
                .filter(|d| {
                    d.back_after_ms
                        .is_some_and(|ms| ms <= LONG_OUTAGE_DAYS * DAY_MS)
                })
                .count() as u32,
            missing_hours_before,
        }
    }

    /// The kind of an event of `relays` relays, `expected` ordinary departures and
    /// `min_relays` (`event_min_relays`): a re-key or a long outage when at least half its
    /// relays show it; a data hole when it follows missing hours and, spread over them, it
    /// would be no event; else a removal.
    pub(super) fn kind(&self, relays: u32, expected: f64, min_relays: u32) -> &'static str {
        let share = |n: u32| f64::from(n) >= KIND_SHARE * f64::from(relays.max(1));
        if share(self.rekeyed) {
            "rekey"
        } else if share(self.back_within_30d) {
            "long_outage"
        } else if self.missing_hours_before > 0
            && f64::from(relays) / f64::from(self.missing_hours_before + 1) - expected
                < f64::from(min_relays)
        {
            "data_hole"
        } else {
            "removal"
        }
    }
}

/// The rank of each event (1 = read first): the authorities' removals first (where votes show
/// them dropping the relays early), then by kind (removals, operator departures, re-keys, long
/// outages, data holes), then by how far above the churn it stands (its excess relays as a
/// share of the relays listed before it, then its excess).
pub(super) fn ranks(
    kinds: &[&str],
    by_authorities: &[Option<bool>],
    excess: &[f64],
    network_share: &[f64],
) -> Vec<u32> {
    let class = |i: usize| {
        let kind = KINDS
            .iter()
            .position(|x| *x == kinds[i])
            .unwrap_or(KINDS.len());
        (by_authorities[i] != Some(true), kind)
    };
    let mut order: Vec<usize> = (0..kinds.len()).collect();
    order.sort_by(|&a, &b| {
        class(a)
            .cmp(&class(b))
            .then(network_share[b].total_cmp(&network_share[a]))
            .then(excess[b].total_cmp(&excess[a]))
            .then(a.cmp(&b))
    });
    let mut rank = vec![0; kinds.len()];
    for (r, i) in order.into_iter().enumerate() {
        rank[i] = r as u32 + 1;
    }
    rank
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Half the relays back under new keys is a re-key; half back after two weeks a long
    /// outage; 40 departures after three missing hours with 5 expected an hour a data hole,
    /// 400 a removal.
    #[test]
    fn kinds_follow_the_evidence() {
        let evidence = |rekeyed, back, missing| KindEvidence {
            rekeyed,
            back_within_30d: back,
            missing_hours_before: missing,
        };
        assert_eq!(evidence(50, 0, 0).kind(100, 5.0, 10), "rekey");
        assert_eq!(evidence(49, 50, 0).kind(100, 5.0, 10), "long_outage");
        assert_eq!(evidence(10, 10, 0).kind(100, 5.0, 10), "removal");
        assert_eq!(evidence(0, 0, 3).kind(40, 5.0, 10), "data_hole");
        assert_eq!(evidence(0, 0, 3).kind(400, 5.0, 10), "removal");
    }

    /// Removals first, by their share of the network; a large long outage after the smallest
    /// removal; where votes show the authorities removing relays, that removal before all.
    #[test]
    fn removals_rank_first_by_share_of_the_network() {
        let kinds = ["long_outage", "removal", "removal", "data_hole"];
        let unknown = [None; 4];
        let shares = [0.09, 0.002, 0.3, 0.01];
        let excess = [900.0, 20.0, 4000.0, 50.0];
        assert_eq!(ranks(&kinds, &unknown, &excess, &shares), vec![3, 2, 1, 4]);
        // The authorities' removal first, however small.
        let voted = [None, Some(true), Some(false), None];
        assert_eq!(ranks(&kinds, &voted, &excess, &shares), vec![3, 1, 2, 4]);
    }
}
