//! Synthetic CollecTor archive generator (`relaytrail generate`): simulates a Tor network with
//! planted actors from a scenario file and writes monthly consensus, server-descriptor, vote and
//! exit-list tarballs in CollecTor's `archive/` layout, an AS table and the ground truth.
//!
//! Pipeline: [`scenario`] → [`sim::build`] (the whole network as data) → descriptor digests →
//! tarball jobs ([`consensus`], [`descriptor`], [`exitlist`], [`vote`] rendered in parallel
//! chunks, one xz stream per tarball via [`archive`]) → [`truth`]. All randomness comes from
//! [`rng`] streams keyed by (seed, purpose, index), so the output is byte-identical for a seed.
//!
//! The rooms, lowest first; a file imports only from rooms below its own, never from this one:
//! - helpers: [`rng`], [`time`], [`keys`], [`names`], [`asn`], [`policy`], [`versions`],
//!   [`intervals`] (presence hour intervals), `authorities` (the nine directory authorities),
//!   [`scenario`] (the scenario file);
//! - the world model: [`world`] (the simulated network as data and the queries the writers ask
//!   of it);
//! - its construction: `builder` (the run's parameters and the context every step adds
//!   relays to), `population` (honest background relays and operators), `actors` (planted
//!   actors and their waves), `negatives` (hard negatives), `presence` (up/down, tor processes,
//!   shared restarts), `events` (removals, return waves, outages, missing consensus hours),
//!   `addresses` (dynamic and reused addresses), run in order by [`sim`];
//! - what the documents share: `status` (consensus and vote headers, router entries and flags),
//!   [`voteplan`] (which authority lists which relay in the votes around events);
//! - the writers: [`consensus`], [`descriptor`], [`vote`], [`exitlist`], [`truth`] and
//!   [`archive`] (tar + xz);
//! - this file: the options, the tarball jobs and their parallel writing ([`generate`]).

mod actors;
mod addresses;
pub mod archive;
pub mod asn;
mod authorities;
mod builder;
pub mod consensus;
pub mod descriptor;
mod events;
pub mod exitlist;
pub mod intervals;
pub mod keys;
pub mod names;
mod negatives;
pub mod policy;
mod population;
mod presence;
pub mod rng;
pub mod scenario;
pub mod sim;
mod status;
pub mod time;
pub mod truth;
pub mod versions;
pub mod vote;
pub mod voteplan;
pub mod world;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use serde::Serialize;

use archive::{TarXz, XzPreset};
use scenario::Scenario;
use time::{Month, HOUR};
use voteplan::VotePlan;
use world::World;

/// Options of `relaytrail generate`.
#[derive(Debug, Clone, clap::Args)]
pub struct GenerateArgs {
    /// Output folder (CollecTor `archive/` layout is created below it).
    #[arg(long)]
    pub out: PathBuf,
    /// First month of the archive (YYYY-MM).
    #[arg(long, default_value = "2021-08")]
    pub start: String,
    /// Number of months.
    #[arg(long, default_value_t = 5)]
    pub months: u32,
    /// Background relays running at once (approximately); actor sizes scale with it.
    #[arg(long, default_value_t = 1500)]
    pub relays: u32,
    /// Random seed: the same arguments and seed give byte-identical files.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Scenario TOML (default: the embedded data/scenarios/default.toml).
    #[arg(long)]
    pub scenario: Option<PathBuf>,
    /// xz preset, e.g. 4hc, 1, 6hc, 9e (default: the scenario's, normally 4hc).
    #[arg(long)]
    pub xz_preset: Option<String>,
    /// Expected hours without consensus per month (overrides the scenario).
    #[arg(long)]
    pub missing_per_month: Option<f64>,
    /// Tarballs compressed concurrently (default: number of CPUs).
    #[arg(long)]
    pub threads: Option<usize>,
    /// No progress bar and no summary.
    #[arg(long)]
    pub quiet: bool,
}

