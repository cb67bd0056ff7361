//! On-disk side of the warehouse: the lock, staging runs (sorted batches, spilled as
//! LZ4-compressed Arrow IPC), the k-way merge with de-duplication that produces a partition's
//! single Parquet file (its row groups encoded column by column in parallel), and atomic
//! replacement of that file.
//!
//! A partition is rewritten in two steps: [`write_partition`] writes the merged file under a
//! hidden temporary name (`.part-0.parquet.tmp-<pid>`, which Hive readers skip) and syncs it;
//! [`PendingFile::commit`] renames it over the old file. The importer writes every file of a
//! wave before committing any, so a full disk or a read-only folder leaves the warehouse as it
//! was. Temporary files of a killed process are removed when the warehouse is next opened.
//!
//! Test hook: `RELAYTRAIL_TEST_WRITE_FAULT=enospc@BYTES` (or `erofs@BYTES`) makes writes of
//! warehouse and staging files fail with "no space left on device" (or "read-only file system")
//! once the process has written BYTES bytes to them; the tests use it where they cannot mount
//! a small or read-only file system.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use std::cmp::Ordering;

use std::sync::Arc;

use arrow::array::{make_comparator, ArrayRef, TimestampMillisecondArray, UInt32Array};
use arrow::compute::SortOptions;
use arrow::compute::{interleave_record_batch, take_record_batch};
use arrow::ipc::reader::FileReader;
use arrow::ipc::writer::{FileWriter, IpcWriteOptions};
use arrow::ipc::CompressionType;
use arrow::record_batch::RecordBatch;
use arrow::row::{RowConverter, Rows, SortField};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::arrow_writer::{compute_leaves, ArrowColumnChunk, ArrowRowGroupWriterFactory};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::types::ColumnPath;
use rayon::prelude::*;

use super::dataset::{Dataset, PartitionKey};

/// Rows per batch when reading runs and writing merged output.
const CHUNK_ROWS: usize = 8192;
/// Rows per Parquet row group.
const ROW_GROUP_ROWS: usize = 128 * 1024;
const _: () = assert!(
    ROW_GROUP_ROWS.is_multiple_of(CHUNK_ROWS),
    "row groups are whole pieces"
);

/// An open warehouse folder, held under an exclusive lock for the life of the value.
pub struct Warehouse {
    root: PathBuf,
    _lock: File,
}

