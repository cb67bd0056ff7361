//! The columnar jobs on a generated archive, checked against the generator's ground truth:
//! sessions (with missing network consensuses not splitting them), first/last seen, joins and
//! departures per consensus, probability sums, AS enrichment from the archive's iptoasn TSV,
//! every planted removal found at its exact hour and the planted outages classified as
//! outages; attribution scored against the planted actors.
#![cfg(feature = "analytics")] // drives the relaytrail binary

mod common;

use std::collections::{BTreeMap, BTreeSet};

use polars::prelude::*;
use serde_json::Value;

use common::frames::{str_column as strings, u32_column};
use common::generated::*;
use common::*;
use std::process::Command;

/// What the generated votes planted for a removal: authorities dropping its relays before the
/// consensus did (negative offsets), and hours from the first authority's drop to the last's.
fn planted_vote_pattern(event: &Value) -> (u32, f64) {
    let offsets: Vec<i64> = event["authority_drop_offsets_hours"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o.as_i64().unwrap())
        .collect();
    assert_eq!(
        offsets.len(),
        9,
        "votes planted around {}",
        event["event_time"]
    );
    let early = offsets.iter().filter(|o| **o < 0).count() as u32;
    let spread = offsets.iter().max().unwrap() - offsets.iter().min().unwrap();
    (early, spread as f64)
}

/// The sessions the ground truth implies, expressed in the consensuses that exist: each truth
/// session is cut to the consensus hours it covers, and sessions separated only by hours
/// without a consensus are one.
fn expected_sessions(
    relays: &[Value],
    consensus_hours: &BTreeSet<i64>,
) -> BTreeMap<String, Vec<(i64, i64)>> {
    let mut out = BTreeMap::new();
    for relay in relays {
        let fp = relay["fingerprint"].as_str().unwrap().to_string();
        let mut sessions: Vec<(i64, i64)> = Vec::new();
        for s in relay["sessions"].as_array().unwrap() {
            let (a, b) = (ms(s[0].as_str().unwrap()), ms(s[1].as_str().unwrap()));
            let inside: Vec<i64> = consensus_hours.range(a..=b).copied().collect();
            let (Some(&first), Some(&last)) = (inside.first(), inside.last()) else {
                continue;
            };
            match sessions.last_mut() {
                Some(prev) if consensus_hours.range(prev.1 + 1..first).next().is_none() => {
                    prev.1 = last;
                }
                _ => sessions.push((first, last)),
            }
        }
        if !sessions.is_empty() {
            out.insert(fp, sessions);
        }
    }
    out
}

