//! Helpers shared by the integration tests: importing files into a temporary warehouse,
//! running the `relaytrail` binary, and reading datasets back with the Parquet reader.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use arrow::array::{Array, ArrayRef};
use arrow::compute::{cast, concat_batches};
use arrow::datatypes::DataType;
use arrow::record_batch::RecordBatch;
use arrow::util::display::array_value_to_string;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use relaytrail::import::{import, ImportOptions, ImportSummary};

#[cfg(feature = "analytics")]
pub mod frames;
#[cfg(feature = "analytics")]
pub mod generated;

pub fn fixture(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(relative)
}

pub fn read_fixture(relative: &str) -> Vec<u8> {
    std::fs::read(fixture(relative)).unwrap()
}

/// xz-compresses `data` (preset 6, as CollecTor).
pub fn xz(data: &[u8]) -> Vec<u8> {
    let mut encoder = liblzma::write::XzEncoder::new(Vec::new(), 6);
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

/// A tar archive of `(member name, bytes)` (fixed mode and time, so the bytes are stable).
pub fn tar_of(members: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut tar = tar::Builder::new(Vec::new());
    for (name, data) in members {
        let mut header = tar::Header::new_ustar();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(1_474_376_400);
        header.set_cksum();
        tar.append_data(&mut header, name, &data[..]).unwrap();
    }
    tar.into_inner().unwrap()
}

/// Writes `data` to `dir/name` and returns the path.
pub fn write(dir: &Path, name: &str, data: &[u8]) -> PathBuf {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(&path, data).unwrap();
    path
}

/// A command running the `relaytrail` binary.
#[cfg(feature = "analytics")]
pub fn relaytrail_command() -> std::process::Command {
    std::process::Command::new(env!("CARGO_BIN_EXE_relaytrail"))
}

/// Runs `relaytrail` with `args` and returns its output.
#[cfg(feature = "analytics")]
pub fn relaytrail(args: &[&std::ffi::OsStr]) -> std::process::Output {
    run_with_timeout(relaytrail_command().args(args), Duration::from_secs(120))
}

/// Runs `relaytrail` with `args`, which must succeed; returns its output.
#[cfg(feature = "analytics")]
pub fn relaytrail_ok(args: &[&std::ffi::OsStr]) -> std::process::Output {
    let out = relaytrail(args);
    assert!(
        out.status.success(),
        "relaytrail {:?}: {}",
        args,
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Runs a command, killing it and failing the test if it runs longer than `limit` (a hang
/// is a bug, not a reason to block the test suite).
pub fn run_with_timeout(
    command: &mut std::process::Command,
    limit: Duration,
) -> std::process::Output {
    use std::process::Stdio;
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            pipe.read_to_end(&mut bytes).unwrap();
            bytes
        })
    };
    let stdout = drain(Box::new(child.stdout.take().unwrap()));
    let stderr = drain(Box::new(child.stderr.take().unwrap()));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > limit {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("{command:?} still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    std::process::Output {
        status,
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    }
}

/// Imports `inputs` into `warehouse` with `threads` inputs at once.
pub fn import_into(warehouse: &Path, inputs: &[PathBuf], threads: usize) -> ImportSummary {
    import_with(warehouse, inputs, threads, None)
}

/// Like [`import_into`], spilling sorted runs every `spill_rows` rows.
pub fn import_with(
    warehouse: &Path,
    inputs: &[PathBuf],
    threads: usize,
    spill_rows: Option<usize>,
) -> ImportSummary {
    import(&ImportOptions {
        inputs: inputs.to_vec(),
        warehouse: warehouse.to_path_buf(),
        threads,
        force: false,
        progress: false,
        spill_rows,
    })
    .expect("import runs")
}

/// SHA-256 of every data file of the warehouse (the manifest tables, which hold run times,
/// excluded), keyed by path relative to the warehouse.
pub fn data_file_hashes(warehouse: &Path) -> std::collections::BTreeMap<String, String> {
    use sha2::Digest;
    let mut out = std::collections::BTreeMap::new();
    for dataset in [
        "consensuses",
        "consensus_entries",
        "server_descriptors",
        "exit_lists",
    ] {
        for file in dataset_files(warehouse, dataset) {
            let bytes = std::fs::read(&file).unwrap();
            let rel = file.strip_prefix(warehouse).unwrap().display().to_string();
            out.insert(rel, hex::encode(sha2::Sha256::digest(&bytes)));
        }
    }
    out
}

/// Files (any kind) below the warehouse whose names mark them as temporary.
pub fn leftover_temp_files(warehouse: &Path) -> Vec<PathBuf> {
    walk(warehouse)
        .into_iter()
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            name.contains(".tmp") || p.components().any(|c| c.as_os_str() == "_staging")
        })
        .collect()
}

