//! Across removals: which later group continues a removed group (its signature, within
//! `return_window_days`), and return waves that formed no group, found as join bursts of the
//! removed group's kind ([`burst`]).

use std::collections::BTreeMap;

use super::burst::{self, Burst};
use super::config::AttributionConfig;
use super::grouping::Grouping;
use super::profile::Profile;
use super::signature::{is_return, signature, signature_similarity, GroupSignatures};
use crate::util::time::DAY_MS;

/// A later group's match with an earlier, removed group.
#[derive(Debug, Clone)]
pub struct ReturnMatch {
    pub earlier: usize,
    pub similarity: f64,
    /// Each signature component's value.
    pub components: Vec<(String, f64)>,
    /// For a group made of a join burst after the removal: the burst.
    pub burst: Option<Burst>,
}

/// For each group, the earlier removed group it continues (by signature), if any. Then, for
/// each removal in time order, the relays of the removed group's kind left in no group that
/// joined in a burst after it ([`burst::find`]) become a group of their own that continues
/// the removed group when their signature matches it (appended to `grouping`).
pub fn link_across_removals(
    profiles: &[Profile],
    grouping: &mut Grouping,
    config: &AttributionConfig,
) -> Vec<Option<ReturnMatch>> {
    let groups = &grouping.groups;
    // Infrastructure is as rare as it is among the groups in the network in the rarity window
    // in which the later group appeared.
    let infrastructure = GroupSignatures::of(profiles, groups, config);
    let (signatures, appeared) = (&infrastructure.signatures, &infrastructure.appeared);
    // Removal times of each group (events in which at least half of the relays it had
    // running then were removed is approximated by: at least min_group_relays removed).
    let removals: Vec<Vec<i64>> = groups
        .iter()
        .map(|members| {
            let mut counts: BTreeMap<i64, usize> = BTreeMap::new();
            for &i in members {
                for &t in &profiles[i].removed_in {
                    *counts.entry(t).or_default() += 1;
                }
            }
            counts
                .into_iter()
                .filter(|&(_, c)| c >= config.min_group_relays)
                .map(|(t, _)| t)
                .collect()
        })
        .collect();
    // Every removal of a group, by time: a later group looks only at the removals of the
    // `return_window_days` before it appeared (not at every earlier group).
    let mut by_time: Vec<(i64, usize)> = removals
        .iter()
        .enumerate()
        .flat_map(|(g, times)| times.iter().map(move |&t| (t, g)))
        .collect();
    by_time.sort_unstable();
    let window = i64::from(config.return_window_days) * DAY_MS;
    let mut result = vec![None; groups.len()];
    for later in 0..groups.len() {
        let first = appeared[later];
        let from = by_time.partition_point(|&(t, _)| t < first - window);
        let to = by_time.partition_point(|&(t, _)| t <= first);
        let mut earlier_groups: Vec<usize> = by_time[from..to]
            .iter()
            .map(|&(_, g)| g)
            .filter(|&g| g != later)
            .collect();
        earlier_groups.sort_unstable();
        earlier_groups.dedup();
        let mut best: Option<ReturnMatch> = None;
        for earlier in earlier_groups {
            let (similarity, rare_shared, parts) = signature_similarity(
                &signatures[earlier],
                &signatures[later],
                infrastructure.rarity_at(appeared[later]),
                config,
            );
            if is_return(similarity, rare_shared, config)
                && best.as_ref().is_none_or(|b| similarity > b.similarity)
            {
                best = Some(ReturnMatch {
                    earlier,
                    similarity,
                    components: parts,
                    burst: None,
                });
            }
        }
        result[later] = best;
    }

    // Return waves that formed no group: join bursts of the removed group's kind.
    let mut grouped: Vec<bool> = grouping.group_of.iter().map(Option::is_some).collect();
    for &(removed_at, earlier) in &by_time {
        let removed = &signatures[earlier];
        let asns: Vec<u32> = removed.asns.keys().copied().collect();
        let rarity = infrastructure.rarity_at(removed_at);
        let resembles = |i: usize| {
            let (similarity, _, _) =
                signature_similarity(removed, &signature(profiles, &[i]), rarity, config);
            similarity >= config.return_similarity
        };
        let kind = burst::Kind {
            exit: removed.exits >= 0.5,
            contact: removed.contact_status(),
            asns: &asns,
            resembles: &resembles,
        };
        let Some(found) = burst::find(profiles, &grouped, &kind, removed_at, config) else {
            continue;
        };
        let wave = signature(profiles, &found.members);
        let (similarity, rare_shared, parts) = signature_similarity(removed, &wave, rarity, config);
        if !is_return(similarity, rare_shared, config) {
            continue;
        }
        let g = grouping.groups.len();
        let mut members = found.members.clone();
        members.sort_unstable();
        for &m in &members {
            grouped[m] = true;
            grouping.group_of[m] = Some(g);
        }
        grouping.groups.push(members);
        result.push(Some(ReturnMatch {
            earlier,
            similarity,
            components: parts,
            burst: Some(found),
        }));
    }
    result
}
