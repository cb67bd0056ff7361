//! Join bursts: windows of an hour or a day in which many never-seen relays joined, overall
//! and per AS, /16, country, tor version and nickname prefix, never across a gap of the data.

use std::collections::BTreeMap;

use anyhow::Result;
use polars::prelude::*;

use super::tables::as_label;
use crate::jobs::columns::{datetime_column, string_list_column};
use crate::jobs::presence::{Presence, Session};
use crate::jobs::settings::Jobs;
use crate::util::time::HOUR_MS;

/// `join_bursts`: windows in which at least the configured number of never-seen relays
/// joined, overall and per AS, /16, country, tor version and nickname prefix. Relays listed
/// in the first consensus of the data or of a segment after a gap may have been running
/// before it: they are not joins; nor are relays first seen less than
/// `burst_min_history_hours` into a segment (too little history to call them new). A window
/// never reaches across a gap.
pub fn join_bursts(jobs: &Jobs, presence: &Presence) -> Result<DataFrame> {
    let config = jobs.config;
    // (dimension, key, segment) → join times with fingerprints, in time order.
    type Key = (&'static str, String, u32);
    let mut joins: BTreeMap<Key, Vec<(i64, &str)>> = BTreeMap::new();
    let mut order: Vec<&Session> = presence
        .sessions
        .iter()
        .filter(|s| {
            let history = presence.times[s.start as usize]
                - presence.times[presence.coverage.segment_start(s.start) as usize];
            s.first_of_relay
                && !presence.start_censored(s)
                && history >= i64::from(config.burst_min_history_hours) * HOUR_MS
        })
        .collect();
    order.sort_by_key(|s| (s.start, s.fingerprint.as_ref()));
    for s in order {
        let t = presence.times[s.start as usize];
        let fp = s.fingerprint.as_ref();
        let segment = presence.coverage.segment(s.start);
        let mut add = |dimension: &'static str, key: String| {
            joins
                .entry((dimension, key, segment))
                .or_default()
                .push((t, fp));
        };
        add("all", "all".to_string());
        if let Some(address) = s.addresses.first() {
            let info = jobs.enricher.lookup(address, t);
            if let Some(asn) = info.asn {
                add("as", as_label(Some(asn), info.as_name.as_deref()));
            }
            if let Some(country) = info.country {
                add("country", country);
            }
            let octets: Vec<&str> = address.split('.').collect();
            if octets.len() == 4 {
                add("prefix16", format!("{}.{}.0.0/16", octets[0], octets[1]));
            }
        }
        if let Some(version) = s.versions.first() {
            add("version", version.to_string());
        }
        if let Some(nickname) = s.nicknames.first() {
            let prefix: String = nickname
                .chars()
                .take(config.nickname_prefix_chars)
                .collect();
            add("nickname_prefix", prefix);
        }
    }
    let mut rows = BurstColumns::default();
    for ((dimension, key, _), list) in &joins {
        for (window, hours, threshold) in [
            ("1h", 1, config.burst_min_relays_1h),
            ("24h", 24, config.burst_min_relays_24h),
        ] {
            for burst in bursts(list, hours * HOUR_MS, threshold as usize) {
                rows.dimension.push(dimension.to_string());
                rows.key.push(key.clone());
                rows.window.push(window.to_string());
                rows.start.push(Some(burst.start));
                rows.end.push(Some(burst.end));
                rows.relays.push(burst.fingerprints.len() as u32);
                rows.peak.push(burst.peak as u32);
                rows.fingerprints.push(burst.fingerprints);
            }
        }
    }
    let frame = DataFrame::new_infer_height(vec![
        Column::new("dimension".into(), rows.dimension),
        Column::new("key".into(), rows.key),
        Column::new("window".into(), rows.window),
        datetime_column("burst_start", rows.start)?,
        datetime_column("burst_end", rows.end)?,
        Column::new("relays_joined".into(), rows.relays),
        Column::new("peak_in_window".into(), rows.peak),
        string_list_column("fingerprints", &rows.fingerprints),
    ])?;
    Ok(frame.sort(
        ["burst_start", "dimension", "key", "window"],
        SortMultipleOptions::default(),
    )?)
}

#[derive(Default)]
struct BurstColumns {
    dimension: Vec<String>,
    key: Vec<String>,
    window: Vec<String>,
    start: Vec<Option<i64>>,
    end: Vec<Option<i64>>,
    relays: Vec<u32>,
    peak: Vec<u32>,
    fingerprints: Vec<Vec<String>>,
}

struct Burst {
    start: i64,
    end: i64,
    peak: usize,
    fingerprints: Vec<String>,
}

/// Merged windows `(t - window, t]` holding at least `threshold` joins.
fn bursts(joins: &[(i64, &str)], window: i64, threshold: usize) -> Vec<Burst> {
    let mut found: Vec<Burst> = Vec::new();
    let mut lo = 0;
    let mut hi = 0;
    while hi < joins.len() {
        // Extend to every join at the same time as joins[hi].
        let t = joins[hi].0;
        let mut end = hi;
        while end + 1 < joins.len() && joins[end + 1].0 == t {
            end += 1;
        }
        while joins[lo].0 <= t - window {
            lo += 1;
        }
        let count = end + 1 - lo;
        if count >= threshold {
            let start = joins[lo].0;
            match found.last_mut() {
                Some(b) if start <= b.end => {
                    b.end = t;
                    b.peak = b.peak.max(count);
                }
                _ => found.push(Burst {
                    start,
                    end: t,
                    peak: count,
                    fingerprints: Vec::new(),
                }),
            }
        }
        hi = end + 1;
    }
    for b in &mut found {
        let mut fps: Vec<String> = joins
            .iter()
            .filter(|(t, _)| *t >= b.start && *t <= b.end)
            .map(|(_, f)| f.to_string())
            .collect();
        fps.sort();
        b.fingerprints = fps;
    }
    found
}
