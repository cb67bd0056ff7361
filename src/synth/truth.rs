//! Ground truth: the JSON files in `<out>/ground_truth/` (scenario, actors, relays with their
//! sessions, removal events, return waves, outages, missing consensus hours), derived from the
//! simulated [`World`] exactly as the consensuses show it.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::asn::fmt_ipv4;
use super::keys::hex_upper;
use super::time::fmt_ts;
use super::voteplan::VotePlan;
use super::world::World;

/// Kept under its old path (it lives with the actors in [`super::world`]).
pub use super::world::is_honest;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ActorJson {
    pub actor_id: String,
    pub kind: String,
    pub contact: Option<String>,
    pub description: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RelayJson {
    pub fingerprint: String,
    pub nickname: String,
    pub actor_id: Option<String>,
    pub wave: Option<u32>,
    pub asn: u32,
    pub address: String,
    /// `[first, last]` valid-after of each continuous presence.
    pub sessions: Vec<[String; 2]>,
    pub hard_negative: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RemovalJson {
    pub actor_id: String,
    pub event_time: String,
    pub fingerprints: Vec<String>,
    pub relays_removed: usize,
    /// Consecutive consensuses over which the relays went (the first at `event_time`).
    pub consensuses: i64,
    /// With votes around the event: in the authorities' order (by v3 identity), the hour at
    /// which each stopped listing the removed relays, relative to the consensus that dropped
    /// each relay (negative: before it); empty without votes.
    #[serde(default)]
    pub authority_drop_offsets_hours: Vec<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct OutageJson {
    pub asn: u32,
    pub start: String,
    pub end: String,
    pub fingerprints: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ReturnJson {
    pub actor_id: String,
    pub after_event_time: String,
    pub first_seen: String,
    pub fingerprints: Vec<String>,
}

/// Published consensus hours.
pub fn published_hours(w: &World) -> Vec<i64> {
    (0..w.hours()).filter(|&h| w.published(h)).collect()
}

/// Sessions of relay `r` as (first, last) hours, over published consensus hours only: a
/// missing consensus hour does not split a session.
pub fn sessions(w: &World, published: &[i64], r: usize) -> Vec<(i64, i64)> {
    let mut ranges: Vec<(usize, usize)> = Vec::new();
    for &(a, b) in &w.relays[r].up {
        let i0 = published.partition_point(|&h| h < a);
        let i1 = published.partition_point(|&h| h < b);
        if i0 >= i1 {
            continue;
        }
        match ranges.last_mut() {
            Some(last) if last.1 == i0 => last.1 = i1,
            _ => ranges.push((i0, i1)),
        }
    }
    ranges
        .into_iter()
        .map(|(i0, i1)| (published[i0], published[i1 - 1]))
        .collect()
}

fn fp(w: &World, r: usize) -> String {
    hex_upper(&w.relays[r].fp)
}

fn write_json<T: Serialize>(dir: &Path, name: &str, v: &T) -> anyhow::Result<()> {
    let mut text = serde_json::to_string_pretty(v)?;
    text.push('\n');
    std::fs::write(dir.join(name), text)?;
    Ok(())
}

/// Writes every ground-truth file except `scenario.json`; returns the number of relays listed.
pub fn write(w: &World, votes: &VotePlan, dir: &Path) -> anyhow::Result<usize> {
    std::fs::create_dir_all(dir)?;
    let published = published_hours(w);
    let t = |h: i64| fmt_ts(w.va(h));
    let actor_id = |a: Option<usize>| a.map(|a| w.actors[a].id.clone());

    let actors: Vec<ActorJson> = w
        .actors
        .iter()
        .map(|a| ActorJson {
            actor_id: a.id.clone(),
            kind: a.kind.clone(),
            contact: a.contact.clone(),
            description: a.description.clone(),
        })
        .collect();
    write_json(dir, "actors.json", &actors)?;

    let mut relays = Vec::new();
    for &r in &w.by_fp {
        let s = sessions(w, &published, r);
        if s.is_empty() {
            continue;
        }
        let rel = &w.relays[r];
        relays.push(RelayJson {
            fingerprint: fp(w, r),
            nickname: rel.nickname.clone(),
            actor_id: actor_id(rel.actor),
            wave: rel.wave,
            asn: rel.asn,
            address: fmt_ipv4(rel.addrs[0].1),
            sessions: s.into_iter().map(|(a, b)| [t(a), t(b)]).collect(),
            hard_negative: rel.hard_negative.map(str::to_string),
        });
    }
    write_json(dir, "relays.json", &relays)?;

    let next_published = |h: i64| {
        published[published
            .partition_point(|&x| x < h)
            .min(published.len() - 1)]
    };
    let removals: Vec<RemovalJson> = w
        .removals
        .iter()
        .zip(&votes.offsets)
        .map(|(e, offsets)| RemovalJson {
            actor_id: w.actors[e.actor].id.clone(),
            event_time: t(next_published(e.hour)),
            fingerprints: sorted(e.relays.iter().map(|&r| fp(w, r))),
            relays_removed: e.relays.len(),
            consensuses: e.consensuses,
            authority_drop_offsets_hours: offsets.clone(),
        })
        .collect();
    write_json(dir, "removal_events.json", &removals)?;

    let outages: Vec<OutageJson> = w
        .outages
        .iter()
        .map(|o| OutageJson {
            asn: o.asn,
            start: t(next_published(o.start)),
            end: t(next_published(o.end)),
            fingerprints: sorted(o.relays.iter().map(|&r| fp(w, r))),
        })
        .collect();
    write_json(dir, "outages.json", &outages)?;

    let returns: Vec<ReturnJson> = w
        .returns
        .iter()
        .filter_map(|rw| {
            let first = rw
                .relays
                .iter()
                .filter_map(|&r| sessions(w, &published, r).first().map(|s| s.0))
                .min()?;
            Some(ReturnJson {
                actor_id: w.actors[rw.actor].id.clone(),
                after_event_time: t(next_published(rw.after_hour)),
                first_seen: t(first),
                fingerprints: sorted(
                    rw.relays
                        .iter()
                        .filter(|&&r| !sessions(w, &published, r).is_empty())
                        .map(|&r| fp(w, r)),
                ),
            })
        })
        .collect();
    write_json(dir, "return_waves.json", &returns)?;

    let missing: Vec<String> = w.missing.iter().map(|&h| t(h)).collect();
    write_json(dir, "missing_consensuses.json", &missing)?;

    // Each planted actor (not the many honest families) as a researcher would publish it: a
    // CSV with a fingerprint column and a line saying what the list is (`relaytrail
    // watchlist add`).
    let lists = dir.join("lists");
    std::fs::create_dir_all(&lists)?;
    for a in w.actors.iter().filter(|a| !is_honest(&a.kind)) {
        let mut text = format!(
            "# Planted actor {} ({}): {}\nfingerprint,nickname,asn,address\n",
            a.id,
            a.kind,
            a.description.replace(',', ";")
        );
        for r in relays
            .iter()
            .filter(|r| r.actor_id.as_deref() == Some(a.id.as_str()))
        {
            text.push_str(&format!(
                "{},{},{},{}\n",
                r.fingerprint, r.nickname, r.asn, r.address
            ));
        }
        std::fs::write(lists.join(format!("{}.csv", a.id)), text)?;
    }
    Ok(relays.len())
}

fn sorted(it: impl Iterator<Item = String>) -> Vec<String> {
    let mut v: Vec<String> = it.collect();
    v.sort();
    v
}

/// Writes `scenario.json`.
pub fn write_scenario<T: Serialize>(dir: &Path, v: &T) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    write_json(dir, "scenario.json", v)
}
