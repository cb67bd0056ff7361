//! Consensus entries that repeat the previous consensus byte for byte are passed over by the
//! parser and stored once (`import/entry_states.rs`). These tests check that this changes
//! nothing in the warehouse: hourly consensuses derived from a real one (2016-09-20 13:00,
//! 7213 entries), with entries changed, dropped, duplicated and made bad from hour to hour,
//! imported as one tarball (entries reused) and as separate files (nothing to reuse) give
//! byte-identical partitions, also when the staged entries are spilled mid-input.

mod common;

use std::path::{Path, PathBuf};

use common::*;

const ORIGINAL: &str = "real/collector/2016-09-20-13-00-00-consensus";

/// The consensus moved to `hour` (13 + hour o'clock) with `edit` applied to its entry lines.
fn hour(original: &str, hour: u32, edit: impl Fn(usize, &str) -> Option<String>) -> String {
    let mut out = String::new();
    let mut entry = 0;
    for line in original.lines() {
        let line = match line.split_once(' ') {
            Some(("valid-after", _)) => format!("valid-after 2016-09-20 {}:00:00", 13 + hour),
            Some(("fresh-until", _)) => format!("fresh-until 2016-09-20 {}:00:00", 14 + hour),
            Some(("valid-until", _)) => format!("valid-until 2016-09-20 {}:00:00", 16 + hour),
            _ => line.to_string(),
        };
        if line.starts_with("r ") {
            entry += 1;
        }
        if entry > 0 && !line.starts_with("directory-footer") {
            match edit(entry, &line) {
                Some(edited) => out.push_str(&edited),
                None => continue,
            }
        } else {
            entry = if line.starts_with("directory-footer") {
                0
            } else {
                entry
            };
            out.push_str(&line);
        }
        out.push('\n');
    }
    out
}

/// Three hours: 13:00 as published; 14:00 with entry 5's weight changed, entry 9 gone, entry
/// 12 listed twice and entry 20's `w` line bad (a warning); 15:00 the same as 14:00, so every
/// entry repeats, the duplicate and the bad one included.
fn three_hours() -> Vec<(String, String)> {
    let original = String::from_utf8(read_fixture(ORIGINAL)).unwrap();
    let changed = |entry: usize, line: &str| -> Option<String> {
        match entry {
            5 if line.starts_with("w ") => Some("w Bandwidth=4242".into()),
            9 => None,
            20 if line.starts_with("w ") => Some("w Bandwidth=lots".into()),
            _ => Some(line.to_string()),
        }
    };
    let with_duplicate = |doc: String| {
        let entries: Vec<&str> = doc.split("\nr ").collect();
        let twelfth = format!("\nr {}", entries[12]);
        doc.replacen(&twelfth, &format!("{twelfth}{twelfth}"), 1)
    };
    let doc13 = hour(&original, 0, |_, line| Some(line.to_string()));
    let doc14 = with_duplicate(hour(&original, 1, changed));
    let doc15 = with_duplicate(hour(&original, 2, changed));
    vec![
        ("2016-09-20-13-00-00-consensus".into(), doc13),
        ("2016-09-20-14-00-00-consensus".into(), doc14),
        ("2016-09-20-15-00-00-consensus".into(), doc15),
    ]
}

fn import_tarball(dir: &Path, docs: &[(String, String)], spill_rows: Option<usize>) -> PathBuf {
    let members: Vec<(String, Vec<u8>)> = docs
        .iter()
        .map(|(name, doc)| {
            (
                format!("consensuses-2016-09/20/{name}"),
                doc.clone().into_bytes(),
            )
        })
        .collect();
    let input = write(dir, "consensuses-2016-09.tar", &tar_of(&members));
    let warehouse = dir.join("warehouse");
    let summary = import_with(&warehouse, &[input], 1, spill_rows);
    assert_eq!(summary.documents_imported, 3);
    warehouse
}

fn import_separately(dir: &Path, docs: &[(String, String)]) -> PathBuf {
    let inputs: Vec<PathBuf> = docs
        .iter()
        .map(|(name, doc)| write(dir, name, doc.as_bytes()))
        .collect();
    let warehouse = dir.join("warehouse");
    let summary = import_into(&warehouse, &inputs, 1);
    assert_eq!(summary.documents_imported, 3);
    warehouse
}

