//! The network simulation: builds every relay (background population, honest operators, hard
//! negatives and planted actors), their hourly presence, process restarts, descriptor
//! publications, address changes and measured weights, and the events of the ground truth
//! (removals, return waves, outages, missing consensus hours). Rendering reads the resulting
//! [`World`] (see [`super::world`]); nothing here produces text.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use anyhow::Context;
use rayon::prelude::*;

use super::asn::{self, Allocator, AsKind, CATALOGUE};
use super::intervals::{force_down, force_up};
use super::keys;
use super::names;
use super::policy::Policy;
use super::rng::{tag, Rng};
use super::scenario::{ActorCfg, ActorKind, Clock, Scenario};
use super::time::{Ts, DAY, HOUR};
use super::versions::{self, Track, VersionHabit};
use super::world::is_honest;

// The world's types, under the paths they had when they lived here.
pub use super::intervals::{interval_contains, Intervals};
pub use super::world::{ActorInfo, Desc, Outage, Relay, RemovalEvent, ReturnWave, World};

/// Hours simulated before the archive starts (so relays have history and descriptors).
pub const WARMUP_HOURS: i64 = 48;

/// Up/down behaviour of a relay.
#[derive(Debug, Clone, Copy)]
struct UpClass {
    mean_up: f64,
    flaky: bool,
    mean_down: f64,
    restart_prob: f64,
    /// Local-time offset in hours (for diurnal behaviour).
    tz: i64,
}

