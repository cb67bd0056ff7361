//! The vote plan: which hours have authority votes (those around planted removals and
//! outages) and which relays each authority lists in each of them.
//!
//! Each of the nine authorities lists the relays of the consensus, less a few it happened not
//! to find reachable that hour (each relay misses a vote with probability
//! [`VOTE_MISS_PROBABILITY`]). A planted removal shows the reject-list pattern: the
//! authorities add the reject lines one after another, so for each removed relay four of them
//! stop listing it 1 to 12 hours before the consensus drops it, the fifth (the majority) at
//! that consensus, and the other four keep listing the still running relay for 1 to 24 hours
//! more. Relays that go down (outages, restarts, departures, an operator switching its relays
//! off: `[[actor.removal]] by_operator`) leave every vote at once.

use std::collections::HashMap;

use super::authorities::AUTHORITIES;
use super::rng::{tag, Rng};
use super::world::World;

/// Chance that an authority leaves a running relay out of one vote.
pub const VOTE_MISS_PROBABILITY: f64 = 0.005;
/// Authorities that stop listing a removed relay before the consensus does (one short of the
/// majority of the nine).
pub const AUTHORITIES_AHEAD: usize = AUTHORITIES.len() / 2;

/// Which hours have votes and when each authority stops listing each removed relay.
#[derive(Debug, Default)]
pub struct VotePlan {
    /// Hours with votes, ascending.
    pub hours: Vec<i64>,
    /// Per removal event (in `World::removals` order): each authority's drop, in hours
    /// relative to the consensus that drops the relay; empty for an event without votes.
    pub offsets: Vec<Vec<i64>>,
    /// Per removed relay with votes around its removal: the hour from which each authority
    /// no longer lists it, and the hour of the first consensus without it.
    drops: HashMap<usize, ([i64; AUTHORITIES.len()], i64)>,
}

impl VotePlan {
    /// The votes of the hours within `around` hours of a planted removal or outage.
    pub fn new(w: &World, around: i64) -> VotePlan {
        let mut plan = VotePlan {
            offsets: vec![Vec::new(); w.removals.len()],
            ..VotePlan::default()
        };
        if around <= 0 {
            return plan;
        }
        let mut hours = Vec::new();
        for (k, event) in w.removals.iter().enumerate() {
            hours.extend(event.hour - around..event.hour + event.consensuses + around);
            if event.by_operator {
                // Switched off: gone from every vote at the consensus that drops them.
                plan.offsets[k] = vec![0; AUTHORITIES.len()];
                continue;
            }
            let mut rng = Rng::stream(&[w.seed, tag("vote-drops"), k as u64]);
            let mut order: Vec<usize> = (0..AUTHORITIES.len()).collect();
            rng.shuffle(&mut order);
            let mut ahead: Vec<i64> = (0..AUTHORITIES_AHEAD).map(|_| -rng.range(1, 12)).collect();
            let mut behind: Vec<i64> = (AUTHORITIES_AHEAD + 1..AUTHORITIES.len())
                .map(|_| rng.range(1, 24))
                .collect();
            ahead.sort_unstable();
            behind.sort_unstable();
            let mut offsets = vec![0; AUTHORITIES.len()];
            for (&a, offset) in order.iter().zip(ahead.into_iter().chain([0]).chain(behind)) {
                offsets[a] = offset;
            }
            for (i, &r) in event.relays.iter().enumerate() {
                // The relay's own consensus: removals spread over `consensuses` take their
                // relays in turn (see `events::apply_removals`).
                let gone = event.hour + i as i64 % event.consensuses.max(1);
                let mut drop = [0; AUTHORITIES.len()];
                for (d, o) in drop.iter_mut().zip(&offsets) {
                    *d = gone + o;
                }
                plan.drops.insert(r, (drop, gone));
            }
            plan.offsets[k] = offsets;
        }
        for outage in &w.outages {
            hours.extend(outage.start - around..outage.start + around);
        }
        hours.retain(|h| (0..w.hours()).contains(h));
        hours.sort_unstable();
        hours.dedup();
        plan.hours = hours;
        plan
    }

    /// Whether authority `a` lists relay `r` in its vote of hour `h`.
    pub(super) fn lists(&self, w: &World, a: usize, r: usize, h: i64) -> bool {
        let running = match self.drops.get(&r) {
            // A removed relay still runs after the consensus dropped it.
            Some((drop, gone)) => h < drop[a] && (h >= *gone || w.present(r, h)),
            None => w.present(r, h),
        };
        running
            && !Rng::stream(&[w.seed, tag("vote-miss"), h as u64, a as u64, r as u64])
                .chance(VOTE_MISS_PROBABILITY)
    }
}
