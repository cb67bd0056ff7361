//! The whole pipeline on real Tor directory data with the shape of real archives
//! (`../shared/fixtures/real-series/`, read in place; see its `SOURCES.md`): runs of
//! consecutive hours, gaps of hours to years, ns and microdesc flavours, tor-client file
//! layouts. Every expected value is computed here from the documents themselves, with a
//! deliberately naive reading of their `valid-after` and `r` lines.
#![cfg(feature = "analytics")] // drives the relaytrail binary

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use polars::prelude::*;

use common::frames::{bool_column, ms_column, read_frame as read, str_column, u32_column};
use common::*;

const HOUR_MS: i64 = 3_600_000;
/// The jobs' default `max_gap_hours`.
const MAX_GAP_HOURS: i64 = 6;
/// The published relay lists of the real series, by the names the tests give them.
const LISTS: [(&str, &str); 3] = [
    (
        "unknown-middle-2020",
        "20200129-20200819_unknown_middle_relaygroup.txt",
    ),
    ("digitalocean-2019-06", "2019-June_DigitalOcean_non-exits"),
    ("ubuntucore-2017", "20170411_UbuntuCore_fingerprints.txt"),
];
/// The consensus of the Onionoo hour, a plain file beside the tarballs.
const ONIONOO_CONSENSUS: &str = "onionoo-2025-05-13/2025-05-13-22-00-00-consensus-microdesc";

fn series_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/real-series")
}

fn tarballs() -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(series_dir())
        .expect("../shared/fixtures/real-series beside the clone")
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".tar.xz"))
        .collect();
    found.sort();
    assert!(found.len() >= 6, "{found:?}");
    found
}

/// One consensus as its text says.
struct Doc {
    tarball: String,
    member: String,
    valid_after: i64,
    microdesc: bool,
    fingerprints: Vec<String>,
}

/// `YYYY-MM-DD HH:MM:SS` → ms.
fn parse_time(text: &str) -> i64 {
    let n = |a: usize, b: usize| text[a..b].parse::<i64>().unwrap();
    let (y, m, d) = (n(0, 4), n(5, 7), n(8, 10));
    // days from civil (Howard Hinnant)
    let y2 = if m <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    ((days * 24 + n(11, 13)) * 60 + n(14, 16)) * 60_000 + n(17, 19) * 1000
}

/// Every consensus of every real tarball, read naively: `valid-after`, the flavour from the
/// first line, the fingerprint of each `r` line (its third field, base64).
fn documents() -> &'static Vec<Doc> {
    static DOCS: OnceLock<Vec<Doc>> = OnceLock::new();
    DOCS.get_or_init(|| {
        let mut texts: Vec<(String, String, String)> = Vec::new();
        for tarball in tarballs() {
            let name = tarball.file_name().unwrap().to_string_lossy().to_string();
            let file = std::fs::File::open(&tarball).unwrap();
            let mut archive = tar::Archive::new(liblzma::read::XzDecoder::new(file));
            for entry in archive.entries().unwrap() {
                let mut entry = entry.unwrap();
                let member = entry.path().unwrap().display().to_string();
                let mut text = String::new();
                if entry.read_to_string(&mut text).is_ok() {
                    texts.push((name.clone(), member, text));
                }
            }
        }
        let onionoo = series_dir().join(ONIONOO_CONSENSUS);
        texts.push((
            "onionoo-2025-05-13".into(),
            ONIONOO_CONSENSUS.into(),
            std::fs::read_to_string(onionoo).unwrap(),
        ));
        let mut docs = Vec::new();
        for (tarball, member, text) in texts {
            // CollecTor's files open with an `@type` annotation line.
            let text = match text.strip_prefix("@type ") {
                Some(rest) => rest
                    .split_once('\n')
                    .map_or("", |(_, body)| body)
                    .to_string(),
                None => text,
            };
            if !text.starts_with("network-status-version 3") {
                continue;
            }
            let mut doc = Doc {
                tarball,
                member,
                valid_after: 0,
                microdesc: text.lines().next().unwrap().ends_with("microdesc"),
                fingerprints: Vec::new(),
            };
            for line in text.lines() {
                if let Some(t) = line.strip_prefix("valid-after ") {
                    doc.valid_after = parse_time(t);
                } else if let Some(r) = line.strip_prefix("r ") {
                    let identity = r.split(' ').nth(1).unwrap();
                    doc.fingerprints.push(b64_to_hex(identity));
                }
            }
            docs.push(doc);
        }
        docs
    })
}