impl Warehouse {
    /// Opens (creating if needed) a warehouse, takes its lock, and removes staging files an
    /// interrupted run may have left.
    pub fn open(root: &Path) -> Result<Self> {
        fs::create_dir_all(root)
            .with_context(|| format!("cannot create warehouse folder {}", root.display()))?;
        let lock_path = root.join(".lock");
        let lock = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .with_context(|| {
                format!(
                    "cannot open {} (is the warehouse writable?)",
                    lock_path.display()
                )
            })?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => {
                bail!(
                    "warehouse {} is in use by another relaytrail process",
                    root.display()
                )
            }
            Err(fs::TryLockError::Error(e)) => {
                return Err(e).with_context(|| format!("cannot lock {}", lock_path.display()))
            }
        }
        let warehouse = Warehouse {
            root: root.to_path_buf(),
            _lock: lock,
        };
        let staging = warehouse.staging_root();
        if staging.exists() {
            fs::remove_dir_all(&staging)
                .with_context(|| format!("cannot clean {}", staging.display()))?;
        }
        remove_stale_temp_files(root)?;
        Ok(warehouse)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Removes empty folders below the root (partition folders made for files that were
    /// then discarded). Call only while no file is being written.
    pub fn remove_empty_folders(&self) {
        let walker = walkdir::WalkDir::new(&self.root)
            .min_depth(1)
            .contents_first(true);
        for entry in walker.into_iter().flatten() {
            if entry.file_type().is_dir() {
                let _ = fs::remove_dir(entry.path()); // fails, as it should, unless empty
            }
        }
    }

    /// Folder for spilled runs; readers never look here.
    pub fn staging_root(&self) -> PathBuf {
        self.root.join("_staging")
    }

    /// The Parquet file of one partition.
    pub fn partition_file(&self, dataset: &Dataset, key: PartitionKey) -> PathBuf {
        self.root
            .join(dataset.name)
            .join(key.relative_dir())
            .join("part-0.parquet")
    }

    /// Reads a whole (small) dataset partition, e.g. the manifest; empty if absent.
    pub fn read_partition(&self, dataset: &Dataset, key: PartitionKey) -> Result<Vec<RecordBatch>> {
        let path = self.partition_file(dataset, key);
        if !path.exists() {
            return Ok(Vec::new());
        }
        parquet_batches(dataset, &path)?.collect()
    }
}

/// Whether `name` is a temporary file of an atomic write (`.part-0.parquet.tmp-<pid>` here,
/// `.<name>.tmp-<pid>` from the jobs).
fn is_temp_name(name: &str) -> bool {
    name.starts_with('.') && name.contains(".tmp-")
}

/// Removes the temporary files a killed process left below `root`. Only called under the
/// warehouse lock, so no other process is writing them.
fn remove_stale_temp_files(root: &Path) -> Result<()> {
    for entry in walkdir::WalkDir::new(root).into_iter().flatten() {
        if entry.file_type().is_file() && is_temp_name(&entry.file_name().to_string_lossy()) {
            fs::remove_file(entry.path())
                .with_context(|| format!("cannot remove {}", entry.path().display()))?;
        }
    }
    Ok(())
}

/// A sorted run of rows waiting to be merged into a partition.
pub enum Run {
    Memory(RecordBatch),
    Spilled(PathBuf),
    /// Rows given as indices into a batch of distinct rows, each with its own time (the
    /// column `time_column` of the output): consensus entries that repeat hour after hour
    /// are stored once. Sorted and free of duplicate keys; batches are built when read.
    States {
        states: RecordBatch,
        time_column: usize,
        rows: Vec<u32>,
        times: Vec<i64>,
    },
}

/// The total order of a dataset's rows: its key columns (compared as encoded rows), then
/// every other column. The other columns only decide between rows with equal keys
/// (duplicates), so they are compared lazily, column by column.
pub struct RowOrder {
    key_columns: Vec<usize>,
    tie_columns: Vec<usize>,
    key: RowConverter,
}

impl RowOrder {
    pub fn new(dataset: &Dataset) -> Result<Self> {
        let schema = &dataset.schema;
        let key_columns = dataset
            .sort_key
            .iter()
            .map(|name| schema.index_of(name))
            .collect::<Result<Vec<_>, _>>()?;
        let tie_columns: Vec<usize> = (0..schema.fields().len())
            .filter(|i| !key_columns.contains(i))
            .collect();
        let key = RowConverter::new(
            key_columns
                .iter()
                .map(|&i| SortField::new(schema.field(i).data_type().clone()))
                .collect(),
        )?;
        Ok(RowOrder {
            key_columns,
            tie_columns,
            key,
        })
    }

    fn key_rows(&self, batch: &RecordBatch) -> Result<Rows> {
        let columns: Vec<ArrayRef> = self
            .key_columns
            .iter()
            .map(|&i| batch.column(i).clone())
            .collect();
        Ok(self.key.convert_columns(&columns)?)
    }

    /// Orders the current rows of two cursors (both must have one).
    fn cursor_cmp(&self, a: &Cursor, b: &Cursor) -> Ordering {
        let (a_batch, a_keys) = a.current.as_ref().expect("cursor has a batch");
        let (b_batch, b_keys) = b.current.as_ref().expect("cursor has a batch");
        a_keys
            .row(a.pos)
            .cmp(&b_keys.row(b.pos))
            .then_with(|| self.tie(a_batch, a.pos, b_batch, b.pos))
    }

