//! The jobs on real consensuses: path-selection probabilities recomputed by hand from the
//! document's own `bandwidth-weights`, `s` and `w` lines (Onionoo's formula), for a guard, an
//! exit, a guard+exit, a middle-only relay and (when present) a BadExit relay.
#![cfg(feature = "analytics")] // drives the relaytrail binary

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use polars::prelude::*;

use common::frames::read_frame;
use common::*;

struct Entry {
    flags: Vec<String>,
    bandwidth: f64,
}

/// A deliberately naive reading of the consensus text: `r` starts an entry, `s` gives flags,
/// `w Bandwidth=` the weight; `bandwidth-weights` the Wxx values.
fn read_consensus(text: &str) -> (BTreeMap<String, Entry>, BTreeMap<String, f64>) {
    use base64::Engine;
    let mut entries = BTreeMap::new();
    let mut weights = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        let words: Vec<&str> = line.split(' ').collect();
        match words[0] {
            "r" => {
                let mut id = words[2].to_string();
                while !id.len().is_multiple_of(4) {
                    id.push('=');
                }
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(id)
                    .unwrap();
                let fp = hex::encode_upper(bytes);
                entries.insert(
                    fp.clone(),
                    Entry {
                        flags: Vec::new(),
                        bandwidth: 0.0,
                    },
                );
                current = Some(fp);
            }
            "s" => {
                let e = entries.get_mut(current.as_ref().unwrap()).unwrap();
                e.flags = words[1..].iter().map(|s| s.to_string()).collect();
            }
            "w" => {
                let e = entries.get_mut(current.as_ref().unwrap()).unwrap();
                for w in &words[1..] {
                    if let Some(v) = w.strip_prefix("Bandwidth=") {
                        e.bandwidth = v.parse().unwrap();
                    }
                }
            }
            "bandwidth-weights" => {
                for w in &words[1..] {
                    let (k, v) = w.split_once('=').unwrap();
                    weights.insert(k.to_string(), v.parse::<f64>().unwrap());
                }
            }
            _ => {}
        }
    }
    (entries, weights)
}

fn role_weights(e: &Entry, w: &BTreeMap<String, f64>) -> (f64, f64, f64) {
    let has = |f: &str| e.flags.iter().any(|x| x == f);
    let guard = has("Guard");
    let exit = has("Exit") && !has("BadExit");
    let b = e.bandwidth;
    match (guard, exit) {
        (true, true) => (b * w["Wgd"], b * w["Wmd"], b * w["Wed"]),
        (true, false) => (b * w["Wgg"], b * w["Wmg"], 0.0),
        (false, true) => (0.0, b * w["Wme"], b * w["Wee"]),
        (false, false) => (0.0, b * w["Wmm"], 0.0),
    }
}