/// The hours the jobs use: each hour's ns consensus if there is one, else its microdesc one.
fn used_hours() -> BTreeMap<i64, &'static Doc> {
    let mut hours: BTreeMap<i64, &Doc> = BTreeMap::new();
    for doc in documents() {
        match hours.get(&doc.valid_after) {
            Some(kept) if !kept.microdesc => {}
            _ if doc.microdesc && hours.contains_key(&doc.valid_after) => {}
            _ => {
                hours.insert(doc.valid_after, doc);
            }
        }
    }
    hours
}

/// The segment number of each used hour: a new one after more than `MAX_GAP_HOURS`.
fn segments(hours: &[i64]) -> Vec<usize> {
    let mut out = Vec::new();
    for (i, &t) in hours.iter().enumerate() {
        let new = i == 0 || t - hours[i - 1] > MAX_GAP_HOURS * HOUR_MS;
        let last = out.last().copied().unwrap_or(0);
        out.push(if i == 0 {
            0
        } else if new {
            last + 1
        } else {
            last
        });
    }
    out
}

/// An expected session: (start, end, consensuses, starts_after_gap, ends_at_gap).
type Expected = (i64, i64, u32, bool, bool);

/// Sessions derived from the documents: a relay's consecutive used hours within a segment.
fn expected_sessions() -> BTreeMap<String, Vec<Expected>> {
    let hours = used_hours();
    let times: Vec<i64> = hours.keys().copied().collect();
    let segment = segments(&times);
    let last_segment = *segment.last().unwrap();
    let mut present: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, doc) in hours.values().enumerate() {
        for fp in &doc.fingerprints {
            present.entry(fp).or_default().push(i);
        }
    }
    let mut out = BTreeMap::new();
    for (fp, indices) in present {
        let mut sessions: Vec<Expected> = Vec::new();
        let mut start = indices[0];
        for k in 0..indices.len() {
            let i = indices[k];
            let continues =
                k + 1 < indices.len() && indices[k + 1] == i + 1 && segment[i + 1] == segment[i];
            if !continues {
                let after_gap = start > 0 && segment[start - 1] != segment[start];
                let at_gap = segment[i] != last_segment
                    && (i + 1 == times.len() || segment[i + 1] != segment[i]);
                sessions.push((
                    times[start],
                    times[i],
                    (i - start + 1) as u32,
                    after_gap,
                    at_gap,
                ));
                if k + 1 < indices.len() {
                    start = indices[k + 1];
                }
            }
        }
        out.insert(fp.to_string(), sessions);
    }
    out
}

/// One warehouse of every real tarball (and the Onionoo hour's consensus), with the jobs
/// run at their defaults; built once for this test binary.
fn warehouse() -> &'static Path {
    static WAREHOUSE: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    let (_, path) = WAREHOUSE.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let warehouse = dir.path().join("wh");
        let mut inputs = tarballs();
        inputs.push(series_dir().join(ONIONOO_CONSENSUS));
        let summary = import_into(&warehouse, &inputs, 2);
        assert!(
            summary.errors.is_empty(),
            "real tarballs import cleanly: {:?}",
            &summary.errors[..summary.errors.len().min(3)]
        );
        for (name, file) in LISTS {
            relaytrail_ok(&[
                "watchlist".as_ref(),
                "add".as_ref(),
                series_dir().join("watchlists").join(file).as_os_str(),
                "--name".as_ref(),
                name.as_ref(),
                "--warehouse".as_ref(),
                warehouse.as_os_str(),
            ]);
        }
        relaytrail_ok(&[
            "jobs".as_ref(),
            "--quiet".as_ref(),
            "--warehouse".as_ref(),
            warehouse.as_os_str(),
        ]);
        (dir, warehouse)
    });
    path
}

