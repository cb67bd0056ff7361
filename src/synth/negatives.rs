//! Hard negatives: honest relays that share one feature with a planted actor (its popular
//! AS, its tor version, a default nickname) and the honest operators deploying relays on a
//! removed actor's ASes around its return (return look-alikes).

use super::actors::ActorPlan;
use super::builder::Builder;
use super::names;
use super::policy::Policy;
use super::population::{demography, UndeclaredOperator};
use super::rng::{tag, Rng};
use super::scenario::ActorKind;
use super::versions::{self, VersionHabit};

/// The first KAX17-like actor, whose features the hard negatives imitate.
fn kax_plan(plans: &[ActorPlan]) -> Option<&ActorPlan> {
    plans.iter().find(|p| p.cfg.kind == ActorKind::Kax17Like)
}

pub(super) fn build_hard_negatives(b: &mut Builder, plans: &[ActorPlan]) {
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
