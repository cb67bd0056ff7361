//! `watchlist_relays`: every listed relay with when it was seen, the removal events it left
//! in and the actor holding it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use polars::prelude::*;

use super::store::{load, StoredList};
use crate::jobs::columns::{datetime_column, string_list_column};
use crate::jobs::columns::{strings, times};
use crate::jobs::io::{scan_dataset, write_parquet};

/// `watchlist_relays`: every listed relay with when it was seen (from `relays`), the removal
/// events it left in, and the actor holding it (from `actor_members`, once the attribution
/// has run; null before).
pub fn relays_table(root: &Path, lists: &[StoredList]) -> Result<DataFrame> {
    let relays = scan_dataset(root, "relays")?
        .context("no relays dataset (run `relaytrail jobs` first)")?
        .select([
            col("fingerprint"),
            col("first_seen"),
            col("last_seen"),
            col("hours_present"),
            col("sessions"),
        ])
        .collect()?;
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (i, fp) in strings(&relays, "fingerprint")?.into_iter().enumerate() {
        if let Some(fp) = fp {
            seen.insert(fp, i);
        }
    }
    let first = times(&relays, "first_seen")?;
    let last = times(&relays, "last_seen")?;
    let hours: Vec<Option<u32>> = relays
        .column("hours_present")?
        .cast(&DataType::UInt32)?
        .u32()?
        .iter()
        .collect();
    let sessions: Vec<Option<u32>> = relays
        .column("sessions")?
        .cast(&DataType::UInt32)?
        .u32()?
        .iter()
        .collect();
    let mut removed: HashMap<String, Vec<i64>> = HashMap::new();
    if let Some(scan) = scan_dataset(root, "removal_event_relays")? {
        let frame = scan
            .select([col("fingerprint"), col("event_time")])
            .collect()?;
        for (fp, t) in strings(&frame, "fingerprint")?
            .into_iter()
            .zip(times(&frame, "event_time")?)
        {
            if let (Some(fp), Some(t)) = (fp, t) {
                removed.entry(fp).or_default().push(t);
            }
        }
    }
    let mut actor: HashMap<String, String> = HashMap::new();
    if let Some(scan) = scan_dataset(root, "actor_members")? {
        let frame = scan
            .select([col("fingerprint"), col("actor_id")])
            .collect()?;
        for (fp, a) in strings(&frame, "fingerprint")?
            .into_iter()
            .zip(strings(&frame, "actor_id")?)
        {
            if let (Some(fp), Some(a)) = (fp, a) {
                actor.insert(fp, a);
            }
        }
    }
    let mut rows: (Vec<String>, Vec<String>, Vec<bool>) = Default::default();
    let mut first_seen = Vec::new();
    let mut last_seen = Vec::new();
    let mut hours_present = Vec::new();
    let mut session_count = Vec::new();
    let mut events: Vec<Vec<String>> = Vec::new();
    let mut actor_id = Vec::new();
    for list in lists {
        for fp in &list.fingerprints {
            let i = seen.get(fp).copied();
            rows.0.push(list.name.clone());
            rows.1.push(fp.clone());
            rows.2.push(i.is_some());
            first_seen.push(i.and_then(|i| first[i]));
            last_seen.push(i.and_then(|i| last[i]));
            hours_present.push(i.and_then(|i| hours[i]));
            session_count.push(i.and_then(|i| sessions[i]));
            let mut left: Vec<i64> = removed.get(fp).cloned().unwrap_or_default();
            left.sort_unstable();
            events.push(
                left.iter()
                    .map(|t| crate::descriptor::values::format_timestamp(t / 1000))
                    .collect(),
            );
            actor_id.push(actor.get(fp).cloned());
        }
    }
    let frame = DataFrame::new_infer_height(vec![
        Column::new("name".into(), rows.0),
        Column::new("fingerprint".into(), rows.1),
        Column::new("seen".into(), rows.2),
        datetime_column("first_seen", first_seen)?,
        datetime_column("last_seen", last_seen)?,
        Column::new("hours_present".into(), hours_present),
        Column::new("sessions".into(), session_count),
        string_list_column("removal_events", &events),
        Column::new("actor_id".into(), actor_id),
    ])?;
    Ok(frame.sort(["name", "fingerprint"], SortMultipleOptions::default())?)
}

/// Writes `watchlist_relays` for the stored lists (removes it when there are none).
pub fn write_relays(root: &Path) -> Result<Option<PathBuf>> {
    let lists = load(root)?;
    let path = root.join("watchlist_relays").join("part-0.parquet");
    if lists.is_empty() {
        if path.is_file() {
            std::fs::remove_file(&path)?;
        }
        return Ok(None);
    }
    let mut frame = relays_table(root, &lists)?;
    write_parquet(&mut frame, &path)?;
    Ok(Some(path))
}