/// Files a Hive-partitioned reader picks up: `*.parquet` below the warehouse, outside hidden
/// (`.`) and private (`_`) names, which pyarrow's dataset discovery skips and polars' globs
/// do not match.
pub fn reader_visible_files(warehouse: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = walk(warehouse)
        .into_iter()
        .filter(|p| {
            let relative = p.strip_prefix(warehouse).unwrap();
            p.extension().is_some_and(|e| e == "parquet")
                && relative.components().all(|c| {
                    let name = c.as_os_str().to_string_lossy();
                    !name.starts_with('.') && !name.starts_with('_')
                })
        })
        .collect();
    files.sort();
    files
}

/// The `imports` manifest without its wall-clock columns (`started`, `finished`): what two
/// imports of the same inputs must agree on.
pub fn manifest_without_times(warehouse: &Path) -> RecordBatch {
    let imports = read_dataset(warehouse, "imports").unwrap();
    let keep: Vec<usize> = (0..imports.num_columns())
        .filter(|&i| !["started", "finished"].contains(&imports.schema().field(i).name().as_str()))
        .collect();
    imports.project(&keep).unwrap()
}

/// Every file below `dir` (relative path → bytes), hidden ones included.
pub fn tree_bytes(dir: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    walk(dir)
        .into_iter()
        .map(|p| {
            let relative = p.strip_prefix(dir).unwrap().display().to_string();
            (relative, std::fs::read(&p).unwrap())
        })
        .collect()
}

/// Imports fixtures (relative to tests/fixtures) into a fresh temporary warehouse.
pub fn import_fixtures(relative: &[&str]) -> (tempfile::TempDir, ImportSummary) {
    let dir = tempfile::tempdir().unwrap();
    let inputs: Vec<PathBuf> = relative.iter().map(|r| fixture(r)).collect();
    let summary = import_into(dir.path(), &inputs, 2);
    (dir, summary)
}

/// Every Parquet file of a dataset, in path order.
pub fn dataset_files(warehouse: &Path, dataset: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = walk(&warehouse.join(dataset))
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "parquet"))
        .collect();
    files.sort();
    files
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                out.extend(walk(&path));
            } else {
                out.push(path);
            }
        }
    }
    out
}

/// All rows of a dataset as one batch (empty batch if the dataset does not exist).
pub fn read_dataset(warehouse: &Path, dataset: &str) -> Option<RecordBatch> {
    let mut batches = Vec::new();
    for file in dataset_files(warehouse, dataset) {
        let reader = ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&file).unwrap())
            .unwrap()
            .build()
            .unwrap();
        batches.extend(reader.map(Result::unwrap));
    }
    let schema = batches.first()?.schema();
    Some(concat_batches(&schema, &batches).unwrap())
}

pub fn column<'a>(batch: &'a RecordBatch, name: &str) -> &'a ArrayRef {
    batch
        .column_by_name(name)
        .unwrap_or_else(|| panic!("column {name}"))
}

/// Row `i` of column `name` as display text (`None` for null).
pub fn value(batch: &RecordBatch, name: &str, i: usize) -> Option<String> {
    let array = column(batch, name);
    if array.is_null(i) {
        return None;
    }
    // Display UTC timestamps without a zone (the display code only knows offset zones).
    if let DataType::Timestamp(unit, Some(_)) = array.data_type() {
        let plain = cast(array, &DataType::Timestamp(*unit, None)).unwrap();
        return Some(array_value_to_string(&plain, i).unwrap());
    }
    Some(array_value_to_string(array, i).unwrap())
}

/// Index of the first row whose column `name` displays as `wanted`.
pub fn find_row(batch: &RecordBatch, name: &str, wanted: &str) -> usize {
    (0..batch.num_rows())
        .find(|&i| value(batch, name, i).as_deref() == Some(wanted))
        .unwrap_or_else(|| panic!("no row with {name} = {wanted}"))
}

/// Lines of a document that start with `prefix` (the test's own independent reading).
pub fn lines_starting<'a>(doc: &'a [u8], prefix: &str) -> Vec<&'a [u8]> {
    doc.split(|&b| b == b'\n')
        .filter(|l| l.starts_with(prefix.as_bytes()))
        .collect()
}

/// `2016-09-20 13:00:00` as arrow displays a (zone-less) millisecond timestamp.
pub fn ts(text: &str) -> String {
    text.replace(' ', "T")
}

/// The value of `keyword` (first occurrence) in a document, as text.
pub fn header(doc: &[u8], keyword: &str) -> String {
    let line = lines_starting(doc, &format!("{keyword} "))[0];
    String::from_utf8_lossy(&line[keyword.len() + 1..])
        .trim_end()
        .to_string()
}

/// Hex of a base64 value as written in Tor documents (an `r` line's identity or digest), with
/// or without `=` padding.
pub fn b64_to_hex(b64: &str) -> String {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(b64.trim_end_matches('='))
        .unwrap();
    hex::encode_upper(bytes)
}
