//! Adoption by a shared cohort: a relay in no group that did what a group did, at the same
//! time and far beyond the usual churn, and that on its own looks like the group on its rare
//! infrastructure, belongs to it. The cohorts are a removal event (the authorities removed it
//! together with the group's relays: [`adopt_removed`]) and a join batch (it appeared within
//! `join_window_hours` of a batch of an actor's relays, far more than usually join then:
//! [`adopt_joined`]).
//!
//! Pair by pair, such relays stay below a link: a relay running before the data starts has no
//! join to share, and "removed together" plus the configuration one relay shares with another
//! (an ORPort, a /16) is short of `link_threshold`; a relay of a return wave shares one join
//! batch, fewer restart hours. Summing those sub-threshold pairs over the group would count
//! one shared event once per member (any stranger who joined in the batch's hours would
//! collect a score per member), so the cohort counts once, as the prior odds that a relay of it
//! is the group's (the group's relays in the cohort against the others), and the relay's own
//! traits are weighed against the group's habits and the network's ([`Habits`]): it is adopted
//! when the odds reach `adopt_min_odds`.
//! A declared operator's relays are those that declare it: no relay is adopted into a group
//! held together by a shared contact or a mutual family.

use std::collections::BTreeMap;

use super::config::AttributionConfig;
use super::grouping::Grouping;
use super::habits::{traits, Habits};
use super::profile::{EventFacts, Profile};
use super::rarity::RarityWindows;
use crate::util::time::HOUR_MS;

/// What a group shares with a relay it adopts.
#[derive(Debug, Clone, PartialEq)]
pub enum Cohort {
    /// Removed in the event at `at`, with `of_group` of the group's relays (of `relays`
    /// the event removed, of which `churn` are expected to be ordinary departures).
    Removal {
        at: i64,
        of_group: usize,
        relays: usize,
        churn: f64,
    },
    /// First seen within `join_window_hours` of `of_group` of the group's relays joining (where
    /// `expected` joins of any relay are usual).
    Joins {
        at: i64,
        of_group: usize,
        expected: f64,
    },
}

/// A relay adopted into a group.
#[derive(Debug, Clone)]
pub struct Adoption {
    pub group: usize,
    pub cohort: Cohort,
    /// The odds that a relay of the cohort in no group is the unit's, from the cohort alone:
    /// the unit's relays in it against the others.
    pub prior_odds: f64,
    /// How many times likelier the relay's traits are under the unit's habits than under the
    /// network's ([`Habits`]), and each trait's factor.
    pub likelihood_ratio: f64,
    pub factors: Vec<(String, f64)>,
}

impl Adoption {
    /// The odds that the relay is the unit's.
    pub fn odds(&self) -> f64 {
        self.prior_odds * self.likelihood_ratio
    }
}

/// Units relays are adopted into (groups, or actors: groups linked across removals), with
/// their habits and the network's in each rarity window.
struct Units<'a> {
    /// Each relay's unit (None: in no group).
    unit_of: Vec<Option<usize>>,
    /// Units that declare an operator (shared contact, mutual family): adopt no one.
    declared: Vec<bool>,
    habits: Vec<Habits>,
    network: Vec<Habits>,
    windows: RarityWindows,
    config: &'a AttributionConfig,
}

impl<'a> Units<'a> {
    /// The unit a cohort belongs to: the one holding most of its relays in units, at least
    /// `min_group_relays` and at least half of them, not a declared operator; with its count
    /// and the cohort's relays in any unit.
    fn owner(&self, members: impl Iterator<Item = usize>) -> Option<(usize, usize, usize)> {
        let mut counts: BTreeMap<usize, usize> = BTreeMap::new();
        let mut in_units = 0;
        for m in members {
            if let Some(u) = self.unit_of[m] {
                *counts.entry(u).or_default() += 1;
                in_units += 1;
            }
        }
        let (&u, &count) = counts
            .iter()
            .max_by_key(|(u, c)| (**c, std::cmp::Reverse(**u)))?;
        (count >= self.config.min_group_relays && 2 * count >= in_units && !self.declared[u])
            .then_some((u, count, in_units))
    }

