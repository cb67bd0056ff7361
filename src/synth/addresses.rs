//! Address changes: residential relays' dynamic addresses, and cloud addresses a planted
//! actor's relay left that a later honest relay takes over (`reused_address` hard negatives).

use super::asn::{self, AsKind};
use super::builder::Builder;
use super::rng::{tag, Rng};
use super::time::Ts;
use super::world::{is_honest, Relay};

/// Residential relays with dynamic addresses get a new IPv4 address at some restarts.
pub(super) fn dynamic_addresses(b: &mut Builder) {
    for i in 0..b.relays.len() {
        if !b.relays[i].dynamic_ip {
            continue;
        }
        let mut rng = Rng::stream(&[b.seed, tag("dynamic-ip"), i as u64]);
        let starts: Vec<Ts> = b.relays[i].procs.iter().skip(1).map(|p| p.0).collect();
        let asn = b.relays[i].asn;
        for s in starts {
            if rng.chance(0.35) {
                let a = b.alloc.ipv4(&mut rng, asn, None);
                b.relays[i].addrs.push((s - 1, a));
            }
        }
    }
}

/// Cloud addresses handed to the next customer: with `address_reuse_fraction`, a hosted
/// background relay (static address, no exit address of its own) born at least
/// `address_reuse_min_days` after a planted actor's relay left for good takes over that
/// relay's address and AS. It is a hard negative (`reused_address`): the actor's old address
/// says nothing about its next holder.
pub(super) fn reuse_addresses(b: &mut Builder) {
    let bg = &b.sc.background;
    let fraction = bg.address_reuse_fraction;
    if fraction <= 0.0 {
        return;
    }
    let min_gap = (bg.address_reuse_min_days * 24.0).round() as i64;
    let hours = b.clock.hours;
    let planted = |r: &Relay| r.actor.is_some_and(|a| !is_honest(&b.actors[a].kind));
    // (left at, AS, address) of the planted relays that left inside the run, in time order.
    let mut freed: Vec<(i64, u32, u32)> = b
        .relays
        .iter()
        .filter(|r| planted(r) && r.death < hours && !r.dynamic_ip && r.addrs.len() == 1)
        .map(|r| (r.death, r.asn, r.addrs[0].1))
        .collect();
    freed.sort_unstable();
    let mut rng = Rng::stream(&[b.seed, tag("address-reuse")]);
    for r in b.relays.iter_mut() {
        let hosted = asn::by_asn(r.asn).is_some_and(|a| a.kind == AsKind::Hosting);
        if r.actor.is_some()
            || r.hard_negative.is_some()
            || !hosted
            || r.dynamic_ip
            || r.exit_addr.is_some()
            || r.addrs.len() != 1
            || !rng.chance(fraction)
        {
            continue;
        }
        let available = freed.partition_point(|f| f.0 + min_gap <= r.birth);
        if available == 0 {
            continue;
        }
        let (_, asn, addr) = freed.remove(rng.below(available as u64) as usize);
        r.asn = asn;
        r.addrs[0].1 = addr;
        r.hard_negative = Some("reused_address");
    }
}
