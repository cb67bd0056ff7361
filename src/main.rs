//! The `relaytrail` command line (clap). Each subcommand hands its options to the library.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// mimalloc reuses the memory freed after each month of consensus entries for the next; with
/// glibc's per-thread arenas the jobs' peak RSS grew with every month processed.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// How the allocator trades memory for time. The importer re-allocates its member buffers
/// within milliseconds but must stay within its memory bound: it keeps freed memory a second.
/// The jobs' month pass and the attribution free gigabytes and take them again: kept for
/// ever, they set the peak RSS (a year of 7,000 relays: 4.3 GiB); returned at once (the
/// setting before), a third of the jobs' CPU time went to the kernel zeroing the re-faulted
/// pages, most of them 2 MiB transparent huge pages that mimalloc asks for. So the analysis
/// commands keep freed memory a second too and run without transparent huge pages: on that
/// year the jobs' kernel time falls from 31 s to 17 s for 2.7–2.9 GiB (2.7 GiB before). The
/// generator keeps memory (never purged). mimalloc's own `MIMALLOC_PURGE_DELAY`
/// (milliseconds) in the environment overrides the delay.
fn tune_allocator(purge_delay_milliseconds: Option<i64>, huge_pages: bool) {
    // mimalloc's `mi_option_purge_delay` (v2 and v3): -1 = never purge.
    const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: sets a process-wide allocator option; valid at any time.
        unsafe {
            libmimalloc_sys::mi_option_set(
                MI_OPTION_PURGE_DELAY,
                purge_delay_milliseconds.unwrap_or(-1),
            )
        };
    }
    #[cfg(target_os = "linux")]
    if !huge_pages {
        // SAFETY: a process-wide flag the kernel checks before it backs memory with huge
        // pages (it overrides mimalloc's MADV_HUGEPAGE); no memory is touched.
        unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0) };
    }
}