    /// Orders row `i` of `a` against row `j` of `b` on the non-key columns.
    pub fn tie(&self, a: &RecordBatch, i: usize, b: &RecordBatch, j: usize) -> Ordering {
        for &c in &self.tie_columns {
            let compare = make_comparator(
                a.column(c).as_ref(),
                b.column(c).as_ref(),
                SortOptions::default(),
            )
            .expect("columns of one schema are comparable");
            let ordering = compare(i, j);
            if ordering.is_ne() {
                return ordering;
            }
        }
        Ordering::Equal
    }
}

/// Sorts a batch into the dataset's order (duplicates are kept; the merge drops them).
pub fn sort_batch(dataset: &Dataset, batch: &RecordBatch) -> Result<RecordBatch> {
    let order = RowOrder::new(dataset)?;
    let keys = order.key_rows(batch)?;
    let mut indices: Vec<u32> = (0..batch.num_rows() as u32).collect();
    indices.sort_unstable_by(|&a, &b| keys.row(a as usize).cmp(&keys.row(b as usize)));
    // Runs of equal keys (duplicates) are ordered by the remaining columns.
    let mut start = 0;
    while start < indices.len() {
        let mut end = start + 1;
        while end < indices.len()
            && keys.row(indices[end] as usize) == keys.row(indices[start] as usize)
        {
            end += 1;
        }
        if end - start > 1 {
            indices[start..end].sort_by(|&a, &b| order.tie(batch, a as usize, batch, b as usize));
        }
        start = end;
    }
    Ok(take_record_batch(batch, &UInt32Array::from(indices))?)
}

/// Writes a sorted batch to `path` as a run (Arrow IPC, LZ4, in small batches).
pub fn spill(batch: &RecordBatch, path: &Path) -> Result<()> {
    write_ipc(&batch.schema(), std::iter::once(Ok(batch.clone())), path)
}

/// Writes a run's rows to `path` as a spilled run.
pub fn spill_run(run: Run, path: &Path) -> Result<()> {
    let schema = match &run {
        Run::States { states, .. } => states.schema(),
        Run::Memory(batch) => batch.schema(),
        Run::Spilled(_) => bail!("run is spilled already"),
    };
    write_ipc(&schema, run_batches(run)?, path)
}

/// Writes batches to `path` as Arrow IPC (LZ4, in small batches).
fn write_ipc(
    schema: &arrow::datatypes::SchemaRef,
    batches: impl Iterator<Item = Result<RecordBatch>>,
    path: &Path,
) -> Result<()> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)?;
    }
    let file = File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    let options =
        IpcWriteOptions::default().try_with_compression(Some(CompressionType::LZ4_FRAME))?;
    let mut writer = FileWriter::try_new_with_options(
        io::BufWriter::new(fault::Checked(file)),
        schema,
        options,
    )?;
    for batch in batches {
        for chunk in chunks(&batch?) {
            writer.write(&chunk)?;
        }
    }
    writer.finish()?;
    // Flushed here: a BufWriter dropped with unwritten bytes would lose the error.
    writer.into_inner()?.flush()?;
    Ok(())
}

fn chunks(batch: &RecordBatch) -> impl Iterator<Item = RecordBatch> + '_ {
    (0..batch.num_rows())
        .step_by(CHUNK_ROWS)
        .map(move |start| batch.slice(start, CHUNK_ROWS.min(batch.num_rows() - start)))
}

type BatchIter = Box<dyn Iterator<Item = Result<RecordBatch>> + Send>;

