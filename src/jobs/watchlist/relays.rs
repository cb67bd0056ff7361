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
    let mut scan =
        scan_dataset(root, "relays")?.context("no relays dataset (run `relaytrail jobs` first)")?;
    // Warehouses whose jobs predate the count have no column: unknown, not zero.
    let counted = scan.collect_schema()?.contains("hours_with_descriptor");
    let mut columns = vec![
        col("fingerprint"),
        col("first_seen"),
        col("last_seen"),
        col("hours_present"),
        col("sessions"),
    ];
    if counted {
        columns.push(col("hours_with_descriptor"));
    }
    let relays = scan.select(columns).collect()?;
    let with_descriptor: Vec<Option<u32>> = if counted {
        relays
            .column("hours_with_descriptor")?
            .cast(&DataType::UInt32)?
            .u32()?
            .iter()
            .collect()
    } else {
        vec![None; relays.height()]
    };
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
    let mut hours_with_descriptor = Vec::new();
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
            hours_with_descriptor.push(i.and_then(|i| with_descriptor[i]));
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
        Column::new("hours_with_descriptor".into(), hours_with_descriptor),
        string_list_column("removal_events", &events),
        Column::new("actor_id".into(), actor_id),
    ])?;
    Ok(frame.sort(["name", "fingerprint"], SortMultipleOptions::default())?)
}

/// How much of a list's presence had server descriptors: of the consensus hours its relays
/// were listed in, those an imported descriptor covers (`relays.hours_with_descriptor`; without
/// one, their contact, family, platform and exit policy are unknown).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DescriptorCoverage {
    pub hours_present: u64,
    /// `None`: the warehouse's jobs predate the count (unknown, not zero).
    pub hours_with_descriptor: Option<u64>,
}

impl DescriptorCoverage {
    /// Summed over the rows of `watchlist_relays` (one list's, or any subset).
    pub fn of(rows: &DataFrame) -> Result<Self> {
        let hours_present = rows
            .column("hours_present")?
            .cast(&DataType::UInt64)?
            .u64()?
            .sum()
            .unwrap_or(0);
        let seen = rows.column("seen")?.bool()?.sum().unwrap_or(0) as usize;
        let hours_with_descriptor = match rows.column("hours_with_descriptor") {
            Ok(column) => {
                let column = column.cast(&DataType::UInt64)?;
                let values = column.u64()?;
                // Unseen relays are null too; a seen relay with null means no count.
                (rows.height() - values.null_count() >= seen).then(|| values.sum().unwrap_or(0))
            }
            Err(_) => None,
        };
        Ok(Self {
            hours_present,
            hours_with_descriptor,
        })
    }

    /// One sentence for people: how much of the presence had descriptors, and what that means.
    pub fn sentence(&self) -> String {
        match self.hours_with_descriptor {
            None => "Server descriptor coverage unknown (run `relaytrail jobs` again to count it)."
                .to_string(),
            Some(_) if self.hours_present == 0 => String::new(),
            Some(with) => {
                let share = 100.0 * with as f64 / self.hours_present as f64;
                let mut text = format!(
                    "{with} of the {} consensus hours its relays were in had an imported server descriptor ({share:.1} %)",
                    self.hours_present
                );
                if with < self.hours_present {
                    text.push_str(
                        "; for the rest their contact, family, platform and exit policy are unknown \
                         (`make download TYPES=server-descriptors MONTHS=…` fills them)",
                    );
                }
                text.push('.');
                text
            }
        }
    }
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
