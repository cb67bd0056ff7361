//! Departure kinds on a generated archive (`tests/fixtures/scenarios/departure-kinds.toml`):
//! a removal, a re-key, a long outage, a hole in the data and a wave of 2,500 relays, each labelled by what its
//! relays did afterwards and ranked; that wave and one of 2,100 relays that stay (blocks far
//! larger than `max_block_relays`) attributed as one actor each.
#![cfg(feature = "analytics")] // drives the relaytrail binary

mod common;

use std::collections::BTreeMap;

use common::frames::{str_column, u32_column};
use common::generated::*;

#[test]
fn every_planted_departure_is_labelled_by_its_kind_and_the_largest_waves_are_one_actor_each() {
    let g = generated_scenario("departure-kinds", "5");
    let asn = g.archive.join("asn/ip2asn-v4.tsv").display().to_string();
    run_jobs(&g.warehouse, &["--asn-db", &asn]);
    run_stage("attribute", &g.warehouse, &[]);

    // Planted: the removals of the ground truth (by actor) and its outages (a long one).
    let mut planted: BTreeMap<i64, (&str, u64)> = BTreeMap::new();
    let removals = truth(&g.archive, "removal_events");
    for e in removals.as_array().unwrap() {
        let kind = match e["actor_id"].as_str().unwrap() {
            "rekeyer" => "rekey",
            _ => "removal",
        };
        planted.insert(
            ms(e["event_time"].as_str().unwrap()),
            (kind, e["relays_removed"].as_u64().unwrap()),
        );
    }
    let outages = truth(&g.archive, "outages");
    for o in outages.as_array().unwrap() {
        let (start, end) = (
            ms(o["start"].as_str().unwrap()),
            ms(o["end"].as_str().unwrap()),
        );
        assert!(end - start > 7 * 86_400_000, "a long outage planted");
        let relays = o["fingerprints"].as_array().unwrap().len() as u64;
        planted.insert(start, ("long_outage", relays));
    }
    assert_eq!(planted.len(), 4, "{planted:?}");

    let events = read(&g.warehouse, "removal_events");
    let at = times(&events, "event_time");
    let kinds = str_column(&events, "kind");
    let ranks: Vec<u32> = u32_column(&events, "rank").into_iter().flatten().collect();
    for (&t, &(kind, relays)) in &planted {
        let i = at
            .iter()
            .position(|&e| (e - t).abs() <= 3_600_000)
            .unwrap_or_else(|| panic!("planted {kind} at {t} not found: {at:?}"));
        assert_eq!(kinds[i], kind, "event at {t} ({relays} relays)");
    }
    // Nothing else, but at the hole: the consensus after five missing hours counts their
    // departures, which may stand out; if so, as a data hole.
    let after_hole = ms("2021-09-18 19:00:00");
    let missing = truth(&g.archive, "missing_consensuses");
    assert!(
        missing
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h.as_str() == Some("2021-09-18 18:00:00")),
        "the hole is planted: {missing}"
    );
    for (i, &t) in at.iter().enumerate() {
        if !planted.keys().any(|&p| (p - t).abs() <= 3_600_000) {
            assert!(
                t == after_hole && kinds[i] == "data_hole",
                "{t}: {}",
                kinds[i]
            );
        }
    }
    // The wave ranks first, the plain removal second (removals before the other kinds).
    let wave = *planted.iter().max_by_key(|(_, (_, n))| *n).unwrap().0;
    let rank_at = |t: i64| ranks[at.iter().position(|&e| (e - t).abs() <= 3_600_000).unwrap()];
    assert_eq!(rank_at(wave), 1);
    let mut by_rank: Vec<(u32, &str)> = ranks
        .iter()
        .copied()
        .zip(kinds.iter().map(String::as_str))
        .collect();
    by_rank.sort_unstable();
    let order: Vec<&str> = by_rank.iter().map(|(_, k)| *k).collect();
    assert_eq!(order[..4], ["removal", "removal", "rekey", "long_outage"]);

    // The waves (2,500 relays leaving, 2,100 staying; pairs are never formed across blocks
    // that large) are one actor each (the staying one was in none before its join cohort
    // counted), and so are the removed group and the re-keyer (its new keys on its old
    // addresses link to the old ones: F1 0.865 before); the long outage's honest relays form
    // no actor.
    let evaluation =
        relaytrail::jobs::attribution::evaluate::evaluate(&g.warehouse, &g.archive).unwrap();
    for id in ["wave", "stayer", "removed", "rekeyer"] {
        let a = evaluation.actors.iter().find(|a| a.actor_id == id).unwrap();
        assert!(a.f1 >= 0.9, "{id}: {a:?}");
    }
    assert!(
        evaluation.spurious_actors.is_empty(),
        "{}",
        evaluation.render()
    );
}
