//! The attribution's output tables: `actor_members` (each relay's actor, its strongest links
//! or the return that adopted it, and a confidence), `actor_timeline` (each actor's relays
//! and probabilities per consensus) and `actors` (one row per actor: declared or not, why it
//! is listed, its peaks and removals).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use anyhow::Result;
use polars::prelude::*;

use super::cohort::{Adoption, Cohort};
use super::config::AttributionConfig;
use super::grouping::Grouping;
use super::profile::Profile;
use super::returns::ReturnMatch;
use crate::jobs::columns::{datetime_column, string_list_column};
use crate::jobs::io::partition_files;
use crate::util::display::format_time;
use crate::util::time::DAY_MS;

/// One actor: its groups and members.
pub struct Actor {
    pub id: String,
    pub groups: Vec<usize>,
    pub members: Vec<usize>,
}

/// Evidence of one relay: its strongest links, best first.
pub fn relay_evidence(
    profiles: &[Profile],
    grouping: &Grouping,
    relay: usize,
) -> (f64, Vec<String>) {
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

/// The evidence line of a relay adopted by a shared cohort.
fn adoption_line(a: &Adoption) -> String {
    let cohort = match &a.cohort {
        Cohort::Removal {
            at,
            of_group,
            relays,
            churn,
        } => format!(
            "removed with group {} at {} ({of_group} of its relays among the {relays} removed, {churn:.1} departures of the churn expected)",
            a.group + 1,
            format_time(*at)
        ),
        Cohort::Joins {
            at,
            of_group,
            expected,
        } => format!(
            "joined with group {} at {} ({of_group} of its relays joined within the window, {expected:.1} joins usual)",
            a.group + 1,
            format_time(*at)
        ),
    };
    let mut factors: Vec<&(String, f64)> = a.factors.iter().collect();
    factors.sort_by(|x, y| y.1.total_cmp(&x.1).then(x.0.cmp(&y.0)));
    let parts: Vec<String> = factors
        .iter()
        .map(|(k, v)| format!("{k} x{v:.2}"))
        .collect();
    format!(
        "{cohort}; odds {:.0}: {:.1} from the cohort, x{:.0} from its own traits against the network's ({})",
        a.odds(),
        a.prior_odds,
        a.likelihood_ratio,
        parts.join(", ")
    )
}

pub fn members_table(
    profiles: &[Profile],
    grouping: &Grouping,
    adopted: &[Option<Adoption>],
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
            if let Some(adoption) = &adopted[m] {
                lines.insert(0, adoption_line(adoption));
                conf = conf.max(adoption.odds() / (1.0 + adoption.odds()));
            }
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
            joined_by.push(match (&adopted[m], first_group) {
                (_, false) => "return-signature",
                (Some(a), true) => match a.cohort {
                    Cohort::Removal { .. } => "removed-with-group",
                    Cohort::Joins { .. } => "joined-with-group",
                },
                (None, true) => "links",
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
pub fn timeline_table(root: &Path, members: &DataFrame) -> Result<DataFrame> {
    let member_map = members.select(["fingerprint", "actor_id"])?.lazy();
    let mut months = Vec::new();
    for (_, file) in partition_files(root, "relay_probabilities")? {
        let mut join = JoinArgs::new(JoinType::Inner);
        join.maintain_order = MaintainOrderJoin::Left;
        let hourly = crate::jobs::io::scan_file(&file)?
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

pub fn actors_table(
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
    let mut relays_with_descriptor = Vec::new();
    let mut descriptor_coverage = Vec::new();
    for a in actors {
        let known = a
            .members
            .iter()
            .filter(|&&m| profiles[m].descriptor_known)
            .count();
        let (present, covered) = a.members.iter().fold((0u64, 0u64), |(p, c), &m| {
            (
                p + u64::from(profiles[m].hours_present),
                c + u64::from(profiles[m].hours_with_descriptor),
            )
        });
        relays_with_descriptor.push(known as u32);
        descriptor_coverage.push((present > 0).then(|| covered as f64 / present as f64));
        // Most of its relays without a descriptor: who runs them the data cannot say.
        let unknown = 2 * known < a.members.len();
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
        contact_status.push(
            match (unknown, with_contact.len(), contacts.contains_key("")) {
                (true, _, _) => "unknown",
                (_, 0, _) => "none",
                (_, 1, false) => "one contact",
                (_, _, false) => "several contacts",
                (_, _, true) => "mixed",
            },
        );
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
        let declaration = if unknown {
            Declaration::Unknown {
                without_descriptor: a.members.len() - known,
            }
        } else {
            match declaration(profiles, &a.members) {
                Ok(by) => Declaration::Declared(by),
                Err(declaring) => Declaration::Undeclared { declaring },
            }
        };
        why.push(why_interesting(
            &declaration,
            a.members.len(),
            &peaks,
            removed.last().copied().unwrap_or(0),
            returns.last().copied().unwrap_or(0),
        ));
        declared.push(match &declaration {
            Declaration::Declared(_) => Some(true),
            Declaration::Undeclared { .. } => Some(false),
            Declaration::Unknown { .. } => None,
        });
        declared_by.push(match declaration {
            Declaration::Declared(by) => Some(by),
            _ => None,
        });
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
        Column::new("relays_with_descriptor".into(), relays_with_descriptor),
        Column::new("hours_with_descriptor_share".into(), descriptor_coverage),
        Column::new("why".into(), why),
    ]);
    Ok(DataFrame::new_infer_height(columns)?)
}

/// How an actor declares itself, if it does: `Ok(text)` when most of its relays (at least
/// two) share one non-placeholder contact or are tied by mutual family declarations, else
/// `Err(n)`: the number in the largest group that does declare one operator. Honest
/// operators usually declare themselves; groups held together only by behaviour and
/// configuration do not.
pub fn declaration(profiles: &[Profile], members: &[usize]) -> Result<String, usize> {
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

/// What an actor's relays say of its operator.
pub enum Declaration {
    /// Most of its relays declare one operator (how).
    Declared(String),
    /// Fewer than half do (`declaring` of them).
    Undeclared { declaring: usize },
    /// Most of its relays have no imported descriptor: their contacts and families are not in
    /// the data.
    Unknown { without_descriptor: usize },
}

/// One line on why an actor is worth a look.
pub fn why_interesting(
    declared_by: &Declaration,
    relays: usize,
    peaks: &[f64; 5],
    relays_removed: u32,
    returns: u32,
) -> String {
    let mut parts = vec![match declared_by {
        Declaration::Declared(d) => format!("declared operator ({d})"),
        Declaration::Undeclared { declaring: 0 } => {
            "undeclared: no shared contact or family links its relays".to_string()
        }
        Declaration::Undeclared { declaring: n } => format!(
            "undeclared: only {n} of its relays declare one operator (shared contact or family), \
             fewer than half"
        ),
        Declaration::Unknown { without_descriptor } => format!(
            "operator unknown: {without_descriptor} of its relays have no imported server \
             descriptor for any hour they were listed, so their contacts and families are not \
             in the data"
        ),
    }];
    let [peak_relays, _, guard, middle, exit] = *peaks;
    parts.push(format!("{relays} relays, up to {peak_relays:.0} at once"));
    let mut shares = Vec::new();
    for (name, value) in [("guard", guard), ("middle", middle), ("exit", exit)] {
        if value >= 0.0005 {
            shares.push(format!(
                "{} {name}",
                crate::util::display::format_share(value)
            ));
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