/// Simulates presence over [from, to) (hours; the relay is up at `from`).
/// Returns presence intervals and process lifetimes.
fn simulate_updown(
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
fn split_procs(procs: &mut Vec<(Ts, Ts)>, restarts: &[Ts]) {
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
fn outside_vote_window(t: Ts) -> Ts {
    let m = t.rem_euclid(HOUR);
    if m >= 50 * 60 {
        t - m + 49 * 60 + (t % 53)
    } else {
        t
    }
}

/// Shared context while building the world.
struct Builder<'a> {
    sc: &'a Scenario,
    seed: u64,
    clock: Clock,
    relays_target: u32,
    alloc: Allocator,
    relays: Vec<Relay>,
    actors: Vec<ActorInfo>,
    families: Vec<Vec<usize>>,
    actor_ases: HashSet<u32>,
}

/// The stable part of a relay a builder fills in before simulation.
struct Proto {
    nickname: String,
    asn: u32,
    addr: u32,
    ipv6: bool,
    or_port: u16,
    dir_port: u16,
    os: &'static str,
    contact: Option<String>,
    policy: Policy,
    capacity_kbs: f64,
    rate: (u64, u64),
    habit: VersionHabit,
    dircache: bool,
    flaky: bool,
    dynamic_ip: bool,
    birth: i64,
    death: i64,
}

fn pick_as(rng: &mut Rng, kinds: &[AsKind], exclude: &HashSet<u32>) -> u32 {
    let cands: Vec<&asn::AsInfo> = CATALOGUE
        .iter()
        .filter(|a| kinds.contains(&a.kind) && !exclude.contains(&a.asn))
        .collect();
    let w: Vec<f64> = cands.iter().map(|a| a.weight).collect();
    cands[rng.weighted(&w)].asn
}

fn rate_limit(rng: &mut Rng, capacity_kbs: f64) -> (u64, u64) {
    if rng.chance(0.72) {
        (1_073_741_824, 1_073_741_824)
    } else {
        let mb = ((capacity_kbs * rng.range(10, 20) as f64 / 10.0) / 1024.0)
            .ceil()
            .max(1.0) as u64;
        let avg = mb * 1_048_576;
        (avg, if rng.chance(0.5) { avg } else { avg * 2 })
    }
}

impl<'a> Builder<'a> {
    fn add_relay(
        &mut self,
        key_seed: u64,
        p: Proto,
        actor: Option<usize>,
        wave: Option<u32>,
    ) -> usize {
        let mut krng = Rng::stream(&[key_seed, tag("identity")]);
        let signing_der = keys::rsa_public_der(&mut krng);
        let mut master_ed = [0u8; 32];
        krng.fill(&mut master_ed);
        let fp = keys::sha1(&signing_der);
        let ipv6 = p.ipv6.then(|| asn::ipv6_for(p.asn, p.addr));
        self.relays.push(Relay {
            fp,
            signing_der,
            master_ed,
            key_seed,
            nickname: p.nickname,
            actor,
            wave,
            family: None,
            family_lists_self: krng.chance(0.5),
            asn: p.asn,
            addrs: vec![(Ts::MIN, p.addr)],
            ipv6,
            exit_addr: None,
            or_port: p.or_port,
            dir_port: p.dir_port,
            os: p.os,
            contact: p.contact,
            policy: p.policy,
            capacity_kbs: p.capacity_kbs,
            rate: p.rate,
            habit: p.habit,
            dircache: p.dircache,
            flaky: p.flaky,
            dynamic_ip: p.dynamic_ip,
            birth: p.birth,
            death: p.death,
            up: Vec::new(),
            procs: Vec::new(),
            measured_from: i64::MIN,
            weights: Vec::new(),
            descs: (0, 0),
            hard_negative: None,
        });
        self.relays.len() - 1
    }

    /// A background relay prototype with random attributes.
    fn background_proto(&mut self, rng: &mut Rng, birth: i64, death: i64) -> Proto {
        let bg = &self.sc.background;
        let flaky = rng.chance(bg.flaky_fraction);
        let residential = flaky || rng.chance(0.08);
        let kinds: &[AsKind] = if residential {
            &[AsKind::Residential]
        } else {
            &[AsKind::Hosting, AsKind::University]
        };
        // ASes that years of churn have filled are passed over (draws consume the generator's
        // randomness only when one is full, so shorter archives are unchanged).
        let mut full = HashSet::new();
        let mut asn = pick_as(rng, kinds, &full);
        while self.alloc.is_nearly_full(asn) {
            full.insert(asn);
            if !CATALOGUE
                .iter()
                .any(|a| kinds.contains(&a.kind) && !full.contains(&a.asn))
            {
                break;
            }
            asn = pick_as(rng, kinds, &full);
        }
        let addr = self.alloc.ipv4(rng, asn, None);
        let exit = !residential && rng.chance(bg.exit_fraction / 0.92);
        let policy = if exit {
            match rng.weighted(&[0.50, 0.30, 0.12, 0.08]) {
                0 => Policy::Reduced,
                1 => Policy::Default,
                2 => Policy::Web,
                _ => Policy::Irc,
            }
        } else {
            Policy::RejectAll
        };
        let mut capacity = rng
            .lognormal(bg.bandwidth_median_kbs, bg.bandwidth_sigma)
            .clamp(40.0, 400_000.0);
        if residential {
            capacity *= 0.3;
        }
        if exit {
            capacity *= 2.6;
        }
        let or_port = match rng.weighted(&[0.52, 0.24, 0.06, 0.18]) {
            0 => 9001,
            1 => 443,
            2 => 9002,
            _ => rng.range(1025, 65000) as u16,
        };
        let dir_port = match rng.weighted(&[0.62, 0.30, 0.08]) {
            0 => 0,
            1 => 9030,
            _ => 80,
        };
        let os = versions::OSES[rng.weighted(versions::OS_WEIGHTS)];
        let contact = rng.chance(bg.contact_fraction).then(|| {
            if rng.chance(bg.placeholder_contact_fraction) {
                names::placeholder_contact(rng)
            } else {
                names::contact(rng, bg.ciiss_fraction)
            }
        });
        Proto {
            nickname: names::background(rng),
            asn,
            addr,
            ipv6: rng.chance(if residential {
                bg.ipv6_fraction * 0.5
            } else {
                bg.ipv6_fraction * 1.1
            }),
            or_port,
            dir_port,
            os,
            contact,
            policy,
            capacity_kbs: capacity,
            rate: rate_limit(rng, capacity),
            habit: VersionHabit::random(rng),
            dircache: rng.chance(0.93),
            flaky,
            dynamic_ip: residential && rng.chance(0.5),
            birth,
            death,
        }
    }

    fn new_actor(
        &mut self,
        id: String,
        kind: &str,
        contact: Option<String>,
        description: String,
    ) -> usize {
        self.actors.push(ActorInfo {
            id,
            kind: kind.to_string(),
            contact,
            description,
        });
        self.actors.len() - 1
    }
}

/// Lifetime parameters that keep the background population flat.
struct Demography {
    alive_target: f64,
    births_per_hour: f64,
    short_frac: f64,
    short_mean_h: f64,
    long_mean_h: f64,
    /// Share of short-lived relays among those alive at any time.
    short_share_alive: f64,
}

fn demography(sc: &Scenario, relays: u32) -> Demography {
    let bg = &sc.background;
    let avail_regular = bg.mean_hours_between_restarts / (bg.mean_hours_between_restarts + 1.4);
    let avail_flaky =
        bg.flaky_mean_up_hours / (bg.flaky_mean_up_hours + bg.flaky_mean_down_hours * 1.3);
    let avail = (1.0 - bg.flaky_fraction) * avail_regular + bg.flaky_fraction * avail_flaky;
    let alive_target = relays as f64 / avail;
    let births_per_hour = (bg.new_relays_per_month * relays as f64 / 720.0).max(1e-6);
    let short_mean_h = bg.short_lifetime_days * 24.0;
    let mean_l = alive_target / births_per_hour;
    let sf = bg.short_lived_fraction.clamp(0.0, 0.95);
    let long_mean_h = ((mean_l - sf * short_mean_h) / (1.0 - sf)).max(short_mean_h * 2.0);
    let short_share_alive = births_per_hour * sf * short_mean_h / alive_target;
    Demography {
        alive_target,
        births_per_hour,
        short_frac: sf,
        short_mean_h,
        long_mean_h,
        short_share_alive,
    }
}

/// Parameters of a generation run.
#[derive(Debug, Clone)]
pub struct SimParams {
    pub seed: u64,
    pub start: Ts,
    pub hours: i64,
    pub relays: u32,
    pub missing_per_month: f64,
    pub months: u32,
}

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

/// Actor plans resolved against the run.
struct ActorPlan {
    cfg: ActorCfg,
    actor: usize,
    ases: Vec<u32>,
    track: Track,
    delay_seed: u64,
    /// (wave number, join hour start, count, spread hours, is_return, after_removal index)
    waves: Vec<(u32, i64, usize, f64, Option<usize>)>,
    /// (first hour, fraction, consensuses it is spread over, by the operator)
    removals: Vec<(i64, f64, i64, bool)>,
}

fn plan_actors(b: &mut Builder) -> anyhow::Result<Vec<ActorPlan>> {
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
            let mut ex = HashSet::new();
            for _ in 0..cfg.as_count {
                let a = pick_as(&mut rng, &[AsKind::Hosting], &ex);
                ex.insert(a);
                ases.push(a);
            }
        }
        b.actor_ases.extend(ases.iter().copied());
        let track = versions::Track::parse(&cfg.version)?;
        let contact = (!cfg.contact.is_empty()).then(|| cfg.contact.clone());
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
            waves.push((wi as u32, at, n, w.spread_hours, None));
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

fn build_background(b: &mut Builder) {
    let d = demography(b.sc, b.relays_target);
    let hours = b.clock.hours;
    let seed = b.seed;
    // hard negatives are background relays too
    let hn = &b.sc.hard_negatives;
    let n_hard = ((hn.popular_as + hn.common_version + hn.default_nickname)
        * b.relays_target as f64) as usize;
    let n_initial = (d.alive_target.round() as usize).saturating_sub(n_hard);
    let n_family_target = (b.sc.background.family_fraction * n_initial as f64) as usize;

    // Honest operators with mutual MyFamily (part of the initial population).
    let mut family_members = 0usize;
    let mut fam_no = 0u64;
    while family_members < n_family_target {
        let mut rng = Rng::stream(&[seed, tag("operator"), fam_no]);
        fam_no += 1;
        let k = (2.0 + rng.lognormal(2.5, 0.9)).min(40.0) as usize;
        let k = k.min(n_family_target - family_members).max(2);
        let contact = names::contact(&mut rng, b.sc.background.ciiss_fraction * 2.0);
        let prefix = names::operator_prefix(&mut rng);
        let habit = VersionHabit::random(&mut rng);
        let n_as = if rng.chance(0.7) {
            1
        } else {
            rng.range(2, 3) as usize
        };
        let ases: Vec<u32> = (0..n_as)
            .map(|_| {
                pick_as(
                    &mut rng,
                    &[AsKind::Hosting, AsKind::University],
                    &HashSet::new(),
                )
            })
            .collect();
        let exit = rng.chance(b.sc.background.exit_fraction * 1.4);
        let policy = if exit {
            [Policy::Reduced, Policy::Default][rng.below(2) as usize]
        } else {
            Policy::RejectAll
        };
        let os = versions::OSES[rng.weighted(versions::OS_WEIGHTS)];
        let or_port = [9001u16, 443, 9000][rng.below(3) as usize];
        let ipv6 = rng.chance(0.5);
        let cap_median = rng.lognormal(b.sc.background.bandwidth_median_kbs * 2.0, 0.8);
        let birth0 = -(rng.exp(d.long_mean_h).ceil() as i64) - 1;
        let id = format!("family-{:04}", fam_no);
        let actor = b.new_actor(
            id,
            "honest-family",
            Some(contact.clone()),
            format!("honest operator running {k} relays with mutual MyFamily"),
        );
        let mut members = Vec::new();
        for j in 0..k {
            let mut r2 = Rng::stream(&[seed, tag("operator-relay"), fam_no, j as u64]);
            let asn = ases[j % ases.len()];
            let addr = b.alloc.ipv4(&mut r2, asn, None);
            let capacity = r2.lognormal(cap_median, 0.3).clamp(50.0, 400_000.0);
            let death = (r2.exp(d.long_mean_h * 2.0).ceil() as i64).max(1);
            let proto = Proto {
                nickname: names::numbered(&prefix, j + 1, if k > 9 { 2 } else { 1 }),
                asn,
                addr,
                ipv6,
                or_port,
                dir_port: if policy == Policy::RejectAll { 0 } else { 80 },
                os,
                contact: Some(contact.clone()),
                policy,
                capacity_kbs: capacity,
                rate: (1_073_741_824, 1_073_741_824),
                habit,
                dircache: true,
                flaky: false,
                dynamic_ip: false,
                birth: birth0 - r2.range(0, 72),
                death,
            };
            let idx = b.add_relay(r2.next_u64(), proto, Some(actor), None);
            members.push(idx);
        }
        for &m in &members {
            b.relays[m].family = Some(b.families.len());
        }
        b.families.push(members);
        family_members += k;
    }

    // Honest operators that declare nothing (no contact, no MyFamily), each on one hosting
    // AS picked by popularity (the big hosters most often), with one version habit, OS and
    // ORPort: KAX17's look-alikes. Most were running before the data starts; the others set
    // up their relays within two days during the run.
    let n_group_target = (b.sc.background.contactless_group_fraction * n_initial as f64) as usize;
    let mut group_members = 0usize;
    let mut group_no = 0u64;
    while group_members < n_group_target {
        let mut rng = Rng::stream(&[seed, tag("contactless-operator"), group_no]);
        group_no += 1;
        let k = (2.0 + rng.lognormal(4.0, 0.6)).min(15.0) as usize;
        let k = k.min(n_group_target - group_members).max(3);
        let asn = pick_as(&mut rng, &[AsKind::Hosting], &HashSet::new());
        let habit = VersionHabit::random(&mut rng);
        let os = versions::OSES[rng.weighted(versions::OS_WEIGHTS)];
        let or_port = [9001u16, 443, 9000][rng.below(3) as usize];
        let cap_median = rng.lognormal(b.sc.background.bandwidth_median_kbs * 1.5, 0.6);
        let birth0 = if rng.chance(0.6) {
            -(rng.exp(d.long_mean_h).ceil() as i64) - 1
        } else {
            rng.range(0, hours.max(2) - 1)
        };
        let actor = b.new_actor(
            format!("group-{group_no:04}"),
            "honest-group",
            None,
            format!("honest operator running {k} relays on AS{asn} without contact or family"),
        );
        let operator = UndeclaredOperator {
            actor,
            or_port,
            os,
            policy: Policy::RejectAll,
            habit,
            label: "contactless_operator",
        };
        for j in 0..k {
            let mut r2 =
                Rng::stream(&[seed, tag("contactless-operator-relay"), group_no, j as u64]);
            operator.add_relay(b, &mut r2, asn, |r2| {
                (
                    r2.lognormal(cap_median, 0.3).clamp(50.0, 400_000.0),
                    birth0 + r2.range(0, 48),
                    (r2.exp(d.long_mean_h * 2.0).ceil() as i64).max(hours.min(birth0 + 49) + 1),
                )
            });
        }
        group_members += k;
    }

    // Independent relays alive at the start.
    for i in 0..n_initial.saturating_sub(family_members + group_members) {
        let mut rng = Rng::stream(&[seed, tag("bg-initial"), i as u64]);
        let short = rng.chance(d.short_share_alive);
        let mean = if short { d.short_mean_h } else { d.long_mean_h };
        let birth = -(rng.exp(mean).ceil() as i64) - 1;
        let death = (rng.exp(mean).ceil() as i64).max(1);
        let proto = b.background_proto(&mut rng, birth, death);
        let ks = rng.next_u64();
        b.add_relay(ks, proto, None, None);
    }

    // Relays born during the run (and the warm-up), diurnal join times.
    let mut rng = Rng::stream(&[seed, tag("births")]);
    let mut h = -WARMUP_HOURS;
    let mut n = 0u64;
    while h < hours {
        let local = (h + 1).rem_euclid(24) as f64;
        let diurnal = 1.0 + 0.5 * (std::f64::consts::TAU * (local - 15.0) / 24.0).cos();
        let k = rng.poisson(d.births_per_hour * diurnal);
        for _ in 0..k {
            let mut r = Rng::stream(&[seed, tag("bg-born"), n]);
            n += 1;
            let short = r.chance(d.short_frac);
            let mean = if short { d.short_mean_h } else { d.long_mean_h };
            let life = (r.exp(mean).ceil() as i64).max(2);
            let proto = b.background_proto(&mut r, h, h + life);
            let ks = r.next_u64();
            b.add_relay(ks, proto, None, None);
        }
        h += 1;
    }
}

/// The first KAX17-like actor, whose features the hard negatives imitate.
/// An honest operator that declares nothing (no contact, no MyFamily) and sets its relays up
/// alike; its relays are hard negatives labelled `label`.
struct UndeclaredOperator {
    actor: usize,
    or_port: u16,
    os: &'static str,
    policy: Policy,
    habit: VersionHabit,
    label: &'static str,
}

impl UndeclaredOperator {
    /// One relay on `asn` (a background nickname, no DirPort, no IPv6, no rate limit);
    /// `draw` gives its capacity, birth and death hours from the relay's random stream.
    fn add_relay(
        &self,
        b: &mut Builder,
        rng: &mut Rng,
        asn: u32,
        draw: impl FnOnce(&mut Rng) -> (f64, i64, i64),
    ) {
        let addr = b.alloc.ipv4(rng, asn, None);
        let nickname = names::background(rng);
        let (capacity_kbs, birth, death) = draw(rng);
        let proto = Proto {
            nickname,
            asn,
            addr,
            ipv6: false,
            or_port: self.or_port,
            dir_port: 0,
            os: self.os,
            contact: None,
            policy: self.policy,
            capacity_kbs,
            rate: (1_073_741_824, 1_073_741_824),
            habit: self.habit,
            dircache: true,
            flaky: false,
            dynamic_ip: false,
            birth,
            death,
        };
        let idx = b.add_relay(rng.next_u64(), proto, Some(self.actor), None);
        b.relays[idx].hard_negative = Some(self.label);
    }
}

fn kax_plan(plans: &[ActorPlan]) -> Option<&ActorPlan> {
    plans.iter().find(|p| p.cfg.kind == ActorKind::Kax17Like)
}

fn build_hard_negatives(b: &mut Builder, plans: &[ActorPlan]) {
    let hn = b.sc.hard_negatives.clone();
    let seed = b.seed;
    let kax = kax_plan(plans);
    let count = |f: f64| (f * b.relays_target as f64).round() as usize;
    let mut specs: Vec<&'static str> = Vec::new();
    if kax.is_some() {
        specs.extend(std::iter::repeat_n("popular-as", count(hn.popular_as)));
        specs.extend(std::iter::repeat_n(
            "common-version",
            count(hn.common_version),
        ));
    }
    specs.extend(std::iter::repeat_n(
        "default-nickname",
        count(hn.default_nickname),
    ));
    let d = demography(b.sc, b.relays_target);
    for (i, reason) in specs.into_iter().enumerate() {
        let mut rng = Rng::stream(&[seed, tag("hard-negative"), i as u64]);
        let birth = -(rng.exp(d.long_mean_h).ceil() as i64) - 1;
        let death = (rng.exp(d.long_mean_h).ceil() as i64).max(1);
        let mut proto = b.background_proto(&mut rng, birth, death);
        proto.contact = None;
        proto.flaky = false;
        proto.dynamic_ip = false;
        match reason {
            "popular-as" => {
                let kax = kax.expect("checked");
                let asn = *rng.pick(&kax.ases);
                proto.asn = asn;
                proto.addr = b.alloc.ipv4(&mut rng, asn, None);
                proto.policy = Policy::RejectAll;
            }
            "common-version" => {
                let kax = kax.expect("checked");
                proto.habit = VersionHabit::with_track(&mut rng, kax.track);
                proto.os = versions::os_named(&kax.cfg.os[0]);
                proto.or_port = kax.cfg.or_ports[0];
                proto.policy = Policy::RejectAll;
            }
            _ => {
                proto.nickname = names::styled(&mut rng, "default", "", i);
            }
        }
        let ks = rng.next_u64();
        let idx = b.add_relay(ks, proto, None, None);
        b.relays[idx].hard_negative = Some(reason);
    }

    // A return wave's look-alikes: honest operators without contact or family, of the actor's
    // exit status, each deploying 4-12 relays within a day on one or two of the actor's ASes
    // with one of its ports, some time between the removal and a month after the return
    // (before it, with it, or after it), half of them on the actor's tor version track.
    let hours = b.clock.hours;
    for (pi, plan) in plans.iter().enumerate() {
        for &(wave, at, _, _, after_removal) in &plan.waves {
            let Some(removal) = after_removal else {
                continue;
            };
            let removed_at = plan.removals[removal].0;
            for l in 0..hn.return_lookalikes {
                let mut rng = Rng::stream(&[
                    seed,
                    tag("return-lookalike"),
                    pi as u64,
                    u64::from(wave),
                    u64::from(l),
                ]);
                let k = rng.range(4, 12) as usize;
                let latest = (at + 24 * 30).min(hours - 48);
                if latest <= removed_at + 1 {
                    continue;
                }
                let deployed = rng.range(removed_at + 1, latest);
                let habit = if rng.chance(0.5) {
                    VersionHabit::with_track(&mut rng, plan.track)
                } else {
                    VersionHabit::random(&mut rng)
                };
                let or_port = *rng.pick(&plan.cfg.or_ports);
                // Like any operator, on one or two hosters (the actor's).
                let mut hosters = plan.ases.clone();
                rng.shuffle(&mut hosters);
                hosters.truncate(rng.range(1, 2) as usize);
                let policy = if plan.cfg.exit {
                    [Policy::Reduced, Policy::Default][rng.below(2) as usize]
                } else {
                    Policy::RejectAll
                };
                let actor = b.new_actor(
                    format!("lookalike-{}-{wave}-{l}", plan.cfg.id),
                    "honest-group",
                    None,
                    format!(
                        "honest operator deploying {k} relays after {}'s removal, on its ASes",
                        plan.cfg.id
                    ),
                );
                let operator = UndeclaredOperator {
                    actor,
                    or_port,
                    os: versions::os_named("Linux"),
                    policy,
                    habit,
                    label: "return_lookalike",
                };
                for j in 0..k {
                    let mut r2 = Rng::stream(&[
                        seed,
                        tag("return-lookalike-relay"),
                        pi as u64,
                        u64::from(wave),
                        u64::from(l),
                        j as u64,
                    ]);
                    let asn = *r2.pick(&hosters);
                    operator.add_relay(b, &mut r2, asn, |r2| {
                        (
                            r2.lognormal(plan.cfg.bandwidth_median_kbs, 0.5),
                            deployed + r2.range(0, 23),
                            hours + 1,
                        )
                    });
                }
            }
        }
    }
}

/// Creates every actor relay; returns, per plan, the relay indices per wave.
fn build_actor_relays(
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
        for &(wave, at, n, spread, _) in &plan.waves {
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
                let asn = *rng.pick(&plan.ases);
                let addr = b
                    .alloc
                    .ipv4(&mut rng, asn, cfg.spread_slash16.then_some(&mut used16));
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
                    contact: (!cfg.contact.is_empty()).then(|| cfg.contact.clone()),
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

fn synchronized_restarts(b: &mut Builder, plans: &[ActorPlan]) {
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
fn shared_cause_restarts(b: &mut Builder) {
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

/// Cloud addresses handed to the next customer: with `address_reuse_fraction`, a hosted
/// background relay (static address, no exit address of its own) born at least
/// `address_reuse_min_days` after a planted actor's relay left for good takes over that
/// relay's address and AS. It is a hard negative (`reused_address`): the actor's old address
/// says nothing about its next holder.
fn reuse_addresses(b: &mut Builder) {
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

fn apply_removals(
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

fn collect_returns(
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

fn apply_outages(b: &mut Builder) -> anyhow::Result<Vec<Outage>> {
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

/// Residential relays with dynamic addresses get a new IPv4 address at some restarts.
fn dynamic_addresses(b: &mut Builder) {
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

fn choose_missing(
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
