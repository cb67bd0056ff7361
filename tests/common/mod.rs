//! Helpers shared by the integration tests: importing files into a temporary warehouse and
//! reading datasets back with the Parquet reader.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use arrow::array::{Array, ArrayRef};
use arrow::compute::{cast, concat_batches};
use arrow::datatypes::DataType;
use arrow::record_batch::RecordBatch;
use arrow::util::display::array_value_to_string;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use relaytrail::import::{import, ImportOptions, ImportSummary};

pub fn fixture(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(relative)
}

pub fn read_fixture(relative: &str) -> Vec<u8> {
    std::fs::read(fixture(relative)).unwrap()
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
