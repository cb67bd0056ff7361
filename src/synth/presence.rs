//! When relays run: the up/down model behind each relay's presence intervals, its tor
//! process lifetimes, and the restarts relays share (planted actors' synchronized restarts,
//! hosters' maintenance windows, nightly upgrades after a tor release).

use std::collections::BTreeMap;

use super::actors::ActorPlan;
use super::builder::Builder;
use super::intervals::Intervals;
use super::rng::{tag, Rng};
use super::time::{Ts, DAY, HOUR};

/// Up/down behaviour of a relay.
#[derive(Debug, Clone, Copy)]
pub(super) struct UpClass {
    pub(super) mean_up: f64,
    pub(super) flaky: bool,
    pub(super) mean_down: f64,
    pub(super) restart_prob: f64,
    /// Local-time offset in hours (for diurnal behaviour).
    pub(super) tz: i64,
}

/// Simulates presence over [from, to) (hours; the relay is up at `from`).
/// Returns presence intervals and process lifetimes.
pub(super) fn simulate_updown(
    rng: &mut Rng,
    c: UpClass,
    start: Ts,
    from: i64,
    to: i64,
    first_proc: Ts,
) -> (Intervals, Vec<(Ts, Ts)>) {
    let va = |h: i64| start + h * HOUR;
    let mut up = Vec::new();
    let mut procs = Vec::new();
    let mut proc_start = first_proc;
    let mut h = from;
    let mut iv_start = from;
    while h < to {
        let local = (h + c.tz).rem_euclid(24);
        let mut p = 1.0 / c.mean_up;
        if c.flaky {
            p *= 1.0 + 0.9 * (std::f64::consts::TAU * (local as f64 - 0.0) / 24.0).cos();
        }
        if h > iv_start && rng.chance(p) {
            // goes down at hour h (absent from consensus h)
            up.push((iv_start, h));
            let len = if c.flaky {
                if (21..24).contains(&local) || local < 3 {
                    if rng.chance(0.5) {
                        // off overnight, back in the morning
                        (24 - local + rng.range(7, 9)) % 24
                    } else {
                        rng.exp(c.mean_down).ceil() as i64
                    }
                } else {
                    rng.exp(c.mean_down).ceil() as i64
                }
            } else {
                match rng.weighted(&[0.70, 0.25, 0.05]) {
                    0 => 1,
                    1 => 2,
                    _ => rng.range(3, 6),
                }
            }
            .max(1);
            let back = h + len;
            if rng.chance(c.restart_prob) {
                // the process died during hour h-1 and restarts during hour back-1
                let died = va(h) - rng.range(12, 55) * 60;
                procs.push((proc_start, died.max(proc_start + 60)));
                proc_start = va(back - 1) + rng.range(5, 44) * 60 + rng.range(0, 59);
                if proc_start <= died {
                    proc_start = died + 120;
                }
            }
            h = back;
            iv_start = back;
            continue;
        }
        h += 1;
    }
    if iv_start < to {
        up.push((iv_start, to));
    }
    procs.push((proc_start, va(to)));
    (up, procs)
}

/// Splits process lifetimes at restart times (upgrades, synchronized restarts).
pub(super) fn split_procs(procs: &mut Vec<(Ts, Ts)>, restarts: &[Ts]) {
    for &t in restarts {
        if let Some(i) = procs.iter().position(|&(s, e)| t > s + 600 && t < e - 600) {
            let (s, e) = procs[i];
            procs[i] = (s, t);
            procs.insert(i + 1, (t, e));
        }
    }
}

/// Moves a time out of the hh:50-hh:59 voting window (keeps "published before valid-after"
/// equal to "published before the vote").
pub(super) fn outside_vote_window(t: Ts) -> Ts {
    let m = t.rem_euclid(HOUR);
    if m >= 50 * 60 {
        t - m + 49 * 60 + (t % 53)
    } else {
        t
    }
}

pub(super) fn synchronized_restarts(b: &mut Builder, plans: &[ActorPlan]) {
    let start = b.clock.start;
    let hours = b.clock.hours;
    for (pi, plan) in plans.iter().enumerate() {
        if plan.cfg.synchronized_restart_days <= 0.0 {
            continue;
        }
        let mut rng = Rng::stream(&[b.seed, tag("sync-restart"), pi as u64]);
        let period = (plan.cfg.synchronized_restart_days * DAY as f64) as Ts;
        let mut t = start + rng.range(0, period / HOUR) * HOUR + rng.range(5, 40) * 60;
        let mut times = Vec::new();
        while t < start + hours * HOUR {
            times.push(t);
            t += period;
        }
        for r in b.relays.iter_mut().filter(|r| r.actor == Some(plan.actor)) {
            let jittered: Vec<Ts> = times
                .iter()
                .map(|&t| t + (r.key_seed % 240) as Ts)
                .collect();
            split_procs(&mut r.procs, &jittered);
        }
    }
}

/// Restarts that unrelated relays share, as on the real network: a hosting AS's maintenance
/// window restarts most of the relays it hosts in one hour, and after a tor release the
/// relays upgraded by a nightly timer restart at 06:00 local time the next night. Only the
/// tor process restarts (descriptors show a new uptime); presence is unchanged, so the planted
/// truth is too. Residential (flaky) relays take part in neither.
pub(super) fn shared_cause_restarts(b: &mut Builder) {
    let bg = &b.sc.background;
    let start = b.clock.start;
    let hours = b.clock.hours;
    let months = hours as f64 / (30.44 * 24.0);
    let mut by_as: BTreeMap<u32, Vec<usize>> = BTreeMap::new();
    for (i, r) in b.relays.iter().enumerate() {
        if !r.flaky {
            by_as.entry(r.asn).or_default().push(i);
        }
    }
    let mut restarts: Vec<Vec<Ts>> = vec![Vec::new(); b.relays.len()];
    if bg.hoster_maintenance_per_month > 0.0 {
        for (asn, members) in &by_as {
            if members.len() < 5 {
                continue;
            }
            let mut rng = Rng::stream(&[b.seed, tag("maintenance"), u64::from(*asn)]);
            for _ in 0..rng.poisson(bg.hoster_maintenance_per_month * months) {
                let at = start + rng.range(0, hours) * HOUR + rng.range(2, 30) * 60;
                for &i in members {
                    if rng.chance(bg.hoster_maintenance_share) {
                        restarts[i].push(outside_vote_window(at + rng.range(0, 900)));
                    }
                }
            }
        }
    }
    if bg.releases_per_month > 0.0 {
        // The few zones most relays' nightly timers run in (UTC offsets).
        const ZONES: [i64; 5] = [-5, 0, 1, 2, 8];
        let mut rng = Rng::stream(&[b.seed, tag("releases")]);
        let releases: Vec<i64> = (0..rng.poisson(bg.releases_per_month * months))
            .map(|_| rng.range(0, hours / 24))
            .collect();
        for (i, r) in b.relays.iter().enumerate() {
            let mut own = Rng::stream(&[b.seed, tag("nightly"), r.key_seed]);
            if r.flaky || r.os != "Linux" || !own.chance(bg.nightly_upgrade_fraction) {
                continue;
            }
            let zone = ZONES[own.below(ZONES.len() as u64) as usize];
            for &day in &releases {
                // 06:00 local the night after the release day, within the timer's minutes.
                let at = start + (day + 1) * DAY + (6 - zone) * HOUR + own.range(1, 20) * 60;
                restarts[i].push(at);
            }
        }
    }
    for (r, mut times) in b.relays.iter_mut().zip(restarts) {
        times.sort_unstable();
        split_procs(&mut r.procs, &times);
    }
}
