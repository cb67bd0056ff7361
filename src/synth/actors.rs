//! Planted actors: their plans resolved against the run (size, ASes, version track, join
//! waves, removals) and the relays of every wave.

use std::collections::HashSet;

use anyhow::Context;

use super::asn::{self, AsKind};
use super::builder::{pick_as, Builder, Proto, WARMUP_HOURS};
use super::names;
use super::policy::Policy;
use super::rng::{tag, Rng};
use super::scenario::ActorCfg;
use super::versions::{self, Track, VersionHabit};

/// Actor plans resolved against the run.
pub(super) struct ActorPlan {
    pub(super) cfg: ActorCfg,
    pub(super) actor: usize,
    pub(super) ases: Vec<u32>,
    pub(super) track: Track,
    pub(super) delay_seed: u64,
    /// (wave number, join hour start, count, spread hours, after_removal index of a return,
    /// whether a return reuses the addresses of the actor's earlier relays: a re-key)
    pub(super) waves: Vec<(u32, i64, usize, f64, Option<usize>, bool)>,
    /// (first hour, fraction, consensuses it is spread over, by the operator)
    pub(super) removals: Vec<(i64, f64, i64, bool)>,
}

pub(super) fn plan_actors(b: &mut Builder) -> anyhow::Result<Vec<ActorPlan>> {
    let mut plans = Vec::new();
    let cfgs = b.sc.actors.clone();
    for (ai, cfg) in cfgs.iter().enumerate() {
        let mut rng = Rng::stream(&[b.seed, tag("actor"), ai as u64]);
        let size =
            ((cfg.size * b.relays_target as f64).round() as usize).max(cfg.min_relays as usize);
        let mut ases: Vec<u32> = cfg.ases.clone();
        for a in &ases {
            asn::by_asn(*a).with_context(|| {
                format!(
                    "actor {}: AS{a} is not in the generator's AS catalogue",
                    cfg.id
                )
            })?;
        }
        if ases.is_empty() {
            let hosting = asn::CATALOGUE
                .iter()
                .filter(|a| a.kind == AsKind::Hosting)
                .count();
            if cfg.as_count as usize > hosting {
                anyhow::bail!(
                    "actor {}: as_count {} is more than the {hosting} hosting ASes of the generator's catalogue (list them in `ases`, or ask for fewer)",
                    cfg.id,
                    cfg.as_count
                );
            }
            let mut ex = HashSet::new();
            for _ in 0..cfg.as_count {
                let a = pick_as(&mut rng, &[AsKind::Hosting], &ex);
                ex.insert(a);
                ases.push(a);
            }
        }
        b.actor_ases.extend(ases.iter().copied());
        let track = versions::Track::parse(&cfg.version)?;
        let contact = (!cfg.contact.is_empty() && cfg.contact != PER_RELAY_CONTACT)
            .then(|| cfg.contact.clone());
        let actor = b.new_actor(
            cfg.id.clone(),
            cfg.kind.label(),
            contact,
            cfg.description.clone(),
        );
        let mut waves = Vec::new();
        for (wi, w) in cfg.waves.iter().enumerate() {
            let at = b.clock.hour_of(&w.at)?;
            let n = ((w.share * size as f64).round() as usize).max(1);
            waves.push((wi as u32, at, n, w.spread_hours, None, false));
        }
        let mut removals = Vec::new();
        for r in &cfg.removals {
            if !(1..=4).contains(&r.consensuses) {
                anyhow::bail!(
                    "actor {}: removal at {:?} spread over {} consensuses (1 to 4)",
                    cfg.id,
                    r.at,
                    r.consensuses
                );
            }
            removals.push((
                b.clock.hour_of(&r.at)?,
                r.fraction.clamp(0.0, 1.0),
                i64::from(r.consensuses),
                r.by_operator,
            ));
        }
        for (ri, r) in cfg.returns.iter().enumerate() {
            let at = b.clock.hour_of(&r.at)?;
            let removal_at = removals[r.after_removal as usize - 1].0;
            if at <= removal_at {
                anyhow::bail!(
                    "actor {}: return wave at {} is not after its removal",
                    cfg.id,
                    r.at
                );
            }
            let n = ((r.share * size as f64).round() as usize).max(1);
            waves.push((
                (cfg.waves.len() + ri) as u32,
                at,
                n,
                r.spread_hours,
                Some(r.after_removal as usize - 1),
                r.same_addresses,
            ));
        }
        plans.push(ActorPlan {
            cfg: cfg.clone(),
            actor,
            ases,
            track,
            delay_seed: rng.next_u64(),
            waves,
            removals,
        });
    }
    Ok(plans)
}

