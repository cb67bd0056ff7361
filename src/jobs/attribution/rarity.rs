//! How rare a value or an hour is among the relays of its time: rarity windows of
//! `rarity_window_days` from the data's first consensus, and `ln(N/k)/ln(N)` for a value `k`
//! of the window's `N` relays hold.

use super::config::AttributionConfig;
use super::profile::Profile;
use crate::util::time::DAY_MS;

/// The rarity windows: `rarity_window_days` long, from the first consensus of the data.
#[derive(Clone, Copy)]
pub struct RarityWindows {
    start: i64,
    length: i64,
}

impl RarityWindows {
    pub fn of<'p>(
        profiles: impl IntoIterator<Item = &'p Profile>,
        config: &AttributionConfig,
    ) -> Self {
        RarityWindows {
            start: profiles
                .into_iter()
                .map(|p| p.first_seen)
                .min()
                .unwrap_or(0),
            length: i64::from(config.rarity_window_days.max(1)) * DAY_MS,
        }
    }

    /// The window of a time.
    pub fn at(&self, time: i64) -> usize {
        ((time - self.start).max(0) / self.length) as usize
    }

    /// The windows a relay was in the network in.
    pub fn of_relay(&self, p: &Profile) -> std::ops::RangeInclusive<usize> {
        self.at(p.first_seen)..=self.at(p.last_seen.max(p.first_seen))
    }
}

/// How many of the given windows fall in each window (index = window).
pub fn per_window(windows: impl Iterator<Item = usize>) -> Vec<usize> {
    let mut counts = Vec::new();
    for w in windows {
        if counts.len() <= w {
            counts.resize(w + 1, 0);
        }
        counts[w] += 1;
    }
    counts
}

/// How rare a value held by `holders` of the `relays` of its window is: ln(N/k)/ln(N).
pub fn rarity(relays: usize, holders: usize) -> f64 {
    let n = relays.max(2) as f64;
    ((n / holders.max(1) as f64).ln() / n.ln()).clamp(0.0, 1.0)
}