    fn new(
        profiles: &[Profile],
        unit_of: Vec<Option<usize>>,
        members: &[Vec<usize>],
        declared: Vec<bool>,
        config: &'a AttributionConfig,
    ) -> Self {
        let windows = RarityWindows::of(profiles, config);
        let mut network: Vec<Habits> = Vec::new();
        for p in profiles {
            let values = traits(p);
            for w in windows.of_relay(p) {
                if network.len() <= w {
                    network.resize(w + 1, Habits::of(std::iter::empty()));
                }
                network[w].add(&values);
            }
        }
        Units {
            unit_of,
            declared,
            habits: members
                .iter()
                .map(|m| Habits::of(m.iter().map(|&i| &profiles[i])))
                .collect(),
            network,
            windows,
            config,
        }
    }

    /// The adoption of `relay` into unit `u` when the odds that it is the unit's reach
    /// `adopt_min_odds`; `share` is the part of the cohort that is the unit's.
    fn adoption(
        &self,
        profiles: &[Profile],
        relay: usize,
        (u, share): (usize, f64),
        cohort: Cohort,
    ) -> Option<Adoption> {
        let adoption = self.adoption_by(&self.habits[u], profiles, relay, share, cohort)?;
        Some(Adoption {
            group: u,
            ..adoption
        })
    }

    /// The adoption of `relay` by relays of these `habits` (group number left 0).
    fn adoption_by(
        &self,
        habits: &Habits,
        profiles: &[Profile],
        relay: usize,
        share: f64,
        cohort: Cohort,
    ) -> Option<Adoption> {
        let p = &profiles[relay];
        let network = &self.network[self.windows.at(p.first_seen).min(self.network.len() - 1)];
        let (likelihood_ratio, factors) = habits.likelihood_ratio(network, &traits(p));
        let adoption = Adoption {
            group: 0,
            cohort,
            prior_odds: share / (1.0 - share),
            likelihood_ratio,
            factors,
        };
        (adoption.odds() >= self.config.adopt_min_odds).then_some(adoption)
    }
}

/// Relays the authorities removed with a group: for each removal event owned by a group (see
/// [`Units::owner`]), its relays in no group whose odds of being the group's reach
/// `adopt_min_odds` join it; the relays of an event no group owns may form a group of their
/// own ([`unowned_removal`]). The event's relays are what stood out of the churn, selected
/// against it (`churn`: each event's expected ordinary departures, `baseline_departures`);
/// those in no group are the group's, another group's in the event or that churn. Run before
/// the returns, so a removed group's signature includes the relays removed with it.
pub fn adopt_removed(
    profiles: &[Profile],
    grouping: &mut Grouping,
    events_facts: &BTreeMap<i64, EventFacts>,
    config: &AttributionConfig,
) -> Vec<Option<Adoption>> {
    let mut adopted: Vec<Option<Adoption>> = vec![None; profiles.len()];
    let mut events: BTreeMap<i64, Vec<usize>> = BTreeMap::new();
    for (i, p) in profiles.iter().enumerate() {
        for &t in &p.removed_in {
            events.entry(t).or_default().push(i);
        }
    }
    merge_removed_groups(grouping, &events, events_facts, config);
    let units = Units::new(
        profiles,
        grouping.group_of.clone(),
        &grouping.groups,
        grouping.declared_groups(),
        config,
    );
    let mut new_groups: Vec<Vec<(usize, Adoption)>> = Vec::new();
    for (&at, members) in &events {
        let facts = events_facts.get(&at).copied().unwrap_or_default();
        let Some((g, of_group, grouped)) = units.owner(members.iter().copied()) else {
            if let Some(group) = unowned_removal(profiles, &units, members, &facts, config) {
                new_groups.push(group);
            }
            continue;
        };
        // The ungrouped relays beyond the expected churn (and one relay's worth of doubt),
        // shared among the event's groups as their grouped relays are.
        let expected = facts.churn + 1.0;
        let ungrouped = (members.len() - grouped) as f64;
        let theirs = (ungrouped - expected).max(0.0) * of_group as f64 / grouped as f64;
        for &relay in members {
            if units.unit_of[relay].is_some() || adopted[relay].is_some() {
                continue;
            }
            let cohort = Cohort::Removal {
                at,
                of_group,
                relays: members.len(),
                churn: expected - 1.0,
            };
            let share = capped_share(theirs, ungrouped);
            adopted[relay] = units.adoption(profiles, relay, (g, share), cohort);
        }
    }
    // Join waves no group owns, too large for pairs.
    let mut taken: Vec<bool> = adopted.iter().map(Option::is_some).collect();
    for &(relay, _) in new_groups.iter().flatten() {
        taken[relay] = true;
    }
    new_groups.extend(unowned_joins(profiles, &units, &taken, config));
    apply(grouping, &adopted);
    for group in new_groups {
        let g = grouping.groups.len();
        for &(relay, ref adoption) in &group {
            grouping.group_of[relay] = Some(g);
            adopted[relay] = Some(Adoption {
                group: g,
                ..adoption.clone()
            });
        }
        let mut members: Vec<usize> = group.iter().map(|(r, _)| *r).collect();
        members.sort_unstable();
        grouping.groups.push(members);
    }
    adopted
}