fn entries_file(warehouse: &Path) -> Vec<u8> {
    let files = dataset_files(warehouse, "consensus_entries");
    assert_eq!(files.len(), 1);
    std::fs::read(&files[0]).unwrap()
}

#[test]
fn reused_entries_give_the_same_partition_as_parsing_every_entry() {
    let docs = three_hours();
    let (a, b, c) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let reused = import_tarball(a.path(), &docs, None);
    let spilled = import_tarball(b.path(), &docs, Some(10_000));
    let separate = import_separately(c.path(), &docs);
    let expected = entries_file(&separate);
    assert!(
        entries_file(&reused) == expected,
        "reused entries differ from parsed ones"
    );
    assert!(
        entries_file(&spilled) == expected,
        "spilled runs differ from parsed ones"
    );

    // Rows: one per distinct relay of each document (the duplicate is stored once).
    let entries = read_dataset(&reused, "consensus_entries").unwrap();
    let distinct_relays: usize = docs
        .iter()
        .map(|(_, doc)| {
            let ids: std::collections::BTreeSet<&str> = doc
                .lines()
                .filter(|l| l.starts_with("r "))
                .map(|l| l.split(' ').nth(2).unwrap())
                .collect();
            ids.len()
        })
        .sum();
    assert_eq!(entries.num_rows(), distinct_relays);
    assert_eq!(distinct_relays, 7213 + 7212 + 7212);

    // The relay counts of the consensuses count every entry, the duplicate included.
    let consensuses = read_dataset(&reused, "consensuses").unwrap();
    let relays: Vec<String> = (0..3)
        .map(|i| value(&consensuses, "relays", i).unwrap())
        .collect();
    let listed: Vec<String> = docs
        .iter()
        .map(|(_, doc)| {
            doc.lines()
                .filter(|l| l.starts_with("r "))
                .count()
                .to_string()
        })
        .collect();
    assert_eq!(relays, listed);

    // The changed weight is read at 14:00 and 15:00 (reused there), the original at 13:00.
    let fifth = docs[0].1.split("\nr ").nth(5).unwrap();
    let fingerprint = b64_to_hex(fifth.split(' ').nth(1).unwrap());
    let weights: Vec<(String, String)> = (0..entries.num_rows())
        .filter(|&i| value(&entries, "fingerprint", i).as_deref() == Some(&fingerprint))
        .map(|i| {
            (
                value(&entries, "valid_after", i).unwrap(),
                value(&entries, "bandwidth", i).unwrap(),
            )
        })
        .collect();
    let original_weight = fifth
        .lines()
        .find_map(|l| l.strip_prefix("w Bandwidth="))
        .unwrap();
    assert_eq!(
        weights,
        vec![
            (ts("2016-09-20 13:00:00"), original_weight.to_string()),
            (ts("2016-09-20 14:00:00"), "4242".to_string()),
            (ts("2016-09-20 15:00:00"), "4242".to_string()),
        ]
    );

    // The bad `w` line is reported in both documents that carry it, at its own line: an
    // entry with a warning is never passed over.
    let errors = read_dataset(&reused, "import_errors").unwrap();
    let mut reported: Vec<(String, String)> = (0..errors.num_rows())
        .map(|i| {
            (
                value(&errors, "source_member", i).unwrap(),
                value(&errors, "line", i).unwrap(),
            )
        })
        .collect();
    reported.sort();
    let expected: Vec<(String, String)> = docs[1..]
        .iter()
        .map(|(name, doc)| {
            let line = doc.lines().position(|l| l == "w Bandwidth=lots").unwrap() + 1;
            (format!("consensuses-2016-09/20/{name}"), line.to_string())
        })
        .collect();
    assert_eq!(reported, expected);
}

