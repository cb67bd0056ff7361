//! Columnar jobs over the warehouse (polars, lazy scans): relay sessions and lifetimes,
//! path-selection probabilities, the hourly network series, removal events and outages,
//! join bursts, with IP → AS enrichment. Each job writes its own dataset next to the
//! importer's (documented in `docs/warehouse.md`).
//!
//! One pass reads `consensus_entries` month by month (the [`presence`] walk); the datasets
//! are built from what it gathers. A job is skipped when its inputs (the warehouse files it
//! reads and the job settings) are unchanged since it last wrote its outputs.
//!
//! This file is the orchestration ([`run`]); the rooms below it: [`settings`] (settings and
//! the context every step shares), [`io`] (reading and writing warehouse files), [`columns`]
//! (frames to vectors and back), [`coverage`] and [`presence`] (segments and the walk),
//! [`lifetimes`], [`network`], [`events`] (with [`votes`]), [`watchlist`], [`enrich`] (AS
//! data), [`identity`] (what relays declare) and [`attribution`].

pub mod attribution;
pub mod columns;
pub mod coverage;
pub mod descriptor_coverage;
pub mod enrich;
pub mod events;
pub mod identity;
pub mod io;
pub mod lifetimes;
pub mod network;
pub mod presence;
pub mod settings;
pub mod votes;
pub mod watchlist;

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use polars::prelude::*;

use crate::util::progress::progress_bar;
use enrich::Enricher;
use io::{partition_files, remove_stale_partitions, write_atomic, write_parquet};
use presence::Presence;
pub use settings::{load_settings, JobConfig, Jobs};

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
    let mut descriptors = descriptor_coverage::DescriptorCoverage::new(root)?;
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
                descriptors.add_month(key, &frame)?;
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

    let descriptor_hours = descriptors.into_counts();
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
        relays =
            lifetimes::lifetimes(&jobs, &presence, &descriptor_hours.by_relay, write_sessions)?;
        if wants(JobSet::Lifetimes) {
            summary.written.push(sessions_path);
            summary.written.push(jobs.write("relays", &mut relays)?);
        }
    }
    if wants(JobSet::Network) {
        let mut hourly = network::hourly_table(
            &presence,
            &consensuses.flavors,
            &descriptor_hours.by_consensus,
        )?;
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

/// The version of what the jobs write for the same inputs: bumped whenever a job's method or
/// columns change, so an upgraded relaytrail rebuilds a warehouse's job datasets instead of
/// calling them up to date (2: departure kinds and ranks, judged hours across gaps, null AS
/// counts without AS data; 3: `by_authorities`, the authorities' removals ranked first).
const OUTPUT_VERSION: u32 = 3;

/// What the jobs read, as text: every source file's path, size and modification time, the
/// settings and the enrichment files. Equal text, equal outputs.
fn input_signature(root: &Path, config: &JobConfig, enricher: &Enricher) -> Result<String> {
    let mut lines = vec![
        format!(
            "relaytrail {} jobs {OUTPUT_VERSION}",
            env!("CARGO_PKG_VERSION")
        ),
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
