//! Crash safety: `relaytrail import` killed with SIGKILL at 20 pseudo-random moments of a
//! multi-tarball import (several waves, spilled runs, a duplicate and a bad document), then
//! run again, must end with a warehouse byte-identical to an uninterrupted run's: every file,
//! the manifest compared without its wall-clock columns (`started`, `finished`). After each
//! kill every file a Hive reader would pick up must be a complete Parquet file; after each
//! completed run no temporary file may be left at all.
#![cfg(feature = "analytics")] // drives the relaytrail binary

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

const KILLS: usize = 20;
const SEED: u64 = 0x5eed_2016;
/// Rows of the reference manifest: eight inputs and a duplicate.
const INPUTS: usize = 9;

/// splitmix64: a small deterministic generator for the kill schedule.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn fast_xz(data: &[u8]) -> Vec<u8> {
    let mut encoder = liblzma::write::XzEncoder::new(Vec::new(), 1);
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

/// The inputs: four monthly consensus tarballs (three consensuses each, from the 2016
/// consensus with its hour moved), server descriptors of 2014 and 2005, an exit-list tarball,
/// a consensus with one bad `r` line, and a copy of a tarball under another name.
fn build_inputs(dir: &Path) -> PathBuf {
    let root = dir.join("archive");
    let consensus =
        String::from_utf8(read_fixture("real/collector/2016-09-20-13-00-00-consensus")).unwrap();
    for (i, month) in ["09", "10", "11", "12"].iter().enumerate() {
        let members: Vec<(String, Vec<u8>)> = (0..3)
            .map(|hour| {
                let time = format!("2016-{month}-01 0{hour}:00:00");
                let doc = consensus.replace(
                    "valid-after 2016-09-20 13:00:00",
                    &format!("valid-after {time}"),
                );
                let name =
                    format!("consensuses-2016-{month}/01/2016-{month}-01-0{hour}-00-00-consensus");
                (name, doc.into_bytes())
            })
            .collect();
        let tar = tar_of(&members);
        let (name, bytes) = if i % 2 == 0 {
            (format!("consensuses-2016-{month}.tar.xz"), fast_xz(&tar))
        } else {
            (format!("consensuses-2016-{month}.tar.gz"), gzip(&tar))
        };
        write(
            &root,
            &format!("relay-descriptors/consensuses/{name}"),
            &bytes,
        );
        if i == 1 {
            write(&root, &format!("mirror/copy-of-{name}"), &bytes);
        }
    }
    let descriptors = tar_of(&[(
        "server-descriptors-2014/cached-descriptors".to_string(),
        read_fixture("real/zoossh/server-descriptors"),
    )]);
    write(
        &root,
        "relay-descriptors/server-descriptors/server-descriptors-2014.tar.gz",
        &gzip(&descriptors),
    );
    write(
        &root,
        "relay-descriptors/server-descriptors/server-descriptors-2005-12.tar",
        &read_fixture("real/stem/server-descriptors-2005-12-cropped.tar"),
    );
    write(
        &root,
        "exit-lists/exit-list-2018-11.tar.xz",
        &fast_xz(&read_fixture("real/stem/exit-list-2018-11-cropped.tar")),
    );
    write(
        &root,
        "recent/2017-07-17-17-00-00-consensus",
        &std::fs::read(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/bad_inputs/consensus-r-line-bad-base64"),
        )
        .unwrap(),
    );
    root
}

