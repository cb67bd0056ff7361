//! Studies described by `pipelines/*.toml`: which archives, which AS / country data files,
//! the job and attribution settings, and where the warehouse and report go.
//! `relaytrail run <pipeline>` runs import → jobs → attribute → report; the import skips
//! inputs the manifest already holds and the jobs skip work whose inputs are unchanged.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::Deserialize;

use crate::jobs::attribution::AttributionConfig;
use crate::jobs::enrich::Enricher;
use crate::jobs::{load_settings, JobConfig, JobSet};

/// The `[inputs]` table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Inputs {
    /// Archive folders, tarballs or descriptor files (relative to the working directory).
    pub archives: Vec<PathBuf>,
    /// IP → AS data files (`PATH[@YYYY-MM-DD]`).
    #[serde(default)]
    pub asn: Vec<String>,
    /// IP → country data files.
    #[serde(default)]
    pub geoip: Vec<String>,
    pub warehouse: PathBuf,
    pub report: PathBuf,
}

#[derive(Debug, Clone, Deserialize)]
struct PipelineFile {
    inputs: Inputs,
    /// Free text shown by `run`.
    #[serde(default)]
    description: Option<String>,
    // The settings tables are read by `load_settings`; accepted here as opaque tables.
    #[serde(default)]
    #[allow(dead_code)]
    jobs: Option<toml::Table>,
    #[serde(default)]
    #[allow(dead_code)]
    attribution: Option<toml::Table>,
    /// Relay lists to watch: `name = "path"` (relative to the working directory).
    #[serde(default)]
    watchlists: std::collections::BTreeMap<String, PathBuf>,
}

/// A parsed pipeline file.
pub struct Pipeline {
    pub path: PathBuf,
    pub description: Option<String>,
    pub inputs: Inputs,
    pub watchlists: std::collections::BTreeMap<String, PathBuf>,
    pub jobs: JobConfig,
    pub attribution: AttributionConfig,
}

impl Pipeline {
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let file: PipelineFile =
            toml::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        Ok(Pipeline {
            path: path.to_path_buf(),
            description: file.description,
            inputs: file.inputs,
            watchlists: file.watchlists,
            jobs: load_settings(Some(path), "jobs", &[])?,
            attribution: load_settings(Some(path), "attribution", &[])?,
        })
    }
}

/// Runs every stage of a pipeline. Returns the import's error count (rejected documents).
pub fn run(path: &Path, threads: usize, force: bool, quiet: bool) -> Result<usize> {
    let p = Pipeline::load(path)?;
    if let Some(d) = &p.description {
        eprintln!("{}: {d}", p.path.display());
    }
    let missing: Vec<&PathBuf> = p.inputs.archives.iter().filter(|a| !a.exists()).collect();
    if !missing.is_empty() {
        bail!(
            "{}: inputs not found: {} (download or generate them first; see the pipeline's comments)",
            p.path.display(),
            missing
                .iter()
                .map(|m| m.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let imported = crate::import::import(&crate::import::ImportOptions {
        inputs: p.inputs.archives.clone(),
        warehouse: p.inputs.warehouse.clone(),
        threads,
        force,
        progress: !quiet && std::io::IsTerminal::is_terminal(&std::io::stderr()),
        spill_rows: None,
    })?;
    eprintln!(
        "import: {} input(s) imported, {} unchanged, {} documents, {} error(s)",
        imported.inputs_imported,
        imported.inputs_unchanged,
        imported.documents_imported,
        imported.errors.len()
    );
    for (name, file) in &p.watchlists {
        let (added, name, parsed) =
            crate::jobs::watchlist::add(&p.inputs.warehouse, file, Some(name))?;
        if !matches!(added, crate::jobs::watchlist::Added::Unchanged) {
            for line in parsed.report(&file.display().to_string(), &name, 10) {
                eprintln!("{line}");
            }
        }
    }
    let enricher = Enricher::load(&p.inputs.asn, &p.inputs.geoip)?;
    let jobs = crate::jobs::run(
        &p.inputs.warehouse,
        JobSet::All,
        &p.jobs,
        &enricher,
        force,
        quiet,
    )?;
    if jobs.up_to_date {
        eprintln!("jobs: up to date");
    } else {
        eprintln!(
            "jobs: {} consensuses in {} segment(s) without a gap over {} h; {} sessions of {} relays; {} removal event(s), {} outage(s), {} join burst(s) in {:.1} s",
            jobs.consensuses,
            jobs.segments,
            p.jobs.max_gap_hours,
            jobs.sessions,
            jobs.relays,
            jobs.removal_events,
            jobs.outages,
            jobs.join_bursts,
            jobs.seconds
        );
    }
    let actors = crate::jobs::attribution::run(&p.inputs.warehouse, &p.attribution, quiet)?;
    eprintln!(
        "attribute: {} actors ({} linked across removals)",
        actors.actors, actors.return_links
    );
    let report = crate::report::build(&p.inputs.warehouse, &p.inputs.report)?;
    eprintln!("report: {}", report.index.display());
    Ok(imported.errors.len())
}
