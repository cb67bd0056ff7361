//! Where staged rows go: [`Buffers`] holds one dataset's rows, one builder per partition,
//! and hands full ones to the [`RunSink`], which sorts them and spills them to the staging
//! folder in the background, and collects the sorted runs of an input.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::warehouse::schema::BatchBuilder;
use crate::warehouse::store::{sort_batch, spill, spill_run, Run};
use crate::warehouse::{DatasetId, PartitionKey};

/// Collects sorted runs, spilling full buffers to the staging folder.
pub(super) struct RunSink {
    pub(super) dir: PathBuf,
    pub(super) spilled: usize,
    pub(super) runs: Vec<(DatasetId, PartitionKey, Run)>,
    pub(super) rows: BTreeMap<&'static str, u64>,
    /// The spill being sorted and written in the background (at most one at a time, so
    /// parsing overlaps with it while memory stays bounded).
    pub(super) pending: Option<std::thread::JoinHandle<Result<()>>>,
}

impl RunSink {
    /// Sorts and writes a full buffer as a run, in the background.
    pub(super) fn spill(
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
    pub(super) fn spill_run(&mut self, id: DatasetId, key: PartitionKey, run: Run) -> Result<()> {
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
    pub(super) fn count_rows(&mut self, id: DatasetId, rows: usize) {
        *self.rows.entry(id.dataset().name).or_default() += rows as u64;
    }

    /// Waits for the background spill, if any.
    pub(super) fn wait(&mut self) -> Result<()> {
        match self.pending.take() {
            Some(handle) => handle.join().expect("spill thread does not panic"),
            None => Ok(()),
        }
    }
}

/// Row buffers of one dataset, one per partition.
pub(super) struct Buffers<B> {
    id: DatasetId,
    spill_rows: usize,
    by_partition: BTreeMap<PartitionKey, B>,
}

impl<B: BatchBuilder> Buffers<B> {
    pub(super) fn new(id: DatasetId, spill_rows: Option<usize>) -> Self {
        Buffers {
            id,
            spill_rows: spill_rows.unwrap_or(id.dataset().spill_rows).max(1),
            by_partition: BTreeMap::new(),
        }
    }

    /// Pushes rows with `push` into the buffer of `key`, spilling it when full.
    pub(super) fn push(
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
    pub(super) fn drain(&mut self, sink: &mut RunSink) -> Result<()> {
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
