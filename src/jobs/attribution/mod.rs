//! Actor attribution: per-relay signals ([`profile`]), evidence-weighted links and groups,
//! and links across removal events ([`link`]), written as `actors`, `actor_members` and
//! `actor_timeline`; [`evaluate`] scores the result against a generator's ground truth.

pub mod burst;
pub mod evaluate;
pub mod link;
pub mod profile;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use anyhow::Result;
use polars::prelude::*;
use serde::{Deserialize, Serialize};

use crate::jobs::{datetime_column, partition_files, string_list_column, write_parquet};
use link::{Grouping, ReturnMatch};
use profile::Profile;

/// Signal weights (see `docs/attribution.md`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Weights {
    pub slash24: f64,
    pub slash16: f64,
    pub ipv6_slash48: f64,
    pub asn: f64,
    pub version: f64,
    pub os: f64,
    pub or_port: f64,
    pub dir_port: f64,
    pub nickname_shape: f64,
    pub similar_nickname: f64,
    pub exit_policy: f64,
    pub bandwidth_rate: f64,
    pub no_contact: f64,
    pub same_address: f64,
    pub restart_sync: f64,
    pub session_end_sync: f64,
    pub join_batch: f64,
    pub removed_together: f64,
    /// Relays of one removal event that at least two authorities stopped listing before
    /// the consensus did (a reject list): on top of `removed_together`, shared among the
    /// operators the rejected relays declare.
    pub rejected_together: f64,
}

impl Default for Weights {
    fn default() -> Self {
        Weights {
            slash24: 1.0,
            slash16: 0.5,
            ipv6_slash48: 1.0,
            asn: 0.6,
            version: 0.5,
            os: 0.3,
            or_port: 0.6,
            dir_port: 0.4,
            nickname_shape: 1.0,
            similar_nickname: 0.5,
            exit_policy: 2.0,
            bandwidth_rate: 0.8,
            no_contact: 0.3,
            same_address: 1.5,
            restart_sync: 2.0,
            session_end_sync: 2.0,
            join_batch: 1.2,
            removed_together: 1.0,
            rejected_together: 1.0,
        }
    }
}

/// Attribution parameters (a pipeline's `[attribution]` table, or `--set`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AttributionConfig {
    /// A pair of relays links when its evidence reaches this score...
    pub link_threshold: f64,
    /// ...and it has a behaviour signal, or its configuration likeness alone reaches this.
    pub config_only_threshold: f64,
    /// Smallest group reported as an actor.
    pub min_group_relays: usize,
    /// Blocks (relays sharing a key) larger than this produce no candidate pairs.
    pub max_block_relays: usize,
    /// Relays with more restarts / session ends than this are left out of the sync signals
    /// (residential relays that come and go every day).
    pub sync_max_events: usize,
    /// Jaccard index of restart / session-end hours needed for a sync signal (each hour
    /// weighted by how rare it is: see `sync_full_evidence`).
    pub sync_min_jaccard: f64,
    /// Shared hours give their full sync weight when the rarity of the shared hours adds up
    /// to this (an hour shared by k of N relays counts ln(N/k)/ln(N): a lone pair's hour
    /// counts ~1, an hour in which a fifth of the network restarted ~0.2).
    pub sync_full_evidence: f64,
    /// How common a configuration value or a restart hour is, is counted among the relays of
    /// its time: windows of this many days from the first consensus of the data (a value
    /// shared by k of the N relays of a window weighs ln(N/k)/ln(N)). A decade of history
    /// then weighs a value as its own year does, not by how long the history is.
    pub rarity_window_days: u32,
    /// Behaviour evidence (sync, joins, same address, removals) a link needs before it may
    /// link on behaviour; below it, only `config_only_threshold` can.
    pub behaviour_min: f64,
    /// Relays on one IPv4 address are `same_address` only when their times in the network
    /// are at most this many days apart (cloud addresses are handed to the next customer).
    pub same_address_days: u32,
    /// Relays first seen within this many hours of each other form a join batch.
    pub join_window_hours: u32,
    /// A group appearing up to this many days after another group's removal may continue it...
    pub return_window_days: u32,
    /// ...when its infrastructure signature is at least this similar...
    pub return_similarity: f64,
    /// ...and the ASes, /16s and ORPorts it shares with the removed group, each credited by
    /// how rare it is among the groups, cover at least this share of it.
    pub return_min_rare_infrastructure: f64,
    /// Relays of a removed group's kind on its ASes left in no group that join within this
    /// many days after the removal...
    pub return_burst_days: u32,
    /// ...and within this many hours of each other form a return wave of their own
    /// ([`burst`])...
    pub return_burst_hours: u32,
    /// ...when so many joins in such a window have at most this probability at the usual
    /// rate, over all the windows tested (and the wave's signature matches the group's).
    pub return_burst_significance: f64,
    pub weights: Weights,
}