#[test]
fn jobs_match_the_ground_truth_of_a_generated_archive() {
    let g = generated("3", "400", "11");
    let asn_table = g.archive.join("asn/ip2asn-v4.tsv");
    let asn_arg = asn_table.display().to_string();
    run_jobs(
        &g.warehouse,
        &[
            "--asn-db",
            &asn_arg,
            "--set",
            "burst_min_relays_1h=10",
            "--set",
            "burst_min_relays_24h=15",
        ],
    );

    let hourly = read(&g.warehouse, "network_hourly");
    let consensus_hours: BTreeSet<i64> = times(&hourly, "valid_after").into_iter().collect();
    let missing: Vec<i64> = truth(&g.archive, "missing_consensuses")
        .as_array()
        .unwrap()
        .iter()
        .map(|v| ms(v.as_str().unwrap()))
        .collect();
    assert!(
        !missing.is_empty(),
        "the scenario leaves consensus hours out"
    );
    assert!(missing.iter().all(|m| !consensus_hours.contains(m)));

    // Sessions and first/last seen.
    let relays_truth = truth(&g.archive, "relays");
    let relays_truth = relays_truth.as_array().unwrap();
    let expected = expected_sessions(relays_truth, &consensus_hours);
    let sessions = read(&g.warehouse, "relay_sessions");
    let mut actual: BTreeMap<String, Vec<(i64, i64)>> = BTreeMap::new();
    for ((fp, start), end) in strings(&sessions, "fingerprint")
        .into_iter()
        .zip(times(&sessions, "session_start"))
        .zip(times(&sessions, "session_end"))
    {
        actual.entry(fp).or_default().push((start, end));
    }
    assert_eq!(actual.len(), expected.len());
    let wrong: Vec<&String> = expected
        .keys()
        .filter(|fp| actual.get(*fp) != expected.get(*fp))
        .collect();
    assert!(
        wrong.is_empty(),
        "{} relays with wrong sessions, e.g. {:?}",
        wrong.len(),
        &wrong[..wrong.len().min(3)]
    );
    let split_by_missing = expected
        .values()
        .flatten()
        .filter(|(a, b)| missing.iter().any(|m| a < m && m < b));
    assert!(
        split_by_missing.count() > 0,
        "some sessions span a missing consensus"
    );

    let relays = read(&g.warehouse, "relays");
    let first_seen = times(&relays, "first_seen");
    let last_seen = times(&relays, "last_seen");
    for (i, fp) in strings(&relays, "fingerprint").iter().enumerate() {
        let s = &expected[fp];
        assert_eq!(
            (first_seen[i], last_seen[i]),
            (s[0].0, s.last().unwrap().1),
            "{fp}"
        );
    }

    // AS enrichment: the relay's AS is the generator's.
    let truth_asn: BTreeMap<&str, u64> = relays_truth
        .iter()
        .map(|r| {
            (
                r["fingerprint"].as_str().unwrap(),
                r["asn"].as_u64().unwrap(),
            )
        })
        .collect();
    let asns = u32s(&relays, "as_number");
    let fps = strings(&relays, "fingerprint");
    let matching = fps
        .iter()
        .zip(&asns)
        .filter(|(fp, asn)| truth_asn[fp.as_str()] == u64::from(**asn))
        .count();
    assert_eq!(matching, fps.len(), "every relay's AS comes from the TSV");

    // Joins, returns and departures per consensus, from the expected sessions.
    let hours: Vec<i64> = consensus_hours.iter().copied().collect();
    let index: BTreeMap<i64, usize> = hours.iter().enumerate().map(|(i, &h)| (h, i)).collect();
    let mut joins = vec![0u32; hours.len()];
    let mut returns = vec![0u32; hours.len()];
    let mut departures = vec![0u32; hours.len()];
    for sessions in expected.values() {
        for (k, &(a, b)) in sessions.iter().enumerate() {
            if k == 0 {
                joins[index[&a]] += 1;
            } else {
                returns[index[&a]] += 1;
            }
            if let Some(&next) = hours.get(index[&b] + 1) {
                departures[index[&next]] += 1;
            }
        }
    }
    // Nothing is counted at the first consensus (nothing before it to compare with); the
    // generated archive has no gap longer than max_gap_hours, so that is the only null.
    let counted = |values: Vec<u32>| -> Vec<Option<u32>> {
        values
            .into_iter()
            .enumerate()
            .map(|(i, v)| (i > 0).then_some(v))
            .collect()
    };
    let optional = |name: &str| u32_column(&hourly, name);
    assert_eq!(optional("joins"), counted(joins.clone()));
    assert_eq!(optional("returns"), counted(returns.clone()));
    assert_eq!(optional("departures"), counted(departures));
    let relays_per_hour = u32s(&hourly, "relays");
    let churn_new = hourly.column("churn_new").unwrap().f64().unwrap();
    for i in 1..hours.len() {
        let expected = f64::from(joins[i] + returns[i])
            / f64::from(relays_per_hour[i].max(relays_per_hour[i - 1]));
        assert!((churn_new.get(i).unwrap() - expected).abs() < 1e-12);
    }

    // Probabilities: each kind sums to 1 over the relays of a consensus.
    let probabilities = LazyFrame::scan_parquet(
        PlRefPath::new(
            g.warehouse
                .join("relay_probabilities/**/*.parquet")
                .to_string_lossy()
                .as_ref(),
        ),
        ScanArgsParquet::default(),
    )
    .unwrap()
    .group_by([col("valid_after")])
    .agg([
        col("guard_probability").cast(DataType::Float64).sum(),
        col("middle_probability").cast(DataType::Float64).sum(),
        col("exit_probability").cast(DataType::Float64).sum(),
        col("consensus_weight_fraction")
            .cast(DataType::Float64)
            .sum(),
        len().alias("n"),
    ])
    .collect()
    .unwrap();
    assert_eq!(probabilities.height(), hours.len());
    for name in [
        "guard_probability",
        "middle_probability",
        "exit_probability",
        "consensus_weight_fraction",
    ] {
        for v in probabilities
            .column(name)
            .unwrap()
            .f64()
            .unwrap()
            .into_no_null_iter()
        {
            assert!(
                (v - 1.0).abs() < 1e-5,
                "{name} sums to {v} (float32 values)"
            );
        }
    }

    // Removal events: every planted one at its exact hour, nothing else; outages apart.
    let removal_truth = truth(&g.archive, "removal_events");
    let planted: BTreeSet<i64> = removal_truth
        .as_array()
        .unwrap()
        .iter()
        .map(|e| ms(e["event_time"].as_str().unwrap()))
        .collect();
    let removals = read(&g.warehouse, "removal_events");
    let found: BTreeSet<i64> = times(&removals, "event_time").into_iter().collect();
    assert_eq!(found, planted, "removal events");
    let removed = u32s(&removals, "relays_removed");
    // The votes around each removal: the authorities that dropped its relays before the
    // consensus did, as planted.
    let early = u32_column(&removals, "authorities_dropping_early");
    for (e, early) in removal_truth.as_array().unwrap().iter().zip(&early) {
        assert_eq!(
            *early,
            Some(planted_vote_pattern(e).0),
            "{}",
            e["event_time"]
        );
    }
    // Where at least two authorities dropped the relays early, the authorities removed them:
    // those removals rank before every other event.
    let by_authorities: Vec<Option<bool>> = removals
        .column("by_authorities")
        .unwrap()
        .bool()
        .unwrap()
        .iter()
        .collect();
    let ranks = u32s(&removals, "rank");
    for i in 0..removals.height() {
        assert_eq!(by_authorities[i], early[i].map(|e| e >= 2), "event {i}");
        if by_authorities[i] == Some(true) {
            for j in (0..removals.height()).filter(|&j| by_authorities[j] != Some(true)) {
                assert!(ranks[i] < ranks[j], "{ranks:?} {by_authorities:?}");
            }
        }
    }
    assert!(by_authorities.contains(&Some(true)), "{by_authorities:?}");
    for (e, n) in removal_truth.as_array().unwrap().iter().zip(&removed) {
        let planted_n = e["fingerprints"].as_array().unwrap().len() as u32;
        assert!(
            *n >= planted_n && *n <= planted_n + 5,
            "{n} removed vs {planted_n} planted"
        );
    }
    let members = read(&g.warehouse, "removal_event_relays");
    let member_set: BTreeSet<String> = strings(&members, "fingerprint").into_iter().collect();
    for e in removal_truth.as_array().unwrap() {
        for fp in e["fingerprints"].as_array().unwrap() {
            assert!(member_set.contains(fp.as_str().unwrap()));
        }
    }
    let outage_truth = truth(&g.archive, "outages");
    let outages = read(&g.warehouse, "outages");
    let outage_times: BTreeSet<i64> = times(&outages, "event_time").into_iter().collect();
    for o in outage_truth.as_array().unwrap() {
        let start = ms(o["start"].as_str().unwrap());
        assert!(outage_times.contains(&start), "outage at {}", o["start"]);
        assert!(!found.contains(&start), "an outage is not a removal");
    }

    // Join bursts: the actors' join waves show up per AS and overall.
    let bursts = read(&g.warehouse, "join_bursts");
    let dims: BTreeSet<String> = strings(&bursts, "dimension").into_iter().collect();
    assert!(dims.contains("all"), "{dims:?}");

    // Attribution: every planted actor found with F1 >= 0.9, return waves linked to the actor
    // they continue, no hard negative merged into a planted actor.
    run_stage("attribute", &g.warehouse, &[]);
    let evaluation =
        relaytrail::jobs::attribution::evaluate::evaluate(&g.warehouse, &g.archive).unwrap();
    let report = evaluation.render();
    assert!(evaluation.actors.len() >= 3, "{report}");
    for a in &evaluation.actors {
        assert!(a.f1 >= 0.9, "{} F1 {:.3}\n{report}", a.actor_id, a.f1);
    }
    // Return waves: most of each wave's relays in the actor they continue (this archive is
    // small: a wave of five relays, one relay is a fifth; the demo-size scenarios reach the
    // full 90 % of `evaluate`, see the README).
    assert!(!evaluation.return_waves.is_empty());
    assert!(
        evaluation.return_wave_shares.iter().all(|s| *s >= 0.75),
        "{report}"
    );
    assert!(evaluation.hard_negatives > 0);
    assert_eq!(evaluation.hard_negatives_merged, 0, "{report}");
    // Among them relays on a removed actor's former (cloud) address: the address, its /24,
    // /16 and AS are one piece of evidence, not enough to join the actor.
    let reused = truth(&g.archive, "relays")
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["hard_negative"] == "reused_address")
        .count();
    assert!(
        reused > 0,
        "the default scenario reuses removed relays' addresses"
    );
    assert!(evaluation.honest_families_mean_f1 >= 0.9, "{report}");
    assert_eq!(
        evaluation.removal_events_found,
        evaluation.removal_events_planted
    );
    assert_eq!(evaluation.false_removal_events, 0);
    let timeline = read(&g.warehouse, "actor_timeline");
    assert!(timeline.height() > 0);

    // The report: self-contained, charts drawn, the attributed actors have their sections.
    let out = g.warehouse.parent().unwrap().join("report");
    let status = Command::new(env!("CARGO_BIN_EXE_relaytrail"))
        .args(["report", "--warehouse"])
        .arg(&g.warehouse)
        .arg("--out")
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success());
    let html = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert_eq!(
        html.matches("<svg").count(),
        5,
        "network, weight, guard, middle, exit"
    );
    assert!(!html.contains(">no data<"));
    // Self-contained: no external resources (one inline script sorts the tables).
    for fetching in [" src=", "<link", "url(", "@import"] {
        assert!(!html.contains(fetching), "{fetching}");
    }
    assert_eq!(html.matches("<script").count(), 1);
    for a in &evaluation.actors {
        if a.kind != "benign-operator" {
            let id = a.attributed_to.as_ref().unwrap();
            assert!(
                html.contains(&format!("<h3 id=\"{id}\">")),
                "section of {id}"
            );
        }
    }
    assert!(
        html.contains("removal: "),
        "removal events marked on the charts"
    );
    let summary = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(summary.contains("## Undeclared groups"), "{summary}");
    // The planted undeclared actors lead; the benign operator declares itself.
    for a in &evaluation.actors {
        let id = a.attributed_to.as_deref().unwrap();
        assert_eq!(
            summary.contains(&format!("| {id} |")),
            a.kind != "benign-operator",
            "{}: {summary}",
            a.actor_id
        );
    }
    assert!(out.join("tables/actors.parquet").is_file());

    // A second run with unchanged inputs is a no-op; outputs are byte-identical with --force.
    let before = std::fs::read(g.warehouse.join("relays/part-0.parquet")).unwrap();
    let output = run_jobs(
        &g.warehouse,
        &[
            "--asn-db",
            &asn_arg,
            "--set",
            "burst_min_relays_1h=10",
            "--set",
            "burst_min_relays_24h=15",
        ],
    );
    assert!(String::from_utf8_lossy(&output.stderr).contains("up to date"));
    run_jobs(
        &g.warehouse,
        &[
            "--asn-db",
            &asn_arg,
            "--set",
            "burst_min_relays_1h=10",
            "--set",
            "burst_min_relays_24h=15",
            "--force",
        ],
    );
    assert_eq!(
        std::fs::read(g.warehouse.join("relays/part-0.parquet")).unwrap(),
        before
    );
    assert!(leftover_temp_files(&g.warehouse).is_empty());

    // Each planted actor written as a researcher's list (ground_truth/lists/*.csv) scores
    // against the attribution as the ground truth does.
    for a in &evaluation.actors {
        let list = g
            .archive
            .join(format!("ground_truth/lists/{}.csv", a.actor_id));
        let (_, name, parsed) =
            relaytrail::jobs::watchlist::add(&g.warehouse, &list, None).unwrap();
        assert_eq!(parsed.relays.len(), a.planted, "{name}");
        let scored =
            relaytrail::jobs::attribution::evaluate::evaluate_watchlist(&g.warehouse, &name)
                .unwrap();
        let best = scored.best().unwrap();
        assert_eq!(
            Some(&best.actor_id),
            a.attributed_to.as_ref(),
            "{}",
            scored.render()
        );
        assert!((best.f1 - a.f1).abs() < 1e-9, "{}", scored.render());
    }

    // Without the exit policy, the exit actor's return wave shares nothing rare among itself
    // and links too weakly to form a group; it returns as a join burst of its kind on its
    // hosters after the removal, and no planted actor falls below 0.8.
    run_stage(
        "attribute",
        &g.warehouse,
        &["--set", "weights.exit_policy=0"],
    );
    let ablated =
        relaytrail::jobs::attribution::evaluate::evaluate(&g.warehouse, &g.archive).unwrap();
    let report = ablated.render();
    for a in &ablated.actors {
        assert!(a.f1 >= 0.8, "{} F1 {:.3}\n{report}", a.actor_id, a.f1);
    }
    assert!(
        ablated.return_wave_shares.iter().all(|s| *s >= 0.75),
        "{report}"
    );
    let members = read(&g.warehouse, "actor_members");
    let joined_by_burst = relaytrail::jobs::columns::string_lists(&members, "evidence")
        .unwrap()
        .iter()
        .filter(|lines| {
            lines
                .iter()
                .any(|line| line.contains("of its kind on its ASes joined within"))
        })
        .count();
    assert!(joined_by_burst >= 3, "{joined_by_burst} relays\n{report}");
}