#[test]
fn every_real_consensus_imports_with_one_entry_per_r_line() {
    let warehouse = warehouse();
    let consensuses = read(warehouse, "consensuses");
    let stored: BTreeMap<(i64, String), u32> = ms_column(&consensuses, "valid_after")
        .into_iter()
        .zip(str_column(&consensuses, "flavor"))
        .zip(u32_column(&consensuses, "relays"))
        .map(|((t, f), n)| ((t.unwrap(), f), n.unwrap()))
        .collect();
    // Entry rows per hour in each flavour's dataset.
    let rows = |dataset: &str| -> BTreeMap<i64, u32> {
        let frame = read(warehouse, dataset)
            .lazy()
            .group_by([col("valid_after")])
            .agg([len().alias("n")])
            .collect()
            .unwrap();
        ms_column(&frame, "valid_after")
            .into_iter()
            .zip(u32_column(&frame, "n"))
            .map(|(t, n)| (t.unwrap(), n.unwrap()))
            .collect()
    };
    let ns_rows = rows("consensus_entries");
    let md_rows = rows("microdesc_consensus_entries");
    let docs = documents();
    assert_eq!(docs.len(), 72, "consensuses listed in SOURCES.md");
    for doc in docs {
        let flavor = if doc.microdesc { "microdesc" } else { "ns" };
        let r_lines = doc.fingerprints.len() as u32;
        let entries = if doc.microdesc { &md_rows } else { &ns_rows };
        assert_eq!(
            entries.get(&doc.valid_after),
            Some(&r_lines),
            "{} {}: entries",
            doc.tarball,
            doc.member
        );
        assert_eq!(
            stored.get(&(doc.valid_after, flavor.to_string())),
            Some(&r_lines),
            "{} {}: consensuses row",
            doc.tarball,
            doc.member
        );
    }
    assert_eq!(stored.len(), docs.len());
}

#[test]
fn sessions_are_the_documents_own_and_end_at_every_gap() {
    let warehouse = warehouse();
    let expected = expected_sessions();
    let sessions = read(warehouse, "relay_sessions");
    let fps = str_column(&sessions, "fingerprint");
    let starts = ms_column(&sessions, "session_start");
    let ends = ms_column(&sessions, "session_end");
    let hours = u32_column(&sessions, "hours");
    let after_gap = bool_column(&sessions, "starts_after_gap");
    let at_gap = bool_column(&sessions, "ends_at_gap");
    let mut actual: BTreeMap<String, Vec<Expected>> = BTreeMap::new();
    for i in 0..fps.len() {
        actual.entry(fps[i].clone()).or_default().push((
            starts[i].unwrap(),
            ends[i].unwrap(),
            hours[i].unwrap(),
            after_gap[i],
            at_gap[i],
        ));
    }
    assert_eq!(actual.len(), expected.len(), "relays");
    let wrong: Vec<&String> = expected
        .keys()
        .filter(|fp| actual.get(*fp) != expected.get(*fp))
        .collect();
    assert!(
        wrong.is_empty(),
        "{} relays with other sessions than the documents say, e.g. {:?}: {:?} vs {:?}",
        wrong.len(),
        wrong.first(),
        wrong.first().map(|f| &actual[*f]),
        wrong.first().map(|f| &expected[*f])
    );

    // The consecutive hours of 2017-10-29 (ns 11:00, 12:00, microdesc-only 13:00) are one
    // segment: a relay listed in all three has one three-hour session.
    let day = parse_time("2017-10-29 11:00:00");
    let three_hours = expected
        .values()
        .flatten()
        .filter(|s| s.0 == day && s.1 == day + 2 * HOUR_MS && s.2 == 3)
        .count();
    assert!(
        three_hours > 5000,
        "{three_hours} relays in 2017-10-29 11-13"
    );

    // No session spans a gap longer than max_gap_hours: between its start and end every
    // used hour follows the previous one within the limit.
    let used: Vec<i64> = used_hours().keys().copied().collect();
    for (fp, list) in &actual {
        for &(start, end, ..) in list {
            let inside: Vec<&i64> = used.iter().filter(|t| **t >= start && **t <= end).collect();
            for pair in inside.windows(2) {
                assert!(
                    pair[1] - pair[0] <= MAX_GAP_HOURS * HOUR_MS,
                    "{fp}: session {start}..{end} spans a gap"
                );
            }
        }
    }
}

