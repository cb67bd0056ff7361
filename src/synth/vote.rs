//! Authority votes (`votes-YYYY-MM.tar.xz`) for the hours around planted removals and
//! outages (`network.votes_around_events_hours`; 0 writes none, as most archives of the
//! generator need none).
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
use std::fmt::Write as _;

use super::consensus::{entries_where, push_entry, push_period, AUTHORITIES, PARAMS};
use super::keys::{hex_upper, push_object, sha1};
use super::rng::{tag, Rng};
use super::sim::World;
use super::time::{push_ts, Ts, DAY};

/// Chance that an authority leaves a running relay out of one vote.
pub const VOTE_MISS_PROBABILITY: f64 = 0.005;
/// The voting authorities.
pub const AUTHORITIES_COUNT: usize = AUTHORITIES.len();
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
                // relays in turn (see `sim::apply_removals`).
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
    fn lists(&self, w: &World, a: usize, r: usize, h: i64) -> bool {
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

/// Renders authority `a`'s vote of hour `h` (with its `@type` line) and its digest (SHA-1
/// from `network-status-version` through the space after `directory-signature`, the last
/// part of CollecTor's file name).
pub fn render(w: &World, plan: &VotePlan, a: usize, h: i64) -> (String, [u8; 20]) {
    let va = w.va(h);
    let authority = AUTHORITIES[a];
    let list = entries_where(w, h, |r| plan.lists(w, a, r, h));
    let mut s = String::with_capacity(list.len() * 360 + 8_000);
    s.push_str("@type network-status-vote-3 1.0\n");
    let body_start = s.len();
    s.push_str("network-status-version 3\nvote-status vote\nconsensus-methods 28 29 30 31 32\n");
    s.push_str("published ");
    push_ts(&mut s, published(w, h));
    s.push('\n');
    push_period(&mut s, va);
    s.push_str("flag-thresholds stable-uptime=1209600 stable-mtbf=2592000 fast-speed=102400 guard-wfu=98.000% guard-tk=691200 guard-bw-inc-exits=2000000 guard-bw-exc-exits=2000000 enough-mtbf=1 ignoring-advertised-bws=0\n");
    let _ = writeln!(s, "params {PARAMS}");
    let _ = writeln!(
        s,
        "dir-source {} {} {} {} {} {}\ncontact {}",
        authority.0, authority.1, authority.2, authority.3, authority.4, authority.5, authority.6
    );
    // The authority's key certificate, renewed every quarter (keys are random bytes: nothing
    // reads them).
    let quarter = va.div_euclid(DAY) / 91;
    let key_published: Ts = quarter * 91 * DAY;
    s.push_str("dir-key-certificate-version 3\n");
    let _ = writeln!(s, "fingerprint {}", authority.1);
    s.push_str("dir-key-published ");
    push_ts(&mut s, key_published);
    s.push_str("\ndir-key-expires ");
    push_ts(&mut s, key_published + 365 * DAY);
    s.push('\n');
    let key = |name: &str| Rng::stream(&[w.seed, tag(name), a as u64, quarter as u64]).bytes(140);
    s.push_str("dir-identity-key\n");
    push_object(&mut s, "RSA PUBLIC KEY", &key("authority-identity-key"));
    s.push_str("dir-signing-key\n");
    push_object(&mut s, "RSA PUBLIC KEY", &key("authority-signing-key"));
    s.push_str("dir-key-certification\n");
    push_object(&mut s, "SIGNATURE", &key("authority-key-certification"));
    for en in &list {
        push_entry(&mut s, w, en);
    }
    s.push_str("directory-footer\ndirectory-signature ");
    let signing =
        Rng::stream(&[w.seed, tag("auth-signing-key"), a as u64, quarter as u64]).bytes(20);
    let digest = sha1(&s.as_bytes()[body_start..]);
    let _ = writeln!(s, "{} {}", authority.1, hex_upper(&signing));
    let signature = Rng::stream(&[w.seed, tag("vote-signature"), h as u64, a as u64]).bytes(256);
    push_object(&mut s, "SIGNATURE", &signature);
    (s, digest)
}

/// When the authorities publish their votes of hour `h`: ten minutes before it.
pub fn published(w: &World, h: i64) -> Ts {
    w.va(h) - 10 * 60
}

/// CollecTor's member name of a vote: `votes-YYYY-MM/DD/YYYY-MM-DD-HH-MM-SS-vote-<authority
/// v3 identity>-<digest>`.
pub fn member_name(w: &World, a: usize, h: i64, digest: &[u8; 20]) -> String {
    let c = super::time::civil(w.va(h));
    format!(
        "votes-{:04}-{:02}/{:02}/{:04}-{:02}-{:02}-{:02}-00-00-vote-{}-{}",
        c.year,
        c.month,
        c.day,
        c.year,
        c.month,
        c.day,
        c.hour,
        AUTHORITIES[a].1,
        hex_upper(digest)
    )
}
