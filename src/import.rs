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

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::sync_channel;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use rayon::prelude::*;
use sha2::{Digest, Sha256};

use crate::archive::sniff::split_documents;
use crate::archive::{self, Member};
use crate::descriptor::consensus::Flavor;
use crate::descriptor::{
    consensus, exit_list, server_descriptor, DocType, ErrorKind, ParseError, Parsed,
};
use crate::warehouse::schema::{
    exit_list_time, BatchBuilder, ConsensusesBuilder, ExitListsBuilder, ImportError,
    ImportErrorsBuilder, ImportRecord, ImportsBuilder, ServerDescriptorsBuilder, Source,
};
use crate::warehouse::store::{
    commit_all, sort_batch, spill, spill_run, write_partition, PendingFile, Run, Warehouse,
};
use crate::warehouse::{DatasetId, PartitionKey};

mod entry_states;
mod more_types;

/// Longest error message kept (a bad value is quoted in the message, and may be megabytes).
const MESSAGE_CHARS: usize = 300;

/// Members handed from the decoder thread to the parser at once (count, bytes).
const MEMBER_BATCH: usize = 256;
const MEMBER_BATCH_BYTES: usize = 1 << 20;

pub const TOOL_VERSION: &str = concat!("relaytrail ", env!("CARGO_PKG_VERSION"));

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

