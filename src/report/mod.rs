//! The report: a self-contained `index.html` (inline SVG charts and one small inline script
//! that sorts tables; opens from disk, fetches nothing), `summary.md`, and Parquet copies of
//! the tables it shows, built from the warehouse's job and attribution datasets. It is written
//! for an analyst: undeclared groups first, then declared operators, each removal event with
//! the actors and watchlists that lost relays in it, each watchlist's presence over time, and
//! the coverage of the data with every gap visible.
//!
//! This file reads the datasets and assembles the page and the files; each part of the page
//! has a file of its own: `header` (head, title, headline counts, navigation), `network`,
//! `actors`, `events` (removal events, operator departures, outages, join bursts),
//! `watchlists`, `coverage` and `provenance`; `summary` writes `summary.md`. `data` reads
//! datasets and columns for them all, [`svg`] draws the charts and [`tables`] the tables.

mod actors;
mod coverage;
mod data;
mod events;
mod header;
mod network;
mod provenance;
mod summary;
pub mod svg;
pub mod tables;
mod watchlists;

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use polars::prelude::*;

use crate::jobs::columns::floats;
use crate::jobs::io::write_atomic;
use actors::{Ranking, Timelines};
use data::{read, times_ms};
use events::{Holders, Kinds};
use header::Headline;
use network::NetworkCharts;
use tables::SORT_SCRIPT;

/// Tables copied next to the report.
const TABLES: [&str; 13] = [
    "coverage",
    "actors",
    "actor_members",
    "actor_timeline",
    "removal_events",
    "removal_event_relays",
    "outages",
    "join_bursts",
    "network_hourly",
    "relays",
    "watchlists",
    "watchlist_presence",
    "watchlist_relays",
];

/// What `build` wrote.
pub struct ReportSummary {
    pub index: PathBuf,
    pub actors: usize,
}

/// Writes the report for the warehouse at `root` into `out`.
pub fn build(root: &Path, out: &Path) -> Result<ReportSummary> {
    let hourly = read(root, "network_hourly")?
        .context("no network_hourly dataset: run `relaytrail jobs` first")?;
    let actors =
        read(root, "actors")?.context("no actors dataset: run `relaytrail attribute` first")?;
    let members = read(root, "actor_members")?.context("no actor_members dataset")?;
    let timeline = read(root, "actor_timeline")?.context("no actor_timeline dataset")?;
    let removals = read(root, "removal_events")?;
    let removal_relays = read(root, "removal_event_relays")?;
    let outages = read(root, "outages")?;
    let bursts = read(root, "join_bursts")?;
    let imports = read(root, "imports")?;
    let errors = read(root, "import_errors")?;
    let coverage = read(root, "coverage")?;
    let lists = crate::jobs::watchlist::load(root)?;
    let list_presence = read(root, "watchlist_presence")?;
    let list_relays = read(root, "watchlist_relays")?;

    let hours = times_ms(&hourly, "valid_after")?;
    // Gaps of the data (between coverage segments): shaded, and no line crosses them.
    let gaps = coverage::gaps(coverage.as_ref())?;
    // Removal events split by kind: authority-style removals, operators switching off.
    let removals = removals.map(events::by_rank).transpose()?;
    let kinds = Kinds::of(removals.as_ref())?;
    let markers = network::markers(removals.as_ref(), outages.as_ref(), &kinds)?;
    let network_charts = NetworkCharts::of(&hourly, &hours, &markers, &gaps)?;
    // Actors: undeclared groups first, each kind ranked by its highest guard, middle or exit
    // probability in one consensus, then by size.
    let ranking = Ranking::of(&actors)?;
    let ranked = ranking.split();
    let timelines = Timelines::of(&timeline, &ranked, &gaps)?;
    // Who holds each relay: its actor and the watchlists listing it.
    let holders = Holders::of(&members, &lists)?;

    // The page.
    let mut html = String::new();
    let first = hours.first().copied().unwrap_or(0);
    let last = hours.last().copied().unwrap_or(0);
    html.push_str(&header::top(root, &hours, first, last));
    if let Some(c) = &coverage {
        html.push_str(&coverage::summary(c, &gaps)?);
    }
    let max_relays = floats(&hourly, "relays")?.into_iter().fold(0.0, f64::max);
    let headline = Headline {
        max_relays,
        undeclared: ranked.undeclared.len(),
        unknown: ranked.unknown.len(),
        declared: ranked.declared.len(),
        descriptor_coverage: coverage::descriptor_share(&hourly)?,
        removals: kinds.count("removal"),
        other_departures: kinds.removals() - kinds.count("removal"),
        outages: outages.as_ref().map_or(0, DataFrame::height),
        bursts: bursts.as_ref().map_or(0, DataFrame::height),
        watchlists: lists.len(),
    };
    html.push_str(&headline.cards());
    html.push_str(header::NAV);
    html.push_str(&network_charts.section());
    html.push_str(&actors::sections(&actors, &members, &ranked, &timelines)?);
    html.push_str(&events::sections(
        removals.as_ref(),
        removal_relays.as_ref(),
        outages.as_ref(),
        bursts.as_ref(),
        &kinds,
        &holders,
    )?);
    html.push_str(&watchlists::section(
        &lists,
        list_presence.as_ref(),
        list_relays.as_ref(),
        &removals,
        &gaps,
    )?);
    if let Some(c) = &coverage {
        html.push_str(&coverage::section(c, &hourly)?);
    }
    html.push_str(&provenance::section(imports.as_ref(), errors.as_ref())?);
    html.push_str("<p class=\"note\">Tables: <code>tables/*.parquet</code> next to this page. Methods: docs/warehouse.md and docs/attribution.md of relaytrail.</p>");
    html.push_str(SORT_SCRIPT);
    html.push_str("</body></html>");

    // Files.
    fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let index = out.join("index.html");
    write_atomic(&index, html.as_bytes())?;
    let summary = summary::markdown(
        &hours,
        max_relays,
        &actors,
        &ranking,
        &ranked,
        removals.as_ref(),
        &kinds,
    )?;
    write_atomic(&out.join("summary.md"), summary.as_bytes())?;
    let tables = out.join("tables");
    fs::create_dir_all(&tables)?;
    for t in TABLES {
        let source = root.join(t).join("part-0.parquet");
        if source.is_file() {
            let bytes = fs::read(&source)?;
            write_atomic(&tables.join(format!("{t}.parquet")), &bytes)?;
        }
    }
    Ok(ReportSummary {
        index,
        actors: ranking.count(),
    })
}