fn run_batches(run: Run) -> Result<BatchIter> {
    Ok(match run {
        Run::Memory(batch) => {
            let parts: Vec<RecordBatch> = chunks(&batch).collect();
            Box::new(parts.into_iter().map(Ok))
        }
        Run::Spilled(path) => {
            let file =
                File::open(&path).with_context(|| format!("cannot open run {}", path.display()))?;
            let reader = FileReader::try_new(std::io::BufReader::new(file), None)?;
            Box::new(reader.map(|b| b.map_err(anyhow::Error::from)))
        }
        Run::States {
            states,
            time_column,
            rows,
            times,
        } => {
            let starts = (0..rows.len()).step_by(ROW_GROUP_ROWS);
            Box::new(starts.map(move |start| {
                let end = (start + ROW_GROUP_ROWS).min(rows.len());
                let indices = UInt32Array::from(rows[start..end].to_vec());
                let mut columns: Vec<ArrayRef> = states
                    .columns()
                    .par_iter()
                    .map(|c| arrow::compute::take(c.as_ref(), &indices, None))
                    .collect::<Result<_, _>>()?;
                columns[time_column] = Arc::new(
                    TimestampMillisecondArray::from(times[start..end].to_vec())
                        .with_timezone("UTC"),
                );
                Ok(RecordBatch::try_new(states.schema(), columns)?)
            }))
        }
    })
}

fn parquet_batches(dataset: &Dataset, path: &Path) -> Result<BatchIter> {
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file)
        .with_context(|| format!("{} is not a readable Parquet file", path.display()))?;
    if builder.schema().fields() != dataset.schema.fields() {
        bail!(
            "{} was written with a different schema than this relaytrail version's {} schema; \
             re-import into a new warehouse",
            path.display(),
            dataset.name
        );
    }
    let reader = builder.with_batch_size(CHUNK_ROWS).build()?;
    let path = path.to_path_buf();
    Ok(Box::new(reader.map(move |b| {
        b.with_context(|| format!("reading {}", path.display()))
    })))
}

/// One input of the merge: a stream of sorted batches and the current position in it.
struct Cursor {
    batches: BatchIter,
    current: Option<(RecordBatch, Rows)>,
    pos: usize,
    /// Index of the current batch in the merge's `pending` list.
    pending_index: usize,
}

impl Cursor {
    fn advance_batch(&mut self, order: &RowOrder, pending: &mut Vec<RecordBatch>) -> Result<()> {
        self.current = None;
        self.pos = 0;
        for batch in self.batches.by_ref() {
            let batch = batch?;
            if batch.num_rows() == 0 {
                continue;
            }
            let keys = order.key_rows(&batch)?;
            self.pending_index = pending.len();
            pending.push(batch.clone());
            self.current = Some((batch, keys));
            break;
        }
        Ok(())
    }
}

/// A partition file written under a temporary name, not yet visible. Dropping it without
/// [`commit`](PendingFile::commit) removes the temporary file.
pub struct PendingFile {
    temp: PathBuf,
    target: PathBuf,
    rows: u64,
    committed: bool,
}

impl PendingFile {
    /// The file this one replaces when committed.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Rows in the new file.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Atomically replaces the target with the new file.
    pub fn commit(mut self) -> Result<u64> {
        fs::rename(&self.temp, &self.target)
            .map_err(|e| write_error(&self.target, anyhow::Error::from(e)))?;
        self.committed = true;
        sync_dir(self.target.parent().expect("partition file has a folder"));
        Ok(self.rows)
    }
}

impl Drop for PendingFile {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_file(&self.temp);
        }
    }
}

/// Commits files in order; the ones after a failure are discarded.
pub fn commit_all(files: Vec<PendingFile>) -> Result<()> {
    for file in files {
        file.commit()?;
    }
    Ok(())
}

/// Merges `runs` (each sorted) with the partition's existing file into a new partition file,
/// keeping the first row of each key, written under a temporary name: the old file stays
/// visible until the returned file is committed.
pub fn write_partition(
    warehouse: &Warehouse,
    dataset: &Dataset,
    key: PartitionKey,
    runs: Vec<Run>,
) -> Result<PendingFile> {
    let target = warehouse.partition_file(dataset, key);
    // A single run without duplicate keys going to a new partition is its final order
    // already: written as it comes, without the merge.
    let direct = !target.exists() && runs.len() == 1 && matches!(runs[0], Run::States { .. });
    let mut sources: Vec<BatchIter> = Vec::new();
    if target.exists() {
        sources.push(parquet_batches(dataset, &target)?);
    }
    for run in runs {
        sources.push(run_batches(run)?);
    }
    let dir = target.parent().expect("partition file has a folder");
    let mut pending = PendingFile {
        temp: dir.join(format!(".part-0.parquet.tmp-{}", std::process::id())),
        target: target.clone(),
        rows: 0,
        committed: false,
    };
    fs::create_dir_all(dir).map_err(|e| write_error(dir, anyhow::Error::from(e)))?;
    let written = if direct {
        write_direct(dataset, sources.pop().expect("one source"), &pending.temp)
    } else {
        write_merged(dataset, sources, &pending.temp)
    };
    pending.rows = written.map_err(|e| write_error(&target, e))?;
    Ok(pending)
}

