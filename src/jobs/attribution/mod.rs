//! Actor attribution, run phase by phase: relay profiles ([`profile`]), links and groups
//! ([`grouping`]), returns after removals ([`returns`]), then the output tables ([`tables`]).
//! [`evaluate`] scores the result against a generator's ground truth.
//!
//! The rooms, lowest first: [`config`] (settings) and [`summary`] (what a run found);
//! [`profile`] (each relay's facts); [`rarity`] (how rare a value or hour is in its time);
//! [`signals`] (what evidence between two relays is); [`sync`] (restart / session-end hour
//! sets); [`candidates`] (which pairs are compared: blocks and join windows); [`score`] (one
//! pair's evidence and whether it links); [`grouping`] (links into groups without chaining);
//! [`signature`] (a group's infrastructure and the return test); [`burst`] (return waves
//! that formed no group); [`returns`] (which later group continues a removed one);
//! [`tables`] (`actors`, `actor_members`, `actor_timeline`). Methods: `docs/attribution.md`.

pub mod burst;
mod candidates;
mod cohort;
pub mod config;
pub mod evaluate;
pub mod explain;
mod grouping;
mod habits;
pub mod profile;
mod rarity;
mod returns;
mod score;
mod signals;
mod signature;
pub mod summary;
mod sync;
mod tables;

use std::path::Path;

use anyhow::Result;

use crate::jobs::io::write_parquet;
pub use config::{AttributionConfig, Weights};
pub use summary::{summary_path, AttributionSummary};
use tables::{actors_table, members_table, timeline_table, Actor};

/// Runs attribution over a warehouse the jobs have processed; each phase is shown on a
/// progress line (hidden with `quiet` or when stderr is not a terminal).
pub fn run(root: &Path, config: &AttributionConfig, quiet: bool) -> Result<AttributionSummary> {
    let _lock = crate::warehouse::store::Warehouse::open(root)?;
    let progress = crate::util::progress::progress_bar(5, "attribute: relay profiles", quiet);
    let mut phase_seconds = Vec::new();
    let mut phase_started = std::time::Instant::now();
    let mut phase_done = |name: &'static str| {
        phase_seconds.push((name, phase_started.elapsed().as_secs_f64()));
        phase_started = std::time::Instant::now();
        progress.inc(1);
    };
    let profiles = profile::load(root)?;
    phase_done("profiles");
    progress.set_message(format!(
        "attribute: links between {} relays",
        profiles.len()
    ));
    let mut grouping = grouping::group(&profiles, config);
    let events = profile::event_facts(root)?;
    let mut adopted = cohort::adopt_removed(&profiles, &mut grouping, &events, config);
    phase_done("links");
    progress.set_message(format!(
        "attribute: {} links, {} groups; returns after removals",
        grouping.links.len(),
        grouping.groups.len()
    ));
    let continues = returns::link_across_removals(&profiles, &mut grouping, config);
    phase_done("returns");
    progress.set_message("attribute: actors, members, timeline");

    // Actors: each group joins the actor of the earlier group it continues.
    let mut actor_of_group: Vec<usize> = Vec::with_capacity(grouping.groups.len());
    let mut actors: Vec<Actor> = Vec::new();
    for (g, continued) in continues.iter().enumerate() {
        let actor = match continued {
            Some(m) if m.earlier < g => actor_of_group[m.earlier],
            _ => {
                actors.push(Actor {
                    id: String::new(),
                    groups: Vec::new(),
                    members: Vec::new(),
                });
                actors.len() - 1
            }
        };
        actor_of_group.push(actor);
        actors[actor].groups.push(g);
    }
    cohort::adopt_joined(
        &profiles,
        &mut grouping,
        &actor_of_group,
        &mut adopted,
        config,
    );
    for (g, &actor) in actor_of_group.iter().enumerate() {
        actors[actor].members.extend(&grouping.groups[g]);
    }
    for (k, a) in actors.iter_mut().enumerate() {
        a.id = format!("actor-{:04}", k + 1);
        a.members
            .sort_by(|x, y| profiles[*x].fingerprint.cmp(&profiles[*y].fingerprint));
    }

    let mut members = members_table(&profiles, &grouping, &adopted, &continues, &actors, config)?;
    let mut timeline = timeline_table(root, &members)?;
    let mut actor_table = actors_table(&profiles, &grouping, &continues, &actors, &timeline)?;
    write_parquet(
        &mut actor_table,
        &root.join("actors").join("part-0.parquet"),
    )?;
    write_parquet(
        &mut members,
        &root.join("actor_members").join("part-0.parquet"),
    )?;
    write_parquet(
        &mut timeline,
        &root.join("actor_timeline").join("part-0.parquet"),
    )?;
    phase_done("tables");
    progress.set_message("attribute: watchlist relays");
    // The listed relays now have their actors.
    crate::jobs::watchlist::write_relays(root)?;
    phase_done("watchlist");
    progress.finish_and_clear();
    let summary = AttributionSummary {
        relays: profiles.len(),
        links: grouping.links.len(),
        groups: grouping.groups.len(),
        actors: actors.len(),
        return_links: continues.iter().filter(|c| c.is_some()).count(),
        cross_contact_sync_links: grouping
            .links
            .iter()
            .filter(|((a, b), link)| {
                let (ca, cb) = (&profiles[*a].contact, &profiles[*b].contact);
                ca.is_some() && cb.is_some() && ca != cb && link.sync_is_only_behaviour()
            })
            .count(),
        phase_seconds,
    };
    crate::jobs::io::write_atomic(
        &summary_path(root),
        serde_json::to_string_pretty(&summary)?.as_bytes(),
    )?;
    Ok(summary)
}