/// Groups the authorities removed together are one: in a removal event (not an operator
/// switching its relays off), the groups most of whose relays it removed, each with at least
/// `min_group_relays` of them and none a declared operator, merge into the largest (the pieces
/// of one actor that its pairs' evidence left apart; an honest group is rarely removed almost
/// whole in the hour another is). Emptied groups are dropped and the rest renumbered.
fn merge_removed_groups(
    grouping: &mut Grouping,
    events: &BTreeMap<i64, Vec<usize>>,
    events_facts: &BTreeMap<i64, EventFacts>,
    config: &AttributionConfig,
) {
    let declared = grouping.declared_groups();
    let mut merged = false;
    for (at, members) in events {
        if events_facts.get(at).is_some_and(|f| f.operator_departure) {
            continue;
        }
        let mut counts: BTreeMap<usize, usize> = BTreeMap::new();
        for &m in members {
            if let Some(g) = grouping.group_of[m] {
                *counts.entry(g).or_default() += 1;
            }
        }
        let mut removed: Vec<usize> = counts
            .into_iter()
            .filter(|&(g, c)| {
                c >= config.min_group_relays && 2 * c >= grouping.groups[g].len() && !declared[g]
            })
            .map(|(g, _)| g)
            .collect();
        if removed.len() < 2 {
            continue;
        }
        removed.sort_by_key(|&g| (std::cmp::Reverse(grouping.groups[g].len()), g));
        let into = removed[0];
        for &g in &removed[1..] {
            let moved = std::mem::take(&mut grouping.groups[g]);
            for &m in &moved {
                grouping.group_of[m] = Some(into);
            }
            grouping.groups[into].extend(moved);
        }
        grouping.groups[into].sort_unstable();
        merged = true;
    }
    if merged {
        let mut renumber = vec![None; grouping.groups.len()];
        let mut kept = Vec::new();
        for (g, members) in std::mem::take(&mut grouping.groups).into_iter().enumerate() {
            if !members.is_empty() {
                renumber[g] = Some(kept.len());
                kept.push(members);
            }
        }
        grouping.groups = kept;
        for g in grouping.group_of.iter_mut() {
            *g = g.and_then(|g| renumber[g]);
        }
    }
}

/// A removal event no group owns: its relays in no group become a group of their own when the
/// odds that each belongs with the others reach `adopt_min_odds`: the event's relays beyond its
/// expected churn against that churn, times how much likelier the relay's traits are under the
/// habits of the event's other ungrouped relays than under the network's. Not for an operator
/// switching its relays off, nor for an event whose relays declare two or more operators (the
/// authorities also remove relays by policy, end-of-life versions say, whoever runs them).
fn unowned_removal(
    profiles: &[Profile],
    units: &Units,
    members: &[usize],
    facts: &EventFacts,
    config: &AttributionConfig,
) -> Option<Vec<(usize, Adoption)>> {
    if facts.operator_departure {
        return None;
    }
    let ungrouped: Vec<usize> = members
        .iter()
        .copied()
        .filter(|&r| units.unit_of[r].is_none())
        .collect();
    if ungrouped.len() < config.min_group_relays || 2 * ungrouped.len() < members.len() {
        return None;
    }
    let expected = facts.churn + 1.0;
    let n = ungrouped.len() as f64;
    let share = capped_share((n - expected).max(0.0), n);
    let at = |relay: usize| profiles[relay].removed_in.first().copied().unwrap_or(0);
    own_group(profiles, units, &ungrouped, share, config, |relay| {
        Cohort::Removal {
            at: at(relay),
            of_group: ungrouped.len(),
            relays: members.len(),
            churn: facts.churn,
        }
    })
}

