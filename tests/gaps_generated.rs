//! Removal detection where the data has gaps: a hole in the archive invents nothing and
//! splits every session; removals next to gaps cut before and after them are still found.
#![cfg(feature = "analytics")] // drives the relaytrail binary

mod common;

use std::collections::BTreeSet;
use std::io::Read;
use std::path::{Path, PathBuf};

use common::generated::*;
use common::*;

/// The inputs of a generated archive with the consensuses whose valid-after time (ms) `cut`
/// says left out: the other files as they are, each consensus tarball rewritten into `dir`
/// without them. Also returns the hours cut, in order.
fn without_consensuses(
    archive: &Path,
    dir: &Path,
    cut: impl Fn(i64) -> bool,
) -> (Vec<PathBuf>, Vec<i64>) {
    let mut hours = Vec::new();
    let mut inputs = Vec::new();
    for (i, entry) in walkdir::WalkDir::new(archive)
        .sort_by_file_name()
        .into_iter()
        .enumerate()
    {
        let path = entry.unwrap().into_path();
        let name = path.to_string_lossy().to_string();
        if !name.ends_with(".tar.xz") {
            continue;
        }
        if !name.contains("/consensuses/") {
            inputs.push(path);
            continue;
        }
        let mut kept = Vec::new();
        let file = std::fs::File::open(&path).unwrap();
        let mut tar = tar::Archive::new(liblzma::read::XzDecoder::new(file));
        for member in tar.entries().unwrap() {
            let mut member = member.unwrap();
            let member_name = member.path().unwrap().display().to_string();
            let mut bytes = Vec::new();
            member.read_to_end(&mut bytes).unwrap();
            // `.../2021-08-12-02-00-00-consensus`
            let base = member_name.rsplit('/').next().unwrap();
            let hour = ms(&format!("{} {}:00:00", &base[..10], &base[11..13]));
            if cut(hour) {
                hours.push(hour);
            } else {
                kept.push((member_name, bytes));
            }
        }
        inputs.push(write(dir, &format!("consensuses-{i}.tar"), &tar_of(&kept)));
    }
    hours.sort_unstable();
    (inputs, hours)
}

/// Removal events, outages, join bursts and sessions of a generated month with 40 hours of
/// consensuses cut out (a hole in the archive): nothing is counted across the hole, and
/// every event found with the hole is found without it.
#[test]
fn a_hole_in_the_archive_invents_no_event_and_splits_every_session() {
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("archive");
    generate(&archive, "1", "300", "23");
    let full = dir.path().join("wh-full");
    assert!(import_into(&full, std::slice::from_ref(&archive), 2)
        .errors
        .is_empty());

    // The same archive with the consensuses from day 12 02:00 to day 14 17:00 left out.
    let (from, to) = (ms("2021-08-12 02:00:00"), ms("2021-08-14 17:00:00"));
    let (inputs, hole) = without_consensuses(&archive, &dir.path().join("archive-holed"), |t| {
        (from..=to).contains(&t)
    });
    assert!(hole.len() >= 30, "{} hours cut", hole.len());
    let with_hole = dir.path().join("wh-holed");
    assert!(import_into(&with_hole, &inputs, 2).errors.is_empty());
    for warehouse in [&full, &with_hole] {
        run_jobs(
            warehouse,
            &[
                "--set",
                "burst_min_relays_1h=10",
                "--set",
                "burst_min_relays_24h=15",
            ],
        );
    }
    let (hole_start, hole_end) = (hole[0], *hole.last().unwrap());

    // Coverage: two segments, split at the hole.
    let coverage = read(&with_hole, "coverage");
    assert_eq!(coverage.height(), 2);
    let ends = times(&coverage, "segment_end");
    let starts = times(&coverage, "segment_start");
    assert!(ends[0] < hole_start && starts[1] > hole_end);
    let after = starts[1];

    // The first consensus after the hole counts nothing; the full archive does count there.
    let hourly = read(&with_hole, "network_hourly");
    let row = times(&hourly, "valid_after")
        .iter()
        .position(|t| *t == after)
        .unwrap();
    for column in ["joins", "returns", "departures", "churn_new", "churn_gone"] {
        assert!(
            hourly.column(column).unwrap().get(row).unwrap().is_null(),
            "{column} after the hole"
        );
    }

    // No session spans the hole; those cut by it say so.
    let sessions = read(&with_hole, "relay_sessions");
    let s_start = times(&sessions, "session_start");
    let s_end = times(&sessions, "session_end");
    let at_gap = sessions
        .column("ends_at_gap")
        .unwrap()
        .bool()
        .unwrap()
        .clone();
    let after_gap = sessions
        .column("starts_after_gap")
        .unwrap()
        .bool()
        .unwrap()
        .clone();
    for i in 0..sessions.height() {
        assert!(s_end[i] < hole_start || s_start[i] > hole_end);
        assert_eq!(at_gap.get(i), Some(s_end[i] == ends[0]));
        assert_eq!(after_gap.get(i), Some(s_start[i] == after));
    }
    assert!(at_gap.iter().filter(|b| *b == Some(true)).count() > 200);

    // Events: every removal event and outage found with the hole is one found without it, and
    // none is dated at the first consensus after it; no join burst reaches across it.
    let event_times = |warehouse: &Path, dataset: &str| -> BTreeSet<i64> {
        times(&read(warehouse, dataset), "event_time")
            .into_iter()
            .collect()
    };
    // (The hole also takes hours out of the baselines around it: a planted event near the
    // edge of detection may stand out with the hole and not without; that is no invention.)
    for (dataset, planted_key) in [("removal_events", "event_time"), ("outages", "start")] {
        let planted: BTreeSet<i64> = truth(&archive, dataset)
            .as_array()
            .unwrap()
            .iter()
            .map(|e| ms(e[planted_key].as_str().unwrap()))
            .collect();
        let (holed, whole) = (
            event_times(&with_hole, dataset),
            event_times(&full, dataset),
        );
        let invented: Vec<&i64> = holed
            .iter()
            .filter(|t| !whole.contains(t) && !planted.contains(t))
            .collect();
        assert!(invented.is_empty(), "{dataset}: {holed:?} vs {whole:?}");
        assert!(!holed.contains(&after));
    }
    // A planted removal whose return window runs past the end of the data is reported as
    // provisional (observed for less than the return window), not left out.
    let whole = read(&full, "removal_events");
    let (at, observed) = (times(&whole, "event_time"), {
        whole
            .column("observed_days_after")
            .unwrap()
            .f64()
            .unwrap()
            .into_no_null_iter()
            .collect::<Vec<f64>>()
    });
    let provisional = common::frames::bool_column(&whole, "provisional");
    let data_end = *times(&read(&full, "network_hourly"), "valid_after")
        .last()
        .unwrap();
    let mut late = 0;
    for planted in truth(&archive, "removal_events").as_array().unwrap() {
        // Large enough to stand out of the hour's churn (event_min_relays 10).
        if planted["relays_removed"].as_u64().unwrap() < 15 {
            continue;
        }
        let t = ms(planted["event_time"].as_str().unwrap());
        let i = at
            .iter()
            .position(|x| (x - t).abs() <= 3_600_000)
            .unwrap_or_else(|| panic!("planted removal at {t} not reported: {at:?}"));
        if data_end - t < 7 * 86_400_000 {
            late += 1;
            assert!(
                provisional[i] && observed[i] < 7.0,
                "{}",
                planted["event_time"]
            );
        }
    }
    assert!(late > 0, "the scenario removes relays in the last week");

    let bursts = read(&with_hole, "join_bursts");
    for (a, b) in times(&bursts, "burst_start")
        .into_iter()
        .zip(times(&bursts, "burst_end"))
    {
        assert!(
            b < hole_start || a > hole_end,
            "burst {a}..{b} spans the hole"
        );
        assert!(a >= after + 24 * 3_600_000 || b < hole_start);
    }
}

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;

