//! Columnar jobs over the warehouse (polars, lazy scans): relay sessions and lifetimes,
//! path-selection probabilities, the hourly network series, removal events and outages,
//! join bursts, with IP → AS enrichment. Each job writes its own dataset next to the
//! importer's (documented in `docs/warehouse.md`).
//!
//! One pass reads `consensus_entries` month by month (the [`presence`] walk); the datasets
//! are built from what it gathers. A job is skipped when its inputs (the warehouse files it
//! reads and the job settings) are unchanged since it last wrote its outputs.

pub mod attribution;
pub mod columns;
pub mod coverage;
pub mod enrich;
pub mod events;
pub mod identity;
pub mod lifetimes;
pub mod network;
pub mod presence;
pub mod votes;
pub mod watchlist;

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use polars::prelude::*;
use serde::{Deserialize, Serialize};

use enrich::Enricher;
use presence::{Presence, FLAGS};

/// Job parameters (also read from a pipeline file's `[jobs]` table).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct JobConfig {
    /// The data is continuous while consensuses come at most this many hours apart; a longer
    /// gap ends every session, and nothing (joins, departures, churn, events) is counted
    /// across it (see `coverage`).
    pub max_gap_hours: u32,
    /// Departures of an hour are compared with the median of the hours within this many days
    /// on either side.
    pub baseline_days: u32,
    /// An event needs at least this many relays above the baseline...
    pub event_min_relays: u32,
    /// ...and this many robust standard deviations above it.
    pub event_min_score: f64,
    /// An hour is judged only when its baseline has at least this many observed hours (the
    /// same hour of the day on other days of the window).
    pub event_min_baseline_hours: u32,
    /// Departed relays back within this many days are an outage, not a removal.
    pub outage_return_days: u32,
    /// Anomalous hours this close (consensuses) are one event.
    pub event_merge_hours: u32,
    /// Departures are tested over windows of 1 up to this many consecutive consensuses: the
    /// authorities may remove a group over a few consensuses (reject lines added one by one).
    pub event_window_consensuses: u32,
    /// Join bursts: never-seen relays within one hour / within 24 hours, overall and per
    /// AS, /16, version and nickname prefix (DocTor alerts at 50).
    pub burst_min_relays_1h: u32,
    pub burst_min_relays_24h: u32,
    /// A relay first seen counts towards a burst only after this many hours of continuous
    /// data (its segment) before it: earlier, "never seen" mostly means "not seen yet" (relays
    /// briefly missing from the first consensus look like joins in the next).
    pub burst_min_history_hours: u32,
    /// Characters of the nickname prefix grouped for bursts.
    pub nickname_prefix_chars: usize,
}

impl Default for JobConfig {
    fn default() -> Self {
        JobConfig {
            max_gap_hours: 6,
            baseline_days: 7,
            event_min_relays: 10,
            event_min_score: 5.0,
            event_min_baseline_hours: 4,
            outage_return_days: 7,
            event_merge_hours: 2,
            event_window_consensuses: 3,
            burst_min_relays_1h: 50,
            burst_min_relays_24h: 50,
            burst_min_history_hours: 24,
            nickname_prefix_chars: 5,
        }
    }
}

