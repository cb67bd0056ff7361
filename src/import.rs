//! `relaytrail import`: inputs → documents → rows → warehouse, with the manifest.
//!
//! Each input is hashed (SHA-256) and skipped if the manifest already lists that content.
//! Inputs are processed in waves of a few at a time, in parallel (one decoder thread and one
//! parser thread each). A wave's rows are buffered per partition, spilled as sorted runs when
//! large (consensus entries are staged as references to their distinct entries instead, see
//! `import/entry_states.rs`), and merged into new partition files under temporary names, with
//! the wave's manifest rows and import errors; only when all of them are written are they
//! renamed into place, the manifest last. A full disk or an unwritable folder therefore
//! leaves the warehouse as the previous wave left it, and a run killed at any point leaves
//! every visible file complete:
//! re-running it converges on the same warehouse.
//!
//! Files, each below the ones that use it: `input.rs` (an input's identity, manifest row and
//! error messages), `sink.rs` (row buffers and the sink of sorted runs), `entry_states.rs`
//! (consensus entries as distinct states), `state.rs` (the per-input `Stager` state),
//! `more_types.rs` (staging of the document types beyond the first three) and `stage.rs`
//! (staging one input). This file runs the waves and writes the manifest.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use anyhow::Result;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use rayon::prelude::*;

use crate::archive;
use crate::warehouse::schema::{
    BatchBuilder, ImportError, ImportErrorsBuilder, ImportRecord, ImportsBuilder,
};
use crate::warehouse::store::{
    commit_all, sort_batch, write_partition, PendingFile, Run, Warehouse,
};
use crate::warehouse::{DatasetId, PartitionKey};

mod entry_states;
mod input;
mod more_types;
mod sink;
mod stage;
mod state;

pub use input::TOOL_VERSION;

use input::{base_record, clean_message, identify, now_ms, InputFile};
use stage::{stage_input, StagedInput};

/// What to import and how.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    pub inputs: Vec<PathBuf>,
    pub warehouse: PathBuf,
    /// Inputs decoded at once (each uses two threads: decoder and parser).
    pub threads: usize,
    /// Re-import inputs the manifest already lists.
    pub force: bool,
    pub progress: bool,
    /// Rows buffered per partition before a sorted run is spilled to disk; `None` uses each
    /// dataset's default. Lower it to bound memory further (or to exercise spilling).
    pub spill_rows: Option<usize>,
}

/// The outcome of an import run.
#[derive(Debug, Default)]
pub struct ImportSummary {
    pub inputs_imported: usize,
    pub inputs_unchanged: usize,
    pub inputs_duplicate: usize,
    pub files_passed_over: usize,
    pub documents_imported: i64,
    pub documents_skipped: i64,
    /// Errors recorded by this run (also written to `import_errors`).
    pub errors: Vec<ImportError>,
    /// Rows staged per dataset by this run (before de-duplication).
    pub rows: BTreeMap<&'static str, u64>,
    /// Wall-clock seconds spent decoding and parsing, and merging into partitions.
    pub stage_seconds: f64,
    pub merge_seconds: f64,
}

/// Runs an import.
pub fn import(options: &ImportOptions) -> Result<ImportSummary> {
    let warehouse = Warehouse::open(&options.warehouse)?;
    let result = import_into(&warehouse, options);
    // Spilled runs are only useful to the run that wrote them, also when it failed.
    let _ = std::fs::remove_dir_all(warehouse.staging_root());
    if result.is_err() {
        // Partition folders made for files that were then discarded.
        warehouse.remove_empty_folders();
    }
    result
}

fn import_into(warehouse: &Warehouse, options: &ImportOptions) -> Result<ImportSummary> {
    let mut summary = ImportSummary::default();
    let found = archive::discover(&options.inputs);
    summary.files_passed_over = found.passed_over;
    let mut scan_errors: Vec<ImportError> = found
        .problems
        .iter()
        .map(|p| ImportError {
            source_sha256: String::new(),
            source_file: p.path.display().to_string(),
            source_member: None,
            line: 0,
            document_type: None,
            kind: p.kind.as_str().to_string(),
            message: clean_message(&p.message),
        })
        .collect();

    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(options.threads.max(1))
        .build()?;
    let hashed: Vec<Result<InputFile, Box<ImportError>>> =
        pool.install(|| found.files.par_iter().map(|p| identify(p)).collect());
    let known = manifest_hashes(warehouse)?;
    let mut seen: HashMap<String, String> = HashMap::new();
    let mut todo = Vec::new();
    let mut records = Vec::new();
    for input in hashed {
        let input = match input {
            Ok(input) => input,
            Err(e) => {
                scan_errors.push(*e);
                continue;
            }
        };
        if let Some(first) = seen.get(&input.sha256) {
            summary.inputs_duplicate += 1;
            records.push(ImportRecord {
                status: "duplicate".into(),
                duplicate_of: Some(first.clone()),
                ..base_record(&input, now_ms())
            });
            continue;
        }
        seen.insert(input.sha256.clone(), input.display.clone());
        if known.contains(&input.sha256) && !options.force {
            summary.inputs_unchanged += 1;
            continue;
        }
        todo.push(input);
    }
    // Scan problems and duplicates are recorded before any data is processed.
    commit_all(manifest_files(
        warehouse,
        std::mem::take(&mut records),
        &scan_errors,
    )?)?;
    summary.errors.append(&mut scan_errors);

    let multi = MultiProgress::with_draw_target(if options.progress {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    });
    let wave_size = options.threads.max(1) * 2;
    for (wave_number, wave) in todo.chunks(wave_size).enumerate() {
        let staging = warehouse.staging_root().join(format!("wave-{wave_number}"));
        let imported_before = summary.inputs_imported;
        import_wave(
            warehouse,
            wave,
            &staging,
            options,
            &pool,
            &multi,
            &mut summary,
        )
        .map_err(|e| {
            let names: Vec<&str> = wave.iter().map(|i| i.display.as_str()).collect();
            e.context(format!(
                "import stopped; nothing of {} was written ({imported_before} input(s) \
                     imported before are kept; run the import again once this is fixed)",
                names.join(", "),
            ))
        })?;
        let _ = std::fs::remove_dir_all(&staging);
    }
    Ok(summary)
}