/// Library-level options (what tests and other modules pass).
#[derive(Debug, Clone)]
pub struct GenerateOptions {
    pub out: PathBuf,
    pub start: String,
    pub months: u32,
    pub relays: u32,
    pub seed: u64,
    /// Scenario file; `None` = embedded default (unless `scenario_toml` is set).
    pub scenario: Option<PathBuf>,
    /// Inline scenario TOML (takes precedence over `scenario`).
    pub scenario_toml: Option<String>,
    pub xz_preset: Option<String>,
    pub missing_per_month: Option<f64>,
    pub threads: Option<usize>,
    pub progress: bool,
}

impl GenerateOptions {
    /// Defaults of the CLI for an output folder.
    pub fn new(out: impl Into<PathBuf>) -> GenerateOptions {
        GenerateOptions {
            out: out.into(),
            start: "2021-08".into(),
            months: 5,
            relays: 1500,
            seed: 1,
            scenario: None,
            scenario_toml: None,
            xz_preset: None,
            missing_per_month: None,
            threads: None,
            progress: false,
        }
    }
}

impl From<&GenerateArgs> for GenerateOptions {
    fn from(a: &GenerateArgs) -> Self {
        GenerateOptions {
            out: a.out.clone(),
            start: a.start.clone(),
            months: a.months,
            relays: a.relays,
            seed: a.seed,
            scenario: a.scenario.clone(),
            scenario_toml: None,
            xz_preset: a.xz_preset.clone(),
            missing_per_month: a.missing_per_month,
            threads: a.threads,
            progress: !a.quiet,
        }
    }
}

/// One written tarball.
#[derive(Debug, Clone, Serialize)]
pub struct TarballReport {
    pub path: PathBuf,
    pub kind: &'static str,
    pub month: String,
    pub members: u64,
    pub raw_bytes: u64,
    pub compressed_bytes: u64,
    pub seconds: f64,
}

/// What a run produced.
#[derive(Debug, Clone, Serialize)]
pub struct GenerateReport {
    pub out: PathBuf,
    pub xz_preset: String,
    pub relays_simulated: usize,
    pub relays_listed: usize,
    pub descriptors: usize,
    pub consensuses: usize,
    pub missing_consensuses: usize,
    pub exit_lists: usize,
    pub tarballs: Vec<TarballReport>,
    pub seconds: f64,
}

/// CLI entry: generates and prints a summary including compressed sizes.
pub fn generate(args: &GenerateArgs) -> anyhow::Result<()> {
    let opts = GenerateOptions::from(args);
    let rep = generate_archive(&opts)?;
    if args.quiet {
        return Ok(());
    }
    println!(
        "generated {} in {:.1} s: {} relays ({} listed), {} consensuses ({} hours missing), {} server descriptors, {} exit lists; xz preset {}",
        rep.out.display(),
        rep.seconds,
        rep.relays_simulated,
        rep.relays_listed,
        rep.consensuses,
        rep.missing_consensuses,
        rep.descriptors,
        rep.exit_lists,
        rep.xz_preset
    );
    println!(
        "{:<64} {:>8} {:>12} {:>11} {:>7}",
        "tarball", "members", "tar bytes", "xz bytes", "secs"
    );
    for t in &rep.tarballs {
        println!(
            "{:<64} {:>8} {:>12} {:>11} {:>7.1}",
            t.path.strip_prefix(&rep.out).unwrap_or(&t.path).display(),
            t.members,
            t.raw_bytes,
            t.compressed_bytes,
            t.seconds
        );
    }
    let cons = rep
        .tarballs
        .iter()
        .filter(|t| t.kind == "consensuses" && t.members >= 600);
    if let Some(full) = cons.map(|t| t.compressed_bytes).max() {
        println!(
            "largest full consensus month: {:.1} MB for --relays {}; real CollecTor months 2020-2021 (6,500-7,000 relays): 19.4-24.9 MB",
            full as f64 / 1e6,
            opts.relays
        );
    }
    Ok(())
}

/// The parameters after resolving defaults and overrides (written to `scenario.json`).
#[derive(Debug, Serialize)]
struct ResolvedRun<'a> {
    seed: u64,
    start: String,
    months: u32,
    relays: u32,
    hours: i64,
    xz_preset: String,
    missing_consensuses_per_month: f64,
    scenario: &'a Scenario,
    actors: Vec<serde_json::Value>,
}