/// Settings: the defaults of `T`, then the `[section]` table of a pipeline file, then
/// `key=value` overrides (values in TOML syntax; dotted keys reach into tables,
/// `weights.asn=0.4`).
pub fn load_settings<T>(pipeline: Option<&Path>, section: &str, settings: &[String]) -> Result<T>
where
    T: Default + Serialize + serde::de::DeserializeOwned,
{
    fn merge(into: &mut toml::Table, from: toml::Table) {
        for (key, value) in from {
            match (into.get_mut(&key), value) {
                (Some(toml::Value::Table(a)), toml::Value::Table(b)) => merge(a, b),
                (_, value) => {
                    into.insert(key, value);
                }
            }
        }
    }
    let mut table = toml::Table::try_from(T::default())?;
    if let Some(path) = pipeline {
        let text =
            fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
        let mut file: toml::Table = toml::from_str(&text)
            .with_context(|| format!("{} is not valid TOML", path.display()))?;
        if let Some(toml::Value::Table(own)) = file.remove(section) {
            merge(&mut table, own);
            let parsed: Result<T, _> = table.clone().try_into();
            if let Err(e) = parsed {
                bail!("{}: [{section}]: {e}", path.display());
            }
        }
    }
    for setting in settings {
        let (key, value) = setting
            .split_once('=')
            .with_context(|| format!("--set {setting}: expected KEY=VALUE"))?;
        let value: toml::Value = toml::from_str::<toml::Table>(&format!("v = {value}"))
            .ok()
            .and_then(|mut t| t.remove("v"))
            .unwrap_or_else(|| toml::Value::String(value.to_string()));
        let parts: Vec<&str> = key.trim().split('.').collect();
        let mut target = &mut table;
        for part in &parts[..parts.len() - 1] {
            target = target
                .get_mut(*part)
                .and_then(toml::Value::as_table_mut)
                .with_context(|| format!("--set {setting}: no setting table {part}"))?;
        }
        target.insert(parts[parts.len() - 1].to_string(), value);
    }
    table
        .try_into()
        .map_err(|e| anyhow::anyhow!("settings: {e}"))
}

/// Which datasets to build.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum JobSet {
    /// Everything below.
    All,
    /// relay_sessions, relays.
    Lifetimes,
    /// relay_probabilities, network_hourly, coverage.
    Network,
    /// removal_events, removal_event_relays, outages, join_bursts.
    Events,
}

/// What `run` did.
#[derive(Debug, Default)]
pub struct JobsSummary {
    pub consensuses: usize,
    /// Runs of consensuses without a gap longer than `max_gap_hours`.
    pub segments: usize,
    pub entries: usize,
    pub sessions: usize,
    pub relays: usize,
    pub removal_events: usize,
    pub outages: usize,
    pub join_bursts: usize,
    pub written: Vec<PathBuf>,
    pub up_to_date: bool,
    pub seconds: f64,
}

/// The context every job step shares.
pub struct Jobs<'a> {
    pub root: &'a Path,
    pub config: &'a JobConfig,
    pub enricher: &'a Enricher,
}

