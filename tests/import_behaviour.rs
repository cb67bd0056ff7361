//! Import behaviour beyond parsing: idempotent re-runs, de-duplication, determinism across
//! input order, thread counts and spilling, compressed inputs, and corrupt input handling
//! (errors name file, member and line; the rest still imports; exit status tells).
#![cfg(feature = "analytics")] // drives the relaytrail binary

mod common;

use std::io::Write;
use std::path::Path;

use common::*;

const CONSENSUS_2016: &str = "real/collector/2016-09-20-13-00-00-consensus";
const CONSENSUS_2017: &str = "real/zoossh/2017-04-15-00-00-00-consensus";
const DESCRIPTORS_2014: &str = "real/zoossh/server-descriptors";
const EXIT_LIST_2016: &str = "real/collector/2016-09-20-13-02-00";
const CONSENSUS_TAR_2018: &str = "real/stem/consensuses-2018-06-cropped.tar";

#[test]
fn reimport_changes_nothing_and_duplicates_are_stored_once() {
    let dir = tempfile::tempdir().unwrap();
    let wh = dir.path().join("wh");
    let inputs = vec![
        fixture(CONSENSUS_2016),
        fixture(DESCRIPTORS_2014),
        fixture(EXIT_LIST_2016),
    ];
    let first = import_into(&wh, &inputs, 2);
    assert_eq!(first.inputs_imported, 3);
    let before = data_file_hashes(&wh);
    let second = import_into(&wh, &inputs, 2);
    assert_eq!((second.inputs_imported, second.inputs_unchanged), (0, 3));
    assert_eq!(data_file_hashes(&wh), before);

    // The same content under another name is recorded as a duplicate, not imported again.
    let copy = write(
        dir.path(),
        "renamed-consensus",
        &read_fixture(CONSENSUS_2016),
    );
    let third = import_into(&wh, &[copy], 1);
    assert_eq!((third.inputs_imported, third.inputs_unchanged), (0, 1));
    let both = import_into(
        &dir.path().join("wh2"),
        &[
            fixture(CONSENSUS_2016),
            write(dir.path(), "again", &read_fixture(CONSENSUS_2016)),
        ],
        2,
    );
    assert_eq!((both.inputs_imported, both.inputs_duplicate), (1, 1));
    let imports = read_dataset(&dir.path().join("wh2"), "imports").unwrap();
    let dup = find_row(&imports, "status", "duplicate");
    let original = find_row(&imports, "status", "ok");
    assert_eq!(
        value(&imports, "duplicate_of", dup),
        value(&imports, "path", original)
    );
    assert_eq!(
        value(&imports, "sha256", dup),
        value(&imports, "sha256", original)
    );

    // A descriptor present in a tarball and as a plain file is stored once.
    let (wh3, _) = import_fixtures(&[
        "real/stem/server-descriptors-2005-12-cropped.tar",
        "real/stem/old_descriptor",
    ]);
    let d = read_dataset(wh3.path(), "server_descriptors").unwrap();
    assert_eq!(d.num_rows(), 5);
}

#[test]
fn output_bytes_do_not_depend_on_order_threads_runs_or_spilling() {
    let dir = tempfile::tempdir().unwrap();
    let all = vec![
        fixture(CONSENSUS_2016),
        fixture(CONSENSUS_2017),
        fixture(DESCRIPTORS_2014),
        fixture(CONSENSUS_TAR_2018),
        fixture(EXIT_LIST_2016),
    ];
    let reference = dir.path().join("reference");
    import_into(&reference, &all, 1);
    let expected = data_file_hashes(&reference);
    assert!(expected.len() >= 8);

    let mut reversed = all.clone();
    reversed.reverse();
    import_into(&dir.path().join("reversed"), &reversed, 2);
    assert_eq!(data_file_hashes(&dir.path().join("reversed")), expected);

    // One input at a time: each run merges into the partitions the previous ones wrote.
    let incremental = dir.path().join("incremental");
    for input in &reversed {
        import_into(&incremental, std::slice::from_ref(input), 1);
    }
    assert_eq!(data_file_hashes(&incremental), expected);

    // Tiny buffers: every partition is assembled from many spilled runs.
    let spilled = dir.path().join("spilled");
    import_with(&spilled, &all, 2, Some(500));
    assert_eq!(data_file_hashes(&spilled), expected);
    assert!(leftover_temp_files(&spilled).is_empty());
}

#[test]
fn compressed_and_archived_forms_of_a_document_import_alike() {
    let dir = tempfile::tempdir().unwrap();
    let doc = read_fixture(CONSENSUS_2016);
    let xz_file = write(dir.path(), "consensus.xz", &xz(&doc));
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&doc).unwrap();
    let gz_file = write(dir.path(), "consensus.gz", &gz.finish().unwrap());
    let tar_xz = write(
        dir.path(),
        "consensuses-2018-06.tar.xz",
        &xz(&read_fixture(CONSENSUS_TAR_2018)),
    );

    let plain = dir.path().join("plain");
    import_into(
        &plain,
        &[fixture(CONSENSUS_2016), fixture(CONSENSUS_TAR_2018)],
        1,
    );
    let compressed = dir.path().join("compressed");
    let summary = import_into(&compressed, &[xz_file, tar_xz], 2);
    assert!(summary.errors.is_empty());
    let gz_wh = dir.path().join("gz");
    import_into(&gz_wh, &[gz_file], 1);

    let entries = |wh: &Path| read_dataset(wh, "consensus_entries").unwrap();
    // The entry rows carry no file names, so the partitions are byte-identical.
    assert_eq!(entries(&plain), entries(&compressed));
    assert_eq!(entries(&gz_wh).num_rows(), 7213);
    let imports = read_dataset(&compressed, "imports").unwrap();
    let formats: Vec<String> = (0..2)
        .map(|i| value(&imports, "format", i).unwrap())
        .collect();
    assert_eq!(formats, ["xz", "xz"]);
}