#[test]
fn the_88_relays_of_the_2020_list_have_the_sessions_the_2021_08_documents_say() {
    let warehouse = warehouse();
    let list = std::fs::read_to_string(
        series_dir().join("watchlists/20200129-20200819_unknown_middle_relaygroup.txt"),
    )
    .unwrap();
    let listed: BTreeSet<String> = list
        .split(|c: char| !c.is_ascii_hexdigit())
        .filter(|w| w.len() == 40)
        .map(str::to_uppercase)
        .collect();
    assert_eq!(listed.len(), 608);
    let august: Vec<&Doc> = documents()
        .iter()
        .filter(|d| d.tarball.starts_with("real-2021-08"))
        .collect();
    assert_eq!(august.len(), 18);
    let in_every: BTreeSet<&String> = listed
        .iter()
        .filter(|fp| august.iter().all(|d| d.fingerprints.contains(fp)))
        .collect();
    assert_eq!(
        in_every.len(),
        88,
        "SOURCES.md: 88 listed in every consensus"
    );

    // The used hours of 2021-08 and their segments: such a relay has one session per
    // segment, from its first to its last hour.
    let hours: Vec<i64> = used_hours()
        .iter()
        .filter(|(_, d)| d.tarball.starts_with("real-2021-08"))
        .map(|(t, _)| *t)
        .collect();
    let segment = segments(&hours);
    let mut runs: Vec<(i64, i64, u32)> = Vec::new();
    for (i, &t) in hours.iter().enumerate() {
        if i > 0 && segment[i] == segment[i - 1] {
            let last = runs.last_mut().unwrap();
            last.1 = t;
            last.2 += 1;
        } else {
            runs.push((t, t, 1));
        }
    }
    assert!(runs.len() >= 3, "the 2021-08 hours have gaps: {runs:?}");
    let sessions = read(warehouse, "relay_sessions");
    let fps = str_column(&sessions, "fingerprint");
    let starts = ms_column(&sessions, "session_start");
    let ends = ms_column(&sessions, "session_end");
    let counts = u32_column(&sessions, "hours");
    let (first, last) = (hours[0], *hours.last().unwrap());
    for fp in in_every {
        let mut theirs: Vec<(i64, i64, u32)> = (0..fps.len())
            .filter(|&i| fps[i] == *fp && starts[i].unwrap() >= first && ends[i].unwrap() <= last)
            .map(|i| (starts[i].unwrap(), ends[i].unwrap(), counts[i].unwrap()))
            .collect();
        theirs.sort();
        assert_eq!(theirs, runs, "{fp}");
    }
}

