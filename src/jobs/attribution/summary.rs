//! What an attribution run found, kept beside the warehouse for `evaluate`.

use std::path::Path;

use serde::{Deserialize, Serialize};

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