/// Gaps of a day cut 1, 3, 7 and 10 days before and after every planted removal (on both
/// sides at once, so the removal's baseline hours and its return window both run into
/// gaps): every removal is still found within one consensus of its hour, decided or
/// provisional, and no event is found that the whole archive does not find.
#[test]
fn removals_next_to_gaps_of_the_data_are_still_found() {
    let g = generated("2", "400", "23");
    run_jobs(&g.warehouse, &[]);
    let event_times =
        |warehouse: &Path| -> Vec<i64> { times(&read(warehouse, "removal_events"), "event_time") };
    let whole = event_times(&g.warehouse);
    let planted: Vec<i64> = truth(&g.archive, "removal_events")
        .as_array()
        .unwrap()
        .iter()
        .map(|e| ms(e["event_time"].as_str().unwrap()))
        .collect();
    let found_near = |events: &[i64], t: i64| events.iter().any(|e| (e - t).abs() <= HOUR_MS);
    assert!(planted.len() >= 2, "{planted:?}");
    for &t in &planted {
        assert!(
            found_near(&whole, t),
            "planted {t} not found without gaps: {whole:?}"
        );
    }
    for days in [1, 3, 7, 10] {
        // A gap [start, start + 24 h) on each side of each removal, unless it would cut a
        // removal's own hours.
        let gaps: Vec<(i64, i64)> = planted
            .iter()
            .flat_map(|&t| [t - days * DAY_MS - DAY_MS, t + days * DAY_MS])
            .map(|start| (start, start + DAY_MS))
            .filter(|&(a, b)| planted.iter().all(|&t| t + HOUR_MS < a || t - HOUR_MS >= b))
            .collect();
        let dir = tempfile::tempdir().unwrap();
        let (inputs, cut) = without_consensuses(&g.archive, &dir.path().join("archive"), |h| {
            gaps.iter().any(|&(a, b)| (a..b).contains(&h))
        });
        assert!(
            cut.len() as i64 >= gaps.len() as i64 * 20,
            "{days} days: {} hours cut",
            cut.len()
        );
        let warehouse = dir.path().join("wh");
        assert!(import_into(&warehouse, &inputs, 2).errors.is_empty());
        run_jobs(&warehouse, &[]);
        let events = event_times(&warehouse);
        for &t in &planted {
            assert!(
                found_near(&events, t),
                "{days} days: planted {t} missed: {events:?}"
            );
        }
        let invented: Vec<&i64> = events
            .iter()
            .filter(|&&e| !found_near(&planted, e) && !whole.contains(&e))
            .collect();
        assert!(invented.is_empty(), "{days} days: invented {invented:?}");
    }
}