/// Stages the inputs of one wave in parallel, then writes every partition they touch and the
/// manifest rows, and renames the files into place only once all of them are written.
fn import_wave(
    warehouse: &Warehouse,
    wave: &[InputFile],
    staging: &Path,
    options: &ImportOptions,
    pool: &rayon::ThreadPool,
    multi: &MultiProgress,
    summary: &mut ImportSummary,
) -> Result<()> {
    let clock = std::time::Instant::now();
    let staged: Vec<Result<StagedInput>> = pool.install(|| {
        wave.par_iter()
            .map(|input| {
                stage_input(
                    input,
                    &staging.join(&input.sha256[..16]),
                    options.spill_rows,
                    multi,
                )
            })
            .collect()
    });
    let mut groups: BTreeMap<(DatasetId, PartitionKey), Vec<Run>> = BTreeMap::new();
    let mut wave_records = Vec::new();
    let mut wave_errors = Vec::new();
    let mut rows: BTreeMap<&'static str, u64> = BTreeMap::new();
    for staged in staged {
        let staged = staged?;
        for (id, key, run) in staged.runs {
            groups.entry((id, key)).or_default().push(run);
        }
        for (name, n) in staged.rows {
            *rows.entry(name).or_default() += n;
        }
        wave_records.push(staged.record);
        wave_errors.extend(staged.errors);
    }
    let stage_seconds = clock.elapsed().as_secs_f64();
    let clock = std::time::Instant::now();
    let bar = multi.add(ProgressBar::new(groups.len() as u64));
    bar.set_style(ProgressStyle::with_template(
        "{spinner} merging partitions {pos}/{len} {wide_msg}",
    )?);
    let written: Vec<Result<PendingFile>> = pool.install(|| {
        groups
            .into_par_iter()
            .map(|((id, key), runs)| {
                let dataset = id.dataset();
                bar.set_message(format!("{} {key}", dataset.name));
                let file = write_partition(warehouse, &dataset, key, runs);
                bar.inc(1);
                file
            })
            .collect()
    });
    bar.finish_and_clear();
    // On a failure the files already written are dropped, which removes them.
    let mut files = written.into_iter().collect::<Result<Vec<PendingFile>>>()?;
    let documents_imported: i64 = wave_records.iter().map(|r| r.documents_imported).sum();
    let documents_skipped: i64 = wave_records.iter().map(|r| r.documents_skipped).sum();
    files.extend(manifest_files(warehouse, wave_records, &wave_errors)?);
    commit_all(files)?;

    summary.stage_seconds += stage_seconds;
    summary.merge_seconds += clock.elapsed().as_secs_f64();
    summary.inputs_imported += wave.len();
    summary.documents_imported += documents_imported;
    summary.documents_skipped += documents_skipped;
    for (name, n) in rows {
        *summary.rows.entry(name).or_default() += n;
    }
    summary.errors.extend(wave_errors);
    Ok(())
}

fn manifest_hashes(warehouse: &Warehouse) -> Result<std::collections::HashSet<String>> {
    let dataset = DatasetId::Imports.dataset();
    let mut hashes = std::collections::HashSet::new();
    for batch in warehouse.read_partition(&dataset, PartitionKey::Whole)? {
        let status = batch.column_by_name("status").expect("imports has status");
        let sha = batch.column_by_name("sha256").expect("imports has sha256");
        let status = status
            .as_any()
            .downcast_ref::<arrow::array::StringArray>()
            .expect("utf8");
        let sha = sha
            .as_any()
            .downcast_ref::<arrow::array::StringArray>()
            .expect("utf8");
        for i in 0..batch.num_rows() {
            if status.value(i) != "duplicate" {
                hashes.insert(sha.value(i).to_string());
            }
        }
    }
    Ok(hashes)
}

/// The manifest tables with `records` and `errors` merged in, written but not committed.
fn manifest_files(
    warehouse: &Warehouse,
    records: Vec<ImportRecord>,
    errors: &[ImportError],
) -> Result<Vec<PendingFile>> {
    let mut files = Vec::new();
    if !errors.is_empty() {
        let mut builder = ImportErrorsBuilder::default();
        errors.iter().for_each(|e| builder.push(e));
        files.push(merge_whole(warehouse, DatasetId::ImportErrors, builder)?);
    }
    // The `imports` rows come last: an input counts as imported only once they are in place.
    if !records.is_empty() {
        let mut builder = ImportsBuilder::default();
        records.into_iter().for_each(|r| builder.push(r));
        files.push(merge_whole(warehouse, DatasetId::Imports, builder)?);
    }
    Ok(files)
}

/// Merges a builder's rows into an unpartitioned dataset (written, not committed).
fn merge_whole(
    warehouse: &Warehouse,
    id: DatasetId,
    mut builder: impl BatchBuilder,
) -> Result<PendingFile> {
    let dataset = id.dataset();
    let batch = sort_batch(&dataset, &builder.finish())?;
    write_partition(
        warehouse,
        &dataset,
        PartitionKey::Whole,
        vec![Run::Memory(batch)],
    )
}
