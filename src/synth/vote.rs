//! Authority votes (`votes-YYYY-MM.tar.xz`) for the hours around planted removals and
//! outages (`network.votes_around_events_hours`; 0 writes none, as most archives of the
//! generator need none).
//!
//! Which relays each authority lists, and when, is the [`VotePlan`] (see [`super::voteplan`]).

use std::fmt::Write as _;

use super::authorities::AUTHORITIES;
use super::keys::{hex_upper, push_object, sha1};
use super::rng::{tag, Rng};
use super::status::{entries_where, push_entry, push_period, PARAMS};
use super::time::{push_ts, Ts, DAY};
use super::world::World;

/// Kept under their old paths (the plan lives in [`super::voteplan`]).
pub use super::voteplan::{VotePlan, AUTHORITIES_AHEAD, VOTE_MISS_PROBABILITY};

/// The voting authorities.
pub const AUTHORITIES_COUNT: usize = AUTHORITIES.len();

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