/// Merges into a partition and commits the new file at once; returns its row count.
pub fn merge_into_partition(
    warehouse: &Warehouse,
    dataset: &Dataset,
    key: PartitionKey,
    runs: Vec<Run>,
) -> Result<u64> {
    write_partition(warehouse, dataset, key, runs)?.commit()
}

/// A write failure, named by the file it was for. When the cause is the operating system
/// (a full disk, a read-only file system, permissions), the message is that error alone.
pub fn write_error(path: &Path, e: anyhow::Error) -> anyhow::Error {
    match io_cause(&e) {
        Some(io) => anyhow!("cannot write {}: {io}", path.display()),
        None => e.context(format!("cannot write {}", path.display())),
    }
}

/// The I/O error at the root of an error chain (parquet and arrow wrap it), if any.
pub fn io_cause(e: &anyhow::Error) -> Option<&io::Error> {
    e.chain().find_map(|c| c.downcast_ref::<io::Error>())
}

fn write_merged(dataset: &Dataset, sources: Vec<BatchIter>, temp: &Path) -> Result<u64> {
    let order = RowOrder::new(dataset)?;
    let mut pending: Vec<RecordBatch> = Vec::new();
    let mut cursors = Vec::with_capacity(sources.len());
    for batches in sources {
        let mut cursor = Cursor {
            batches,
            current: None,
            pos: 0,
            pending_index: 0,
        };
        cursor.advance_batch(&order, &mut pending)?;
        cursors.push(cursor);
    }
    let mut writer = PartitionWriter::create(dataset, temp)?;
    let mut selected: Vec<(usize, usize)> = Vec::with_capacity(CHUNK_ROWS);
    let mut last_key: Option<Vec<u8>> = None;
    let mut rows_written = 0u64;

    let mut second_key: Vec<u8> = Vec::new();
    loop {
        // The cursor whose current row comes first (ties between cursors go to the earlier
        // one), and the runner-up.
        let mut best: Option<usize> = None;
        let mut second: Option<usize> = None;
        for i in 0..cursors.len() {
            if cursors[i].current.is_none() {
                continue;
            }
            match best {
                None => best = Some(i),
                Some(b) if order.cursor_cmp(&cursors[i], &cursors[b]).is_lt() => {
                    second = best;
                    best = Some(i);
                }
                Some(_) => {
                    if second.is_none_or(|s| order.cursor_cmp(&cursors[i], &cursors[s]).is_lt()) {
                        second = Some(i);
                    }
                }
            }
        }
        let Some(b) = best else { break };
        // Take rows from the best cursor while their keys stay strictly below the runner-up's
        // (a gallop: runs overlap little, so most rows need one comparison).
        second_key.clear();
        if let Some(s) = second {
            let (_, keys) = cursors[s].current.as_ref().expect("runner-up has a batch");
            second_key.extend_from_slice(keys.row(cursors[s].pos).as_ref());
        }
        let cursor = &mut cursors[b];
        loop {
            let (batch, keys) = cursor.current.as_ref().expect("best has a batch");
            let row = keys.row(cursor.pos);
            if last_key.as_deref() != Some(row.as_ref()) {
                let buf = last_key.get_or_insert_with(Vec::new);
                buf.clear();
                buf.extend_from_slice(row.as_ref());
                selected.push((cursor.pending_index, cursor.pos));
            }
            cursor.pos += 1;
            if cursor.pos == batch.num_rows() {
                cursor.advance_batch(&order, &mut pending)?;
                break;
            }
            let next = keys.row(cursor.pos);
            if selected.len() >= CHUNK_ROWS
                || (second.is_some() && next.as_ref() >= second_key.as_slice())
            {
                break;
            }
        }
        if selected.len() >= CHUNK_ROWS {
            rows_written += flush(&mut writer, &mut pending, &mut selected, &mut cursors)?;
        }
    }
    rows_written += flush(&mut writer, &mut pending, &mut selected, &mut cursors)?;
    writer.finish()?;
    Ok(rows_written)
}