/// Two consecutive real consensuses (2018-06-01 00:00 and 01:00, cropped; the tarball lists
/// the later one first): imported from the tarball, where the second reuses entries of the
/// first, and from separate files, the partitions are the same bytes.
#[test]
fn real_consecutive_consensuses_reused_or_not_give_the_same_partition() {
    let tarball = fixture("real/stem/consensuses-2018-06-cropped.tar");
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let reused = a.path().join("warehouse");
    assert_eq!(
        import_into(&reused, std::slice::from_ref(&tarball), 1).documents_imported,
        2
    );
    let mut archive = tar::Archive::new(std::fs::File::open(&tarball).unwrap());
    let mut inputs = Vec::new();
    let mut texts = Vec::new();
    for member in archive.entries().unwrap() {
        let mut member = member.unwrap();
        if member.header().entry_type().is_file() {
            let name = member.path().unwrap().file_name().unwrap().to_owned();
            let mut bytes = Vec::new();
            std::io::Read::read_to_end(&mut member, &mut bytes).unwrap();
            inputs.push(write(b.path(), name.to_str().unwrap(), &bytes));
            texts.push(String::from_utf8(bytes).unwrap());
        }
    }
    // Some entries do repeat byte for byte from one hour to the next.
    let entries_of = |doc: &str| -> Vec<String> {
        doc.split("\nr ")
            .skip(1)
            .map(|e| e.split("\ndirectory-footer").next().unwrap().to_string())
            .collect()
    };
    let earlier = entries_of(&texts[1]);
    let repeated = entries_of(&texts[0])
        .iter()
        .filter(|e| earlier.contains(e))
        .count();
    assert!(repeated > 0, "no entry repeats");
    let separate = b.path().join("warehouse");
    assert_eq!(import_into(&separate, &inputs, 1).documents_imported, 2);
    assert!(entries_file(&reused) == entries_file(&separate));
}

/// Every real consensus, parsed again with each of its own reusable entries known: those are
/// passed over at their offsets, the others parse as before, with the same warnings at the
/// same lines, and the footer is still read.
#[test]
fn real_consensuses_reparsed_with_their_own_entries_known() {
    use relaytrail::descriptor::consensus::{parse, parse_reusing, KnownEntry};
    for relative in [
        "real/stem/metrics_consensus",
        "real/zoossh/consensus",
        "real/collector/2016-09-20-13-00-00-consensus",
        "real/collector/2016-10-02-17-00-00-consensus-microdesc",
        "real/zoossh/2017-04-15-00-00-00-consensus",
        "real/metrics-lib/2017-07-17-17-00-00-consensus",
        "real/metrics-lib/2017-07-17-17-00-00-consensus-microdesc",
        "real/stem/cached-microdesc-consensus_with_carriage_returns",
        "real/arti/tor-dirserver/consensus-ns",
        "real/arti/testdata-live/consensus",
        "real/arti/testdata-live/consensus-microdesc",
    ] {
        let doc = read_fixture(relative);
        let plain = parse(&doc, 1).unwrap();
        let offset = |bytes: &[u8]| bytes.as_ptr() as usize - doc.as_ptr() as usize;
        let reusable: std::collections::BTreeMap<usize, &[u8]> = plain
            .doc
            .entries
            .iter()
            .filter_map(|e| e.reusable_text.map(|t| (offset(t), t)))
            .collect();
        assert!(!reusable.is_empty(), "{relative}: no reusable entry");
        let reused = parse_reusing(&doc, 1, |rest| {
            let text = *reusable.get(&offset(rest))?;
            Some(KnownEntry {
                text,
                id: offset(rest) as u32,
                lines: text.iter().filter(|&&b| b == b'\n').count() as u32,
            })
        })
        .unwrap();
        let passed_over: Vec<usize> = reused.doc.known_entries.iter().map(|&(_, at)| at).collect();
        assert_eq!(
            passed_over,
            reusable.keys().copied().collect::<Vec<_>>(),
            "{relative}"
        );
        let lines = |entries: &[relaytrail::descriptor::consensus::Entry]| {
            entries.iter().map(|e| e.line).collect::<Vec<_>>()
        };
        let others: Vec<_> = plain
            .doc
            .entries
            .iter()
            .filter(|e| e.reusable_text.is_none())
            .cloned()
            .collect();
        assert_eq!(lines(&reused.doc.entries), lines(&others), "{relative}");
        let warnings = |w: &[relaytrail::descriptor::ParseError]| {
            w.iter()
                .map(|w| (w.line, w.message.clone()))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            warnings(&reused.warnings),
            warnings(&plain.warnings),
            "{relative}"
        );
        assert_eq!(
            reused.doc.bandwidth_weights, plain.doc.bandwidth_weights,
            "{relative}"
        );
        assert_eq!(reused.doc.signatures, plain.doc.signatures, "{relative}");
        assert_eq!(
            reused.doc.entries.len() + reused.doc.known_entries.len(),
            plain.doc.entries.len(),
            "{relative}"
        );
    }
}
