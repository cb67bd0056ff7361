//! The importer on a generated archive (`relaytrail generate`): zero import errors, every
//! `r`-line digest resolves to its server descriptor, and the relays and presence the
//! ground truth lists are exactly what the warehouse holds.
#![cfg(feature = "analytics")] // drives the relaytrail binary

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use common::*;

fn generate(out: &Path, start: &str, months: &str, relays: &str, seed: &str) {
    let status = Command::new(env!("CARGO_BIN_EXE_relaytrail"))
        .args(["generate", "--out"])
        .arg(out)
        .args([
            "--start", start, "--months", months, "--relays", relays, "--seed", seed, "--quiet",
        ])
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn generated_archive_imports_cleanly_and_matches_its_ground_truth() {
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("archive");
    generate(&archive, "2021-08", "2", "250", "5");
    let wh = dir.path().join("wh");
    let summary = import_into(&wh, std::slice::from_ref(&archive), 2);
    assert!(
        summary.errors.is_empty(),
        "{:#?}",
        &summary.errors[..summary.errors.len().min(5)]
    );
    let tarballs: usize = [
        "relay-descriptors/consensuses",
        "relay-descriptors/server-descriptors",
        "exit-lists",
        "relay-descriptors/votes",
    ]
    .iter()
    .map(|d| std::fs::read_dir(archive.join(d)).map_or(0, |files| files.count()))
    .sum();
    assert!(
        tarballs >= 6,
        "2 months x (consensuses, server descriptors, exit lists)"
    );
    assert_eq!(summary.inputs_imported, tarballs);
    assert!(
        summary.files_passed_over > 0,
        "ground truth and AS table are passed over"
    );

    // The default scenario writes the votes around its events: nine authorities an hour.
    let votes = read_dataset(&wh, "votes").unwrap();
    assert!(
        votes.num_rows() > 0 && votes.num_rows().is_multiple_of(9),
        "{}",
        votes.num_rows()
    );
    let entries = read_dataset(&wh, "consensus_entries").unwrap();
    let descriptors = read_dataset(&wh, "server_descriptors").unwrap();
    let digests: BTreeMap<String, (Option<String>, Option<String>)> = (0..descriptors.num_rows())
        .map(|i| {
            (
                value(&descriptors, "digest", i).unwrap(),
                (
                    value(&descriptors, "fingerprint", i),
                    value(&descriptors, "published", i),
                ),
            )
        })
        .collect();
    for i in 0..entries.num_rows() {
        let digest = value(&entries, "descriptor_digest", i).unwrap();
        let published = value(&entries, "published", i);
        // Descriptors published before the archive's first month are not in it.
        if published.as_deref() < Some("2021-08-01") {
            continue;
        }
        let (fingerprint, desc_published) = digests
            .get(&digest)
            .unwrap_or_else(|| panic!("digest {digest} has no descriptor"));
        assert_eq!(fingerprint, &value(&entries, "fingerprint", i));
        assert_eq!(desc_published, &published);
    }

    // Presence per fingerprint: first and last consensus, against the ground truth sessions.
    let mut seen: BTreeMap<String, (String, String)> = BTreeMap::new();
    for i in 0..entries.num_rows() {
        let fp = value(&entries, "fingerprint", i).unwrap();
        let t = value(&entries, "valid_after", i).unwrap().replace('T', " ");
        let e = seen.entry(fp).or_insert_with(|| (t.clone(), t.clone()));
        if t < e.0 {
            e.0 = t.clone();
        }
        if t > e.1 {
            e.1 = t;
        }
    }
    let truth: serde_json::Value =
        serde_json::from_slice(&std::fs::read(archive.join("ground_truth/relays.json")).unwrap())
            .unwrap();
    let truth = truth.as_array().unwrap();
    let truth_fps: BTreeSet<String> = truth
        .iter()
        .map(|r| r["fingerprint"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(truth_fps, seen.keys().cloned().collect::<BTreeSet<_>>());
    for relay in truth {
        let sessions = relay["sessions"].as_array().unwrap();
        let first = sessions.first().unwrap()[0].as_str().unwrap();
        let last = sessions.last().unwrap()[1].as_str().unwrap();
        let (f, l) = &seen[relay["fingerprint"].as_str().unwrap()];
        assert_eq!(
            (f.as_str(), l.as_str()),
            (first, last),
            "{}",
            relay["fingerprint"]
        );
    }
}
