//! The shared context of a world under construction: the run's parameters, the [`Builder`]
//! every construction step adds relays and actors to, and the relay prototype ([`Proto`])
//! the steps fill in before simulation.

use std::collections::HashSet;

use super::asn::{self, Allocator, AsKind, CATALOGUE};
use super::keys;
use super::policy::Policy;
use super::rng::{tag, Rng};
use super::scenario::{Clock, Scenario};
use super::time::Ts;
use super::versions::VersionHabit;
use super::world::{ActorInfo, Relay};

/// Hours simulated before the archive starts (so relays have history and descriptors).
pub const WARMUP_HOURS: i64 = 48;

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

/// Shared context while building the world.
pub(super) struct Builder<'a> {
    pub(super) sc: &'a Scenario,
    pub(super) seed: u64,
    pub(super) clock: Clock,
    pub(super) relays_target: u32,
    pub(super) alloc: Allocator,
    pub(super) relays: Vec<Relay>,
    pub(super) actors: Vec<ActorInfo>,
    pub(super) families: Vec<Vec<usize>>,
    pub(super) actor_ases: HashSet<u32>,
}

/// The stable part of a relay a builder fills in before simulation.
pub(super) struct Proto {
    pub(super) nickname: String,
    pub(super) asn: u32,
    pub(super) addr: u32,
    pub(super) ipv6: bool,
    pub(super) or_port: u16,
    pub(super) dir_port: u16,
    pub(super) os: &'static str,
    pub(super) contact: Option<String>,
    pub(super) policy: Policy,
    pub(super) capacity_kbs: f64,
    pub(super) rate: (u64, u64),
    pub(super) habit: VersionHabit,
    pub(super) dircache: bool,
    pub(super) flaky: bool,
    pub(super) dynamic_ip: bool,
    pub(super) birth: i64,
    pub(super) death: i64,
}

pub(super) fn pick_as(rng: &mut Rng, kinds: &[AsKind], exclude: &HashSet<u32>) -> u32 {
    let cands: Vec<&asn::AsInfo> = CATALOGUE
        .iter()
        .filter(|a| kinds.contains(&a.kind) && !exclude.contains(&a.asn))
        .collect();
    let w: Vec<f64> = cands.iter().map(|a| a.weight).collect();
    cands[rng.weighted(&w)].asn
}

impl<'a> Builder<'a> {
    pub(super) fn add_relay(
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

    pub(super) fn new_actor(
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