#[test]
fn nothing_is_counted_and_no_event_is_found_across_a_gap() {
    let warehouse = warehouse();
    let hourly = read(warehouse, "network_hourly");
    let times: Vec<i64> = ms_column(&hourly, "valid_after")
        .into_iter()
        .map(Option::unwrap)
        .collect();
    let used: Vec<i64> = used_hours().keys().copied().collect();
    assert_eq!(times, used, "one row per used hour");
    // Flavour per hour as the documents give it.
    let flavors = str_column(&hourly, "flavor");
    for (t, f) in times.iter().zip(&flavors) {
        let expected = if used_hours()[t].microdesc {
            "microdesc"
        } else {
            "ns"
        };
        assert_eq!(f, expected);
    }
    let segment = segments(&times);
    let joins = u32_column(&hourly, "joins");
    let departures = u32_column(&hourly, "departures");
    let churn: Vec<Option<f64>> = hourly
        .column("churn_new")
        .unwrap()
        .f64()
        .unwrap()
        .iter()
        .collect();
    for i in 0..times.len() {
        let first_of_segment = i == 0 || segment[i] != segment[i - 1];
        assert_eq!(
            joins[i].is_none(),
            first_of_segment,
            "joins at {}",
            times[i]
        );
        assert_eq!(departures[i].is_none(), first_of_segment);
        assert_eq!(churn[i].is_none(), first_of_segment);
    }
    // Coverage: the same segments.
    let coverage = read(warehouse, "coverage");
    assert_eq!(coverage.height(), segment.last().unwrap() + 1);
    let counts = u32_column(&coverage, "consensuses");
    for (k, n) in counts.iter().enumerate() {
        assert_eq!(
            n.unwrap() as usize,
            segment.iter().filter(|s| **s == k).count()
        );
    }
    let seg_flavor = str_column(&coverage, "flavor");
    let day_2017 = parse_time("2017-10-29 11:00:00");
    let k = segment[times.iter().position(|t| *t == day_2017).unwrap()];
    assert_eq!(seg_flavor[k], "mixed", "ns 11:00-12:00 and microdesc 13:00");

    // The real sample has no run of continuous data a week long: no removal or outage can
    // be decided, and none is reported.
    assert_eq!(read(warehouse, "removal_events").height(), 0);
    assert_eq!(read(warehouse, "outages").height(), 0);
    // No segment of the real sample has the day of history before a join that makes "never
    // seen" mean "new" (burst_min_history_hours): no join burst. Were there one, it would lie
    // inside one segment, after its first consensus.
    let bursts = read(warehouse, "join_bursts");
    let longest = (0..=*segment.last().unwrap())
        .map(|k| {
            let inside: Vec<i64> = (0..times.len())
                .filter(|&i| segment[i] == k)
                .map(|i| times[i])
                .collect();
            inside.last().unwrap() - inside[0]
        })
        .max()
        .unwrap();
    assert!(longest < 24 * HOUR_MS);
    assert_eq!(bursts.height(), 0);
    let b_start = ms_column(&bursts, "burst_start");
    let b_end = ms_column(&bursts, "burst_end");
    let seg_of = |t: i64| segment[times.binary_search(&t).unwrap()];
    for i in 0..bursts.height() {
        let (a, b) = (b_start[i].unwrap(), b_end[i].unwrap());
        assert_eq!(seg_of(a), seg_of(b), "burst {a}..{b} spans a gap");
        assert!(a != times[segment.iter().position(|s| *s == seg_of(a)).unwrap()]);
    }
}

/// Every 40-hex token of a file, upper case, with its line (1-based).
fn hex_tokens(text: &str) -> Vec<(u32, String)> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        for word in line.split(|c: char| !c.is_ascii_hexdigit()) {
            if word.len() == 40 {
                out.push((i as u32 + 1, word.to_uppercase()));
            }
        }
    }
    out
}

