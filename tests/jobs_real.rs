//! The jobs on real consensuses: path-selection probabilities recomputed by hand from the
//! document's own `bandwidth-weights`, `s` and `w` lines (Onionoo's formula), for a guard, an
//! exit, a guard+exit, a middle-only relay and (when present) a BadExit relay.
#![cfg(feature = "analytics")] // drives the relaytrail binary

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use polars::prelude::*;

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

    let table = LazyFrame::scan_parquet(
        PlRefPath::new(
            dir.path()
                .join("relay_probabilities/**/*.parquet")
                .to_string_lossy()
                .as_ref(),
        ),
        ScanArgsParquet::default(),
    )
    .unwrap()
    .collect()
    .unwrap();
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