/// Writes batches that are in the dataset's order and free of duplicate keys as they come.
fn write_direct(dataset: &Dataset, batches: BatchIter, temp: &Path) -> Result<u64> {
    let mut writer = PartitionWriter::create(dataset, temp)?;
    let mut rows = 0;
    for batch in batches {
        let batch = batch?;
        rows += batch.num_rows() as u64;
        writer.write(batch)?;
    }
    writer.finish()?;
    Ok(rows)
}

/// A partition file being written: rows are buffered into row groups, each encoded column by
/// column in parallel (on the rayon pool) and appended in order. The bytes are the ones
/// [`ArrowWriter`] would write with the same properties.
struct PartitionWriter {
    file: SerializedFileWriter<fault::Checked>,
    factory: ArrowRowGroupWriterFactory,
    schema: arrow::datatypes::SchemaRef,
    /// Slices of the piece being filled.
    buffered: Vec<RecordBatch>,
    /// Pieces of the row group being filled.
    pieces: Vec<RecordBatch>,
    /// Rows in `pieces` and `buffered`.
    buffered_rows: usize,
    row_groups_written: usize,
}

impl PartitionWriter {
    fn create(dataset: &Dataset, path: &Path) -> Result<Self> {
        let file =
            File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
        let writer = ArrowWriter::try_new(
            fault::Checked(file),
            dataset.schema.clone(),
            Some(writer_properties(dataset)),
        )?;
        let (file, factory) = writer.into_serialized_writer()?;
        Ok(PartitionWriter {
            file,
            factory,
            schema: dataset.schema.clone(),
            buffered: Vec::new(),
            pieces: Vec::new(),
            buffered_rows: 0,
            row_groups_written: 0,
        })
    }

    /// Buffers rows. The encoder is fed pieces of exactly [`CHUNK_ROWS`] rows (page
    /// boundaries depend on the pieces), so the file does not depend on how the rows came.
    fn write(&mut self, mut batch: RecordBatch) -> Result<()> {
        while batch.num_rows() > 0 {
            let room = CHUNK_ROWS - self.buffered_rows % CHUNK_ROWS;
            let take = room.min(batch.num_rows());
            self.buffered.push(batch.slice(0, take));
            self.buffered_rows += take;
            batch = batch.slice(take, batch.num_rows() - take);
            if self.buffered_rows.is_multiple_of(CHUNK_ROWS) {
                self.close_piece()?;
            }
            if self.buffered_rows == ROW_GROUP_ROWS {
                self.buffered_rows = 0;
                self.encode_row_group()?;
            }
        }
        Ok(())
    }

    /// Joins the buffered slices into one piece.
    fn close_piece(&mut self) -> Result<()> {
        let piece = match self.buffered.len() {
            0 => return Ok(()),
            1 => self.buffered.pop().expect("one slice"),
            _ => arrow::compute::concat_batches(&self.schema, &self.buffered)?,
        };
        self.buffered.clear();
        self.pieces.push(piece);
        Ok(())
    }

