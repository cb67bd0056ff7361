//! The events of the ground truth: planted removals (and the return waves after them), AS
//! outages, and the hours without a consensus.

use std::collections::{BTreeSet, HashMap, HashSet};

use super::actors::ActorPlan;
use super::builder::{Builder, SimParams};
use super::intervals::{force_down, force_up, interval_contains};
use super::rng::{tag, Rng};
use super::time::HOUR;
use super::world::{Outage, RemovalEvent, ReturnWave};

pub(super) fn apply_removals(
    b: &mut Builder,
    plans: &[ActorPlan],
    actor_relays: &[Vec<Vec<usize>>],
) -> Vec<RemovalEvent> {
    let mut events = Vec::new();
    for (pi, plan) in plans.iter().enumerate() {
        for (ri, &(at, fraction, spread, by_operator)) in plan.removals.iter().enumerate() {
            let mut rng = Rng::stream(&[b.seed, tag("removal"), pi as u64, ri as u64]);
            // candidates: alive at `at`, joined at least 4 hours earlier
            let mut cands: Vec<usize> = actor_relays[pi]
                .iter()
                .flatten()
                .copied()
                .filter(|&r| {
                    let rel = &b.relays[r];
                    rel.birth <= at - 4
                        && rel.death > at
                        && rel.up.first().is_some_and(|u| u.0 <= at - 4)
                })
                .collect();
            rng.shuffle(&mut cands);
            let k = (fraction * cands.len() as f64).round() as usize;
            // The first k of the shuffled candidates, each gone at one of the `spread`
            // consensuses from `at` in turn.
            let mut removed: Vec<usize> = cands[..k].to_vec();
            for (i, &r) in removed.iter().enumerate() {
                let at = at + i as i64 % spread;
                let rel = &mut b.relays[r];
                force_up(&mut rel.up, at - 3, at);
                force_down(&mut rel.up, at, i64::MAX);
                rel.death = at;
                let cut = b.clock.start + at * HOUR - 600;
                rel.procs.retain(|p| p.0 < cut);
                if let Some(last) = rel.procs.last_mut() {
                    last.1 = last.1.min(cut);
                }
            }
            removed.sort();
            if !removed.is_empty() {
                events.push(RemovalEvent {
                    by_operator,
                    actor: plan.actor,
                    hour: at,
                    consensuses: spread.min(removed.len() as i64),
                    relays: removed,
                });
            }
        }
    }
    events.sort_by_key(|e| (e.hour, e.actor));
    events
}

pub(super) fn collect_returns(
    b: &Builder,
    plans: &[ActorPlan],
    actor_relays: &[Vec<Vec<usize>>],
    removals: &[RemovalEvent],
) -> Vec<ReturnWave> {
    let mut out = Vec::new();
    for (pi, plan) in plans.iter().enumerate() {
        for (wi, w) in plan.waves.iter().enumerate() {
            if let Some(after) = w.4 {
                let after_hour = plan.removals[after].0;
                // only when the removal really happened
                if !removals
                    .iter()
                    .any(|e| e.actor == plan.actor && e.hour == after_hour)
                {
                    continue;
                }
                let relays: Vec<usize> = actor_relays[pi][wi]
                    .iter()
                    .copied()
                    .filter(|&r| b.relays[r].birth < b.clock.hours)
                    .collect();
                if !relays.is_empty() {
                    out.push(ReturnWave {
                        actor: plan.actor,
                        after_hour,
                        relays,
                    });
                }
            }
        }
    }
    out
}

pub(super) fn apply_outages(b: &mut Builder) -> anyhow::Result<Vec<Outage>> {
    let mut out = Vec::new();
    let mut used: HashSet<u32> = b.actor_ases.clone();
    for oc in b.sc.outages.clone() {
        let at = b.clock.hour_of(&oc.at)?;
        let end = at + oc.hours.max(1) as i64;
        let asn = if oc.asn != 0 {
            oc.asn
        } else {
            // the most populated AS (among relays alive then) not used by actors or outages
            let mut counts: HashMap<u32, usize> = HashMap::new();
            for r in b
                .relays
                .iter()
                .filter(|r| r.actor.is_none() && r.birth < at && r.death > end)
            {
                *counts.entry(r.asn).or_default() += 1;
            }
            let mut v: Vec<(u32, usize)> = counts
                .into_iter()
                .filter(|(a, _)| !used.contains(a))
                .collect();
            v.sort_by_key(|&(a, c)| (std::cmp::Reverse(c), a));
            match v.first() {
                Some(&(a, _)) => a,
                None => continue,
            }
        };
        used.insert(asn);
        let mut listed = Vec::new();
        for (i, r) in b.relays.iter_mut().enumerate() {
            if r.asn != asn {
                continue;
            }
            let alive_through = r.birth < at - 1 && r.death > end + 1;
            let up_before = interval_contains(&r.up, at - 1);
            force_down(&mut r.up, at, end);
            if alive_through && up_before {
                force_up(&mut r.up, end, end + 1);
                listed.push(i);
            }
        }
        if !listed.is_empty() && at >= 1 && end < b.clock.hours {
            out.push(Outage {
                asn,
                start: at,
                end,
                relays: listed,
            });
        }
    }
    Ok(out)
}

pub(super) fn choose_missing(
    b: &Builder,
    p: &SimParams,
    removals: &[RemovalEvent],
    outages: &[Outage],
) -> anyhow::Result<Vec<i64>> {
    let hours = b.clock.hours;
    let mut set: BTreeSet<i64> = BTreeSet::new();
    for e in &b.sc.network.missing_consensuses {
        let h = b.clock.hour_of(e)?;
        if (0..hours).contains(&h) {
            set.insert(h);
        }
    }
    if b.sc.network.missing_before_removals {
        set.extend(removals.iter().map(|e| e.hour - 1).filter(|&h| h > 0));
    }
    let mut avoid: Vec<i64> = vec![0, hours - 1];
    avoid.extend(removals.iter().flat_map(|e| e.hour..e.hour + e.consensuses));
    avoid.extend(outages.iter().flat_map(|o| [o.start, o.end]));
    let mut rng = Rng::stream(&[b.seed, tag("missing")]);
    let want = (p.missing_per_month * p.months as f64).round() as usize;
    let mut tries = 0;
    let mut added = 0;
    while added < want && tries < 10_000 && hours > 8 {
        tries += 1;
        let h = rng.range(2, hours - 3);
        if avoid.iter().any(|&a| (h - a).abs() <= 3) || set.iter().any(|&m| (h - m).abs() <= 1) {
            continue;
        }
        set.insert(h);
        added += 1;
    }
    Ok(set.into_iter().collect())
}