/// A declared operator (one contact, mutual family) switching every relay off at once is an
/// operator departure; the undeclared KAX17-like actor's removals stay removals, and so does
/// the removal of a declared operator the authorities rejected (its votes show it).
#[test]
fn a_declared_operator_switching_off_is_an_operator_departure() {
    let g = generated_scenario("operator-departure", "31");
    let (archive, warehouse) = (&g.archive, &g.warehouse);
    run_jobs(warehouse, &[]);
    let events = read(warehouse, "removal_events");
    let at = times(&events, "event_time");
    let kinds = strings(&events, "kind");
    let operators = strings(&events, "operator");
    let shares: Vec<f64> = events
        .column("operator_share")
        .unwrap()
        .f64()
        .unwrap()
        .into_no_null_iter()
        .collect();
    let planted = truth(archive, "removal_events");
    let mut seen = BTreeSet::new();
    for e in planted.as_array().unwrap() {
        let t = ms(e["event_time"].as_str().unwrap());
        let Some(i) = at.iter().position(|x| *x == t) else {
            panic!("planted event at {} not found: {at:?}", e["event_time"]);
        };
        let actor = e["actor_id"].as_str().unwrap();
        seen.insert(actor.to_string());
        // The votes: every authority voted and stopped listing the relays; the authorities'
        // removals show some of them early, the operator's switching off none.
        let (early, _) = planted_vote_pattern(e);
        assert_eq!(
            u32_column(&events, "authorities_voting")[i],
            Some(9),
            "{actor}"
        );
        assert_eq!(
            u32_column(&events, "authorities_dropping")[i],
            Some(9),
            "{actor}"
        );
        assert_eq!(
            u32_column(&events, "authorities_dropping_early")[i],
            Some(early),
            "{actor}"
        );
        assert_eq!(early, if actor == "privacyops" { 0 } else { 4 });
        if actor == "privacyops" {
            assert_eq!(kinds[i], "operator_departure");
            assert!(operators[i].contains("privacyops.org"), "{}", operators[i]);
            assert!(shares[i] >= 0.5, "{}", shares[i]);
        } else if actor == "declared-rejected" {
            // Declared, but rejected: the votes decide.
            assert!(shares[i] >= 0.5, "{}", shares[i]);
            assert_eq!(kinds[i], "removal");
        } else {
            assert_eq!(kinds[i], "removal", "{actor}");
            assert!(shares[i] < 0.5);
        }
    }
    assert!(
        seen.contains("privacyops") && seen.contains("kax17") && seen.contains("declared-rejected"),
        "{seen:?}"
    );
}

