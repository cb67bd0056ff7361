//! `relaytrail evaluate`: attribution and removal events against a generator's ground
//! truth (`ground_truth/*.json` of `relaytrail generate`).
//!
//! Per planted actor (honest families are summarised together): the attributed actor
//! holding most of its relays, and precision / recall / F1 of the fingerprint sets; whether
//! each return wave landed in the same attributed actor as the relays it replaced; hard
//! negatives merged into a planted actor's attributed actor; removal events found, missed and
//! false.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use anyhow::{Context, Result};
use polars::prelude::*;
use serde_json::Value;

use crate::descriptor::values::parse_timestamp;
use crate::jobs::io::scan_dataset;

#[derive(Debug, Clone)]
pub struct ActorScore {
    pub actor_id: String,
    pub kind: String,
    pub planted: usize,
    pub attributed_to: Option<String>,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
}

#[derive(Debug, Clone, Default)]
pub struct Evaluation {
    pub actors: Vec<ActorScore>,
    /// (planted actor, wave time, linked: at least 90 % of its relays in the actor's
    /// attributed actor)
    pub return_waves: Vec<(String, String, bool)>,
    /// Share of each return wave's relays attributed to its actor (same order).
    pub return_wave_shares: Vec<f64>,
    /// Hard-negative relays placed in a planted actor's attributed actor.
    pub hard_negatives_merged: usize,
    pub hard_negatives: usize,
    pub removal_events_found: usize,
    pub removal_events_planted: usize,
    pub false_removal_events: usize,
    /// Relays of the planted removals, those of them in the event found for it, and the
    /// other relays of those events (ordinary churn or other actors' relays).
    pub removal_members_planted: usize,
    pub removal_members_found: usize,
    pub removal_members_other: usize,
    /// Planted removals with votes around them, and the found events among them whose
    /// `authorities_dropping_early` is the planted number.
    pub removal_votes_planted: usize,
    pub removal_votes_matching: usize,
    pub honest_families: usize,
    pub honest_families_mean_f1: f64,
    /// Relays of the largest honest family (what an actor of honest operators may reach).
    pub largest_honest_family: usize,
    /// Honest operators that declare nothing (no contact, no family), and how well they are
    /// found as actors of their own.
    pub honest_groups: usize,
    pub honest_groups_mean_f1: f64,
    /// Actors predicted, and the sizes of those with no planted member (made of background
    /// relays only), largest first.
    pub predicted_actors: usize,
    pub spurious_actors: Vec<usize>,
    /// The largest predicted actor and how many distinct contacts its relays declare.
    pub largest_actor: Option<(String, usize, usize)>,
    /// The most distinct contacts in one actor.
    pub most_contacts: usize,
    /// From the attribution's summary (`_jobs/attribution-summary.json`), when present.
    pub cross_contact_sync_links: Option<usize>,
}

fn read_json(truth: &Path, name: &str) -> Result<Value> {
    let path = truth.join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))
}

fn ms(text: &str) -> Option<i64> {
    let (date, time) = text.split_once(' ')?;
    parse_timestamp(date.as_bytes(), time.as_bytes()).map(|s| s * 1000)
}

fn f1(precision: f64, recall: f64) -> f64 {
    if precision + recall == 0.0 {
        0.0
    } else {
        2.0 * precision * recall / (precision + recall)
    }
}

