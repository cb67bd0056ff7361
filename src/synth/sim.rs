//! The simulation run: [`build`] creates the relays (honest population, hard negatives,
//! planted actors), simulates each relay's presence and tor processes hour by hour, applies
//! the restarts, events and address changes, draws measured weights and publishes the server
//! descriptors, in a fixed order (each step has its own random streams). The steps live in
//! `population`, `negatives`, `actors`, `presence`, `events` and `addresses` (private to
//! [`super`]); the result is a [`World`].

use std::collections::HashSet;

use rayon::prelude::*;

use super::actors::{build_actor_relays, plan_actors};
use super::addresses::{dynamic_addresses, reuse_addresses};
use super::asn::Allocator;
use super::builder::Builder;
use super::events::{apply_outages, apply_removals, choose_missing, collect_returns};
use super::negatives::build_hard_negatives;
use super::population::build_background;
use super::presence::{
    outside_vote_window, shared_cause_restarts, simulate_updown, split_procs,
    synchronized_restarts, UpClass,
};
use super::rng::{tag, Rng};
use super::scenario::{Clock, Scenario};
use super::time::{Ts, DAY, HOUR};

// The world's types and the run's parameters, under the paths they had when they lived here.
pub use super::builder::{SimParams, WARMUP_HOURS};
pub use super::intervals::{interval_contains, Intervals};
pub use super::world::{ActorInfo, Desc, Outage, Relay, RemovalEvent, ReturnWave, World};

/// Builds the whole world.
pub fn build(sc: &Scenario, p: &SimParams) -> anyhow::Result<World> {
    let clock = Clock {
        start: p.start,
        hours: p.hours,
    };
    let mut b = Builder {
        sc,
        seed: p.seed,
        clock,
        relays_target: p.relays,
        alloc: Allocator::default(),
        relays: Vec::new(),
        actors: Vec::new(),
        families: Vec::new(),
        actor_ases: HashSet::new(),
    };
    let plans = plan_actors(&mut b)?;
    build_background(&mut b);
    build_hard_negatives(&mut b, &plans);
    let actor_relays = build_actor_relays(&mut b, &plans)?;

    // Presence simulation, per relay in parallel (each relay has its own random stream).
    let bg = sc.background.clone();
    let start = p.start;
    let hours = p.hours;
    let seed = p.seed;
    b.relays.par_iter_mut().enumerate().for_each(|(i, r)| {
        let mut rng = Rng::stream(&[seed, tag("updown"), i as u64]);
        let from = r.birth.max(-WARMUP_HOURS);
        let to = r.death.min(hours);
        if from >= to {
            return;
        }
        let class = if r.wave.is_some() {
            // planted actors run on well-kept servers
            UpClass {
                mean_up: 2000.0,
                flaky: false,
                mean_down: 1.0,
                restart_prob: 0.9,
                tz: 1,
            }
        } else if r.flaky {
            UpClass {
                mean_up: bg.flaky_mean_up_hours,
                flaky: true,
                mean_down: bg.flaky_mean_down_hours,
                restart_prob: 0.7,
                tz: [1, 1, 2, -5, 0, 9][rng.below(6) as usize],
            }
        } else {
            UpClass {
                mean_up: bg.mean_hours_between_restarts,
                flaky: false,
                mean_down: 1.0,
                restart_prob: 0.8,
                tz: 1,
            }
        };
        let first_proc = if r.birth < -WARMUP_HOURS {
            // running since before the warm-up: uptime of hours to weeks
            let age = (-WARMUP_HOURS - r.birth) as f64 * HOUR as f64;
            let up = rng.exp(12.0 * DAY as f64).min(age);
            start + from * HOUR - up as Ts - rng.range(0, 3599)
        } else {
            start + (from - 1) * HOUR + rng.range(5, 44) * 60 + rng.range(0, 59)
        };
        let (up, procs) = simulate_updown(&mut rng, class, start, from, to, first_proc);
        r.up = up;
        r.procs = procs;
        let ups: Vec<Ts> = r
            .habit
            .upgrades(r.procs[0].0, start + to * HOUR)
            .into_iter()
            .map(|(t, _)| outside_vote_window(t))
            .collect();
        split_procs(&mut r.procs, &ups);
    });

    synchronized_restarts(&mut b, &plans);
    shared_cause_restarts(&mut b);
    let removals = apply_removals(&mut b, &plans, &actor_relays);
    let returns = collect_returns(&b, &plans, &actor_relays, &removals);
    let outages = apply_outages(&mut b)?;
    dynamic_addresses(&mut b);
    reuse_addresses(&mut b);
    let missing = choose_missing(&b, p, &removals, &outages)?;

    // Weights per relay.
    let wp = sc.background.weight_update_probability;
    b.relays.par_iter_mut().enumerate().for_each(|(i, r)| {
        let mut rng = Rng::stream(&[seed, tag("weights"), i as u64]);
        let Some(&(first, _)) = r.up.first() else {
            return;
        };
        let last = r.up.last().unwrap().1;
        r.measured_from = if r.birth < -WARMUP_HOURS {
            i64::MIN
        } else {
            first + rng.range(3, 30)
        };
        let base = r.capacity_kbs * rng.lognormal(1.0, 0.25);
        let mut h = r.measured_from.max(first.min(0));
        let mut out = vec![(h, (base * rng.lognormal(1.0, 0.15)).max(1.0) as u32)];
        while h < last {
            h += 1 + rng.exp(1.0 / wp).floor() as i64;
            if h < last {
                out.push((h, (base * rng.lognormal(1.0, 0.15)).max(1.0) as u32));
            }
        }
        r.weights = out;
    });

    let descs = publish_descriptors(&mut b, p)?;

    let mut by_fp: Vec<usize> = (0..b.relays.len()).collect();
    by_fp.sort_by_key(|&i| b.relays[i].fp);
    let missing_set: HashSet<i64> = missing.iter().copied().collect();
    Ok(World {
        seed: p.seed,
        clock,
        relays: b.relays,
        by_fp,
        descs,
        actors: b.actors,
        families: b.families,
        removals,
        returns,
        outages,
        missing,
        missing_set,
    })
}

