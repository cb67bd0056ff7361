//! Hard negatives: honest relays that share one feature with a planted actor (its popular
//! AS, its tor version, a default nickname) and the honest operators deploying relays on a
//! removed actor's ASes around its return (return look-alikes: declaring nothing, declaring
//! one contact, or single relays with contacts of their own).

use super::actors::ActorPlan;
use super::builder::Builder;
use super::names;
use super::policy::Policy;
use super::population::{demography, HonestOperator};
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

    // A return wave's look-alikes, between the removal and a month after the return (before
    // it, with it, or after it): honest operators without contact or family, of the actor's
    // exit status, each deploying 4-12 relays within a day on one or two of the actor's ASes
    // with one of its ports, half of them on the actor's tor version track; the same declaring
    // one contact on all their relays; and single-relay operators with contacts of their own.
    for (pi, plan) in plans.iter().enumerate() {
        for &(wave, at, _, _, after_removal, _) in &plan.waves {
            let Some(removal) = after_removal else {
                continue;
            };
            let removed_at = plan.removals[removal].0;
            let wave = Wave {
                plan,
                index: (pi as u64, u64::from(wave)),
                at,
                removed_at,
            };
            for (kind, count) in [
                (Lookalike::Contactless, hn.return_lookalikes),
                (Lookalike::Declared, hn.declared_lookalikes),
                (Lookalike::Independent, hn.independent_lookalikes),
            ] {
                for l in 0..count {
                    deploy_lookalike(b, &wave, kind, u64::from(l));
                }
            }
        }
    }
}

/// A planted return wave, for its look-alikes.
struct Wave<'a> {
    plan: &'a ActorPlan,
    /// (actor plan, wave) numbers.
    index: (u64, u64),
    at: i64,
    removed_at: i64,
}

/// How a look-alike operator declares itself.
#[derive(Clone, Copy, PartialEq)]
enum Lookalike {
    /// No contact, no family: `return_lookalike`.
    Contactless,
    /// One contact on all its relays: `declared_lookalike`.
    Declared,
    /// One relay with a contact of its own: `independent_lookalike`.
    Independent,
}

impl Lookalike {
    fn id_prefix(self) -> &'static str {
        match self {
            Lookalike::Contactless => "lookalike",
            Lookalike::Declared => "declared-lookalike",
            Lookalike::Independent => "independent-lookalike",
        }
    }

    fn tags(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Lookalike::Contactless => (
                "return-lookalike",
                "return-lookalike-relay",
                "return_lookalike",
            ),
            Lookalike::Declared => (
                "declared-lookalike",
                "declared-lookalike-relay",
                "declared_lookalike",
            ),
            Lookalike::Independent => (
                "independent-lookalike",
                "independent-lookalike-relay",
                "independent_lookalike",
            ),
        }
    }
}

/// One look-alike operator `l` of a return wave (see [`build_hard_negatives`]).
fn deploy_lookalike(b: &mut Builder, wave: &Wave, kind: Lookalike, l: u64) {
    let (seed, hours, plan) = (b.seed, b.clock.hours, wave.plan);
    let (operator_tag, relay_tag, label) = kind.tags();
    let (pi, w) = wave.index;
    let mut rng = Rng::stream(&[seed, tag(operator_tag), pi, w, l]);
    let k = rng.range(4, 12) as usize;
    let latest = (wave.at + 24 * 30).min(hours - 48);
    if latest <= wave.removed_at + 1 {
        return;
    }
    let deployed = rng.range(wave.removed_at + 1, latest);
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
    // (the contact from a stream of its own: the contactless look-alikes are drawn as before)
    let contact = (kind != Lookalike::Contactless).then(|| {
        let mut r = Rng::stream(&[seed, tag("lookalike-contact"), pi, w, l, kind as u64]);
        names::contact(&mut r, b.sc.background.ciiss_fraction)
    });
    let k = if kind == Lookalike::Independent { 1 } else { k };
    let actor = b.new_actor(
        format!("{}-{}-{w}-{l}", kind.id_prefix(), plan.cfg.id),
        "honest-group",
        contact.clone(),
        format!(
            "honest operator deploying {k} relays after {}'s removal, on its ASes",
            plan.cfg.id
        ),
    );
    let operator = HonestOperator {
        actor,
        contact,
        or_port,
        os: versions::os_named("Linux"),
        policy,
        habit,
        label,
    };
    for j in 0..k {
        let mut r2 = Rng::stream(&[seed, tag(relay_tag), pi, w, l, j as u64]);
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