impl Default for AttributionConfig {
    fn default() -> Self {
        AttributionConfig {
            link_threshold: 2.0,
            config_only_threshold: 3.5,
            min_group_relays: 3,
            max_block_relays: 2000,
            sync_max_events: 60,
            sync_min_jaccard: 0.5,
            sync_full_evidence: 2.0,
            rarity_window_days: 365,
            behaviour_min: 0.5,
            same_address_days: 30,
            join_window_hours: 3,
            return_window_days: 365,
            return_similarity: 0.75,
            return_min_rare_infrastructure: 0.5,
            return_burst_days: 30,
            return_burst_hours: 48,
            return_burst_significance: 0.001,
            weights: Weights::default(),
        }
    }
}

/// What `run` found.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct AttributionSummary {
    pub relays: usize,
    pub links: usize,
    pub groups: usize,
    pub actors: usize,
    pub return_links: usize,
    /// Accepted links whose only behaviour evidence is restart / session-end sync between
    /// relays declaring different contacts: the kind of link shared causes (hoster
    /// maintenance, upgrade timers) produce between strangers.
    pub cross_contact_sync_links: usize,
    /// Wall seconds of each phase (printed, not kept: the summary file stays deterministic).
    #[serde(skip)]
    pub phase_seconds: Vec<(&'static str, f64)>,
}

/// Where `run` keeps its summary for `evaluate`.
pub fn summary_path(root: &Path) -> std::path::PathBuf {
    root.join("_jobs").join("attribution-summary.json")
}

/// One actor: its groups and members.
struct Actor {
    id: String,
    groups: Vec<usize>,
    members: Vec<usize>,
}

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;

/// Runs attribution over a warehouse the jobs have processed; each phase is shown on a
/// progress line (hidden with `quiet` or when stderr is not a terminal).
pub fn run(root: &Path, config: &AttributionConfig, quiet: bool) -> Result<AttributionSummary> {
    let _lock = crate::warehouse::store::Warehouse::open(root)?;
    let progress = crate::jobs::progress_bar(5, "attribute: relay profiles", quiet);
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
    let mut grouping = link::group(&profiles, config);
    phase_done("links");
    progress.set_message(format!(
        "attribute: {} links, {} groups; returns after removals",
        grouping.links.len(),
        grouping.groups.len()
    ));
    let continues = link::link_across_removals(&profiles, &mut grouping, config);
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
        actors[actor].members.extend(&grouping.groups[g]);
    }
    for (k, a) in actors.iter_mut().enumerate() {
        a.id = format!("actor-{:04}", k + 1);
        a.members
            .sort_by(|x, y| profiles[*x].fingerprint.cmp(&profiles[*y].fingerprint));
    }

    let mut members = members_table(&profiles, &grouping, &continues, &actors, config)?;
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
    crate::jobs::write_atomic(
        &summary_path(root),
        serde_json::to_string_pretty(&summary)?.as_bytes(),
    )?;
    Ok(summary)
}