/// Runs the selected jobs over the warehouse at `root`.
pub fn run(
    root: &Path,
    set: JobSet,
    config: &JobConfig,
    enricher: &Enricher,
    force: bool,
    quiet: bool,
) -> Result<JobsSummary> {
    let started = Instant::now();
    let warehouse = crate::warehouse::store::Warehouse::open(root)?;
    let root = warehouse.root();
    let signature = input_signature(root, config, enricher)?;
    let state_file = root
        .join("_jobs")
        .join(format!("{set:?}.json").to_lowercase());
    if !force && fs::read_to_string(&state_file).ok().as_deref() == Some(signature.as_str()) {
        return Ok(JobsSummary {
            up_to_date: true,
            seconds: started.elapsed().as_secs_f64(),
            ..JobsSummary::default()
        });
    }
    let jobs = Jobs {
        root,
        config,
        enricher,
    };
    let wants = |s: JobSet| set == JobSet::All || set == s;
    let mut summary = JobsSummary::default();

    let consensuses = network::consensus_index(root)?;
    summary.consensuses = consensuses.times.len();
    let months = entry_months(root)?;
    if months.is_empty() {
        bail!(
            "{}: no consensus_entries or microdesc_consensus_entries imported yet (run \
             `relaytrail import` first)",
            root.display()
        );
    }
    let progress = progress_bar(months.len() as u64, "jobs: consensus entries", quiet);
    let mut presence = Presence::new(
        consensuses.times.clone(),
        coverage::Coverage::new(&consensuses.times, config.max_gap_hours),
    );
    let lists = watchlist::load(root)?;
    let mut listed = watchlist::PresenceAccumulator::new(&lists, consensuses.times.len());
    // Each month's probabilities are written by a second thread while the next month is read.
    let (to_writer, from_reader) = std::sync::mpsc::sync_channel::<(DataFrame, PathBuf)>(1);
    let written = std::thread::scope(|scope| -> Result<Vec<PathBuf>> {
        let writer = scope.spawn(move || -> Result<Vec<PathBuf>> {
            let mut written = Vec::new();
            for (frame, out) in from_reader {
                let mut probabilities = network::probabilities_table(&frame)?;
                write_parquet(&mut probabilities, &out)?;
                written.push(out);
            }
            Ok(written)
        });
        let read_all = (|| -> Result<()> {
            for (key, files) in &months {
                progress.set_message(format!("jobs: consensus entries {key}"));
                let frame = network::month_frame(files, &consensuses)
                    .with_context(|| format!("cannot read {}", files.describe()))?;
                summary.entries += frame.height();
                presence.add_month(&frame, &files.describe())?;
                listed.add_month(&frame)?;
                if wants(JobSet::Network) {
                    let out = root
                        .join("relay_probabilities")
                        .join(key)
                        .join("part-0.parquet");
                    if to_writer.send((frame, out)).is_err() {
                        break; // the writer failed; its error is reported below
                    }
                }
                progress.inc(1);
            }
            Ok(())
        })();
        drop(to_writer);
        let written = writer.join().expect("probabilities writer panicked")?;
        read_all?;
        Ok(written)
    })?;
    summary.written.extend(written);
    progress.finish_and_clear();
    if wants(JobSet::Network) {
        let keys: Vec<&str> = months.iter().map(|(k, _)| k.as_str()).collect();
        remove_stale_partitions(root, "relay_probabilities", &keys)?;
    }

    let next_starts = presence.sorted_sessions();
    summary.sessions = presence.sessions.len();
    // Each relay has exactly one first session.
    summary.relays = presence
        .sessions
        .iter()
        .filter(|s| s.first_of_relay)
        .count();
    // The lifetime tables are written by `lifetimes` and read by `events` (contacts).
    let mut relays = DataFrame::empty();
    if wants(JobSet::Lifetimes) || wants(JobSet::Events) {
        let sessions_path = root.join("relay_sessions").join("part-0.parquet");
        let write_sessions = wants(JobSet::Lifetimes).then_some(sessions_path.as_path());
        relays = lifetimes::lifetimes(&jobs, &presence, write_sessions)?;
        if wants(JobSet::Lifetimes) {
            summary.written.push(sessions_path);
            summary.written.push(jobs.write("relays", &mut relays)?);
        }
    }
    if wants(JobSet::Network) {
        let mut hourly = network::hourly_table(&presence, &consensuses.flavors)?;
        summary
            .written
            .push(jobs.write("network_hourly", &mut hourly)?);
        let mut segments = presence
            .coverage
            .table(&consensuses.times, &consensuses.flavors)?;
        summary.written.push(jobs.write("coverage", &mut segments)?);
        let presence_file = root.join("watchlist_presence").join("part-0.parquet");
        if listed.is_empty() {
            if presence_file.is_file() {
                fs::remove_file(&presence_file)?;
            }
        } else {
            let mut table = listed.table(&consensuses.times)?;
            summary
                .written
                .push(jobs.write("watchlist_presence", &mut table)?);
        }
    }
    summary.segments = presence.coverage.len();
    if wants(JobSet::Events) {
        let departures = events::departures(&presence, &next_starts);
        let detected = events::detect(&jobs, &presence, &departures, &relays)?;
        summary.removal_events = detected.removal_events.height();
        summary.outages = detected.outages.height();
        let events::Detected {
            mut removal_events,
            mut removal_event_relays,
            mut outages,
        } = detected;
        summary
            .written
            .push(jobs.write("removal_events", &mut removal_events)?);
        summary
            .written
            .push(jobs.write("removal_event_relays", &mut removal_event_relays)?);
        summary.written.push(jobs.write("outages", &mut outages)?);
        let mut bursts = events::join_bursts(&jobs, &presence)?;
        summary.join_bursts = bursts.height();
        summary
            .written
            .push(jobs.write("join_bursts", &mut bursts)?);
    }
    if wants(JobSet::Lifetimes) || wants(JobSet::Events) {
        summary.written.extend(watchlist::write_relays(root)?);
    }
    write_atomic(&state_file, signature.as_bytes())?;
    summary.seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}