#[test]
fn the_published_lists_load_whole_and_the_2020_group_is_88_relays_every_2021_08_hour() {
    let warehouse = warehouse();
    let lists = read(warehouse, "watchlists");
    let notes = read(warehouse, "watchlist_notes");
    let l_names = str_column(&lists, "name");
    let l_lines = u32_column(&lists, "line");
    let l_fps = str_column(&lists, "fingerprint");
    let n_names = str_column(&notes, "name");
    let n_lines = u32_column(&notes, "line");
    let n_kinds = str_column(&notes, "kind");
    for (name, file) in LISTS {
        let text = std::fs::read_to_string(series_dir().join("watchlists").join(file)).unwrap();
        let tokens = hex_tokens(&text);
        let distinct: BTreeSet<&String> = tokens.iter().map(|(_, f)| f).collect();
        let listed: BTreeMap<u32, &String> = (0..l_names.len())
            .filter(|&i| l_names[i] == name)
            .map(|i| (l_lines[i].unwrap(), &l_fps[i]))
            .collect();
        // Every distinct fingerprint of the file is listed once (608, 59, 478).
        assert_eq!(listed.len(), distinct.len(), "{name}");
        let expected = match name {
            "unknown-middle-2020" => 608,
            "digitalocean-2019-06" => 59,
            _ => 478,
        };
        assert_eq!(listed.len(), expected, "{name}");
        let noted: BTreeMap<u32, &String> = (0..n_names.len())
            .filter(|&i| n_names[i] == name)
            .map(|i| (n_lines[i].unwrap(), &n_kinds[i]))
            .collect();
        // No line is lost: each line with a fingerprint is a listed relay or a note (the
        // repeated table of the DigitalOcean list: 44 duplicates), and each line of free text
        // is a note.
        for (line, fp) in &tokens {
            match listed.get(line) {
                Some(f) => assert_eq!(*f, fp, "{name}:{line}"),
                None => assert_eq!(
                    noted.get(line).map(|k| k.as_str()),
                    Some("duplicate"),
                    "{name}:{line}"
                ),
            }
        }
        for (i, line) in text.lines().enumerate() {
            let t = line.trim();
            let structure = t.is_empty() || t.starts_with('+') || t.starts_with('|');
            if !structure {
                assert!(
                    noted.contains_key(&(i as u32 + 1)),
                    "{name}:{}: {t:?} not reported",
                    i + 1
                );
            }
        }
        if name == "digitalocean-2019-06" {
            let duplicates = noted.values().filter(|k| k.as_str() == "duplicate").count();
            assert_eq!(duplicates, tokens.len() - distinct.len());
            assert_eq!(duplicates, 44);
        }
    }

    // Presence: in each used hour, the listed relays of that hour's document.
    let listed_2020: BTreeSet<String> = (0..l_names.len())
        .filter(|&i| l_names[i] == "unknown-middle-2020")
        .map(|i| l_fps[i].clone())
        .collect();
    let presence = read(warehouse, "watchlist_presence");
    let p_names = str_column(&presence, "name");
    let p_times = ms_column(&presence, "valid_after");
    let p_present = u32_column(&presence, "relays_present");
    let hours = used_hours();
    let mut august = 0;
    for i in 0..p_names.len() {
        if p_names[i] != "unknown-middle-2020" {
            continue;
        }
        let doc = hours[&p_times[i].unwrap()];
        let expected = doc
            .fingerprints
            .iter()
            .filter(|f| listed_2020.contains(*f))
            .count() as u32;
        assert_eq!(p_present[i], Some(expected), "{}", doc.member);
        if doc.tarball.starts_with("real-2021-08") {
            assert_eq!(expected, 88);
            august += 1;
        }
    }
    assert_eq!(
        august,
        hours
            .values()
            .filter(|d| d.tarball.starts_with("real-2021-08"))
            .count()
    );

    // evaluate prints the table for the real sample.
    relaytrail_ok(&[
        "attribute".as_ref(),
        "--warehouse".as_ref(),
        warehouse.as_os_str(),
    ]);
    let out = relaytrail_ok(&[
        "evaluate".as_ref(),
        "--warehouse".as_ref(),
        warehouse.as_os_str(),
        "--watchlist".as_ref(),
        "unknown-middle-2020".as_ref(),
    ]);
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        table.contains("watchlist unknown-middle-2020: 608 relays listed, "),
        "{table}"
    );
    assert!(table.contains("| actor | relays | listed relays in it | precision | recall | F1 |"));
}