/// Evidence of one relay: its strongest links, best first.
fn relay_evidence(profiles: &[Profile], grouping: &Grouping, relay: usize) -> (f64, Vec<String>) {
    let mut links: Vec<(f64, String)> = grouping.links_of[relay]
        .iter()
        .map(|key| (key, &grouping.links[key]))
        .map(|((a, b), link)| {
            let other = if *a == relay { *b } else { *a };
            let mut names: Vec<&str> = link.signals.iter().map(|s| s.name).collect();
            names.sort_unstable();
            names.dedup();
            (
                link.score(),
                format!(
                    "{:.2} {} with {}",
                    link.score(),
                    names.join("+"),
                    profiles[other].fingerprint
                ),
            )
        })
        .collect();
    links.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    let best = links.first().map_or(0.0, |l| l.0);
    (best, links.into_iter().take(3).map(|l| l.1).collect())
}

fn members_table(
    profiles: &[Profile],
    grouping: &Grouping,
    continues: &[Option<ReturnMatch>],
    actors: &[Actor],
    config: &AttributionConfig,
) -> Result<DataFrame> {
    let mut actor_id = Vec::new();
    let mut fingerprint = Vec::new();
    let mut nickname = Vec::new();
    let mut from = Vec::new();
    let mut to = Vec::new();
    let mut group = Vec::new();
    let mut joined_by = Vec::new();
    let mut evidence = Vec::new();
    let mut confidence = Vec::new();
    for a in actors {
        for &m in &a.members {
            let g = grouping.group_of[m].expect("member of a group");
            let (best, mut lines) = relay_evidence(profiles, grouping, m);
            let mut conf = 1.0 - (-best / config.link_threshold).exp();
            let first_group = a.groups[0] == g;
            if let (false, Some(m)) = (first_group, &continues[g]) {
                let parts: Vec<String> = m
                    .components
                    .iter()
                    .map(|(k, v)| format!("{k} {v:.2}"))
                    .collect();
                let wave = match &m.burst {
                    None => format!("group of {} relays", grouping.groups[g].len()),
                    Some(b) => format!(
                        "{} relays of its kind on its ASes joined within {} h of {} \
                         ({:.2} expected, −ln p {:.1} over {} windows)",
                        b.members.len(),
                        config.return_burst_hours,
                        crate::descriptor::values::format_timestamp(b.from / 1000),
                        b.expected,
                        b.surprise,
                        b.tested
                    ),
                };
                lines.insert(
                    0,
                    format!(
                        "returned after removal: {wave} matches group {} ({:.2}: {})",
                        m.earlier + 1,
                        m.similarity,
                        parts.join(", ")
                    ),
                );
                conf = conf.min(m.similarity);
            }
            actor_id.push(a.id.clone());
            fingerprint.push(profiles[m].fingerprint.clone());
            nickname.push(profiles[m].nickname.clone());
            from.push(Some(profiles[m].first_seen));
            to.push(Some(profiles[m].last_seen));
            group.push(g as u32 + 1);
            joined_by.push(if first_group {
                "links"
            } else {
                "return-signature"
            });
            evidence.push(lines);
            confidence.push(conf);
        }
    }
    Ok(DataFrame::new_infer_height(vec![
        Column::new("actor_id".into(), actor_id),
        Column::new("fingerprint".into(), fingerprint),
        Column::new("nickname".into(), nickname),
        datetime_column("from", from)?,
        datetime_column("to", to)?,
        Column::new("group".into(), group),
        Column::new("joined_by".into(), joined_by),
        string_list_column("evidence", &evidence),
        Column::new("confidence".into(), confidence),
    ])?)
}