impl Jobs<'_> {
    /// Writes an unpartitioned job dataset (`<root>/<name>/part-0.parquet`).
    fn write(&self, name: &str, frame: &mut DataFrame) -> Result<PathBuf> {
        let path = self.root.join(name).join("part-0.parquet");
        write_parquet(frame, &path)?;
        Ok(path)
    }
}

/// The partition files of a monthly dataset, as (`year=YYYY/month=MM`, path), in time order.
pub fn partition_files(root: &Path, dataset: &str) -> Result<Vec<(String, PathBuf)>> {
    let base = root.join(dataset);
    let mut found = Vec::new();
    if !base.exists() {
        return Ok(found);
    }
    for year in sorted_dirs(&base)? {
        for month in sorted_dirs(&year)? {
            let file = month.join("part-0.parquet");
            if file.is_file() {
                let key = format!(
                    "{}/{}",
                    year.file_name().unwrap().to_string_lossy(),
                    month.file_name().unwrap().to_string_lossy()
                );
                found.push((key, file));
            }
        }
    }
    Ok(found)
}

fn sorted_dirs(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut dirs: Vec<PathBuf> = fs::read_dir(dir)
        .with_context(|| format!("cannot list {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.is_dir()
                && p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.contains('='))
        })
        .collect();
    dirs.sort();
    Ok(dirs)
}

/// The months that have consensus entries of either flavour, in time order.
fn entry_months(root: &Path) -> Result<Vec<(String, network::MonthFiles)>> {
    let mut months: std::collections::BTreeMap<String, network::MonthFiles> = Default::default();
    for (key, file) in partition_files(root, "consensus_entries")? {
        months.entry(key).or_default().ns = Some(file);
    }
    for (key, file) in partition_files(root, "microdesc_consensus_entries")? {
        months.entry(key).or_default().microdesc = Some(file);
    }
    Ok(months.into_iter().collect())
}

/// Removes partitions of a derived monthly dataset whose source month no longer exists.
fn remove_stale_partitions(root: &Path, dataset: &str, months: &[&str]) -> Result<()> {
    for (key, file) in partition_files(root, dataset)? {
        if !months.contains(&key.as_str()) {
            fs::remove_file(&file).with_context(|| format!("cannot remove {}", file.display()))?;
        }
    }
    Ok(())
}

/// Scans every Parquet file of a dataset (hive partitions included) lazily.
pub fn scan_dataset(root: &Path, dataset: &str) -> Result<Option<LazyFrame>> {
    let base = root.join(dataset);
    let single = base.join("part-0.parquet");
    let pattern = if single.is_file() {
        single
    } else if partition_files(root, dataset)?.is_empty() {
        return Ok(None);
    } else {
        base.join("**/*.parquet")
    };
    let args = ScanArgsParquet {
        hive_options: HiveOptions::new_enabled(),
        ..Default::default()
    };
    let frame = LazyFrame::scan_parquet(PlRefPath::new(pattern.to_string_lossy().as_ref()), args)
        .map_err(anyhow::Error::from)
        .with_context(|| format!("cannot scan {}", pattern.display()))?;
    Ok(Some(frame))
}

/// A lazy scan of one Parquet file (one month's partition).
pub fn scan_file(file: &Path) -> Result<LazyFrame> {
    LazyFrame::scan_parquet(
        PlRefPath::new(file.to_string_lossy().as_ref()),
        ScanArgsParquet::default(),
    )
    .map_err(anyhow::Error::from)
    .with_context(|| format!("cannot scan {}", file.display()))
}

/// The newest server descriptor of each fingerprint (its `published` and the given
/// columns), reduced month by month ([`fold_months`]).
pub fn newest_descriptors(root: &Path, columns: &[&str]) -> Result<Option<DataFrame>> {
    let mut select = vec![col("fingerprint"), col("published")];
    select.extend(columns.iter().map(|c| col(*c)));
    fold_months(root, "server_descriptors", &select, |frame| {
        newest_per_fingerprint(frame, columns)
    })
}

