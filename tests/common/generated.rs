//! Generated archives for the integration tests that drive the `relaytrail` binary:
//! generating and importing them, running a stage, and reading the ground truth and datasets.

use std::path::{Path, PathBuf};
use std::process::Command;

use polars::prelude::*;
use relaytrail::descriptor::values::parse_timestamp;
use serde_json::Value;

use super::frames::u32_column;
use super::import_into;

pub fn generate(out: &Path, months: &str, relays: &str, seed: &str) {
    let status = Command::new(env!("CARGO_BIN_EXE_relaytrail"))
        .args(["generate", "--out"])
        .arg(out)
        .args([
            "--start", "2021-08", "--months", months, "--relays", relays, "--seed", seed, "--quiet",
        ])
        .status()
        .unwrap();
    assert!(status.success());
}

/// Runs `relaytrail <stage> --warehouse <warehouse> --quiet <extra>` and asserts it succeeds.
pub fn run_stage(stage: &str, warehouse: &Path, extra: &[&str]) -> std::process::Output {
    let output = Command::new(env!("CARGO_BIN_EXE_relaytrail"))
        .arg(stage)
        .arg("--warehouse")
        .arg(warehouse)
        .args(["--quiet"])
        .args(extra)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

pub fn run_jobs(warehouse: &Path, extra: &[&str]) -> std::process::Output {
    run_stage("jobs", warehouse, extra)
}

pub fn read(warehouse: &Path, dataset: &str) -> DataFrame {
    let path = warehouse.join(dataset).join("part-0.parquet");
    ParquetReader::new(std::fs::File::open(&path).unwrap())
        .finish()
        .unwrap()
}

/// Milliseconds of a ground-truth time (`YYYY-MM-DD HH:MM:SS`).
pub fn ms(text: &str) -> i64 {
    let (date, time) = text.split_once(' ').unwrap();
    parse_timestamp(date.as_bytes(), time.as_bytes()).unwrap() * 1000
}

pub fn truth(archive: &Path, name: &str) -> Value {
    serde_json::from_str(
        &std::fs::read_to_string(archive.join("ground_truth").join(format!("{name}.json")))
            .unwrap(),
    )
    .unwrap()
}

/// A timestamp column without nulls, as milliseconds.
pub fn times(frame: &DataFrame, name: &str) -> Vec<i64> {
    super::frames::ms_column(frame, name)
        .into_iter()
        .map(Option::unwrap)
        .collect()
}

/// An integer column as `u32`, nulls as 0.
pub fn u32s(frame: &DataFrame, name: &str) -> Vec<u32> {
    u32_column(frame, name)
        .into_iter()
        .map(|v| v.unwrap_or(0))
        .collect()
}

pub struct Generated {
    pub _dir: tempfile::TempDir,
    pub archive: PathBuf,
    pub warehouse: PathBuf,
}

pub fn generated(months: &str, relays: &str, seed: &str) -> Generated {
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("archive");
    generate(&archive, months, relays, seed);
    let warehouse = dir.path().join("wh");
    let summary = import_into(&warehouse, std::slice::from_ref(&archive), 2);
    assert!(summary.errors.is_empty());
    Generated {
        _dir: dir,
        archive,
        warehouse,
    }
}

/// Two generated months of 400 relays of `tests/fixtures/scenarios/<name>.toml`, imported.
pub fn generated_scenario(name: &str, seed: &str) -> Generated {
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("archive");
    let scenario =
        Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/fixtures/scenarios/{name}.toml"));
    let status = Command::new(env!("CARGO_BIN_EXE_relaytrail"))
        .args(["generate", "--out"])
        .arg(&archive)
        .arg("--scenario")
        .arg(&scenario)
        .args([
            "--start", "2021-08", "--months", "2", "--relays", "400", "--seed", seed, "--quiet",
        ])
        .status()
        .unwrap();
    assert!(status.success());
    let warehouse = dir.path().join("wh");
    assert!(import_into(&warehouse, std::slice::from_ref(&archive), 2)
        .errors
        .is_empty());
    Generated {
        _dir: dir,
        archive,
        warehouse,
    }
}