/// `actor_timeline`: per actor and day, the mean over the day's consensuses of its relay
/// count and summed shares; computed month by month from `relay_probabilities`.
fn timeline_table(root: &Path, members: &DataFrame) -> Result<DataFrame> {
    let member_map = members.select(["fingerprint", "actor_id"])?.lazy();
    let mut months = Vec::new();
    for (_, file) in partition_files(root, "relay_probabilities")? {
        let mut join = JoinArgs::new(JoinType::Inner);
        join.maintain_order = MaintainOrderJoin::Left;
        let hourly = crate::jobs::scan_file(&file)?
            .join(
                member_map.clone(),
                [col("fingerprint")],
                [col("fingerprint")],
                join,
            )
            .group_by([col("actor_id"), col("valid_after")])
            .agg([
                len().cast(DataType::Float64).alias("relays"),
                col("consensus_weight_fraction")
                    .cast(DataType::Float64)
                    .sum(),
                col("guard_probability").cast(DataType::Float64).sum(),
                col("middle_probability").cast(DataType::Float64).sum(),
                col("exit_probability").cast(DataType::Float64).sum(),
            ]);
        months.push(hourly.collect()?);
    }
    let shares = [
        "relays",
        "consensus_weight_fraction",
        "guard_probability",
        "middle_probability",
        "exit_probability",
    ];
    let empty = || -> Result<DataFrame> {
        let mut cols = vec![
            Column::new_empty("actor_id".into(), &DataType::String),
            datetime_column("day", Vec::new())?,
        ];
        for s in shares {
            cols.push(Column::new_empty(s.into(), &DataType::Float64));
            cols.push(Column::new_empty(
                format!("peak_{s}").into(),
                &DataType::Float64,
            ));
        }
        Ok(DataFrame::new_infer_height(cols)?)
    };
    if months.is_empty() {
        return empty();
    }
    let mut all = months.remove(0);
    for m in months {
        all.vstack_mut(&m)?;
    }
    let day = ((col("valid_after").cast(DataType::Int64) / lit(DAY_MS)) * lit(DAY_MS))
        .cast(DataType::Datetime(
            TimeUnit::Milliseconds,
            Some(TimeZone::UTC),
        ))
        .alias("day");
    let mut agg = Vec::new();
    for s in shares {
        agg.push(col(s).mean().alias(s));
        agg.push(col(s).max().alias(format!("peak_{s}")));
    }
    let frame = all
        .lazy()
        .with_column(day)
        .group_by([col("actor_id"), col("day")])
        .agg(agg)
        .sort(["actor_id", "day"], SortMultipleOptions::default())
        .collect()?;
    if frame.height() == 0 {
        return empty();
    }
    Ok(frame)
}