/// The relays of a cohort no unit owns (`ungrouped`, each in no group) that form a group of
/// their own: those whose odds of belonging with the others reach `adopt_min_odds` (`share` of
/// the cohort is one actor's, times how much likelier the relay's traits are under the
/// habits of the others than under the network's); a group when at least `min_group_relays`.
/// Not when its relays declare two or more operators (the authorities also remove relays by
/// policy, end-of-life versions say, whoever runs them; honest operators deploy on the same
/// day).
fn own_group(
    profiles: &[Profile],
    units: &Units,
    ungrouped: &[usize],
    share: f64,
    config: &AttributionConfig,
    cohort: impl Fn(usize) -> Cohort,
) -> Option<Vec<(usize, Adoption)>> {
    let operators: std::collections::BTreeSet<&str> = ungrouped
        .iter()
        .filter(|&&r| profiles[r].contact_shared)
        .filter_map(|&r| profiles[r].contact.as_deref())
        .collect();
    if operators.len() > 1 {
        return None;
    }
    // The habits of all, each relay taken out while it is compared (it would vouch for its
    // own traits).
    let mut habits = Habits::of(ungrouped.iter().map(|&r| &profiles[r]));
    let mut group = Vec::new();
    for &relay in ungrouped {
        let values = traits(&profiles[relay]);
        habits.remove(&values);
        if let Some(adoption) = units.adoption_by(&habits, profiles, relay, share, cohort(relay)) {
            group.push((relay, adoption));
        }
        habits.add(&values);
    }
    (group.len() >= config.min_group_relays).then_some(group)
}