/// A removal the authorities carry out over four consensuses (about eight relays each, fewer
/// than `event_min_relays` in any one), a tenth of the actor surviving, the consensus before
/// it missing: one event dated at its first consensus, spanning the four, holding the removed
/// relays and not the survivors. Tested one consensus at a time (the old detector), the same
/// departures make no event.
#[test]
fn a_removal_spread_over_consensuses_is_one_event_of_the_removed_relays() {
    let g = generated_scenario("spread-removal", "37");
    let (archive, warehouse) = (&g.archive, &g.warehouse);
    let asn = archive.join("asn/ip2asn-v4.tsv").display().to_string();
    run_jobs(warehouse, &["--asn-db", &asn]);

    let planted = truth(archive, "removal_events");
    let planted = &planted.as_array().unwrap()[0];
    let planted_at = ms(planted["event_time"].as_str().unwrap());
    let removed: BTreeSet<String> = planted["fingerprints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap().to_string())
        .collect();
    assert_eq!(planted["consensuses"], 4);
    // The scenario: the consensus before the removal is missing, no hour holds
    // event_min_relays (10) of the removed relays.
    let missing: BTreeSet<i64> = truth(archive, "missing_consensuses")
        .as_array()
        .unwrap()
        .iter()
        .map(|t| ms(t.as_str().unwrap()))
        .collect();
    assert!(missing.contains(&(planted_at - 3_600_000)));
    let sessions = read(warehouse, "relay_sessions");
    let ends = times(&sessions, "session_end");
    let fps = strings(&sessions, "fingerprint");
    let mut last_session_end: BTreeMap<&String, i64> = BTreeMap::new();
    for (fp, end) in fps.iter().zip(&ends) {
        if removed.contains(fp) {
            let last = last_session_end.entry(fp).or_insert(*end);
            *last = (*last).max(*end);
        }
    }
    let mut last_seen: BTreeMap<i64, usize> = BTreeMap::new();
    for end in last_session_end.values() {
        *last_seen.entry(*end).or_default() += 1;
    }
    assert_eq!(last_seen.len(), 4, "{last_seen:?}");
    assert!(last_seen.values().all(|n| *n < 10), "{last_seen:?}");

    let events = read(warehouse, "removal_events");
    assert_eq!(events.height(), 1, "{events}");
    assert_eq!(times(&events, "event_time"), vec![planted_at]);
    assert_eq!(u32s(&events, "consensuses"), vec![4]);
    // Its votes: the authorities that stopped listing the relays before the consensus did,
    // and hours between the first authority's drop and the last's (each relay's drop is
    // relative to its own consensus, and the four consensuses spread the medians by up to
    // three hours).
    let (early, spread) = planted_vote_pattern(planted);
    assert_eq!(u32s(&events, "authorities_voting"), vec![9]);
    assert_eq!(u32s(&events, "authorities_dropping"), vec![9]);
    assert_eq!(u32s(&events, "authorities_dropping_early"), vec![early]);
    let measured = events
        .column("authority_drop_spread_hours")
        .unwrap()
        .f64()
        .unwrap()
        .get(0)
        .unwrap();
    assert!((measured - spread).abs() <= 3.0, "{measured} vs {spread}");
    let members = read(warehouse, "removal_event_relays");
    let held: BTreeSet<String> = strings(&members, "fingerprint").into_iter().collect();
    assert!(
        held.is_superset(&removed),
        "every removed relay is a member"
    );
    assert!(held.len() <= removed.len() + 2, "{} members", held.len());
    // The survivors (the actor's relays listed after the event) are not members.
    let actor: BTreeSet<String> = truth(archive, "relays")
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["actor_id"] == "spread")
        .map(|r| r["fingerprint"].as_str().unwrap().to_string())
        .collect();
    let survivors: Vec<&String> = fps
        .iter()
        .zip(&ends)
        .filter(|(fp, end)| {
            actor.contains(*fp) && !removed.contains(*fp) && **end > planted_at + 4 * 3_600_000
        })
        .map(|(fp, _)| fp)
        .collect();
    assert!(!survivors.is_empty(), "a tenth of the actor survives");
    assert!(survivors.iter().all(|fp| !held.contains(*fp)));

    // One consensus at a time, as before: no hour stands out.
    run_jobs(
        warehouse,
        &[
            "--asn-db",
            &asn,
            "--force",
            "--set",
            "event_window_consensuses=1",
        ],
    );
    assert_eq!(read(warehouse, "removal_events").height(), 0);
}