/// An input file with its identity.
#[derive(Debug, Clone)]
struct InputFile {
    path: PathBuf,
    display: String,
    file_name: String,
    sha256: String,
    size: u64,
    format: archive::Format,
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

/// Hashes an input and sniffs its format.
fn identify(path: &Path) -> Result<InputFile, Box<ImportError>> {
    let display = path.display().to_string();
    let fail = |e: std::io::Error| {
        Box::new(ImportError {
            source_sha256: String::new(),
            source_file: display.clone(),
            source_member: None,
            line: 0,
            document_type: None,
            kind: ErrorKind::Io.as_str().to_string(),
            message: clean_message(&format!("cannot read: {e}")),
        })
    };
    let mut file = File::open(path).map_err(fail)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut size = 0u64;
    loop {
        let n = file.read(&mut buf).map_err(fail)?;
        if n == 0 {
            break;
        }
        size += n as u64;
        hasher.update(&buf[..n]);
    }
    let format = archive::format_of(path).map_err(fail)?;
    Ok(InputFile {
        path: path.to_path_buf(),
        file_name: path
            .file_name()
            .map_or_else(|| display.clone(), |n| n.to_string_lossy().into_owned()),
        display,
        sha256: hex::encode(hasher.finalize()),
        size,
        format,
    })
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

/// Whether `data` is text with CR alone as its line end (classic Mac OS): no LF anywhere, a
/// printable first line ended by a CR, and more text after it. Split on LF, such a member
/// would be one enormous line.
fn has_bare_cr_line_ends(data: &[u8]) -> bool {
    if memchr::memchr(b'\n', data).is_some() {
        return false;
    }
    let Some(first_cr) = memchr::memchr(b'\r', data) else {
        return false;
    };
    let first_line = &data[..first_cr];
    !first_line.is_empty()
        && first_line
            .iter()
            .all(|&b| b == b'\t' || (b' '..=b'~').contains(&b))
        && data[first_cr..].iter().any(|b| !b.is_ascii_whitespace())
}

/// An error message as stored and printed: control characters (a NUL, a bare CR) escaped,
/// and cut to [`MESSAGE_CHARS`] characters (a quoted value can be a 10 MB line).
fn clean_message(message: &str) -> String {
    let mut out = String::new();
    let mut shown = 0;
    for (at, c) in message.char_indices() {
        let escaped = c.escape_default();
        let width = if c.is_control() && c != '\t' {
            escaped.len()
        } else {
            1
        };
        if shown + width > MESSAGE_CHARS {
            out.push_str(&format!("… ({} more bytes)", message.len() - at));
            break;
        }
        if width > 1 {
            out.extend(escaped);
        } else {
            out.push(c);
        }
        shown += width;
    }
    out
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

fn base_record(input: &InputFile, started_ms: i64) -> ImportRecord {
    ImportRecord {
        sha256: input.sha256.clone(),
        path: input.display.clone(),
        file_name: input.file_name.clone(),
        size: input.size as i64,
        format: input.format.as_str().to_string(),
        status: "ok".into(),
        tool_version: TOOL_VERSION.to_string(),
        started_ms,
        finished_ms: started_ms,
        ..ImportRecord::default()
    }
}

/// What one input produced: sorted runs per partition, its manifest row and its errors.
struct StagedInput {
    runs: Vec<(DatasetId, PartitionKey, Run)>,
    rows: BTreeMap<&'static str, u64>,
    record: ImportRecord,
    errors: Vec<ImportError>,
}

/// Collects sorted runs, spilling full buffers to the staging folder.
struct RunSink {
    dir: PathBuf,
    spilled: usize,
    runs: Vec<(DatasetId, PartitionKey, Run)>,
    rows: BTreeMap<&'static str, u64>,
    /// The spill being sorted and written in the background (at most one at a time, so
    /// parsing overlaps with it while memory stays bounded).
    pending: Option<std::thread::JoinHandle<Result<()>>>,
}

impl RunSink {
    /// Sorts and writes a full buffer as a run, in the background.
    fn spill(
        &mut self,
        id: DatasetId,
        key: PartitionKey,
        batch: arrow::record_batch::RecordBatch,
    ) -> Result<()> {
        let dataset = id.dataset();
        self.spill_with(id, key, move |path| {
            spill(&sort_batch(&dataset, &batch)?, path)
        })
    }

    /// Writes a run (already sorted) to the staging folder, in the background.
    fn spill_run(&mut self, id: DatasetId, key: PartitionKey, run: Run) -> Result<()> {
        self.spill_with(id, key, move |path| spill_run(run, path))
    }

    /// Records the next staging file of `id` as a run of `key` and writes it with `write`
    /// in the background, once the previous spill is done.
    fn spill_with(
        &mut self,
        id: DatasetId,
        key: PartitionKey,
        write: impl FnOnce(&Path) -> Result<()> + Send + 'static,
    ) -> Result<()> {
        self.wait()?;
        self.spilled += 1;
        let path = self.dir.join(format!(
            "{}-{}-{}.arrow",
            id.dataset().name,
            key,
            self.spilled
        ));
        self.runs.push((id, key, Run::Spilled(path.clone())));
        self.pending = Some(std::thread::spawn(move || {
            write(&path).with_context(|| format!("cannot write staging run {}", path.display()))
        }));
        Ok(())
    }

    /// Counts rows staged for `id`.
    fn count_rows(&mut self, id: DatasetId, rows: usize) {
        *self.rows.entry(id.dataset().name).or_default() += rows as u64;
    }

    /// Waits for the background spill, if any.
    fn wait(&mut self) -> Result<()> {
        match self.pending.take() {
            Some(handle) => handle.join().expect("spill thread does not panic"),
            None => Ok(()),
        }
    }
}

/// Row buffers of one dataset, one per partition.
struct Buffers<B> {
    id: DatasetId,
    spill_rows: usize,
    by_partition: BTreeMap<PartitionKey, B>,
}

impl<B: BatchBuilder> Buffers<B> {
    fn new(id: DatasetId, spill_rows: Option<usize>) -> Self {
        Buffers {
            id,
            spill_rows: spill_rows.unwrap_or(id.dataset().spill_rows).max(1),
            by_partition: BTreeMap::new(),
        }
    }

    /// Pushes rows with `push` into the buffer of `key`, spilling it when full.
    fn push(
        &mut self,
        key: PartitionKey,
        sink: &mut RunSink,
        push: impl FnOnce(&mut B),
    ) -> Result<()> {
        let builder = self.by_partition.entry(key).or_default();
        let before = builder.len();
        push(builder);
        sink.count_rows(self.id, builder.len() - before);
        if builder.len() >= self.spill_rows {
            sink.spill(self.id, key, builder.finish())?;
        }
        Ok(())
    }

    /// Hands every non-empty buffer to the sink as an in-memory run.
    fn drain(&mut self, sink: &mut RunSink) -> Result<()> {
        let dataset = self.id.dataset();
        for (key, mut builder) in std::mem::take(&mut self.by_partition) {
            if !builder.is_empty() {
                sink.runs.push((
                    self.id,
                    key,
                    Run::Memory(sort_batch(&dataset, &builder.finish())?),
                ));
            }
        }
        Ok(())
    }
}

/// Per-input parsing state.
struct Stager<'a> {
    input: &'a InputFile,
    sink: RunSink,
    consensuses: Buffers<ConsensusesBuilder>,
    /// Consensus entries as rows of distinct states (`import/entry_states.rs`).
    entries: entry_states::EntryStates,
    descriptors: Buffers<ServerDescriptorsBuilder>,
    exits: Buffers<ExitListsBuilder>,
    /// Extra-infos, votes, microdescriptors, bridge descriptors (`import/more_types.rs`).
    more: more_types::MoreBuffers,
    /// Per document type: (imported, skipped, rejected).
    counts: BTreeMap<String, (i64, i64, i64)>,
    errors: Vec<ImportError>,
    members: i64,
}

fn stage_input(
    input: &InputFile,
    staging: &Path,
    spill_rows: Option<usize>,
    multi: &MultiProgress,
) -> Result<StagedInput> {
    let started = now_ms();
    let bar = multi.add(ProgressBar::new(input.size));
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} {msg:40!} [{bar:25}] {bytes}/{total_bytes} {bytes_per_sec} {eta}",
        )?
        .progress_chars("=> "),
    );
    bar.set_message(input.file_name.clone());
    let mut stager = Stager {
        input,
        sink: RunSink {
            dir: staging.to_path_buf(),
            spilled: 0,
            runs: Vec::new(),
            rows: BTreeMap::new(),
            pending: None,
        },
        consensuses: Buffers::new(DatasetId::Consensuses, spill_rows),
        entries: entry_states::EntryStates::new(spill_rows),
        descriptors: Buffers::new(DatasetId::ServerDescriptors, spill_rows),
        exits: Buffers::new(DatasetId::ExitLists, spill_rows),
        more: more_types::MoreBuffers::new(spill_rows),
        counts: BTreeMap::new(),
        errors: Vec::new(),
        members: 0,
    };
    let bytes_read = Arc::new(AtomicU64::new(0));
    // Members travel in batches: one channel hand-off per MB (or 256 members), not per small
    // descriptor; the queue of a few MB lets the parser read what the decoder wrote while it
    // is still in cache.
    let (sender, receiver) = sync_channel::<Vec<Member>>(4);
    let mut fatal: Option<anyhow::Error> = None;
    let read_result = std::thread::scope(|scope| {
        let counter = bytes_read.clone();
        let reader = scope.spawn(move || {
            let mut batch = Vec::new();
            let mut batch_bytes = 0;
            let result = archive::read_members(&input.path, counter, |m| {
                batch_bytes += m.data.len();
                batch.push(m);
                if batch.len() < MEMBER_BATCH && batch_bytes < MEMBER_BATCH_BYTES {
                    return true;
                }
                batch_bytes = 0;
                sender.send(std::mem::take(&mut batch)).is_ok()
            });
            if !batch.is_empty() {
                let _ = sender.send(batch);
            }
            result
        });
        // Owned by this closure, so that a panic below drops it and the reader, blocked on a
        // full queue, ends instead of waiting forever.
        let receiver = receiver;
        for member in receiver.iter().flatten() {
            if fatal.is_none() {
                if let Err(e) = stager.member(member) {
                    fatal = Some(e);
                }
            }
            bar.set_position(bytes_read.load(Ordering::Relaxed));
            let docs: i64 = stager.counts.values().map(|c| c.0 + c.1 + c.2).sum();
            bar.set_message(format!("{} ({docs} docs)", input.file_name));
        }
        reader.join().expect("archive reader thread does not panic")
    });
    if let Some(e) = fatal {
        bar.abandon();
        return Err(e);
    }
    let mut status = "ok";
    if let Err(problem) = read_result {
        status = "failed";
        stager.error(
            problem.member.as_deref(),
            0,
            None,
            problem.kind,
            problem.message,
        );
    } else if !stager.errors.is_empty() {
        status = "errors";
    }
    bar.finish_and_clear();
    stager.sink.wait()?;
    stager.consensuses.drain(&mut stager.sink)?;
    for (key, run) in stager.entries.take_runs()? {
        stager
            .sink
            .runs
            .push((DatasetId::ConsensusEntries, key, run));
    }
    stager.descriptors.drain(&mut stager.sink)?;
    stager.exits.drain(&mut stager.sink)?;
    stager.more.drain(&mut stager.sink)?;
    let total = |i: usize| {
        stager
            .counts
            .values()
            .map(|c| [c.0, c.1, c.2][i])
            .sum::<i64>()
    };
    let record = ImportRecord {
        status: status.into(),
        members: stager.members,
        documents_imported: total(0),
        documents_skipped: total(1),
        documents_rejected: total(2),
        document_counts: stager
            .counts
            .iter()
            .map(|(t, c)| format!("{t}={}/{}/{}", c.0, c.1, c.2))
            .collect(),
        rows: stager
            .sink
            .rows
            .iter()
            .map(|(d, n)| format!("{d}={n}"))
            .collect(),
        errors: stager.errors.len() as i64,
        finished_ms: now_ms(),
        ..base_record(input, started)
    };
    Ok(StagedInput {
        runs: stager.sink.runs,
        rows: stager.sink.rows,
        record,
        errors: stager.errors,
    })
}

