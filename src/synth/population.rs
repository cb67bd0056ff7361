//! The honest population: independent background relays (born and gone at rates that keep
//! the network's size flat), honest operators with mutual MyFamily, and honest operators that
//! declare nothing (contact-less groups, whose relays are hard negatives).

use std::collections::HashSet;

use super::asn::{AsKind, CATALOGUE};
use super::builder::{pick_as, Builder, Proto, WARMUP_HOURS};
use super::names;
use super::policy::Policy;
use super::rng::{tag, Rng};
use super::scenario::Scenario;
use super::versions::{self, VersionHabit};

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

impl Builder<'_> {
    /// A background relay prototype with random attributes.
    pub(super) fn background_proto(&mut self, rng: &mut Rng, birth: i64, death: i64) -> Proto {
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
}

/// Lifetime parameters that keep the background population flat.
pub(super) struct Demography {
    pub(super) alive_target: f64,
    pub(super) births_per_hour: f64,
    pub(super) short_frac: f64,
    pub(super) short_mean_h: f64,
    pub(super) long_mean_h: f64,
    /// Share of short-lived relays among those alive at any time.
    pub(super) short_share_alive: f64,
}

pub(super) fn demography(sc: &Scenario, relays: u32) -> Demography {
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

pub(super) fn build_background(b: &mut Builder) {
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
        let operator = HonestOperator {
            actor,
            contact: None,
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

/// An honest operator without MyFamily that sets its relays up alike, declaring nothing (no
/// contact) or one contact on every relay; its relays are hard negatives labelled `label`.
pub(super) struct HonestOperator {
    pub(super) actor: usize,
    pub(super) contact: Option<String>,
    pub(super) or_port: u16,
    pub(super) os: &'static str,
    pub(super) policy: Policy,
    pub(super) habit: VersionHabit,
    pub(super) label: &'static str,
}

impl HonestOperator {
    /// One relay on `asn` (a background nickname, no DirPort, no IPv6, no rate limit);
    /// `draw` gives its capacity, birth and death hours from the relay's random stream.
    pub(super) fn add_relay(
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
            contact: self.contact.clone(),
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