/// The archive of `tests/fixtures/scenarios/evasions.toml` (seed 41), its jobs and attribution
/// with the default settings, built once for the evasion tests.
fn evasions() -> &'static (
    Generated,
    relaytrail::jobs::attribution::evaluate::Evaluation,
) {
    static BUILT: std::sync::OnceLock<(
        Generated,
        relaytrail::jobs::attribution::evaluate::Evaluation,
    )> = std::sync::OnceLock::new();
    BUILT.get_or_init(|| {
        let g = generated_scenario("evasions", "41");
        let asn_table = g.archive.join("asn/ip2asn-v4.tsv");
        run_jobs(
            &g.warehouse,
            &["--asn-db", &asn_table.display().to_string()],
        );
        run_stage("attribute", &g.warehouse, &[]);
        let evaluation =
            relaytrail::jobs::attribution::evaluate::evaluate(&g.warehouse, &g.archive).unwrap();
        (g, evaluation)
    })
}

/// The planted actor's score, its relays and the relays of the actor it was attributed to.
fn planted(id: &str) -> (f64, BTreeSet<String>, BTreeSet<String>) {
    let (g, evaluation) = evasions();
    let score = evaluation
        .actors
        .iter()
        .find(|a| a.actor_id == id)
        .unwrap_or_else(|| panic!("{id} planted"));
    let relays: BTreeSet<String> = truth(&g.archive, "relays")
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["actor_id"].as_str() == Some(id))
        .map(|r| r["fingerprint"].as_str().unwrap().to_string())
        .collect();
    let members = read(&g.warehouse, "actor_members");
    let attributed: BTreeSet<String> = strings(&members, "actor_id")
        .into_iter()
        .zip(strings(&members, "fingerprint"))
        .filter(|(a, _)| Some(a) == score.attributed_to.as_ref())
        .map(|(_, f)| f)
        .collect();
    (score.f1, relays, attributed)
}