/// Descriptor publication times per relay: at every process start and every ~18 h.
fn publish_descriptors(b: &mut Builder, p: &SimParams) -> anyhow::Result<Vec<Desc>> {
    let start = p.start;
    let end = start + p.hours * HOUR;
    let interval = (b.sc.background.descriptor_interval_hours * HOUR as f64) as Ts;
    let seed = p.seed;
    let per_relay: Vec<Vec<Desc>> = b
        .relays
        .par_iter()
        .enumerate()
        .map(|(i, r)| {
            let mut rng = Rng::stream(&[seed, tag("publish"), i as u64]);
            let mut pubs: Vec<(Ts, Ts)> = Vec::new(); // (published, process start)
            for &(s, e) in &r.procs {
                let mut t = outside_vote_window(s + rng.range(20, 150));
                while t < e && t < end {
                    pubs.push((t, s));
                    t = outside_vote_window(t + interval + rng.range(-900, 900));
                }
            }
            // every presence interval needs a descriptor published before it starts
            for &(a, _) in &r.up {
                let va = start + a * HOUR;
                if !pubs.iter().any(|&(t, _)| t < va) {
                    let t = va - HOUR + rng.range(5, 44) * 60;
                    pubs.push((t, t - rng.range(30, 300)));
                }
            }
            pubs.sort();
            // descriptors older than the last one before the start are not archived
            let keep_from = pubs.iter().rposition(|&(t, _)| t < start).unwrap_or(0);
            pubs.drain(..keep_from);
            pubs.retain(|&(t, _)| t < end);
            pubs.iter()
                .map(|&(t, s)| {
                    let n = r.addrs.partition_point(|x| x.0 <= t);
                    Desc {
                        relay: i,
                        published: t,
                        proc_start: s,
                        version: r.habit.version_at(s),
                        addr: r.addrs[n.saturating_sub(1)].1,
                        observed: (r.capacity_kbs * 1000.0 * (0.45 + 0.5 * rng.f64())) as u64,
                        digest: [0; 20],
                    }
                })
                .collect()
        })
        .collect();
    let mut descs = Vec::with_capacity(per_relay.iter().map(|v| v.len()).sum());
    for (i, v) in per_relay.into_iter().enumerate() {
        let a = descs.len();
        descs.extend(v);
        b.relays[i].descs = (a, descs.len());
    }
    Ok(descs)
}