fn jobs(warehouse: &Path) {
    let status = Command::new(env!("CARGO_BIN_EXE_relaytrail"))
        .args(["jobs", "--quiet", "--warehouse"])
        .arg(warehouse)
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn probabilities_match_hand_computed_values_on_a_real_consensus() {
    let relative = "real/collector/2016-09-20-13-00-00-consensus";
    let (dir, summary) = import_fixtures(&[relative]);
    assert!(summary.errors.is_empty());
    jobs(dir.path());
    let text = String::from_utf8(read_fixture(relative)).unwrap();
    let (entries, weights) = read_consensus(&text);
    assert!(entries.len() > 7000);
    let running: Vec<(&String, &Entry)> = entries
        .iter()
        .filter(|(_, e)| e.flags.iter().any(|f| f == "Running"))
        .collect();
    let totals = running.iter().fold((0.0, 0.0, 0.0, 0.0), |t, (_, e)| {
        let (g, m, x) = role_weights(e, &weights);
        (t.0 + e.bandwidth, t.1 + g, t.2 + m, t.3 + x)
    });

    let table = read_frame(dir.path(), "relay_probabilities");
    assert_eq!(table.height(), entries.len());
    let fps = table.column("fingerprint").unwrap().str().unwrap();
    let row_of: BTreeMap<&str, usize> = fps
        .iter()
        .enumerate()
        .map(|(i, f)| (f.unwrap(), i))
        .collect();
    // Stored as float32 (like Onionoo), so compared to 1e-6 relative.
    let get = |name: &str, i: usize| {
        table
            .column(name)
            .unwrap()
            .cast(&DataType::Float64)
            .unwrap()
            .f64()
            .unwrap()
            .get(i)
    };

    // One relay of each role, picked from the document.
    let pick = |want: &dyn Fn(&Entry) -> bool| {
        running
            .iter()
            .filter(|(_, e)| want(e) && e.bandwidth > 0.0)
            .max_by(|a, b| a.1.bandwidth.total_cmp(&b.1.bandwidth))
            .map(|(fp, _)| fp.as_str())
    };
    let has = |e: &Entry, f: &str| e.flags.iter().any(|x| x == f);
    let mut picked = vec![
        pick(&|e| has(e, "Guard") && !has(e, "Exit")).unwrap(),
        pick(&|e| has(e, "Exit") && !has(e, "Guard") && !has(e, "BadExit")).unwrap(),
        pick(&|e| has(e, "Exit") && has(e, "Guard") && !has(e, "BadExit")).unwrap(),
        pick(&|e| !has(e, "Exit") && !has(e, "Guard")).unwrap(),
    ];
    picked.extend(pick(&|e| has(e, "BadExit")));
    for fp in picked {
        let e = &entries[fp];
        let (g, m, x) = role_weights(e, &weights);
        let i = row_of[fp];
        let close = |a: Option<f64>, b: f64| (a.unwrap() - b).abs() <= 1e-12 + b.abs() * 1e-6;
        assert!(
            close(get("consensus_weight_fraction", i), e.bandwidth / totals.0),
            "{fp}"
        );
        assert!(
            close(get("guard_probability", i), g / totals.1),
            "{fp} guard"
        );
        assert!(
            close(get("middle_probability", i), m / totals.2),
            "{fp} middle"
        );
        assert!(close(get("exit_probability", i), x / totals.3), "{fp} exit");
    }
}

#[test]
fn a_pipeline_runs_every_stage_and_then_is_up_to_date() {
    let dir = tempfile::tempdir().unwrap();
    let pipeline = dir.path().join("study.toml");
    let consensus = fixture("real/collector/2016-09-20-13-00-00-consensus");
    let descriptors = fixture("real/collector/relay-2016-10-02-16-05-00-server-descriptors");
    std::fs::write(
        &pipeline,
        format!(
            "description = \"fixture study\"\n[inputs]\narchives = [{:?}, {:?}]\nwarehouse = {:?}\nreport = {:?}\n[jobs]\nburst_min_relays_1h = 20\n[attribution]\nlink_threshold = 2.5\n",
            consensus.display().to_string(),
            descriptors.display().to_string(),
            dir.path().join("wh").display().to_string(),
            dir.path().join("report").display().to_string(),
        ),
    )
    .unwrap();
    let run = || {
        Command::new(env!("CARGO_BIN_EXE_relaytrail"))
            .args(["run", "--quiet"])
            .arg(&pipeline)
            .output()
            .unwrap()
    };
    let first = run();
    let stderr = String::from_utf8_lossy(&first.stderr);
    assert!(first.status.success(), "{stderr}");
    assert!(stderr.contains("import: 2 input(s) imported"), "{stderr}");
    assert!(dir.path().join("report/index.html").is_file());
    let second = run();
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(
        stderr.contains("0 input(s) imported, 2 unchanged") && stderr.contains("jobs: up to date"),
        "{stderr}"
    );

    // A misspelt setting is an error naming the file and the key.
    std::fs::write(
        &pipeline,
        std::fs::read_to_string(&pipeline)
            .unwrap()
            .replace("link_threshold", "link_treshold"),
    )
    .unwrap();
    let bad = run();
    assert_eq!(bad.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(
        stderr.contains("study.toml") && stderr.contains("link_treshold"),
        "{stderr}"
    );
}

fn shared_real_series(relative: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/fixtures/real-series")
        .join(relative)
}

/// The relay_probabilities of a warehouse, keyed by (fingerprint, valid_after ms):
/// (consensus weight fraction, guard, middle, exit).
fn probabilities(warehouse: &Path) -> BTreeMap<(String, i64), [Option<f64>; 4]> {
    let table = read_frame(warehouse, "relay_probabilities");
    let column = |name: &str| -> Vec<Option<f64>> {
        table
            .column(name)
            .unwrap()
            .cast(&DataType::Float64)
            .unwrap()
            .f64()
            .unwrap()
            .iter()
            .collect()
    };
    let [cw, g, m, x] = [
        "consensus_weight_fraction",
        "guard_probability",
        "middle_probability",
        "exit_probability",
    ]
    .map(column);
    let times: Vec<i64> = table
        .column("valid_after")
        .unwrap()
        .cast(&DataType::Int64)
        .unwrap()
        .i64()
        .unwrap()
        .into_no_null_iter()
        .collect();
    table
        .column("fingerprint")
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .enumerate()
        .map(|(i, fp)| {
            (
                (fp.unwrap().to_string(), times[i]),
                [cw[i], g[i], m[i], x[i]],
            )
        })
        .collect()
}

/// Onionoo's details document of 2025-05-13 22:00 and the microdesc consensus of the same
/// hour: every relay Onionoo lists has our guard probability to within 1e-6, and the middle
/// and exit probabilities of every running relay equal the hand computation.
#[test]
fn onionoo_guard_probabilities_are_reproduced_from_a_real_microdesc_consensus() {
    let consensus =
        shared_real_series("onionoo-2025-05-13/2025-05-13-22-00-00-consensus-microdesc");
    let details = shared_real_series("onionoo-2025-05-13/onionoo-details-2025-05-13-22-00.json");
    let dir = tempfile::tempdir().unwrap();
    let summary = import_into(dir.path(), std::slice::from_ref(&consensus), 1);
    assert!(summary.errors.is_empty(), "{:?}", summary.errors);
    jobs(dir.path());
    let ours = probabilities(dir.path());

    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(details).unwrap()).unwrap();
    let published = json["relays_published"].as_str().unwrap();
    assert_eq!(published, "2025-05-13 22:00:00", "the same hour");
    let hour = ours.keys().next().unwrap().1;
    let relays = json["relays"].as_array().unwrap();
    assert!(relays.len() > 8000);
    let mut worst = 0.0f64;
    for relay in relays {
        let fp = relay["fingerprint"].as_str().unwrap();
        let theirs = relay["guard_probability"].as_f64().unwrap();
        let Some(row) = ours.get(&(fp.to_string(), hour)) else {
            panic!("{fp} is in Onionoo's document but has no probabilities here");
        };
        let mine = row[1].unwrap_or_else(|| panic!("{fp}: no guard probability"));
        worst = worst.max((mine - theirs).abs());
        assert!(
            (mine - theirs).abs() <= 1e-6,
            "{fp}: {mine} vs Onionoo's {theirs}"
        );
    }
    eprintln!("largest difference from Onionoo: {worst:e}");

    // Middle and exit (and guard, and the weight fraction) of every running relay, by hand.
    let text = std::fs::read_to_string(&consensus).unwrap();
    let (entries, weights) = read_consensus(&text);
    assert_eq!(entries.len(), ours.len());
    let running = |e: &Entry| e.flags.iter().any(|f| f == "Running");
    let totals = entries
        .values()
        .filter(|e| running(e))
        .fold([0.0; 4], |t, e| {
            let (g, m, x) = role_weights(e, &weights);
            [t[0] + e.bandwidth, t[1] + g, t[2] + m, t[3] + x]
        });
    for (fp, e) in &entries {
        let row = ours[&(fp.clone(), hour)];
        if !running(e) {
            assert!(
                row.iter().all(Option::is_none),
                "{fp}: not running, no shares"
            );
            continue;
        }
        let (g, m, x) = role_weights(e, &weights);
        let hand = [
            e.bandwidth / totals[0],
            g / totals[1],
            m / totals[2],
            x / totals[3],
        ];
        for (k, value) in hand.iter().enumerate() {
            let got = row[k].unwrap();
            assert!(
                (got - value).abs() <= 1e-12 + value.abs() * 1e-6,
                "{fp} share {k}: {got} vs {value}"
            );
        }
    }
}

/// The same real hours imported once from their ns consensuses only and once from their
/// microdesc consensuses only (as a tor client's data directory holds them) give the same
/// sessions, probabilities and hourly counts.
#[test]
fn a_microdesc_only_warehouse_gives_what_the_ns_consensuses_give() {
    use std::io::Read;
    let tarball = shared_real_series("real-2017-10-29.tar.xz");
    let dir = tempfile::tempdir().unwrap();
    let mut ns_files = Vec::new();
    let mut md_files = Vec::new();
    let mut archive = tar::Archive::new(liblzma::read::XzDecoder::new(
        std::fs::File::open(&tarball).unwrap(),
    ));
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let name = entry.path().unwrap().display().to_string();
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).unwrap();
        // The hours that have both flavours.
        for hour in ["2017-10-29-11-00-00", "2017-10-29-12-00-00"] {
            if name == format!("{hour}-consensus") {
                ns_files.push(write(&dir.path().join("ns"), &name, &bytes));
            } else if name == format!("{hour}-consensus-microdesc") {
                md_files.push(write(&dir.path().join("md"), &name, &bytes));
            }
        }
    }
    assert_eq!((ns_files.len(), md_files.len()), (2, 2));
    let ns = dir.path().join("wh-ns");
    let md = dir.path().join("wh-md");
    assert!(import_into(&ns, &ns_files, 1).errors.is_empty());
    assert!(import_into(&md, &md_files, 1).errors.is_empty());
    jobs(&ns);
    jobs(&md);

    let read = read_frame;
    // Sessions: identical columns but the flavour-free ones.
    let columns = [
        "fingerprint",
        "session_start",
        "session_end",
        "hours",
        "nickname",
        "address",
        "or_port",
        "version",
        "last_flags",
        "last_bandwidth",
    ];
    let ns_sessions = read(&ns, "relay_sessions").select(columns).unwrap();
    let md_sessions = read(&md, "relay_sessions").select(columns).unwrap();
    assert!(ns_sessions.height() > 6000);
    assert!(ns_sessions.equals_missing(&md_sessions), "sessions differ");

    let ns_hourly = read(&ns, "network_hourly");
    let md_hourly = read(&md, "network_hourly");
    for column in [
        "valid_after",
        "relays",
        "relays_guard",
        "relays_exit",
        "relays_running",
        "departures",
        "total_consensus_weight",
    ] {
        assert!(
            ns_hourly
                .column(column)
                .unwrap()
                .equals_missing(md_hourly.column(column).unwrap()),
            "{column}"
        );
    }
    let flavor = |f: &DataFrame| -> Vec<String> {
        f.column("flavor")
            .unwrap()
            .str()
            .unwrap()
            .iter()
            .map(|s| s.unwrap().to_string())
            .collect()
    };
    assert_eq!(flavor(&ns_hourly), ["ns", "ns"]);
    assert_eq!(flavor(&md_hourly), ["microdesc", "microdesc"]);

    let (p_ns, p_md) = (probabilities(&ns), probabilities(&md));
    assert_eq!(p_ns.len(), p_md.len());
    for (key, a) in &p_ns {
        let b = p_md
            .get(key)
            .unwrap_or_else(|| panic!("{key:?} only in the ns warehouse"));
        for k in 0..4 {
            match (a[k], b[k]) {
                (Some(x), Some(y)) => assert!((x - y).abs() <= 1e-9, "{key:?} {k}: {x} vs {y}"),
                (x, y) => assert_eq!(x.is_some(), y.is_some(), "{key:?} {k}"),
            }
        }
    }
}