    /// Encodes the pieces as one row group, every column in parallel, and appends it.
    fn encode_row_group(&mut self) -> Result<()> {
        let pieces = std::mem::take(&mut self.pieces);
        if pieces.is_empty() {
            return Ok(());
        }
        let mut writers = self
            .factory
            .create_column_writers(self.row_groups_written)?
            .into_iter();
        let mut tasks = Vec::new();
        for (c, field) in self.schema.fields().iter().enumerate() {
            let arrays: Vec<ArrayRef> = pieces.iter().map(|b| b.column(c).clone()).collect();
            for leaf in 0..compute_leaves(field, &arrays[0])?.len() {
                let writer = writers.next().expect("one writer per leaf column");
                tasks.push((writer, field.clone(), arrays.clone(), leaf));
            }
        }
        let chunks: Vec<ArrowColumnChunk> = tasks
            .into_par_iter()
            .map(|(mut writer, field, arrays, leaf)| {
                for array in &arrays {
                    writer.write(&compute_leaves(&field, array)?[leaf])?;
                }
                Ok(writer.close()?)
            })
            .collect::<Result<_>>()?;
        let mut row_group = self.file.next_row_group()?;
        for chunk in chunks {
            chunk.append_to_row_group(&mut row_group)?;
        }
        row_group.close()?;
        self.row_groups_written += 1;
        Ok(())
    }

    /// Writes the remaining rows and the footer, and syncs the file.
    fn finish(mut self) -> Result<()> {
        self.close_piece()?;
        self.encode_row_group()?;
        let mut file = self.file.into_inner()?;
        file.flush()?;
        file.0.sync_all()?;
        Ok(())
    }
}

/// Writes the selected rows and drops batches no cursor needs any more.
fn flush(
    writer: &mut PartitionWriter,
    pending: &mut Vec<RecordBatch>,
    selected: &mut Vec<(usize, usize)>,
    cursors: &mut [Cursor],
) -> Result<u64> {
    let n = selected.len() as u64;
    if n > 0 {
        let refs: Vec<&RecordBatch> = pending.iter().collect();
        let out = interleave_record_batch(&refs, selected)?;
        writer.write(out)?;
        selected.clear();
    }
    let mut kept = Vec::new();
    for cursor in cursors.iter_mut() {
        if let Some((batch, _)) = &cursor.current {
            cursor.pending_index = kept.len();
            kept.push(batch.clone());
        }
    }
    *pending = kept;
    Ok(n)
}

fn writer_properties(dataset: &Dataset) -> WriterProperties {
    let mut props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(
            ZstdLevel::try_new(3).expect("valid zstd level"),
        ))
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS));
    for column in dataset.bloom_columns {
        props = props.set_column_bloom_filter_enabled(ColumnPath::from(*column), true);
    }
    props.build()
}

fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

/// The `RELAYTRAIL_TEST_WRITE_FAULT` test hook (see the module documentation).
mod fault {
    use std::fs::File;
    use std::io::{self, Write};
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::OnceLock;

    const VARIABLE: &str = "RELAYTRAIL_TEST_WRITE_FAULT";

    /// A file whose writes count against the fault budget.
    pub struct Checked(pub File);

    impl Write for Checked {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            charge(buf.len())?;
            self.0.write(buf)
        }

        fn flush(&mut self) -> io::Result<()> {
            self.0.flush()
        }
    }

    /// (bytes allowed, OS error raised after them), parsed once.
    fn budget() -> Option<(u64, i32)> {
        static BUDGET: OnceLock<Option<(u64, i32)>> = OnceLock::new();
        *BUDGET.get_or_init(|| {
            let value = std::env::var(VARIABLE).ok()?;
            let (kind, bytes) = value.split_once('@')?;
            let errno = match kind {
                "enospc" => 28, // Linux ENOSPC
                "erofs" => 30,  // Linux EROFS
                _ => return None,
            };
            Some((bytes.parse().ok()?, errno))
        })
    }

    fn charge(n: usize) -> io::Result<()> {
        static WRITTEN: AtomicU64 = AtomicU64::new(0);
        match budget() {
            Some((allowed, errno))
                if WRITTEN.fetch_add(n as u64, Ordering::Relaxed) + n as u64 > allowed =>
            {
                Err(io::Error::from_raw_os_error(errno))
            }
            _ => Ok(()),
        }
    }
}