/// Creates every actor relay; returns, per plan, the relay indices per wave.
pub(super) fn build_actor_relays(
    b: &mut Builder,
    plans: &[ActorPlan],
) -> anyhow::Result<Vec<Vec<Vec<usize>>>> {
    let seed = b.seed;
    let hours = b.clock.hours;
    let mut out = Vec::new();
    for (pi, plan) in plans.iter().enumerate() {
        let cfg = &plan.cfg;
        let mut per_wave = Vec::new();
        let mut used16: HashSet<u32> = HashSet::new();
        let policy = if cfg.exit {
            Policy::parse(&cfg.exit_policy)?
        } else {
            Policy::RejectAll
        };
        let mut habit_rng = Rng::new(plan.delay_seed);
        let habit = VersionHabit::with_track(&mut habit_rng, plan.track);
        let mut nick_no = 0usize;
        for &(wave, at, n, spread, _, same_addresses) in &plan.waves {
            // A re-key: the relays of the earlier waves' addresses, in order, under new keys.
            let earlier: Vec<usize> = if same_addresses {
                per_wave.iter().flatten().copied().collect()
            } else {
                Vec::new()
            };
            let mut members = Vec::new();
            for j in 0..n {
                let mut rng =
                    Rng::stream(&[seed, tag("actor-relay"), pi as u64, wave as u64, j as u64]);
                let birth = if at <= 0 {
                    // already running when the archive starts
                    -(rng.range(WARMUP_HOURS + 24 * 9, WARMUP_HOURS + 24 * 120))
                } else {
                    at + (rng.f64() * spread.max(0.0)).floor() as i64
                };
                let (asn, addr) = match earlier.get(j % earlier.len().max(1)) {
                    Some(&old) => (
                        b.relays[old].asn,
                        b.relays[old].addrs.last().map_or(0, |&(_, a)| a),
                    ),
                    None => {
                        let asn = *rng.pick(&plan.ases);
                        let addr =
                            b.alloc
                                .ipv4(&mut rng, asn, cfg.spread_slash16.then_some(&mut used16));
                        (asn, addr)
                    }
                };
                nick_no += 1;
                let capacity = rng
                    .lognormal(cfg.bandwidth_median_kbs, cfg.bandwidth_sigma)
                    .clamp(50.0, 400_000.0);
                let rate = if cfg.rate_limit > 0 {
                    (cfg.rate_limit, cfg.rate_limit)
                } else {
                    (1_073_741_824, 1_073_741_824)
                };
                let proto = Proto {
                    nickname: names::styled(
                        &mut rng,
                        &cfg.nickname_style,
                        &cfg.nickname_prefix,
                        nick_no,
                    ),
                    asn,
                    addr,
                    ipv6: rng.chance(cfg.ipv6_fraction),
                    or_port: *rng.pick(&cfg.or_ports),
                    dir_port: if rng.chance(cfg.dirport_fraction) {
                        9030
                    } else {
                        0
                    },
                    os: versions::os_named(rng.pick::<String>(&cfg.os)),
                    contact: relay_contact(cfg, &[seed, pi as u64, wave as u64, j as u64]),
                    policy,
                    capacity_kbs: capacity,
                    rate,
                    habit,
                    dircache: true,
                    flaky: false,
                    dynamic_ip: false,
                    birth,
                    death: hours + 1,
                };
                let ks = rng.next_u64();
                let idx = b.add_relay(ks, proto, Some(plan.actor), Some(wave));
                if policy.allows_exit() && rng.chance(0.1) {
                    let a = b.alloc.neighbour(&mut rng, addr);
                    b.relays[idx].exit_addr = Some(a);
                }
                members.push(idx);
            }
            per_wave.push(members);
        }
        if cfg.family {
            let all: Vec<usize> = per_wave.iter().flatten().copied().collect();
            for &m in &all {
                b.relays[m].family = Some(b.families.len());
            }
            b.families.push(all);
        }
        out.push(per_wave);
    }
    // multi-homed background exits
    let mut rng = Rng::stream(&[seed, tag("exit-addresses")]);
    for i in 0..b.relays.len() {
        if b.relays[i].actor.is_none() && b.relays[i].policy.allows_exit() && rng.chance(0.06) {
            let a = b.alloc.neighbour(&mut rng, b.relays[i].addrs[0].1);
            b.relays[i].exit_addr = Some(a);
        }
    }
    Ok(out)
}

/// The `contact` value that gives each of an actor's relays a made-up contact of its own.
pub const PER_RELAY_CONTACT: &str = "per-relay";

/// One actor relay's contact line: none, the actor's (on `contact_share` of its relays; one of
/// `contact_pool`'s where it has one), or a made-up one of its own. Drawn from a stream of its own (`key`: seed, actor, wave, relay),
/// so the other draws of the relay are those of an actor without it.
fn relay_contact(cfg: &ActorCfg, key: &[u64; 4]) -> Option<String> {
    if cfg.contact.is_empty() {
        return None;
    }
    let rng = || Rng::stream(&[key[0], tag("actor-contact"), key[1], key[2], key[3]]);
    if cfg.contact == PER_RELAY_CONTACT {
        return Some(names::contact(&mut rng(), 0.0));
    }
    let mut draws = rng();
    if cfg.contact_share < 1.0 && !draws.chance(cfg.contact_share) {
        return None;
    }
    if !cfg.contact_pool.is_empty() {
        return Some(draws.pick(&cfg.contact_pool).clone());
    }
    Some(cfg.contact.clone())
}