/// Compares the warehouse's attribution with the ground truth in `truth` (the generator's
/// `ground_truth` folder, or the archive folder holding it).
pub fn evaluate(root: &Path, truth: &Path) -> Result<Evaluation> {
    let truth = if truth.join("ground_truth").is_dir() {
        truth.join("ground_truth")
    } else {
        truth.to_path_buf()
    };
    let relays = read_json(&truth, "relays")?;
    let actors = read_json(&truth, "actors")?;
    let waves = read_json(&truth, "return_waves")?;
    let removals = read_json(&truth, "removal_events")?;

    let members = scan_dataset(root, "actor_members")?
        .context("no actor_members dataset (run `relaytrail attribute` first)")?
        .collect()?;
    let attributed: BTreeMap<String, String> = members
        .column("fingerprint")?
        .str()?
        .iter()
        .zip(members.column("actor_id")?.str()?.iter())
        .filter_map(|(f, a)| Some((f?.to_string(), a?.to_string())))
        .collect();
    let mut sizes: BTreeMap<&str, usize> = BTreeMap::new();
    for a in attributed.values() {
        *sizes.entry(a).or_default() += 1;
    }

    let relay_list = relays.as_array().context("relays.json is not a list")?;
    let mut planted: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut hard_negatives = BTreeSet::new();
    for r in relay_list {
        let fp = r["fingerprint"].as_str().unwrap_or_default().to_string();
        if let Some(a) = r["actor_id"].as_str() {
            planted.entry(a.to_string()).or_default().insert(fp.clone());
        }
        if !r["hard_negative"].is_null() {
            hard_negatives.insert(fp);
        }
    }
    let kinds: BTreeMap<String, String> = actors
        .as_array()
        .context("actors.json is not a list")?
        .iter()
        .map(|a| {
            (
                a["actor_id"].as_str().unwrap_or_default().to_string(),
                a["kind"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();

    let mut eval = Evaluation::default();
    let mut family_f1 = Vec::new();
    let mut group_f1 = Vec::new();
    let mut attributed_of_planted: BTreeMap<String, String> = BTreeMap::new();
    for (actor, fps) in &planted {
        let mut overlap: BTreeMap<&str, usize> = BTreeMap::new();
        for fp in fps {
            if let Some(a) = attributed.get(fp) {
                *overlap.entry(a).or_default() += 1;
            }
        }
        let best = overlap
            .iter()
            .max_by_key(|(a, n)| (**n, std::cmp::Reverse(**a)))
            .map(|(a, n)| (a.to_string(), *n));
        let (precision, recall, attributed_to) = match &best {
            Some((a, n)) => (
                *n as f64 / sizes[a.as_str()] as f64,
                *n as f64 / fps.len() as f64,
                Some(a.clone()),
            ),
            None => (0.0, 0.0, None),
        };
        let kind = kinds.get(actor).cloned().unwrap_or_default();
        if let Some(a) = &attributed_to {
            attributed_of_planted.insert(actor.clone(), a.clone());
        }
        let score = ActorScore {
            actor_id: actor.clone(),
            kind: kind.clone(),
            planted: fps.len(),
            attributed_to,
            precision,
            recall,
            f1: f1(precision, recall),
        };
        if kind == "honest-family" {
            family_f1.push(score.f1);
            eval.largest_honest_family = eval.largest_honest_family.max(fps.len());
        } else if kind == "honest-group" {
            group_f1.push(score.f1);
        } else {
            eval.actors.push(score);
        }
    }
    let mean = |f1s: &[f64]| {
        if f1s.is_empty() {
            0.0
        } else {
            f1s.iter().sum::<f64>() / f1s.len() as f64
        }
    };
    eval.honest_families = family_f1.len();
    eval.honest_families_mean_f1 = mean(&family_f1);
    eval.honest_groups = group_f1.len();
    eval.honest_groups_mean_f1 = mean(&group_f1);

    for w in waves.as_array().into_iter().flatten() {
        let actor = w["actor_id"].as_str().unwrap_or_default().to_string();
        let fps: Vec<&str> = w["fingerprints"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        let target = attributed_of_planted.get(&actor);
        let linked = fps
            .iter()
            .filter(|fp| attributed.get(**fp) == target && target.is_some())
            .count();
        let share = linked as f64 / fps.len().max(1) as f64;
        eval.return_waves.push((
            actor,
            w["first_seen"].as_str().unwrap_or_default().to_string(),
            !fps.is_empty() && share >= 0.9,
        ));
        eval.return_wave_shares.push(share);
    }

    let planted_targets: BTreeSet<&String> = eval
        .actors
        .iter()
        .filter_map(|a| a.attributed_to.as_ref())
        .collect();
    eval.hard_negatives = hard_negatives.len();
    eval.hard_negatives_merged = hard_negatives
        .iter()
        .filter(|fp| {
            attributed
                .get(*fp)
                .is_some_and(|a| planted_targets.contains(a))
        })
        .count();

    // The planted removals: when, and which relays.
    let mut planted_members: BTreeMap<i64, BTreeSet<String>> = BTreeMap::new();
    for e in removals.as_array().into_iter().flatten() {
        let Some(t) = e["event_time"].as_str().and_then(ms) else {
            continue;
        };
        let fps = e["fingerprints"].as_array().into_iter().flatten();
        planted_members
            .entry(t)
            .or_default()
            .extend(fps.filter_map(|f| f.as_str().map(str::to_string)));
    }
    let planted_times: BTreeSet<i64> = planted_members.keys().copied().collect();
    // With votes: how many authorities dropped each removal's relays before the consensus.
    let planted_early: BTreeMap<i64, u32> = removals
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| {
            let t = e["event_time"].as_str().and_then(ms)?;
            let offsets = e["authority_drop_offsets_hours"].as_array()?;
            (!offsets.is_empty()).then(|| {
                (
                    t,
                    offsets.iter().filter(|o| o.as_i64() < Some(0)).count() as u32,
                )
            })
        })
        .collect();
    let mut found_early: BTreeMap<i64, Option<u32>> = BTreeMap::new();
    if let Some(scan) = scan_dataset(root, "removal_events")? {
        let frame = scan.collect()?;
        let times = crate::jobs::columns::times(&frame, "event_time")?;
        let early: Vec<Option<u32>> = match frame.column("authorities_dropping_early") {
            Ok(c) => c.cast(&DataType::UInt32)?.u32()?.iter().collect(),
            Err(_) => vec![None; frame.height()],
        };
        for (t, e) in times.into_iter().zip(early) {
            if let Some(t) = t {
                found_early.insert(t, e);
            }
        }
    }
    let found: BTreeSet<i64> = found_early.keys().copied().collect();
    eval.removal_votes_planted = planted_early.len();
    eval.removal_votes_matching = planted_early
        .iter()
        .filter(|(t, early)| {
            found_early
                .range(*t - HOUR_MS..=*t + HOUR_MS)
                .any(|(_, found)| *found == Some(**early))
        })
        .count();
    // Found within one consensus (an hour) of when it was planted.
    let near = |t: &i64, set: &BTreeSet<i64>| set.range(t - HOUR_MS..=t + HOUR_MS).next().is_some();
    eval.removal_events_planted = planted_times.len();
    eval.removal_events_found = planted_times.iter().filter(|t| near(t, &found)).count();
    eval.false_removal_events = found.iter().filter(|t| !near(t, &planted_times)).count();
    // Who the found events hold, against who was planted.
    let mut found_members: BTreeMap<i64, BTreeSet<String>> = BTreeMap::new();
    if let Some(scan) = scan_dataset(root, "removal_event_relays")? {
        let frame = scan
            .select([col("event_time").cast(DataType::Int64), col("fingerprint")])
            .collect()?;
        let times = frame.column("event_time")?.i64()?;
        let fps = frame.column("fingerprint")?.str()?;
        for (t, f) in times.iter().zip(fps.iter()) {
            if let (Some(t), Some(f)) = (t, f) {
                found_members.entry(t).or_default().insert(f.to_string());
            }
        }
    }
    for (t, planted) in &planted_members {
        let held: BTreeSet<&String> = found_members
            .range(t - HOUR_MS..=t + HOUR_MS)
            .flat_map(|(_, m)| m)
            .collect();
        eval.removal_members_planted += planted.len();
        eval.removal_members_found += held.iter().filter(|f| planted.contains(**f)).count();
        eval.removal_members_other += held.iter().filter(|f| !planted.contains(**f)).count();
    }

    // What goes wrong: actors of background relays only, the largest actor, mixed contacts.
    let planted_relays: BTreeSet<&String> = planted.values().flatten().collect();
    let mut actor_relays: BTreeMap<&str, Vec<&String>> = BTreeMap::new();
    for (fp, a) in &attributed {
        actor_relays.entry(a).or_default().push(fp);
    }
    eval.predicted_actors = actor_relays.len();
    eval.spurious_actors = actor_relays
        .values()
        .filter(|m| !m.iter().any(|fp| planted_relays.contains(fp)))
        .map(Vec::len)
        .collect();
    eval.spurious_actors.sort_unstable_by(|a, b| b.cmp(a));
    let contacts_of: BTreeMap<String, String> = match scan_dataset(root, "relays")? {
        Some(scan) if scan.clone().collect_schema()?.contains("contact") => {
            let frame = scan
                .select([col("fingerprint"), col("contact")])
                .collect()?;
            crate::jobs::columns::strings(&frame, "fingerprint")?
                .into_iter()
                .zip(crate::jobs::columns::strings(&frame, "contact")?)
                .filter_map(|(f, c)| Some((f?, crate::jobs::identity::normalise_contact(&c?)?)))
                .collect()
        }
        _ => BTreeMap::new(),
    };
    let distinct_contacts = |m: &[&String]| -> usize {
        m.iter()
            .filter_map(|fp| contacts_of.get(*fp))
            .collect::<BTreeSet<_>>()
            .len()
    };
    eval.most_contacts = actor_relays
        .values()
        .map(|m| distinct_contacts(m))
        .max()
        .unwrap_or(0);
    eval.largest_actor = actor_relays
        .iter()
        .max_by_key(|(a, m)| (m.len(), std::cmp::Reverse(**a)))
        .map(|(a, m)| (a.to_string(), m.len(), distinct_contacts(m)));
    eval.cross_contact_sync_links = std::fs::read_to_string(super::summary::summary_path(root))
        .ok()
        .and_then(|t| serde_json::from_str::<super::summary::AttributionSummary>(&t).ok())
        .map(|s| s.cross_contact_sync_links);
    Ok(eval)
}

use crate::util::time::HOUR_MS;

impl Evaluation {
    /// The report `relaytrail evaluate` prints.
    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str(
            "| planted actor | kind | relays | attributed to | precision | recall | F1 |\n",
        );
        out.push_str("|---|---|---|---|---|---|---|\n");
        for a in &self.actors {
            out.push_str(&format!(
                "| {} | {} | {} | {} | {:.3} | {:.3} | {:.3} |\n",
                a.actor_id,
                a.kind,
                a.planted,
                a.attributed_to.as_deref().unwrap_or("-"),
                a.precision,
                a.recall,
                a.f1
            ));
        }
        out.push_str(&format!(
            "\nhonest families: {} (mean F1 {:.3}), the largest {} relays\n",
            self.honest_families, self.honest_families_mean_f1, self.largest_honest_family
        ));
        if self.honest_groups > 0 {
            out.push_str(&format!(
                "honest operators without contact or family: {} (mean F1 {:.3})\n",
                self.honest_groups, self.honest_groups_mean_f1
            ));
        }
        for ((actor, at, linked), share) in self.return_waves.iter().zip(&self.return_wave_shares) {
            out.push_str(&format!(
                "return wave of {actor} first seen {at}: {} ({:.0} % of its relays in the actor)\n",
                if *linked { "linked" } else { "NOT linked" },
                share * 100.0
            ));
        }
        out.push_str(&format!(
            "hard negatives merged into a planted actor: {} of {}\n",
            self.hard_negatives_merged, self.hard_negatives
        ));
        out.push_str(&format!(
            "removal events: {} of {} found (within one consensus), {} false\n",
            self.removal_events_found, self.removal_events_planted, self.false_removal_events
        ));
        out.push_str(&format!(
            "removal event members: {} of {} planted relays, {} others\n",
            self.removal_members_found, self.removal_members_planted, self.removal_members_other
        ));
        if self.removal_votes_planted > 0 {
            out.push_str(&format!(
                "removal events with votes: {} of {} show the planted authorities dropping early\n",
                self.removal_votes_matching, self.removal_votes_planted
            ));
        }
        let spurious_share =
            self.spurious_actors.len() as f64 / self.predicted_actors.max(1) as f64;
        out.push_str(&format!(
            "spurious actors (no planted member): {} of {} ({:.1} %){}\n",
            self.spurious_actors.len(),
            self.predicted_actors,
            spurious_share * 100.0,
            if self.spurious_actors.is_empty() {
                String::new()
            } else {
                format!(
                    ", sizes {}",
                    self.spurious_actors
                        .iter()
                        .take(10)
                        .map(usize::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }
        ));
        if let Some((id, size, contacts)) = &self.largest_actor {
            out.push_str(&format!(
                "largest actor: {id}, {size} relays, {contacts} distinct contacts; most contacts in one actor: {}\n",
                self.most_contacts
            ));
        }
        if let Some(n) = self.cross_contact_sync_links {
            out.push_str(&format!(
                "links whose only behaviour evidence is sync between different contacts: {n}\n"
            ));
        }
        out
    }
}

/// One actor (or the union of actors) scored against a watchlist.
#[derive(Debug, Clone)]
pub struct ListScore {
    pub actor_id: String,
    pub actor_relays: usize,
    pub listed_in_actor: usize,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
}

/// The attribution and the removal events against a published relay list.
#[derive(Debug, Clone, Default)]
pub struct ListEvaluation {
    pub name: String,
    pub listed: usize,
    /// Listed relays the warehouse has seen (the denominator of recall).
    pub seen: usize,
    /// Every actor holding listed relays, best F1 first.
    pub actors: Vec<ListScore>,
    /// The actors holding at least 10 % of the seen listed relays, together.
    pub union: Option<ListScore>,
    /// (event time, relays removed, listed relays among them).
    pub removal_events: Vec<(String, usize, usize)>,
    /// Seen listed relays in no actor.
    pub in_no_actor: usize,
    /// How much of the listed relays' presence had server descriptors.
    pub descriptors: crate::jobs::watchlist::DescriptorCoverage,
}

impl ListEvaluation {
    pub fn best(&self) -> Option<&ListScore> {
        self.actors.first()
    }

    pub fn render(&self) -> String {
        let mut out = format!(
            "watchlist {}: {} relays listed, {} seen in the warehouse, {} of them in no actor\n{}\n\n",
            self.name,
            self.listed,
            self.seen,
            self.in_no_actor,
            self.descriptors.sentence()
        );
        out.push_str("| actor | relays | listed relays in it | precision | recall | F1 |\n|---|---|---|---|---|---|\n");
        let rows = self.actors.iter().take(20).chain(self.union.iter());
        for a in rows {
            out.push_str(&format!(
                "| {} | {} | {} | {:.3} | {:.3} | {:.3} |\n",
                a.actor_id, a.actor_relays, a.listed_in_actor, a.precision, a.recall, a.f1
            ));
        }
        if self.actors.len() > 20 {
            out.push_str(&format!(
                "| … {} more actors | | | | | |\n",
                self.actors.len() - 20
            ));
        }
        if self.actors.is_empty() {
            out.push_str("| (no actor holds a listed relay) | | | | | |\n");
        }
        out.push_str("\n| removal event | relays removed | listed relays removed | share of the listed relays seen |\n|---|---|---|---|\n");
        for (t, removed, listed) in &self.removal_events {
            out.push_str(&format!(
                "| {t} | {removed} | {listed} | {:.1} % |\n",
                100.0 * *listed as f64 / self.seen.max(1) as f64
            ));
        }
        if self.removal_events.is_empty() {
            out.push_str("| (no listed relay left in a removal event) | | | |\n");
        }
        out
    }
}

/// Scores the actors and removal events of the warehouse against the watchlist `name`.
pub fn evaluate_watchlist(root: &Path, name: &str) -> Result<ListEvaluation> {
    let lists = crate::jobs::watchlist::load(root)?;
    let Some(list) = lists.iter().find(|l| l.name == name) else {
        let names: Vec<&str> = lists.iter().map(|l| l.name.as_str()).collect();
        anyhow::bail!(
            "{}: no watchlist named {name:?} (have: {}; add one with `relaytrail watchlist add`)",
            root.display(),
            if names.is_empty() {
                "none".to_string()
            } else {
                names.join(", ")
            }
        );
    };
    let listed: BTreeSet<&str> = list.fingerprints.iter().map(String::as_str).collect();
    // The listed relays as the warehouse saw them (`watchlist_relays`' rows for this list).
    let rows = crate::jobs::watchlist::relays_table(root, std::slice::from_ref(list))?;
    let descriptors = crate::jobs::watchlist::DescriptorCoverage::of(&rows)?;
    let seen: BTreeSet<String> = crate::jobs::columns::strings(&rows, "fingerprint")?
        .into_iter()
        .zip(rows.column("seen")?.bool()?.iter())
        .filter_map(|(f, seen)| f.filter(|_| seen == Some(true)))
        .collect();
    let members = scan_dataset(root, "actor_members")?
        .context("no actor_members dataset (run `relaytrail attribute` first)")?
        .select([col("actor_id"), col("fingerprint")])
        .collect()?;
    let mut actor_members: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (a, f) in crate::jobs::columns::strings(&members, "actor_id")?
        .into_iter()
        .zip(crate::jobs::columns::strings(&members, "fingerprint")?)
    {
        if let (Some(a), Some(f)) = (a, f) {
            actor_members.entry(a).or_default().insert(f);
        }
    }
    let score = |id: String, members: &BTreeSet<String>| {
        let hits = members.iter().filter(|f| seen.contains(*f)).count();
        let precision = hits as f64 / members.len().max(1) as f64;
        let recall = hits as f64 / seen.len().max(1) as f64;
        ListScore {
            actor_id: id,
            actor_relays: members.len(),
            listed_in_actor: hits,
            precision,
            recall,
            f1: f1(precision, recall),
        }
    };
    let mut actors: Vec<ListScore> = actor_members
        .iter()
        .map(|(id, m)| score(id.clone(), m))
        .filter(|s| s.listed_in_actor > 0)
        .collect();
    actors.sort_by(|a, b| {
        b.f1.total_cmp(&a.f1)
            .then(b.listed_in_actor.cmp(&a.listed_in_actor))
            .then(a.actor_id.cmp(&b.actor_id))
    });
    let big: Vec<&ListScore> = actors
        .iter()
        .filter(|s| s.listed_in_actor as f64 >= 0.1 * seen.len() as f64)
        .collect();
    let union = (big.len() > 1).then(|| {
        let members: BTreeSet<String> = big
            .iter()
            .flat_map(|s| actor_members[&s.actor_id].iter().cloned())
            .collect();
        let ids: Vec<&str> = big.iter().map(|s| s.actor_id.as_str()).collect();
        score(format!("union of {}", ids.join(" + ")), &members)
    });
    let in_actor: BTreeSet<&String> = actor_members.values().flatten().collect();
    let in_no_actor = seen.iter().filter(|f| !in_actor.contains(f)).count();

    let mut removal_events = Vec::new();
    if let Some(scan) = scan_dataset(root, "removal_event_relays")? {
        let frame = scan
            .select([col("event_time"), col("fingerprint")])
            .collect()?;
        let mut per_event: BTreeMap<i64, (usize, usize)> = BTreeMap::new();
        for (t, f) in crate::jobs::columns::times(&frame, "event_time")?
            .into_iter()
            .zip(crate::jobs::columns::strings(&frame, "fingerprint")?)
        {
            if let (Some(t), Some(f)) = (t, f) {
                let e = per_event.entry(t).or_default();
                e.0 += 1;
                if listed.contains(f.as_str()) {
                    e.1 += 1;
                }
            }
        }
        removal_events = per_event
            .into_iter()
            .filter(|(_, (_, hits))| *hits > 0)
            .map(|(t, (n, hits))| (crate::util::display::format_time(t), n, hits))
            .collect();
    }
    Ok(ListEvaluation {
        name: name.to_string(),
        listed: listed.len(),
        seen: seen.len(),
        actors,
        union,
        removal_events,
        in_no_actor,
        descriptors,
    })
}