/// Which tarball a job writes.
#[derive(Debug, Clone, Copy)]
enum JobKind {
    Consensuses,
    ServerDescriptors,
    ExitLists,
    Votes,
}

#[derive(Debug, Clone, Copy)]
struct Job {
    kind: JobKind,
    month: Month,
}

/// Library entry: generates the archive described by `opts`.
pub fn generate_archive(opts: &GenerateOptions) -> anyhow::Result<GenerateReport> {
    let t0 = Instant::now();
    let sc = match &opts.scenario_toml {
        Some(text) => Scenario::parse(text)?,
        None => Scenario::load(opts.scenario.as_deref())?,
    };
    anyhow::ensure!(opts.months >= 1, "--months must be at least 1");
    anyhow::ensure!(opts.relays >= 20, "--relays must be at least 20");
    let first = Month::parse(&opts.start)?;
    let start = first.start();
    let end = first.offset(opts.months as i64).start();
    let hours = (end - start) / HOUR;
    let preset = XzPreset::parse(opts.xz_preset.as_deref().unwrap_or(&sc.network.xz_preset))?;
    let missing_per_month = opts
        .missing_per_month
        .unwrap_or(sc.network.missing_consensuses_per_month);
    let params = sim::SimParams {
        seed: opts.seed,
        start,
        hours,
        relays: opts.relays,
        missing_per_month,
        months: opts.months,
    };

    let pb = if opts.progress {
        let pb = ProgressBar::new(0);
        pb.set_style(
            ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {msg:28} {bar:36} {pos}/{len} ({eta})",
            )
            .expect("valid template"),
        );
        pb.enable_steady_tick(std::time::Duration::from_millis(200));
        pb
    } else {
        ProgressBar::hidden()
    };
    pb.set_message("simulating the network");
    let mut world = sim::build(&sc, &params)?;

    pb.set_message("descriptor digests");
    pb.set_length(world.descs.len() as u64);
    let digests: Vec<[u8; 20]> = (0..world.descs.len())
        .into_par_iter()
        .map(|d| {
            let r = descriptor::render(&world, d).1;
            pb.inc(1);
            r
        })
        .collect();
    for (d, g) in world.descs.iter_mut().zip(digests) {
        d.digest = g;
    }

    // Jobs: per month three tarballs, plus the server descriptors published before the start
    // (referenced by the first consensuses) in the previous month's tarball.
    let mut jobs = Vec::new();
    for k in 0..opts.months as i64 {
        jobs.push(Job {
            kind: JobKind::Consensuses,
            month: first.offset(k),
        });
    }
    for k in 0..opts.months as i64 {
        jobs.push(Job {
            kind: JobKind::ServerDescriptors,
            month: first.offset(k),
        });
    }
    if world.descs.iter().any(|d| d.published < start) {
        jobs.push(Job {
            kind: JobKind::ServerDescriptors,
            month: first.offset(-1),
        });
    }
    for k in 0..opts.months as i64 {
        jobs.push(Job {
            kind: JobKind::ExitLists,
            month: first.offset(k),
        });
    }
    let votes = VotePlan::new(&world, i64::from(sc.network.votes_around_events_hours));
    for k in 0..opts.months as i64 {
        let month = first.offset(k);
        let (a, b) = (month.start(), month.end());
        if votes.hours.iter().any(|&h| (a..b).contains(&world.va(h))) {
            jobs.push(Job {
                kind: JobKind::Votes,
                month,
            });
        }
    }
    let total_docs = world.descs.len() as u64 + 2 * hours as u64 - world.missing.len() as u64
        + (votes.hours.len() * vote::AUTHORITIES_COUNT) as u64;
    pb.set_position(0);
    pb.set_length(total_docs);
    pb.set_message(format!("writing {} tarballs", jobs.len()));

    let threads = opts
        .threads
        .unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2)
        })
        .clamp(1, jobs.len());
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<(usize, anyhow::Result<TarballReport>)>> = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= jobs.len() {
                    break;
                }
                let r = write_job(&world, &votes, &opts.out, jobs[i], preset, &pb);
                results.lock().expect("no poisoned lock").push((i, r));
            });
        }
    });
    let mut results = results.into_inner().expect("no poisoned lock");
    results.sort_by_key(|r| r.0);
    let tarballs = results
        .into_iter()
        .map(|r| r.1)
        .collect::<anyhow::Result<Vec<_>>>()?;

    pb.set_message("ground truth");
    let gt = opts.out.join("ground_truth");
    let relays_listed = truth::write(&world, &votes, &gt)?;
    let resolved = ResolvedRun {
        seed: opts.seed,
        start: first.label(),
        months: opts.months,
        relays: opts.relays,
        hours,
        xz_preset: preset.to_string(),
        missing_consensuses_per_month: missing_per_month,
        scenario: &sc,
        actors: resolved_actors(&world),
    };
    truth::write_scenario(&gt, &resolved)?;
    let asn_dir = opts.out.join("asn");
    std::fs::create_dir_all(&asn_dir)?;
    std::fs::write(asn_dir.join("ip2asn-v4.tsv"), asn::ip2asn_tsv())?;
    pb.finish_and_clear();

    Ok(GenerateReport {
        out: opts.out.clone(),
        xz_preset: preset.to_string(),
        relays_simulated: world.relays.len(),
        relays_listed,
        descriptors: world.descs.len(),
        consensuses: (hours as usize) - world.missing.len(),
        missing_consensuses: world.missing.len(),
        exit_lists: hours as usize,
        tarballs,
        seconds: t0.elapsed().as_secs_f64(),
    })
}