/// `relays` sums up `relay_sessions` (its definition in docs/warehouse.md), computed here the
/// slow, obvious way: a group-by over the whole sessions table. The jobs build both tables in
/// one walk, a row group of sessions at a time, so relays whose sessions straddle a row group
/// are where they could disagree; the real series has more sessions than one row group.
#[test]
fn relays_are_the_group_by_of_their_sessions() {
    let warehouse = warehouse();
    let sessions = read(warehouse, "relay_sessions");
    assert!(
        sessions.height() > 128 * 1024,
        "the real series spans several row groups of sessions ({})",
        sessions.height()
    );
    let union = |name: &str| {
        col(name)
            .explode(ExplodeOptions {
                empty_as_null: false,
                keep_nulls: false,
            })
            .drop_nulls()
            .unique()
            .sort(SortOptions::default())
            .alias(name)
    };
    let expected = sessions
        .lazy()
        .group_by_stable([col("fingerprint")])
        .agg([
            col("session_start").min().alias("first_seen"),
            col("start_censored").first().alias("first_seen_censored"),
            col("session_end").max().alias("last_seen"),
            col("hours").sum().alias("hours_present"),
            len().alias("sessions"),
            col("running_at_end").last().alias("running"),
            col("nickname").last(),
            col("address").last(),
            col("or_port").last(),
            col("version").last(),
            col("last_flags").last().alias("flags"),
            union("addresses"),
            union("nicknames"),
            union("asns"),
            col("as_number").last(),
            col("as_name").last(),
            col("country").last(),
            col("consensus_weight_fraction").last(),
            col("guard_probability").last(),
            col("middle_probability").last(),
            col("exit_probability").last(),
            col("peak_consensus_weight_fraction").max(),
            col("peak_guard_probability").max(),
            col("peak_middle_probability").max(),
            col("peak_exit_probability").max(),
        ])
        .with_columns([
            col("addresses").list().len().alias("distinct_addresses"),
            // The real series runs without AS data: the count is unknown, not 0.
            lit(NULL).cast(DataType::UInt32).alias("distinct_asns"),
        ])
        .sort(["fingerprint"], SortMultipleOptions::default())
        .collect()
        .unwrap();
    let names: Vec<String> = expected
        .get_column_names()
        .iter()
        .map(|n| n.to_string())
        .collect();
    let relays = read(warehouse, "relays").select(names.clone()).unwrap();
    assert_eq!(relays.height(), expected.height());
    for name in &names {
        let (got, want) = (relays.column(name).unwrap(), expected.column(name).unwrap());
        assert_eq!(got.dtype(), want.dtype(), "relays.{name}: type");
        if !got
            .as_materialized_series()
            .equals_missing(want.as_materialized_series())
        {
            let row = (0..got.len())
                .find(|&i| got.get(i).unwrap() != want.get(i).unwrap())
                .unwrap_or(0);
            panic!(
                "relays.{name} differs from its sessions' group-by, e.g. {}: {:?} vs {:?}",
                relays.column("fingerprint").unwrap().get(row).unwrap(),
                got.get(row).unwrap(),
                want.get(row).unwrap()
            );
        }
    }
}