impl Stager<'_> {
    fn error(
        &mut self,
        member: Option<&str>,
        line: u32,
        doc_type: Option<DocType>,
        kind: ErrorKind,
        message: String,
    ) {
        self.errors.push(ImportError {
            source_sha256: self.input.sha256.clone(),
            source_file: self.input.display.clone(),
            source_member: member.map(str::to_string),
            line,
            document_type: doc_type.map(|t| t.type_name().to_string()),
            kind: kind.as_str().to_string(),
            message: clean_message(&message),
        });
    }

    fn parse_error(&mut self, member: Option<&str>, doc_type: Option<DocType>, e: ParseError) {
        self.error(member, e.line, doc_type, e.kind, e.message);
    }

    fn count(&mut self, doc_type: Option<DocType>, outcome: usize) {
        let name = doc_type.map_or("unrecognised", |t| t.type_name());
        let entry = self.counts.entry(name.to_string()).or_default();
        match outcome {
            0 => entry.0 += 1,
            1 => entry.1 += 1,
            _ => entry.2 += 1,
        }
    }

    /// Parses every document of a member into the row buffers. Only I/O failures of the
    /// staging folder are returned as errors; document problems are recorded.
    fn member(&mut self, member: Member) -> Result<()> {
        self.members += 1;
        let name = member.name.as_deref();
        // Shared, so that consensus entries can keep pointing into it (`entry_states`).
        let data = Arc::new(member.data);
        if data.iter().all(u8::is_ascii_whitespace) {
            self.error(
                name,
                0,
                None,
                ErrorKind::Truncated,
                "empty member: no document in it".into(),
            );
            self.count(None, 2);
            return Ok(());
        }
        if has_bare_cr_line_ends(&data) {
            self.error(
                name,
                1,
                None,
                ErrorKind::Malformed,
                "lines end in a bare CR (carriage return) without LF; Tor documents end \
                 lines in LF (or CR LF)"
                    .into(),
            );
            self.count(None, 2);
            return Ok(());
        }
        let source = Source {
            file: &self.input.file_name,
            member: name,
        };
        let label = name.unwrap_or(&self.input.file_name).to_string();
        for doc in split_documents(&data, &label) {
            let doc_type = match doc.doc_type {
                Ok(t) => t,
                Err(e) => {
                    self.parse_error(name, None, e);
                    self.count(None, 2);
                    continue;
                }
            };
            let (bytes, line) = (doc.bytes, doc.first_line);
            let outcome = match doc_type {
                DocType::Consensus => {
                    let parsed = entry_states::parse_consensus(&self.entries, bytes, line);
                    self.stage(parsed, source, doc_type, |s, c| {
                        s.consensus(c, &data, bytes, source)
                    })?
                }
                DocType::ServerDescriptor => self.stage(
                    server_descriptor::parse(bytes, line),
                    source,
                    doc_type,
                    |s, d| s.server_descriptor(d, source),
                )?,
                DocType::ExitList => {
                    self.stage(exit_list::parse(bytes, line), source, doc_type, |s, l| {
                        s.exit_list(l, line, source)
                    })?
                }
                _ => self.stage_more(doc_type, bytes, line, source)?,
            };
            match outcome {
                Ok(true) => self.count(Some(doc_type), 0),
                Ok(false) => self.count(Some(doc_type), 1),
                Err(e) => {
                    self.parse_error(name, Some(doc_type), e);
                    self.count(Some(doc_type), 2);
                }
            }
        }
        Ok(())
    }

    /// Records a parse's warnings and stages its document; a rejected document comes back as
    /// `Ok(Err(_))`, staging I/O failures as `Err`. `Ok(Ok(false))` means recognised but skipped.
    fn stage<T>(
        &mut self,
        parsed: Result<Parsed<T>, ParseError>,
        source: Source,
        doc_type: DocType,
        stage: impl FnOnce(&mut Self, T) -> Result<Result<bool, ParseError>>,
    ) -> Result<Result<bool, ParseError>> {
        match parsed {
            Ok(parsed) => {
                for w in parsed.warnings {
                    self.parse_error(source.member, Some(doc_type), w);
                }
                stage(self, parsed.doc)
            }
            Err(e) => Ok(Err(e)),
        }
    }

    /// Stages an ns consensus, `document` of `member` (a microdesc-flavour one's entries go
    /// to their own dataset).
    fn consensus(
        &mut self,
        c: consensus::Consensus,
        member: &Arc<Vec<u8>>,
        document: &[u8],
        source: Source,
    ) -> Result<Result<bool, ParseError>> {
        if c.flavor == Flavor::Microdesc {
            // Only ns entries are kept as states, and the texts of the two flavours never
            // coincide (8 against 7 `r` fields), so nothing was passed over.
            debug_assert!(c.known_entries.is_empty());
            return self.microdesc_consensus(c, source);
        }
        let key = PartitionKey::of_time(c.valid_after);
        let relays = (c.entries.len() + c.known_entries.len()) as u32;
        self.consensuses
            .push(key, &mut self.sink, |b| b.push(&c, relays, source))?;
        let added = self.entries.add(key, member, document, &c);
        self.sink.count_rows(DatasetId::ConsensusEntries, added);
        if self.entries.full() {
            for (key, run) in self.entries.take_runs()? {
                self.sink.spill_run(DatasetId::ConsensusEntries, key, run)?;
            }
        }
        Ok(Ok(true))
    }

    fn server_descriptor(
        &mut self,
        d: server_descriptor::ServerDescriptor,
        source: Source,
    ) -> Result<Result<bool, ParseError>> {
        self.descriptors
            .push(PartitionKey::of_time(d.published), &mut self.sink, |b| {
                b.push(&d, source)
            })?;
        Ok(Ok(true))
    }

    fn exit_list(
        &mut self,
        list: exit_list::ExitList,
        first_line: u32,
        source: Source,
    ) -> Result<Result<bool, ParseError>> {
        let Some(time) = exit_list_time(&list) else {
            return Ok(Err(ParseError::new(
                ErrorKind::MissingLine,
                first_line,
                "exit list has no Downloaded line and no times to file it under",
            )));
        };
        self.exits
            .push(PartitionKey::of_time(time), &mut self.sink, |b| {
                for node in &list.nodes {
                    b.push(time, node, source);
                }
            })?;
        Ok(Ok(true))
    }
}