/// Each fingerprint's row of the latest `published` (of equal ones, the last), with `published`
/// and the given columns: a reduction [`fold_months`] can apply again to its own output.
fn newest_per_fingerprint(frame: LazyFrame, columns: &[&str]) -> LazyFrame {
    let mut agg = vec![col("published").last()];
    agg.extend(columns.iter().map(|c| col(*c).last()));
    frame
        .sort(
            ["fingerprint", "published"],
            SortMultipleOptions::default().with_maintain_order(true),
        )
        .group_by_stable([col("fingerprint")])
        .agg(agg)
}

/// The distinct rows, each where it first appears: a reduction for [`fold_months`].
pub fn distinct_rows(frame: LazyFrame) -> LazyFrame {
    frame.unique_stable_generic(None, UniqueKeepStrategy::First)
}

/// Reduces a month-partitioned dataset a month at a time: `reduce` is applied to each
/// month's `columns`, and again to reduced runs of consecutive months appended in time order
/// (the reduction must give the same result when applied again to its own output: the newest
/// row per key, the distinct rows, ...). Runs merge like a binary counter, two runs of equal
/// length at a time, so each row is reduced about log2(months) times and memory holds a few
/// runs; merging the whole result so far into each month instead re-reduced every relay of
/// the history once a month (quadratic: most of `attribute`'s profile load at ten years).
/// None without partitions.
pub fn fold_months(
    root: &Path,
    dataset: &str,
    columns: &[Expr],
    reduce: impl Fn(LazyFrame) -> LazyFrame,
) -> Result<Option<DataFrame>> {
    let merge = |mut older: DataFrame, newer: &DataFrame| -> Result<DataFrame> {
        older.vstack_mut(newer)?;
        Ok(reduce(older.lazy()).collect()?)
    };
    // (months in the run, its reduction), oldest first, lengths strictly decreasing.
    let mut runs: Vec<(usize, DataFrame)> = Vec::new();
    for (_, file) in partition_files(root, dataset)? {
        let month = reduce(scan_file(&file)?.select(columns))
            .collect()
            .map_err(anyhow::Error::from)
            .with_context(|| format!("cannot read {}", file.display()))?;
        runs.push((1, month));
        while let [.., (older_months, _), (newer_months, _)] = runs[..] {
            if older_months != newer_months {
                break;
            }
            let (_, newer) = runs.pop().expect("two runs");
            let (_, older) = runs.pop().expect("two runs");
            runs.push((older_months + newer_months, merge(older, &newer)?));
        }
    }
    let mut runs = runs.into_iter().map(|(_, frame)| frame);
    let Some(mut so_far) = runs.next() else {
        return Ok(None);
    };
    for newer in runs {
        so_far = merge(so_far, &newer)?;
    }
    Ok(Some(so_far))
}

/// What the jobs read, as text: every source file's path, size and modification time, the
/// settings and the enrichment files. Equal text, equal outputs.
fn input_signature(root: &Path, config: &JobConfig, enricher: &Enricher) -> Result<String> {
    let mut lines = vec![
        format!("relaytrail {}", env!("CARGO_PKG_VERSION")),
        serde_json::to_string(config)?,
    ];
    for dataset in [
        "consensuses",
        "consensus_entries",
        "microdesc_consensus_entries",
        "server_descriptors",
        "votes",
        "vote_entries",
        "watchlists",
    ] {
        let mut files = partition_files(root, dataset)?;
        let single = root.join(dataset).join("part-0.parquet");
        if single.is_file() {
            files.push((String::new(), single));
        }
        for (_, file) in files {
            lines.push(file_stamp(&file)?);
        }
    }
    for snapshot in enricher.snapshots() {
        lines.push(format!(
            "{} {:?}",
            file_stamp(&snapshot.path)?,
            snapshot.date_ms
        ));
    }
    Ok(lines.join("\n"))
}

fn file_stamp(file: &Path) -> Result<String> {
    let meta = fs::metadata(file).with_context(|| format!("cannot stat {}", file.display()))?;
    let modified = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    Ok(format!("{} {} {}", file.display(), meta.len(), modified))
}