/// Planted actors as resolved for this run (sizes, ASes, waves), for `scenario.json`.
fn resolved_actors(w: &World) -> Vec<serde_json::Value> {
    let mut out = Vec::new();
    for (ai, a) in w.actors.iter().enumerate() {
        if world::is_honest(&a.kind) {
            continue;
        }
        let members: Vec<&world::Relay> = w.relays.iter().filter(|r| r.actor == Some(ai)).collect();
        let mut ases: Vec<u32> = members.iter().map(|r| r.asn).collect();
        ases.sort();
        ases.dedup();
        let mut waves: Vec<u32> = members.iter().filter_map(|r| r.wave).collect();
        waves.sort();
        waves.dedup();
        let wave_info: Vec<serde_json::Value> = waves
            .iter()
            .map(|&wv| {
                let m: Vec<&&world::Relay> = members.iter().filter(|r| r.wave == Some(wv)).collect();
                let first = m.iter().map(|r| r.birth).min().unwrap_or(0).max(0);
                serde_json::json!({ "wave": wv, "relays": m.len(), "first_join": time::fmt_ts(w.va(first)) })
            })
            .collect();
        out.push(serde_json::json!({
            "actor_id": a.id,
            "kind": a.kind,
            "relays_total": members.len(),
            "ases": ases,
            "waves": wave_info,
        }));
    }
    out
}