fn actors_table(
    profiles: &[Profile],
    grouping: &Grouping,
    continues: &[Option<ReturnMatch>],
    actors: &[Actor],
    timeline: &DataFrame,
) -> Result<DataFrame> {
    // Peaks from the timeline (hourly maxima).
    let peaks = timeline
        .clone()
        .lazy()
        .group_by([col("actor_id")])
        .agg([
            col("peak_relays").max(),
            col("peak_consensus_weight_fraction").max(),
            col("peak_guard_probability").max(),
            col("peak_middle_probability").max(),
            col("peak_exit_probability").max(),
        ])
        .collect()?;
    let ids = peaks.column("actor_id")?.str()?;
    let mut peak_of: BTreeMap<String, [f64; 5]> = BTreeMap::new();
    let names = [
        "peak_relays",
        "peak_consensus_weight_fraction",
        "peak_guard_probability",
        "peak_middle_probability",
        "peak_exit_probability",
    ];
    for (i, id) in ids.iter().enumerate() {
        let mut values = [0.0; 5];
        for (k, n) in names.iter().enumerate() {
            values[k] = peaks.column(n)?.f64()?.get(i).unwrap_or(0.0);
        }
        peak_of.insert(id.unwrap_or_default().to_string(), values);
    }

    let mut cols: BTreeMap<&str, Vec<Option<f64>>> = BTreeMap::new();
    let mut id = Vec::new();
    let mut first_seen = Vec::new();
    let mut last_seen = Vec::new();
    let mut relays = Vec::new();
    let mut groups = Vec::new();
    let mut contact_status = Vec::new();
    let mut contact = Vec::new();
    let mut removed = Vec::new();
    let mut removal_events = Vec::new();
    let mut returns = Vec::new();
    let mut signals = Vec::new();
    let mut asns = Vec::new();
    let mut declared = Vec::new();
    let mut declared_by = Vec::new();
    let mut why = Vec::new();
    for a in actors {
        id.push(a.id.clone());
        first_seen.push(a.members.iter().map(|&m| profiles[m].first_seen).min());
        last_seen.push(a.members.iter().map(|&m| profiles[m].last_seen).max());
        relays.push(a.members.len() as u32);
        groups.push(a.groups.len() as u32);
        let contacts: BTreeMap<&str, usize> =
            a.members.iter().fold(BTreeMap::new(), |mut acc, &m| {
                *acc.entry(profiles[m].contact.as_deref().unwrap_or(""))
                    .or_default() += 1;
                acc
            });
        let with_contact: Vec<(&&str, &usize)> =
            contacts.iter().filter(|(c, _)| !c.is_empty()).collect();
        contact_status.push(match (with_contact.len(), contacts.contains_key("")) {
            (0, _) => "none",
            (1, false) => "one contact",
            (_, false) => "several contacts",
            (_, true) => "mixed",
        });
        contact.push(
            with_contact
                .iter()
                .max_by_key(|(c, n)| (**n, std::cmp::Reverse(**c)))
                .map(|(c, _)| c.to_string()),
        );
        let mut events: BTreeMap<i64, u32> = BTreeMap::new();
        for &m in &a.members {
            for &t in &profiles[m].removed_in {
                *events.entry(t).or_default() += 1;
            }
        }
        removed.push(events.values().sum::<u32>());
        removal_events.push(
            events
                .iter()
                .map(|(t, n)| {
                    format!(
                        "{}: {n} relays",
                        crate::descriptor::values::format_timestamp(t / 1000)
                    )
                })
                .collect::<Vec<_>>(),
        );
        returns.push(a.groups.iter().filter(|g| continues[**g].is_some()).count() as u32);
        // Signals ranked by the evidence they contributed inside the actor.
        let mut totals: BTreeMap<&str, (f64, usize)> = BTreeMap::new();
        let member_set: BTreeSet<usize> = a.members.iter().copied().collect();
        let inside = a
            .members
            .iter()
            .flat_map(|&m| &grouping.links_of[m])
            .filter(|(x, y)| {
                // Each link once: from its first relay.
                member_set.contains(x) && member_set.contains(y)
            });
        let mut seen_links = BTreeSet::new();
        for key in inside {
            if !seen_links.insert(*key) {
                continue;
            }
            let link = &grouping.links[key];
            {
                for s in &link.signals {
                    let e = totals.entry(s.name).or_default();
                    e.0 += s.weight;
                    e.1 += 1;
                }
            }
        }
        let mut ranked: Vec<(&str, (f64, usize))> = totals.into_iter().collect();
        ranked.sort_by(|p, q| q.1 .0.total_cmp(&p.1 .0).then(p.0.cmp(q.0)));
        signals.push(
            ranked
                .into_iter()
                .take(5)
                .map(|(n, (w, c))| format!("{n}: {c} links, evidence {w:.0}"))
                .collect::<Vec<_>>(),
        );
        let mut as_counts: BTreeMap<u32, usize> = BTreeMap::new();
        for &m in &a.members {
            for &x in &profiles[m].asns {
                *as_counts.entry(x).or_default() += 1;
            }
        }
        let mut ranked: Vec<(u32, usize)> = as_counts.into_iter().collect();
        ranked.sort_by(|p, q| q.1.cmp(&p.1).then(p.0.cmp(&q.0)));
        asns.push(
            ranked
                .into_iter()
                .take(5)
                .map(|(x, c)| format!("AS{x}: {c}"))
                .collect::<Vec<_>>(),
        );
        let peaks = peak_of.get(&a.id).copied().unwrap_or([0.0; 5]);
        for (k, n) in names.iter().enumerate() {
            cols.entry(n).or_default().push(Some(peaks[k]));
        }
        let declaration = declaration(profiles, &a.members);
        why.push(why_interesting(
            &declaration,
            a.members.len(),
            &peaks,
            removed.last().copied().unwrap_or(0),
            returns.last().copied().unwrap_or(0),
        ));
        declared.push(declaration.is_ok());
        declared_by.push(declaration.ok());
    }
    let mut columns = vec![
        Column::new("actor_id".into(), id),
        datetime_column("first_seen", first_seen)?,
        datetime_column("last_seen", last_seen)?,
        Column::new("relays".into(), relays),
        Column::new("groups".into(), groups),
    ];
    for n in names {
        columns.push(Column::new(n.into(), cols.remove(n).unwrap_or_default()));
    }
    columns.extend([
        Column::new("contact_status".into(), contact_status),
        Column::new("contact".into(), contact),
        Column::new("relays_removed".into(), removed),
        string_list_column("removal_events", &removal_events),
        Column::new("returns_after_removal".into(), returns),
        string_list_column("strongest_signals", &signals),
        string_list_column("top_asns", &asns),
        Column::new("declared".into(), declared),
        Column::new("declared_by".into(), declared_by),
        Column::new("why".into(), why),
    ]);
    Ok(DataFrame::new_infer_height(columns)?)
}