fn import_command(inputs: &Path, warehouse: &Path) -> Command {
    let mut command = relaytrail_command();
    command
        .arg("import")
        .arg(inputs)
        .arg("--warehouse")
        .arg(warehouse)
        // Waves of two inputs, and many spilled runs: more moments to be killed in.
        .args(["--quiet", "--threads", "1", "--spill-rows", "20000"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    command
}

/// Runs an import to its end; returns its exit status and duration.
fn complete(inputs: &Path, warehouse: &Path) -> (i32, Duration) {
    let started = Instant::now();
    let output = run_with_timeout(
        &mut import_command(inputs, warehouse),
        Duration::from_secs(300),
    );
    let code = output.status.code().expect("not killed");
    (code, started.elapsed())
}

/// The warehouse as compared: every file's bytes except the manifest's, which is compared
/// without its wall-clock columns.
fn snapshot(
    warehouse: &Path,
) -> (
    std::collections::BTreeMap<String, Vec<u8>>,
    arrow::record_batch::RecordBatch,
) {
    let mut files = tree_bytes(warehouse);
    files.remove("imports/part-0.parquet").expect("a manifest");
    (files, manifest_without_times(warehouse))
}

/// What a killed run left behind.
#[derive(Default, Debug)]
struct Leftovers {
    with_staging: usize,
    with_temp_files: usize,
    inputs_recorded: Vec<usize>,
}

#[test]
fn killed_imports_converge_on_the_uninterrupted_warehouse() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = build_inputs(dir.path());

    let reference = dir.path().join("reference");
    let (code, duration) = complete(&inputs, &reference);
    assert_eq!(code, 1, "the reference run records the bad r line");
    let expected = snapshot(&reference);
    assert!(leftover_temp_files(&reference).is_empty());
    let imports = read_dataset(&reference, "imports").unwrap();
    assert_eq!(imports.num_rows(), INPUTS);
    eprintln!(
        "reference import: {:.2} s, {} files",
        duration.as_secs_f64(),
        expected.0.len()
    );

    let mut rng = Rng(SEED);
    let warehouse = dir.path().join("warehouse");
    let mut leftovers = Leftovers::default();
    let (mut kills, mut completions, mut finished_first) = (0, 0, 0);
    let converged = |warehouse: &Path, after: &str| {
        assert!(
            leftover_temp_files(warehouse).is_empty(),
            "{after}: temporary files left after a complete run: {:?}",
            leftover_temp_files(warehouse)
        );
        let got = snapshot(warehouse);
        let differing: Vec<&String> = expected
            .0
            .keys()
            .chain(got.0.keys())
            .filter(|k| expected.0.get(*k) != got.0.get(*k))
            .collect();
        assert!(
            differing.is_empty(),
            "{after}: files differ from the uninterrupted run: {differing:?}"
        );
        assert_eq!(got.1, expected.1, "{after}: the manifest differs");
        std::fs::remove_dir_all(warehouse).unwrap();
    };
    while kills < KILLS {
        assert!(
            kills + finished_first < 4 * KILLS,
            "the runs keep finishing before the kill"
        );
        // A run resuming a killed one has less to do: its kill is drawn over about what is
        // left (the share of inputs the manifest does not list yet).
        let listed = read_dataset(&warehouse, "imports").map_or(0, |b| b.num_rows());
        let left = (INPUTS - listed.min(INPUTS)) as f64 / INPUTS as f64;
        let delay = duration.mul_f64(rng.unit() * (left + 0.5).min(1.0));
        let mut child = import_command(&inputs, &warehouse).spawn().unwrap();
        std::thread::sleep(delay);
        child.kill().unwrap(); // SIGKILL
        let status = child.wait().unwrap();
        if status.code().is_some() {
            // It finished before the kill (a run resuming an earlier one has less to do):
            // a complete run, which must have converged too.
            assert_ne!(status.code(), Some(2));
            finished_first += 1;
            converged(&warehouse, &format!("a run finished after {delay:?}"));
            continue;
        }
        kills += 1;
        // Every file a reader sees is complete.
        for file in reader_visible_files(&warehouse) {
            let opened = std::fs::File::open(&file).unwrap();
            let reader =
                parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(opened)
                    .unwrap_or_else(|e| panic!("kill {kills}: {} unreadable: {e}", file.display()))
                    .build()
                    .unwrap();
            for batch in reader {
                batch.unwrap_or_else(|e| panic!("kill {kills}: {} broken: {e}", file.display()));
            }
        }
        if warehouse.join("_staging").exists() {
            leftovers.with_staging += 1;
        }
        if !leftover_temp_files(&warehouse)
            .iter()
            .all(|p| p.starts_with(warehouse.join("_staging")))
        {
            leftovers.with_temp_files += 1;
        }
        leftovers
            .inputs_recorded
            .push(read_dataset(&warehouse, "imports").map_or(0, |b| b.num_rows()));
        eprintln!("kill {kills:2} after {:6.3} s", delay.as_secs_f64());
        // Sometimes the next run is killed too, sometimes it completes and must converge.
        if rng.unit() < 0.4 || kills == KILLS {
            let (code, _) = complete(&inputs, &warehouse);
            assert_ne!(code, 2, "kill {kills}: the run after it failed");
            converged(&warehouse, &format!("kill {kills}"));
            completions += 1;
        }
    }
    eprintln!(
        "{KILLS} kills survived; {completions} runs completed after them and {finished_first} \
         finished before their kill, all matching the reference; left by kills: staging in {}, \
         temporary partition files in {}; manifest rows after each kill: {:?}",
        leftovers.with_staging, leftovers.with_temp_files, leftovers.inputs_recorded
    );
}