#[derive(Parser)]
#[command(
    name = "relaytrail",
    version,
    about = "Tor network history: CollecTor archives to a Parquet warehouse and actor attribution"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a study (pipelines/*.toml): import, jobs, attribution and report, skipping
    /// what is up to date.
    Run(RunArgs),
    /// Import CollecTor tarballs, folders and descriptor files into the warehouse.
    ///
    /// Exit status: 0 when everything imported cleanly, 1 when some documents, lines or
    /// inputs were rejected (see the `import_errors` dataset), 2 when the import failed.
    Import(ImportArgs),
    /// Build the derived datasets: relay sessions and lifetimes, path-selection
    /// probabilities, the hourly network series, removal events, outages and join bursts.
    Jobs(JobsArgs),
    /// Group relays into actors with evidence, across removal events (needs `jobs` first).
    Attribute(AttributeArgs),
    /// Score the attribution and removal events against a generator's ground truth or a
    /// published relay list (a watchlist).
    Evaluate(EvaluateArgs),
    /// Relay lists published by researchers: add one to the warehouse, or list them.
    #[command(subcommand)]
    Watchlist(WatchlistCommand),
    /// Write the HTML report (index.html with inline charts, summary.md, Parquet tables).
    Report(ReportArgs),
    /// Generate a synthetic CollecTor archive with planted actors and ground truth.
    Generate(relaytrail::synth::GenerateArgs),
    /// Decompress a file to nowhere and report the time (the benchmark's baseline).
    #[command(hide = true)]
    Decode { file: PathBuf },
}

#[derive(clap::Args)]
struct ImportArgs {
    /// Tarballs (.tar.xz, .tar.gz, .tar), plain descriptor files, or folders to scan.
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// Warehouse folder.
    #[arg(long, default_value = "data/warehouse")]
    warehouse: PathBuf,
    /// Inputs decoded at once (each uses a decoder and a parser thread).
    #[arg(long, default_value_t = default_threads())]
    threads: usize,
    /// Import inputs again even if the manifest lists their content.
    #[arg(long)]
    force: bool,
    /// Do not draw progress bars.
    #[arg(long)]
    quiet: bool,
    /// Rows buffered per partition before a sorted run is spilled to disk (lower = less memory).
    #[arg(long)]
    spill_rows: Option<usize>,
}

#[derive(clap::Args)]
struct JobsArgs {
    /// Which datasets to build.
    #[arg(value_enum, default_value = "all")]
    set: relaytrail::jobs::JobSet,
    /// Warehouse folder.
    #[arg(long, default_value = "data/warehouse")]
    warehouse: PathBuf,
    /// IP → AS data: iptoasn TSV or MaxMind / DB-IP ASN .mmdb; `PATH@YYYY-MM-DD` dates a
    /// snapshot (repeat the option for several dated snapshots).
    #[arg(long = "asn-db", value_name = "PATH[@DATE]")]
    asn_db: Vec<String>,
    /// IP → country data: tor's `geoip` file or a GeoLite2-Country .mmdb (repeatable).
    #[arg(long, value_name = "PATH[@DATE]")]
    geoip: Vec<String>,
    /// Read settings from the `[jobs]` table of a pipeline file (pipelines/*.toml).
    #[arg(long)]
    pipeline: Option<PathBuf>,
    /// Override a job setting, e.g. `--set burst_min_relays_1h=20` (see docs/warehouse.md).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    settings: Vec<String>,
    /// Rebuild even if the inputs are unchanged since the last run.
    #[arg(long)]
    force: bool,
    /// Do not draw progress bars.
    #[arg(long)]
    quiet: bool,
}

#[derive(clap::Args)]
struct AttributeArgs {
    /// Warehouse folder.
    #[arg(long, default_value = "data/warehouse")]
    warehouse: PathBuf,
    /// Read settings from the `[attribution]` table of a pipeline file (pipelines/*.toml).
    #[arg(long)]
    pipeline: Option<PathBuf>,
    /// Override a setting, e.g. `--set link_threshold=3` or `--set weights.asn=0.4`
    /// (see docs/attribution.md).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    settings: Vec<String>,
    /// Do not draw the progress line.
    #[arg(long)]
    quiet: bool,
    /// Write nothing; print why this relay is or is not in an actor: every candidate partner
    /// with all the evidence between them, strongest first (`--explain-partners` of them).
    #[arg(long, value_name = "FINGERPRINT")]
    explain: Option<String>,
    #[arg(long, default_value_t = 30)]
    explain_partners: usize,
}

#[derive(clap::Args)]
struct RunArgs {
    /// The pipeline file.
    pipeline: PathBuf,
    /// Inputs decoded at once by the import.
    #[arg(long, default_value_t = default_threads())]
    threads: usize,
    /// Redo every stage even if its inputs are unchanged.
    #[arg(long)]
    force: bool,
    /// Do not draw progress bars.
    #[arg(long)]
    quiet: bool,
}

#[derive(clap::Args)]
struct ReportArgs {
    /// Warehouse folder.
    #[arg(long, default_value = "data/warehouse")]
    warehouse: PathBuf,
    /// Output folder.
    #[arg(long, default_value = "data/reports/latest")]
    out: PathBuf,
}

#[derive(clap::Args)]
struct EvaluateArgs {
    /// Warehouse folder.
    #[arg(long, default_value = "data/warehouse")]
    warehouse: PathBuf,
    /// The generator's ground truth: the archive folder or its `ground_truth` folder.
    #[arg(long, required_unless_present = "watchlist")]
    truth: Option<PathBuf>,
    /// A watchlist (`relaytrail watchlist list`) to score the actors and removal events
    /// against (repeatable).
    #[arg(long)]
    watchlist: Vec<String>,
}

#[derive(Subcommand)]
enum WatchlistCommand {
    /// Add a relay list (one fingerprint a line, CSV/TSV with a `fingerprint` column, a
    /// mysql/psql table, Onionoo details JSON); the same file again changes nothing, a changed
    /// file replaces the list of that name. `relaytrail jobs` then computes its presence.
    Add {
        file: PathBuf,
        /// Name of the list (default: the file name without extension).
        #[arg(long)]
        name: Option<String>,
        /// Warehouse folder.
        #[arg(long, default_value = "data/warehouse")]
        warehouse: PathBuf,
    },
    /// The lists of a warehouse.
    List {
        /// Warehouse folder.
        #[arg(long, default_value = "data/warehouse")]
        warehouse: PathBuf,
    },
}

fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// How many import errors are printed before the rest are only counted.
const ERRORS_SHOWN: usize = 20;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Import(_) => tune_allocator(Some(1000), true),
        Command::Generate(_) => tune_allocator(None, true),
        _ => tune_allocator(Some(1000), false),
    }
    let result = match cli.command {
        Command::Import(args) => run_import(args),
        Command::Jobs(args) => run_jobs(args),
        Command::Attribute(args) => run_attribute(args),
        Command::Run(args) => {
            relaytrail::pipeline::run(&args.pipeline, args.threads, args.force, args.quiet).map(
                |errors| {
                    if errors == 0 {
                        ExitCode::SUCCESS
                    } else {
                        ExitCode::from(1)
                    }
                },
            )
        }
        Command::Report(args) => relaytrail::report::build(&args.warehouse, &args.out).map(|r| {
            eprintln!("report: {} ({} actors)", r.index.display(), r.actors);
            ExitCode::SUCCESS
        }),
        Command::Evaluate(args) => run_evaluate(args),
        Command::Watchlist(command) => run_watchlist(command),
        Command::Generate(args) => relaytrail::synth::generate(&args).map(|()| ExitCode::SUCCESS),
        Command::Decode { file } => decode(&file),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run_evaluate(args: EvaluateArgs) -> anyhow::Result<ExitCode> {
    use relaytrail::jobs::attribution::evaluate;
    if let Some(truth) = &args.truth {
        print!("{}", evaluate::evaluate(&args.warehouse, truth)?.render());
    }
    for name in &args.watchlist {
        if args.truth.is_some() {
            println!();
        }
        print!(
            "{}",
            evaluate::evaluate_watchlist(&args.warehouse, name)?.render()
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn run_watchlist(command: WatchlistCommand) -> anyhow::Result<ExitCode> {
    use relaytrail::jobs::watchlist;
    match command {
        WatchlistCommand::Add {
            file,
            name,
            warehouse,
        } => {
            let (added, name, parsed) = watchlist::add(&warehouse, &file, name.as_deref())?;
            for line in parsed.report(&file.display().to_string(), &name, ERRORS_SHOWN) {
                eprintln!("{line}");
            }
            eprintln!(
                "watchlist {name}: {}",
                match added {
                    watchlist::Added::New => "added (run `relaytrail jobs` for its presence)",
                    watchlist::Added::Replaced =>
                        "replaced the earlier list of that name (run `relaytrail jobs`)",
                    watchlist::Added::Unchanged => "unchanged (the same file was added before)",
                }
            );
        }
        WatchlistCommand::List { warehouse } => {
            let lists = watchlist::load(&warehouse)?;
            if lists.is_empty() {
                eprintln!("{}: no watchlists", warehouse.display());
            }
            for list in lists {
                let notes = watchlist::note_counts(&warehouse, &list.name)?;
                let notes: Vec<String> = notes.iter().map(|(k, c)| format!("{c} {k}")).collect();
                println!(
                    "{}	{} relays	{}	added {}	{}	{}",
                    list.name,
                    list.fingerprints.len(),
                    list.source_file,
                    &relaytrail::descriptor::values::format_timestamp(list.added_at / 1000)[..16],
                    list.description.lines().next().unwrap_or(""),
                    notes.join(", ")
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn decode(file: &std::path::Path) -> anyhow::Result<ExitCode> {
    let start = std::time::Instant::now();
    let bytes = relaytrail::archive::decode_only(file)?;
    let seconds = start.elapsed().as_secs_f64();
    println!(
        "decoded {bytes} bytes in {seconds:.3} s ({:.1} MB/s)",
        bytes as f64 / seconds / 1e6
    );
    Ok(ExitCode::SUCCESS)
}

fn run_import(args: ImportArgs) -> anyhow::Result<ExitCode> {
    let options = relaytrail::import::ImportOptions {
        inputs: args.inputs,
        warehouse: args.warehouse.clone(),
        threads: args.threads,
        force: args.force,
        progress: !args.quiet && std::io::stderr().is_terminal(),
        spill_rows: args.spill_rows,
    };
    let summary = relaytrail::import::import(&options)?;
    for e in summary.errors.iter().take(ERRORS_SHOWN) {
        eprintln!("rejected: {e}");
    }
    if summary.errors.len() > ERRORS_SHOWN {
        eprintln!(
            "… and {} more (see the import_errors dataset)",
            summary.errors.len() - ERRORS_SHOWN
        );
    }
    let rows: Vec<String> = summary
        .rows
        .iter()
        .map(|(d, n)| format!("{d} {n}"))
        .collect();
    eprintln!(
        "imported {} input(s) ({} unchanged, {} duplicate{}): {} documents imported, {} skipped (types not imported yet), {} error(s); rows: {}; warehouse {} (parsing {:.1} s, merging {:.1} s)",
        summary.inputs_imported,
        summary.inputs_unchanged,
        summary.inputs_duplicate,
        if summary.files_passed_over > 0 { format!(", {} metadata files passed over", summary.files_passed_over) } else { String::new() },
        summary.documents_imported,
        summary.documents_skipped,
        summary.errors.len(),
        if rows.is_empty() { "none".to_string() } else { rows.join(", ") },
        args.warehouse.display(),
        summary.stage_seconds,
        summary.merge_seconds
    );
    Ok(if summary.errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn run_jobs(args: JobsArgs) -> anyhow::Result<ExitCode> {
    let config = relaytrail::jobs::load_settings::<relaytrail::jobs::JobConfig>(
        args.pipeline.as_deref(),
        "jobs",
        &args.settings,
    )?;
    let enricher = relaytrail::jobs::enrich::Enricher::load(&args.asn_db, &args.geoip)?;
    let summary = relaytrail::jobs::run(
        &args.warehouse,
        args.set,
        &config,
        &enricher,
        args.force,
        args.quiet,
    )?;
    if summary.up_to_date {
        eprintln!(
            "jobs: {} is up to date (inputs unchanged; --force rebuilds)",
            args.warehouse.display()
        );
    } else {
        eprintln!(
            "jobs: {} consensuses in {} segment(s) without a gap over {} h, {} entries -> {} sessions of {} relays; {} removal event(s), {} outage(s), {} join burst(s); {} file(s) written in {:.1} s",
            summary.consensuses,
            summary.segments,
            config.max_gap_hours,
            summary.entries,
            summary.sessions,
            summary.relays,
            summary.removal_events,
            summary.outages,
            summary.join_bursts,
            summary.written.len(),
            summary.seconds
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn run_attribute(args: AttributeArgs) -> anyhow::Result<ExitCode> {
    use relaytrail::jobs::attribution;
    let config = relaytrail::jobs::load_settings::<attribution::AttributionConfig>(
        args.pipeline.as_deref(),
        "attribution",
        &args.settings,
    )?;
    if let Some(fingerprint) = &args.explain {
        print!(
            "{}",
            attribution::explain::explain(
                &args.warehouse,
                &config,
                fingerprint,
                args.explain_partners
            )?
        );
        return Ok(ExitCode::SUCCESS);
    }
    let started = std::time::Instant::now();
    let s = attribution::run(&args.warehouse, &config, args.quiet)?;
    let phases: Vec<String> = s
        .phase_seconds
        .iter()
        .map(|(name, seconds)| format!("{name} {seconds:.1} s"))
        .collect();
    eprintln!(
        "attribute: {} relays, {} links, {} groups -> {} actors ({} linked across removals) in {:.1} s ({})",
        s.relays,
        s.links,
        s.groups,
        s.actors,
        s.return_links,
        started.elapsed().as_secs_f64(),
        phases.join(", ")
    );
    Ok(ExitCode::SUCCESS)
}