/// A consensus entry is covered when a server descriptor of the relay published in the 24
/// hours before its consensus is imported: counted here from the documents (the entries and the
/// descriptors' `published` lines) and compared with `relays.hours_with_descriptor` and
/// `network_hourly.relays_with_descriptor`. The 2020-02-29 hours have the sbws test descriptors,
/// the 2021-08 hours none: the same relay is covered in the first and not in the second, and
/// after the attribution no group whose relays mostly lack descriptors is called undeclared.
#[test]
fn descriptors_cover_the_day_after_they_were_published_and_unknown_is_not_undeclared() {
    const DAY_MS: i64 = 86_400_000;
    let warehouse = warehouse();
    let descriptors = read(warehouse, "server_descriptors");
    let mut published: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for (fp, t) in str_column(&descriptors, "fingerprint")
        .into_iter()
        .zip(ms_column(&descriptors, "published"))
    {
        published.entry(fp).or_default().push(t.unwrap());
    }
    let entries = read(warehouse, "consensus_entries");
    let micro = read(warehouse, "microdesc_consensus_entries");
    let hourly = read(warehouse, "network_hourly");
    let hours: BTreeSet<i64> = ms_column(&hourly, "valid_after")
        .into_iter()
        .flatten()
        .collect();
    // Each consensus hour is counted once: the ns entries where there is an ns consensus.
    let ns_hours: BTreeSet<i64> = ms_column(&entries, "valid_after")
        .into_iter()
        .flatten()
        .collect();
    let mut rows: Vec<(String, i64)> = str_column(&entries, "fingerprint")
        .into_iter()
        .zip(ms_column(&entries, "valid_after").into_iter().flatten())
        .collect();
    rows.extend(
        str_column(&micro, "fingerprint")
            .into_iter()
            .zip(ms_column(&micro, "valid_after").into_iter().flatten())
            .filter(|(_, t)| !ns_hours.contains(t)),
    );
    let mut by_relay: BTreeMap<String, u32> = BTreeMap::new();
    let mut by_hour: BTreeMap<i64, u32> = BTreeMap::new();
    for (fp, t) in rows.iter().filter(|(_, t)| hours.contains(t)) {
        let covered = published
            .get(fp)
            .is_some_and(|list| list.iter().any(|&p| p <= *t && p >= t - DAY_MS));
        if covered {
            *by_relay.entry(fp.clone()).or_default() += 1;
            *by_hour.entry(*t).or_default() += 1;
        }
    }
    assert!(by_hour.len() >= 4, "{by_hour:?}");
    let with_descriptor = u32_column(&hourly, "relays_with_descriptor");
    for (t, n) in ms_column(&hourly, "valid_after")
        .iter()
        .zip(&with_descriptor)
    {
        let t = t.unwrap();
        assert_eq!(
            n.unwrap(),
            by_hour.get(&t).copied().unwrap_or(0),
            "hour {t}"
        );
    }
    let relays = read(warehouse, "relays");
    let fps = str_column(&relays, "fingerprint");
    let covered: Vec<u32> = u32_column(&relays, "hours_with_descriptor")
        .into_iter()
        .map(Option::unwrap)
        .collect();
    let present: Vec<u32> = u32_column(&relays, "hours_present")
        .into_iter()
        .map(Option::unwrap)
        .collect();
    for k in 0..fps.len() {
        assert_eq!(
            covered[k],
            by_relay.get(&fps[k]).copied().unwrap_or(0),
            "{}",
            fps[k]
        );
    }
    // A relay of the 2020-02-29 hours (covered) that is also in the 2021-08 hours (none).
    let at = |date: &str, time: &str| {
        relaytrail::descriptor::values::parse_timestamp(date.as_bytes(), time.as_bytes()).unwrap()
            * 1000
    };
    let feb_2020 = at("2020-02-29", "10:00:00");
    let aug_2021 = at("2021-08-26", "19:00:00");
    let in_both = rows
        .iter()
        .filter(|(_, t)| *t == feb_2020)
        .map(|(f, _)| f)
        .filter(|f| rows.iter().any(|(g, t)| g == *f && *t >= aug_2021))
        .find(|f| by_relay.contains_key(*f))
        .expect("a relay of both periods");
    let k = fps.iter().position(|f| f == in_both).unwrap();
    assert!(covered[k] >= 1 && covered[k] < present[k], "{in_both}");
    assert_eq!(by_hour.get(&aug_2021), None);

    // Each watchlist says how much of its relays' presence had descriptors: the listed
    // relays' covered hours, summed from the documents.
    let listed = read(warehouse, "watchlist_relays");
    let names = str_column(&listed, "name");
    let mut partly_covered = false;
    for (name, _) in LISTS {
        let mine: Vec<usize> = (0..names.len()).filter(|&i| names[i] == name).collect();
        let listed_fps = str_column(&listed, "fingerprint");
        let expected: u64 = mine
            .iter()
            .map(|&i| u64::from(by_relay.get(&listed_fps[i]).copied().unwrap_or(0)))
            .sum();
        let mask: BooleanChunked = names.iter().map(|n| n == name).collect();
        let coverage =
            relaytrail::jobs::watchlist::DescriptorCoverage::of(&listed.filter(&mask).unwrap())
                .unwrap();
        assert_eq!(coverage.hours_with_descriptor, Some(expected), "{name}");
        assert!(coverage.hours_present >= expected, "{name}");
        partly_covered |= expected > 0 && expected < coverage.hours_present;
    }
    assert!(partly_covered, "a list with and without descriptors");

    // The attribution: who runs groups of relays without descriptors is unknown, never
    // "undeclared".
    relaytrail_ok(&[
        "attribute".as_ref(),
        "--quiet".as_ref(),
        "--warehouse".as_ref(),
        warehouse.as_os_str(),
    ]);
    let actors = read(warehouse, "actors");
    let declared = actors.column("declared").unwrap().bool().unwrap().clone();
    let status = str_column(&actors, "contact_status");
    let sizes: Vec<u32> = u32_column(&actors, "relays")
        .into_iter()
        .flatten()
        .collect();
    let known: Vec<u32> = u32_column(&actors, "relays_with_descriptor")
        .into_iter()
        .flatten()
        .collect();
    let mut unknown = 0;
    for k in 0..actors.height() {
        match declared.get(k) {
            None => {
                unknown += 1;
                assert!(2 * known[k] < sizes[k]);
                assert_eq!(status[k], "unknown");
            }
            Some(_) => assert!(2 * known[k] >= sizes[k], "actor {k}"),
        }
    }
    assert!(unknown > 0);
}