/// An exit actor that writes a different made-up contact on each relay is found as one actor
/// with its return wave (a contact only one relay writes declares nothing; before, every
/// relay "declared" its own operator and none of them was in any actor).
#[test]
fn a_made_up_contact_per_relay_gives_no_cover() {
    let (g, evaluation) = evasions();
    let (f1, relays, attributed) = planted("made-up-contacts");
    assert!(f1 >= 0.9, "F1 {f1:.3}\n{}", evaluation.render());
    let relays_table = read(&g.warehouse, "relays");
    let contacts: BTreeSet<String> = strings(&relays_table, "contact")
        .into_iter()
        .zip(strings(&relays_table, "fingerprint"))
        .filter(|(_, f)| relays.contains(f))
        .map(|(c, _)| c)
        .collect();
    assert_eq!(contacts.len(), relays.len(), "one contact per relay");
    assert!(relays.is_subset(&attributed));
    // Declared operators are still never merged on behaviour: none of the honest operators
    // declaring one contact on the actors' hosters is in a planted actor's actor.
    assert_eq!(
        evaluation.hard_negatives_merged,
        0,
        "{}",
        evaluation.render()
    );
}

/// A guard/middle group of which a minority shares one contact and the rest write none is one
/// actor, relays running before the data starts included (a minority's declaration does not
/// make the group a declared operator that no relay removed with it may join).
#[test]
fn a_minority_sharing_a_contact_gives_no_cover() {
    let (g, evaluation) = evasions();
    let (f1, _, _) = planted("minority-contact");
    assert!(f1 >= 0.9, "F1 {f1:.3}\n{}", evaluation.render());
    let actors = read(&g.warehouse, "actors");
    let attributed = evaluation
        .actors
        .iter()
        .find(|a| a.actor_id == "minority-contact")
        .and_then(|a| a.attributed_to.clone())
        .unwrap();
    let k = strings(&actors, "actor_id")
        .iter()
        .position(|i| *i == attributed)
        .unwrap();
    assert!(
        !common::frames::bool_column(&actors, "declared")[k],
        "a minority's contact does not declare the actor"
    );
}