/// How an actor declares itself, if it does: `Ok(text)` when most of its relays (at least
/// two) share one non-placeholder contact or are tied by mutual family declarations, else
/// `Err(n)`: the number in the largest group that does declare one operator. Honest
/// operators usually declare themselves; groups held together only by behaviour and
/// configuration do not.
fn declaration(profiles: &[Profile], members: &[usize]) -> Result<String, usize> {
    let facts: Vec<(&str, Option<&str>, &[String])> = members
        .iter()
        .map(|&m| {
            let p = &profiles[m];
            (
                p.fingerprint.as_str(),
                p.contact.as_deref(),
                p.family.as_slice(),
            )
        })
        .collect();
    let inside = crate::jobs::identity::largest_declared_group(&facts).ok_or(0usize)?;
    if 2 * inside.len() < members.len() {
        return Err(inside.len());
    }
    let contacts: BTreeSet<&str> = inside.iter().filter_map(|&k| facts[k].1).collect();
    let by_family = inside.iter().any(|&k| !facts[k].2.is_empty());
    Ok(match (contacts.len(), by_family) {
        (1, false) => format!("contact {}", contacts.iter().next().unwrap()),
        (0, _) => "mutual family".to_string(),
        (1, true) => format!(
            "contact {} and mutual family",
            contacts.iter().next().unwrap()
        ),
        (n, _) => format!("{n} contacts tied by mutual family"),
    })
}

/// One line on why an actor is worth a look.
fn why_interesting(
    declared_by: &Result<String, usize>,
    relays: usize,
    peaks: &[f64; 5],
    relays_removed: u32,
    returns: u32,
) -> String {
    let mut parts = vec![match declared_by {
        Ok(d) => format!("declared operator ({d})"),
        Err(0) => "undeclared: no shared contact or family links its relays".to_string(),
        Err(n) => format!(
            "undeclared: only {n} of its relays declare one operator (shared contact or family), \
             fewer than half"
        ),
    }];
    let [peak_relays, _, guard, middle, exit] = *peaks;
    parts.push(format!("{relays} relays, up to {peak_relays:.0} at once"));
    let mut shares = Vec::new();
    for (name, value) in [("guard", guard), ("middle", middle), ("exit", exit)] {
        if value >= 0.0005 {
            shares.push(format!("{} {name}", crate::report::format_share(value)));
        }
    }
    if !shares.is_empty() {
        parts.push(format!("peak {}", shares.join(", ")));
    }
    if relays_removed > 0 {
        parts.push(format!("{relays_removed} relays left in removal events"));
    }
    if returns > 0 {
        parts.push(format!("came back {returns} time(s) after a removal"));
    }
    parts.join("; ")
}