/// Writes a file atomically: `write` fills a hidden temporary file in the same folder, which
/// is synced and renamed over `path`; on failure the temporary file is removed.
fn write_file_atomically(path: &Path, write: impl FnOnce(&fs::File) -> Result<()>) -> Result<()> {
    let dir = path.parent().context("output path has no folder")?;
    fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        path.file_name().unwrap().to_string_lossy(),
        std::process::id()
    ));
    let result = (|| -> Result<()> {
        let file = fs::File::create(&tmp)?;
        write(&file)?;
        file.sync_all()?;
        fs::rename(&tmp, path)?;
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.with_context(|| format!("cannot write {}", path.display()))
}

/// Rows per Parquet row group of the job datasets.
pub const ROW_GROUP_ROWS: usize = 128 * 1024;

/// The Parquet settings of every job dataset: zstd 3, [`ROW_GROUP_ROWS`]-row groups, statistics.
fn parquet_writer(file: &fs::File) -> Result<ParquetWriter<&fs::File>> {
    Ok(ParquetWriter::new(file)
        .with_compression(ParquetCompression::Zstd(Some(
            polars::polars_utils::compression::ZstdLevel::try_new(3)?,
        )))
        .with_row_group_size(Some(ROW_GROUP_ROWS))
        .with_statistics(StatisticsOptions::full()))
}

/// Writes a data frame as one Parquet file, atomically.
pub fn write_parquet(frame: &mut DataFrame, path: &Path) -> Result<()> {
    write_file_atomically(path, |file| {
        parquet_writer(file)?.finish(frame)?;
        Ok(())
    })
}

/// Writes frames made one after another as one Parquet file, atomically, without holding
/// them all: each frame (at most [`ROW_GROUP_ROWS`] rows, all with the first frame's columns)
/// becomes one row group, as [`write_parquet`] would cut their concatenation.
pub fn write_parquet_parts(
    path: &Path,
    mut parts: impl Iterator<Item = Result<DataFrame>>,
) -> Result<()> {
    write_file_atomically(path, |file| {
        let first = parts.next().context("no rows and no columns to write")??;
        let mut writer = parquet_writer(file)?.batched(first.schema())?;
        for part in std::iter::once(Ok(first)).chain(parts) {
            let mut part = part?;
            debug_assert!(part.height() <= ROW_GROUP_ROWS);
            part.rechunk_mut();
            writer.write_batch(&part)?;
        }
        writer.finish()?;
        Ok(())
    })
}

/// Writes a small file atomically.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    write_file_atomically(path, |mut file| Ok(file.write_all(bytes)?))
}

/// A progress bar on stderr (hidden with `quiet` or when stderr is not a terminal).
pub fn progress_bar(len: u64, message: &str, quiet: bool) -> indicatif::ProgressBar {
    use std::io::IsTerminal;
    if quiet || !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(len);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} {elapsed}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar.set_message(message.to_string());
    bar
}

/// `valid_after` milliseconds as a polars datetime column (ms, UTC).
pub fn datetime_column(name: &str, values: Vec<Option<i64>>) -> Result<Column> {
    let column = Column::new(name.into(), values).cast(&DataType::Datetime(
        TimeUnit::Milliseconds,
        Some(TimeZone::UTC),
    ))?;
    Ok(column)
}

/// A `list<string>` column from per-row string lists.
pub fn string_list_column<S: AsRef<str>>(name: &str, rows: &[Vec<S>]) -> Column {
    string_lists(name, rows.iter().map(|row| row.iter().map(AsRef::as_ref)))
}

/// A `list<string>` column built in one values buffer (a `Series` per row, the obvious way,
/// costs about a kilobyte per row: gigabytes for a year of sessions).
pub fn string_lists<'a, V: Iterator<Item = &'a str>>(
    name: &str,
    rows: impl Iterator<Item = V>,
) -> Column {
    let capacity = rows.size_hint().0;
    let mut builder = ListStringChunkedBuilder::new(name.into(), capacity, capacity * 2);
    for row in rows {
        builder.append_values_iter(row);
    }
    builder.finish().into_column()
}

