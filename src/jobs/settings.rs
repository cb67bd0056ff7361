//! The jobs' settings ([`JobConfig`]), how any settings struct is read (defaults, a pipeline
//! file's table, `--set` overrides: [`load_settings`]) and the context every job step shares
//! ([`Jobs`]).

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use polars::prelude::DataFrame;
use serde::{Deserialize, Serialize};

use super::enrich::Enricher;
use super::io::write_parquet;

/// Job parameters (also read from a pipeline file's `[jobs]` table).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct JobConfig {
    /// The data is continuous while consensuses come at most this many hours apart; a longer
    /// gap ends every session, and nothing (joins, departures, churn, events) is counted
    /// across it (see `coverage`).
    pub max_gap_hours: u32,
    /// Departures of an hour are compared with the median of the hours within this many days
    /// on either side.
    pub baseline_days: u32,
    /// An event needs at least this many relays above the baseline...
    pub event_min_relays: u32,
    /// ...and this many robust standard deviations above it.
    pub event_min_score: f64,
    /// An hour is judged only when its baseline has at least this many observed hours (the
    /// same hour of the day on other days of the window).
    pub event_min_baseline_hours: u32,
    /// Departed relays back within this many days are an outage, not a removal.
    pub outage_return_days: u32,
    /// Anomalous hours this close (consensuses) are one event.
    pub event_merge_hours: u32,
    /// Departures are tested over windows of 1 up to this many consecutive consensuses: the
    /// authorities may remove a group over a few consensuses (reject lines added one by one).
    pub event_window_consensuses: u32,
    /// Join bursts: never-seen relays within one hour / within 24 hours, overall and per
    /// AS, /16, version and nickname prefix (DocTor alerts at 50).
    pub burst_min_relays_1h: u32,
    pub burst_min_relays_24h: u32,
    /// A relay first seen counts towards a burst only after this many hours of continuous
    /// data (its segment) before it: earlier, "never seen" mostly means "not seen yet" (relays
    /// briefly missing from the first consensus look like joins in the next).
    pub burst_min_history_hours: u32,
    /// Characters of the nickname prefix grouped for bursts.
    pub nickname_prefix_chars: usize,
}

impl Default for JobConfig {
    fn default() -> Self {
        JobConfig {
            max_gap_hours: 6,
            baseline_days: 7,
            event_min_relays: 10,
            event_min_score: 5.0,
            event_min_baseline_hours: 4,
            outage_return_days: 7,
            event_merge_hours: 2,
            event_window_consensuses: 3,
            burst_min_relays_1h: 50,
            burst_min_relays_24h: 50,
            burst_min_history_hours: 24,
            nickname_prefix_chars: 5,
        }
    }
}

/// Settings: the defaults of `T`, then the `[section]` table of a pipeline file, then
/// `key=value` overrides (values in TOML syntax; dotted keys reach into tables,
/// `weights.asn=0.4`).
pub fn load_settings<T>(pipeline: Option<&Path>, section: &str, settings: &[String]) -> Result<T>
where
    T: Default + Serialize + serde::de::DeserializeOwned,
{
    fn merge(into: &mut toml::Table, from: toml::Table) {
        for (key, value) in from {
            match (into.get_mut(&key), value) {
                (Some(toml::Value::Table(a)), toml::Value::Table(b)) => merge(a, b),
                (_, value) => {
                    into.insert(key, value);
                }
            }
        }
    }
    let mut table = toml::Table::try_from(T::default())?;
    if let Some(path) = pipeline {
        let text =
            fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
        let mut file: toml::Table = toml::from_str(&text)
            .with_context(|| format!("{} is not valid TOML", path.display()))?;
        if let Some(toml::Value::Table(own)) = file.remove(section) {
            merge(&mut table, own);
            let parsed: Result<T, _> = table.clone().try_into();
            if let Err(e) = parsed {
                bail!("{}: [{section}]: {e}", path.display());
            }
        }
    }
    for setting in settings {
        let (key, value) = setting
            .split_once('=')
            .with_context(|| format!("--set {setting}: expected KEY=VALUE"))?;
        let value: toml::Value = toml::from_str::<toml::Table>(&format!("v = {value}"))
            .ok()
            .and_then(|mut t| t.remove("v"))
            .unwrap_or_else(|| toml::Value::String(value.to_string()));
        let parts: Vec<&str> = key.trim().split('.').collect();
        let mut target = &mut table;
        for part in &parts[..parts.len() - 1] {
            target = target
                .get_mut(*part)
                .and_then(toml::Value::as_table_mut)
                .with_context(|| format!("--set {setting}: no setting table {part}"))?;
        }
        target.insert(parts[parts.len() - 1].to_string(), value);
    }
    table
        .try_into()
        .map_err(|e| anyhow::anyhow!("settings: {e}"))
}

/// The context every job step shares.
pub struct Jobs<'a> {
    pub root: &'a Path,
    pub config: &'a JobConfig,
    pub enricher: &'a Enricher,
}

impl Jobs<'_> {
    /// Writes an unpartitioned job dataset (`<root>/<name>/part-0.parquet`).
    pub fn write(&self, name: &str, frame: &mut DataFrame) -> Result<PathBuf> {
        let path = self.root.join(name).join("part-0.parquet");
        write_parquet(frame, &path)?;
        Ok(path)
    }
}