/// Join waves too large for pairs: where the joins within `join_window_hours` of an hour exceed
/// `max_block_relays` (the candidate pairs skip blocks that large), the consecutive such hours'
/// joiners in no group and adopted by no cohort form a group of their own when most of the
/// wave is theirs and each relay's odds of belonging with the others reach `adopt_min_odds`:
/// the wave's joins beyond the usual number against the usual, times the others' habits. The
/// larger a wave, the easier it is to attribute, not the harder.
fn unowned_joins(
    profiles: &[Profile],
    units: &Units,
    taken: &[bool],
    config: &AttributionConfig,
) -> Vec<Vec<(usize, Adoption)>> {
    let mut joiners: Vec<usize> = (0..profiles.len())
        .filter(|&i| !profiles[i].first_seen_censored)
        .collect();
    joiners.sort_by_key(|&i| (profiles[i].first_seen, i));
    let (Some(&first), Some(&last)) = (joiners.first(), joiners.last()) else {
        return Vec::new();
    };
    let (t0, t1) = (profiles[first].first_seen, profiles[last].first_seen);
    let span_hours = ((t1 - t0) / HOUR_MS).max(1) as f64;
    let per_hour = joiners.len() as f64 / span_hours;
    let reach = i64::from(config.join_window_hours) * HOUR_MS;
    let joined_near = |t: i64| {
        joiners.partition_point(|&j| profiles[j].first_seen <= t + reach)
            - joiners.partition_point(|&j| profiles[j].first_seen < t - reach)
    };
    // Runs of joiners whose windows are too large for pairs, split where a window is not.
    let mut waves: Vec<Vec<usize>> = Vec::new();
    let mut current: Vec<usize> = Vec::new();
    for &j in &joiners {
        if joined_near(profiles[j].first_seen) > config.max_block_relays {
            current.push(j);
        } else if !current.is_empty() {
            waves.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        waves.push(current);
    }
    let mut groups = Vec::new();
    for wave in waves {
        let ungrouped: Vec<usize> = wave
            .iter()
            .copied()
            .filter(|&r| units.unit_of[r].is_none() && !taken[r])
            .collect();
        if ungrouped.len() < config.min_group_relays || 2 * ungrouped.len() < wave.len() {
            continue;
        }
        let hours = (profiles[*wave.last().expect("a wave")].first_seen
            - profiles[wave[0]].first_seen)
            / HOUR_MS
            + 1;
        let expected = per_hour * hours as f64 + 1.0;
        let n = ungrouped.len() as f64;
        let share = capped_share((n - expected).max(0.0), n);
        let of_group = ungrouped.len();
        let cohort = |relay: usize| Cohort::Joins {
            at: profiles[relay].first_seen,
            of_group,
            expected,
        };
        if let Some(group) = own_group(profiles, units, &ungrouped, share, config, cohort) {
            groups.push(group);
        }
    }
    groups
}

/// Relays that joined in a batch of an actor's relays: for each relay in no group first seen
/// within `join_window_hours` of joins of which an actor holds most (see [`Units::owner`]),
/// where the window's joins are at least twice the usual number, the relay joins the actor
/// (its group with the most relays in the window) when it matches the actor's signature. Run
/// after the returns: a return wave often forms several small groups, each with a few of the
/// wave's relays; the actor they all continue is what the rest of the wave resembles.
/// `actor_of_group` maps groups to actors; adoptions are added to `adopted`.
pub fn adopt_joined(
    profiles: &[Profile],
    grouping: &mut Grouping,
    actor_of_group: &[usize],
    adopted: &mut [Option<Adoption>],
    config: &AttributionConfig,
) {
    let n = profiles.len();
    let actors = actor_of_group.iter().max().map_or(0, |a| a + 1);
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); actors];
    let mut declared = vec![false; actors];
    for (g, group) in grouping.groups.iter().enumerate() {
        members[actor_of_group[g]].extend(group);
    }
    for (g, d) in grouping.declared_groups().into_iter().enumerate() {
        declared[actor_of_group[g]] |= d;
    }
    for m in &mut members {
        m.sort_unstable();
    }
    let unit_of = grouping
        .group_of
        .iter()
        .map(|g| g.map(|g| actor_of_group[g]))
        .collect();
    let units = Units::new(profiles, unit_of, &members, declared, config);
    // Relays running when the data starts or first seen right after a gap are no joiners.
    let mut joiners: Vec<usize> = (0..n)
        .filter(|&i| !profiles[i].first_seen_censored)
        .collect();
    joiners.sort_by_key(|&i| (profiles[i].first_seen, i));
    let first = profiles.iter().map(|p| p.first_seen).min().unwrap_or(0);
    let last = profiles.iter().map(|p| p.last_seen).max().unwrap_or(0);
    let span_hours = ((last - first) / HOUR_MS).max(1) as f64;
    let expected = joiners.len() as f64 / span_hours * f64::from(2 * config.join_window_hours + 1);
    let reach = i64::from(config.join_window_hours) * HOUR_MS;
    let mut joined: Vec<(usize, Adoption)> = Vec::new();
    for &relay in &joiners {
        if units.unit_of[relay].is_some() {
            continue;
        }
        let t = profiles[relay].first_seen;
        let lo = joiners.partition_point(|&j| profiles[j].first_seen < t - reach);
        let hi = joiners.partition_point(|&j| profiles[j].first_seen <= t + reach);
        let window = &joiners[lo..hi];
        if (window.len() as f64) < 2.0 * expected {
            continue;
        }
        let Some((actor, of_group, _)) = units.owner(window.iter().copied()) else {
            continue;
        };
        let cohort = Cohort::Joins {
            at: t,
            of_group,
            expected,
        };
        // The window's joins beyond the usual ones are the batch; the actor's part of the
        // window is at least its own relays in it, and the batch when it holds most of it.
        let share = share_of(
            (of_group as f64).max(window.len() as f64 - expected),
            window.len(),
        );
        let unit = (actor, share);
        if let Some(mut adoption) = units.adoption(profiles, relay, unit, cohort) {
            // Into the actor's group with the most relays in the window.
            let mut counts: BTreeMap<usize, usize> = BTreeMap::new();
            for &j in window {
                if let Some(g) = grouping.group_of[j].filter(|&g| actor_of_group[g] == actor) {
                    *counts.entry(g).or_default() += 1;
                }
            }
            adoption.group = counts
                .iter()
                .max_by_key(|(g, c)| (**c, std::cmp::Reverse(**g)))
                .map(|(g, _)| *g)
                .expect("the actor holds relays of the window");
            joined.push((relay, adoption));
        }
    }
    for (relay, adoption) in joined {
        adopted[relay] = Some(adoption);
    }
    apply(grouping, adopted);
}

/// The share `part` of `of` cohort relays in no group, at most `1 − 1/(of + 1)` (however many
/// stand out, one relay's worth of doubt).
fn capped_share(part: f64, of: f64) -> f64 {
    (part / of).min(1.0 - 1.0 / (of + 1.0))
}

/// The share `part` of `of` relays, kept below 1 (one relay's worth of doubt).
fn share_of(part: f64, of: usize) -> f64 {
    (part / (of as f64 + 1.0)).clamp(0.0, 1.0)
}

/// Puts adopted relays into their groups.
fn apply(grouping: &mut Grouping, adopted: &[Option<Adoption>]) {
    for (relay, adoption) in adopted.iter().enumerate() {
        if let Some(a) = adoption {
            if grouping.group_of[relay].is_none() {
                grouping.group_of[relay] = Some(a.group);
                grouping.groups[a.group].push(relay);
            }
        }
    }
    for members in &mut grouping.groups {
        members.sort_unstable();
    }
}