/// A `list<u32>` column built in one values buffer (see [`string_lists`]).
pub fn u32_lists<V: Iterator<Item = u32>>(name: &str, rows: impl Iterator<Item = V>) -> Column {
    let capacity = rows.size_hint().0;
    let mut builder = ListPrimitiveChunkedBuilder::<UInt32Type>::new(
        name.into(),
        capacity,
        capacity * 2,
        DataType::UInt32,
    );
    for row in rows {
        builder.append_values_iter(row);
    }
    builder.finish().into_column()
}

/// The flag names of each mask, as a `list<string>` column.
pub fn flags_column(name: &str, masks: impl Iterator<Item = u32>) -> Column {
    string_lists(name, masks.map(|m| presence::flag_names(m).into_iter()))
}

/// Lower-case column-name form of a flag (`HSDir` → `hsdir`).
pub fn flag_column_name(flag: &str) -> String {
    flag.to_ascii_lowercase()
}

/// The flags as column-name suffixes, in [`FLAGS`] order.
pub fn flag_suffixes() -> impl Iterator<Item = (usize, String)> {
    FLAGS
        .iter()
        .enumerate()
        .map(|(i, f)| (i, flag_column_name(f)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Seven months of descriptors (an odd number: runs of four, two and one month are left
    /// to merge at the end) give, folded a month at a time, what one reduction of all the
    /// months gives: each fingerprint's newest row wherever it is (a tie in `published` goes
    /// to the later month, an older descriptor in a later month does not win), and the
    /// distinct rows in the order they first appear.
    #[test]
    fn month_folds_give_what_one_reduction_of_all_months_gives() {
        let dir = tempfile::tempdir().unwrap();
        let rows: [(u32, &str, i64, &str); 9] = [
            (1, "A", 10, "a1"),
            (1, "D", 2, "d1"),
            (2, "B", 20, "b2"),
            (3, "A", 30, "a3"),
            (4, "C", 40, "c4"),
            (5, "B", 20, "b5"),
            (6, "B", 5, "b6"),
            (6, "D", 1, "d1"),
            (7, "A", 70, "a7"),
        ];
        let frame = |rows: &[(u32, &str, i64, &str)]| {
            df!(
                "fingerprint" => rows.iter().map(|r| r.1).collect::<Vec<_>>(),
                "published" => rows.iter().map(|r| r.2).collect::<Vec<_>>(),
                "contact" => rows.iter().map(|r| r.3).collect::<Vec<_>>(),
            )
            .unwrap()
        };
        for month in 1..=7 {
            let of_month: Vec<_> = rows.iter().copied().filter(|r| r.0 == month).collect();
            let path = dir.path().join(format!(
                "server_descriptors/year=2021/month={month:02}/part-0.parquet"
            ));
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            write_parquet(&mut frame(&of_month), &path).unwrap();
        }
        let all = frame(&rows);

        let newest = newest_descriptors(dir.path(), &["contact"])
            .unwrap()
            .unwrap();
        let newest_of = |fp: &str| -> String {
            let row = newest
                .clone()
                .lazy()
                .filter(col("fingerprint").eq(lit(fp)))
                .collect()
                .unwrap();
            assert_eq!(row.height(), 1, "{fp}");
            row.column("contact")
                .unwrap()
                .str()
                .unwrap()
                .get(0)
                .unwrap()
                .to_string()
        };
        assert_eq!(
            ["A", "B", "C", "D"].map(newest_of),
            ["a7", "b5", "c4", "d1"].map(String::from)
        );
        let at_once = newest_per_fingerprint(all.clone().lazy(), &["contact"])
            .collect()
            .unwrap();
        assert!(newest.equals(&at_once), "{newest}\n{at_once}");

        let columns = [col("fingerprint"), col("contact")];
        let folded = fold_months(dir.path(), "server_descriptors", &columns, distinct_rows)
            .unwrap()
            .unwrap();
        let at_once = distinct_rows(all.lazy().select(columns)).collect().unwrap();
        assert_eq!(folded.height(), 8, "{folded}");
        assert!(folded.equals(&at_once), "{folded}\n{at_once}");
    }
}