#[test]
fn truncated_tarball_keeps_complete_members_and_names_the_failure() {
    let dir = tempfile::tempdir().unwrap();
    let tar = read_fixture("real/stem/exit-list-2018-11-cropped.tar");
    let compressed = xz(&tar);
    // Cut the xz stream where the decoder has produced some members but not all.
    let cut = write(
        dir.path(),
        "exit-list-2018-11.tar.xz",
        &compressed[..compressed.len() * 3 / 4],
    );
    let wh = dir.path().join("wh");
    let out = relaytrail(&[
        "import".as_ref(),
        cut.as_os_str(),
        "--warehouse".as_ref(),
        wh.as_os_str(),
        "--quiet".as_ref(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("exit-list-2018-11.tar.xz"), "{stderr}");
    let errors = read_dataset(&wh, "import_errors").unwrap();
    assert_eq!(errors.num_rows(), 1);
    assert_eq!(value(&errors, "kind", 0).unwrap(), "archive");
    assert!(value(&errors, "source_member", 0)
        .unwrap()
        .starts_with("exit-list-2018-11/"));
    let imports = read_dataset(&wh, "imports").unwrap();
    assert_eq!(value(&imports, "status", 0).unwrap(), "failed");
    // Members decoded before the cut are imported.
    let lists = read_dataset(&wh, "exit_lists").unwrap();
    assert!(lists.num_rows() > 0);
    assert!(leftover_temp_files(&wh).is_empty());
}

#[test]
fn bad_documents_are_recorded_with_line_numbers_and_the_rest_imports() {
    let dir = tempfile::tempdir().unwrap();
    let doc = String::from_utf8(read_fixture(CONSENSUS_2016)).unwrap();
    // 1. a consensus whose valid-after line is gone: rejected as a whole.
    let no_valid_after: String = doc
        .lines()
        .filter(|l| !l.starts_with("valid-after"))
        .map(|l| format!("{l}\n"))
        .collect();
    // 2. a consensus with one r line missing fields: that entry is skipped.
    let r_line = doc.lines().position(|l| l.starts_with("r ")).unwrap();
    let broken_r: String = doc
        .lines()
        .enumerate()
        .map(|(i, l)| {
            if i == r_line {
                "r OnlyANickname\n".to_string()
            } else {
                format!("{l}\n")
            }
        })
        .collect::<String>()
        .replace(
            "valid-after 2016-09-20 13:00:00",
            "valid-after 2016-09-20 14:00:00",
        );
    let files = [
        write(
            dir.path(),
            "2016-09-20-12-00-00-consensus",
            no_valid_after.as_bytes(),
        ),
        write(
            dir.path(),
            "2016-09-20-14-00-00-consensus",
            broken_r.as_bytes(),
        ),
        write(
            dir.path(),
            "garbage.bin",
            &[0xde, 0xad, 0xbe, 0xef, 0x00, 0x17, b'\n'],
        ),
    ];
    let wh = dir.path().join("wh");
    let summary = import_into(&wh, &files, 2);
    assert_eq!(summary.errors.len(), 3, "{:#?}", summary.errors);

    let errors = read_dataset(&wh, "import_errors").unwrap();
    let missing = find_row(&errors, "kind", "missing_line");
    assert!(value(&errors, "source_file", missing)
        .unwrap()
        .ends_with("2016-09-20-12-00-00-consensus"));
    assert!(value(&errors, "message", missing)
        .unwrap()
        .contains("valid-after"));
    let bad_r = find_row(&errors, "kind", "missing_field");
    assert_eq!(
        value(&errors, "line", bad_r).unwrap(),
        (r_line + 1).to_string()
    );
    assert_eq!(
        value(&errors, "document_type", bad_r).unwrap(),
        "network-status-consensus-3"
    );
    let garbage = find_row(&errors, "kind", "unrecognised");
    assert!(value(&errors, "source_file", garbage)
        .unwrap()
        .ends_with("garbage.bin"));

    let entries = read_dataset(&wh, "consensus_entries").unwrap();
    assert_eq!(entries.num_rows(), 7213 - 1);
}

#[test]
fn cli_exit_status_and_unknown_types() {
    let dir = tempfile::tempdir().unwrap();
    let wh = dir.path().join("wh");
    let ok = relaytrail(&[
        "import".as_ref(),
        fixture(EXIT_LIST_2016).as_os_str(),
        "--warehouse".as_ref(),
        wh.as_os_str(),
    ]);
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let future = write(
        dir.path(),
        "future",
        b"@type server-descriptor 2.0\nrouter a 1.2.3.4 9001 0 0\n",
    );
    let unknown = write(dir.path(), "unknown", b"@type frobnicator 1.0\nfoo bar\n");
    let bad = relaytrail(&[
        "import".as_ref(),
        future.as_os_str(),
        unknown.as_os_str(),
        "--warehouse".as_ref(),
        wh.as_os_str(),
    ]);
    assert_eq!(bad.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(
        stderr.contains("future: line 1") && stderr.contains("unsupported_version"),
        "{stderr}"
    );
    assert!(
        stderr.contains("unknown: line 1") && stderr.contains("unknown_type"),
        "{stderr}"
    );
    // A warehouse that cannot be created is a failure of the run (status 2).
    let blocked = write(dir.path(), "not-a-folder", b"x");
    let failed = relaytrail(&[
        "import".as_ref(),
        fixture(EXIT_LIST_2016).as_os_str(),
        "--warehouse".as_ref(),
        blocked.join("wh").as_os_str(),
    ]);
    assert_eq!(failed.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&failed.stderr).contains("not-a-folder"));
}