fn write_job(
    w: &World,
    votes: &VotePlan,
    out: &Path,
    job: Job,
    preset: XzPreset,
    pb: &ProgressBar,
) -> anyhow::Result<TarballReport> {
    let t0 = Instant::now();
    let label = job.month.label();
    let (kind, path) = match job.kind {
        JobKind::Consensuses => (
            "consensuses",
            out.join(format!(
                "relay-descriptors/consensuses/consensuses-{label}.tar.xz"
            )),
        ),
        JobKind::ServerDescriptors => (
            "server-descriptors",
            out.join(format!(
                "relay-descriptors/server-descriptors/server-descriptors-{label}.tar.xz"
            )),
        ),
        JobKind::ExitLists => (
            "exit-lists",
            out.join(format!("exit-lists/exit-list-{label}.tar.xz")),
        ),
        JobKind::Votes => (
            "votes",
            out.join(format!("relay-descriptors/votes/votes-{label}.tar.xz")),
        ),
    };
    let mut tar = TarXz::create(&path, preset)?;
    let first_h = (job.month.start() - w.clock.start) / HOUR;
    let last_h = ((job.month.end() - w.clock.start) / HOUR).min(w.hours());
    match job.kind {
        JobKind::Consensuses => {
            let hours: Vec<i64> = (first_h.max(0)..last_h)
                .filter(|&h| w.published(h))
                .collect();
            for chunk in hours.chunks(8) {
                let docs: Vec<String> =
                    chunk.par_iter().map(|&h| consensus::render(w, h)).collect();
                for (&h, doc) in chunk.iter().zip(docs) {
                    let va = w.va(h);
                    let c = time::civil(va);
                    let name = format!(
                        "consensuses-{label}/{:02}/{:04}-{:02}-{:02}-{:02}-00-00-consensus",
                        c.day, c.year, c.month, c.day, c.hour
                    );
                    tar.append(&name, va, doc.as_bytes())?;
                    pb.inc(1);
                }
            }
        }
        JobKind::ServerDescriptors => {
            let (a, b) = (job.month.start(), job.month.end());
            let mut ds: Vec<usize> = (0..w.descs.len())
                .filter(|&d| (a..b).contains(&w.descs[d].published))
                .collect();
            // Members grouped by relay (fingerprint, then time): a relay's descriptors share
            // their keys, so xz finds them within its dictionary (CollecTor's -9e window of
            // 64 MiB gets part of that on its file-system order; our 8 MiB one needs the help).
            ds.sort_by_key(|&d| (w.relays[w.descs[d].relay].fp, w.descs[d].published));
            for chunk in ds.chunks(4096) {
                let docs: Vec<String> = chunk
                    .par_iter()
                    .map(|&d| descriptor::render(w, d).0)
                    .collect();
                for (&d, doc) in chunk.iter().zip(docs) {
                    let hexd = hex::encode(w.descs[d].digest);
                    let name = format!(
                        "server-descriptors-{label}/{}/{}/{hexd}",
                        &hexd[..1],
                        &hexd[1..2]
                    );
                    tar.append(&name, w.descs[d].published, doc.as_bytes())?;
                    pb.inc(1);
                }
            }
        }
        JobKind::Votes => {
            let ballots: Vec<(i64, usize)> = votes
                .hours
                .iter()
                .filter(|&&h| (first_h..last_h).contains(&h))
                .flat_map(|&h| (0..vote::AUTHORITIES_COUNT).map(move |a| (h, a)))
                .collect();
            for chunk in ballots.chunks(vote::AUTHORITIES_COUNT) {
                let docs: Vec<(String, [u8; 20])> = chunk
                    .par_iter()
                    .map(|&(h, a)| vote::render(w, votes, a, h))
                    .collect();
                for (&(h, a), (doc, digest)) in chunk.iter().zip(docs) {
                    let name = vote::member_name(w, a, h, &digest);
                    tar.append(&name, vote::published(w, h), doc.as_bytes())?;
                    pb.inc(1);
                }
            }
        }
        JobKind::ExitLists => {
            let hours: Vec<i64> = (first_h.max(0)..last_h).collect();
            for chunk in hours.chunks(24) {
                let docs: Vec<String> = chunk.par_iter().map(|&h| exitlist::render(w, h)).collect();
                for (&h, doc) in chunk.iter().zip(docs) {
                    let dl = exitlist::downloaded(w, h);
                    let c = time::civil(dl);
                    let name = format!(
                        "exit-list-{label}/{:02}/{:04}-{:02}-{:02}-{:02}-{:02}-{:02}",
                        c.day, c.year, c.month, c.day, c.hour, c.minute, c.second
                    );
                    tar.append(&name, dl, doc.as_bytes())?;
                    pb.inc(1);
                }
            }
        }
    }
    let members = tar.members;
    let (raw, size) = tar
        .finish()
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(TarballReport {
        path,
        kind,
        month: label,
        members,
        raw_bytes: raw,
        compressed_bytes: size,
        seconds: t0.elapsed().as_secs_f64(),
    })
}