/// Relays running when the data starts have no join to share; removed by the authorities with
/// the rest of their actor (no votes in this archive, so nothing but the removal and their
/// configuration ties them) they are adopted into it by the removal's cohort (before, fewer
/// than half of them were in any actor).
#[test]
fn relays_running_before_the_data_starts_are_attributed() {
    let (g, evaluation) = evasions();
    let (f1, relays, attributed) = planted("running-before");
    assert!(f1 >= 0.9, "F1 {f1:.3}\n{}", evaluation.render());
    let relays_table = read(&g.warehouse, "relays");
    let at_start: Vec<String> = strings(&relays_table, "fingerprint")
        .into_iter()
        .zip(common::frames::bool_column(
            &relays_table,
            "first_seen_censored",
        ))
        .filter(|(f, censored)| *censored && relays.contains(f))
        .map(|(f, _)| f)
        .collect();
    assert!(
        at_start.len() >= 10,
        "{} relays at the start",
        at_start.len()
    );
    let found = at_start.iter().filter(|f| attributed.contains(*f)).count();
    assert!(
        found * 10 >= at_start.len() * 9,
        "{found} of {} relays running at the start attributed",
        at_start.len()
    );
    let members = read(&g.warehouse, "actor_members");
    assert!(strings(&members, "joined_by")
        .iter()
        .any(|j| j == "removed-with-group"));
}
