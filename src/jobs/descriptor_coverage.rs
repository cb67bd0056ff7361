//! Descriptor coverage: in how many of the consensuses that list a relay its contact, family,
//! platform, exit policy, uptime and bandwidth rate are known. A consensus entry is *covered*
//! when a server descriptor of the relay published in the [`COVER_HOURS`] up to the consensus's
//! valid-after is imported: the authorities list a relay only with a descriptor published at
//! most a day before (tor's `ROUTER_MAX_AGE_TO_PUBLISH`; relays publish one every 18 hours),
//! so that descriptor is the one the consensus entry describes. Entries of hours no imported
//! descriptor covers say nothing of those facts: they are unknown, not "none".

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use polars::prelude::*;

use super::io::{partition_files, scan_file};
use crate::util::time::HOUR_MS;

/// A descriptor covers the consensuses of this many hours after it was published.
pub const COVER_HOURS: i64 = 24;

/// The covered consensus entries of each relay and of each consensus, counted month by month.
pub struct DescriptorCoverage {
    /// The `server_descriptors` partition of each month (`year=YYYY/month=MM`).
    months: HashMap<String, PathBuf>,
    covered: Covered,
}

/// Covered consensus entries per relay (fingerprint) and per consensus (valid-after, ms);
/// relays and consensuses without any are absent.
#[derive(Debug, Default)]
pub struct Covered {
    pub by_relay: HashMap<String, u32>,
    pub by_consensus: HashMap<i64, u32>,
}

impl DescriptorCoverage {
    pub fn new(root: &Path) -> Result<Self> {
        Ok(DescriptorCoverage {
            months: partition_files(root, "server_descriptors")?
                .into_iter()
                .collect(),
            covered: Covered::default(),
        })
    }

    /// Counts the covered entries of one month's consensus entries (`fingerprint`,
    /// `valid_after_ms`), with the descriptors of that month and the one before.
    pub fn add_month(&mut self, month: &str, entries: &DataFrame) -> Result<()> {
        if self.months.is_empty() || entries.height() == 0 {
            return Ok(());
        }
        let times = entries.column("valid_after_ms")?.i64()?;
        let first = times.min().unwrap_or(0) - COVER_HOURS * HOUR_MS;
        let mut published: HashMap<String, Vec<i64>> = HashMap::new();
        for key in [previous_month(month), Some(month.to_string())]
            .into_iter()
            .flatten()
        {
            let Some(file) = self.months.get(&key) else {
                continue;
            };
            let descriptors = scan_file(file)?
                .select([col("fingerprint"), col("published").cast(DataType::Int64)])
                .filter(col("published").gt_eq(lit(first)))
                .collect()
                .map_err(anyhow::Error::from)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let fps = descriptors.column("fingerprint")?.str()?;
            let at = descriptors.column("published")?.i64()?;
            for (fp, t) in fps.iter().zip(at.iter()) {
                if let (Some(fp), Some(t)) = (fp, t) {
                    published.entry(fp.to_string()).or_default().push(t);
                }
            }
        }
        for list in published.values_mut() {
            list.sort_unstable();
        }
        let fingerprints = entries.column("fingerprint")?.str()?;
        for (fp, t) in fingerprints.iter().zip(times.iter()) {
            let (Some(fp), Some(t)) = (fp, t) else {
                continue;
            };
            let Some(list) = published.get(fp) else {
                continue;
            };
            // The newest descriptor published at or before the consensus.
            let newer = list.partition_point(|&p| p <= t);
            if newer > 0 && list[newer - 1] >= t - COVER_HOURS * HOUR_MS {
                *self.covered.by_relay.entry(fp.to_string()).or_default() += 1;
                *self.covered.by_consensus.entry(t).or_default() += 1;
            }
        }
        Ok(())
    }

    /// The covered consensus entries.
    pub fn into_counts(self) -> Covered {
        self.covered
    }
}

/// `year=YYYY/month=MM` of the month before.
fn previous_month(month: &str) -> Option<String> {
    let (year, month) = month.split_once('/')?;
    let year: i32 = year.strip_prefix("year=")?.parse().ok()?;
    let month: u32 = month.strip_prefix("month=")?.parse().ok()?;
    let (year, month) = if month == 1 {
        (year - 1, 12)
    } else {
        (year, month - 1)
    };
    Some(format!("year={year}/month={month:02}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jobs::io::write_parquet;

    /// A descriptor published at 10:30 covers the consensuses of 11:00 that day up to 10:00 the
    /// next (24 hours), and one of the last day of July covers the first hours of August.
    #[test]
    fn a_descriptor_covers_the_day_after_it_was_published() {
        let dir = tempfile::tempdir().unwrap();
        let hour = |day: i64, h: i64| (day * 24 + h) * HOUR_MS;
        // 2021-08-01 00:00 UTC = day 18840.
        let aug = 18840;
        for (month, rows) in [
            ("year=2021/month=07", vec![("A", hour(aug - 1, 20))]),
            (
                "year=2021/month=08",
                vec![("B", hour(aug + 2, 10) + HOUR_MS / 2)],
            ),
        ] {
            let mut frame = df!(
                "fingerprint" => rows.iter().map(|r| r.0).collect::<Vec<_>>(),
                "published" => rows.iter().map(|r| r.1).collect::<Vec<_>>(),
            )
            .unwrap();
            let path = dir
                .path()
                .join(format!("server_descriptors/{month}/part-0.parquet"));
            write_parquet(&mut frame, &path).unwrap();
        }
        let mut coverage = DescriptorCoverage::new(dir.path()).unwrap();
        let entries: Vec<(&str, i64)> = (0..72)
            .flat_map(|h| {
                [
                    ("A", hour(aug, h)),
                    ("B", hour(aug, h)),
                    ("C", hour(aug, h)),
                ]
            })
            .collect();
        let frame = df!(
            "fingerprint" => entries.iter().map(|e| e.0).collect::<Vec<_>>(),
            "valid_after_ms" => entries.iter().map(|e| e.1).collect::<Vec<_>>(),
        )
        .unwrap();
        coverage.add_month("year=2021/month=08", &frame).unwrap();
        let counts = coverage.into_counts();
        // A: published July 31 20:00, covers August 1 00:00..20:00 (21 hours).
        assert_eq!(counts.by_relay.get("A"), Some(&21));
        // B: published August 3 10:30, covers 11:00..23:00 of August 3 (the entries end).
        assert_eq!(counts.by_relay.get("B"), Some(&13));
        assert_eq!(counts.by_relay.get("C"), None);
        assert_eq!(counts.by_consensus.get(&hour(aug, 0)), Some(&1));
        assert_eq!(counts.by_consensus.get(&hour(aug, 21)), None);
        assert_eq!(counts.by_consensus.get(&hour(aug + 2, 12)), Some(&1));
        assert_eq!(
            previous_month("year=2021/month=01").as_deref(),
            Some("year=2020/month=12")
        );
    }
}
