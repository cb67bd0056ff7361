//! Where the warehouse has data: the consensuses in time order cut into *segments*, runs in
//! which no consensus comes more than `max_gap_hours` after the one before it. The `coverage`
//! dataset (one row per segment), and the rule every job follows: nothing is compared across
//! a segment boundary. A relay's session ends at the last consensus of a segment and a new one
//! starts after the gap; the first consensus of a segment counts no joins, returns, departures
//! or churn (like the very first consensus); a departure is decided "removed" only when the
//! return window after it lies inside its segment.

use anyhow::Result;
use polars::prelude::*;

use super::columns::datetime_column;
use crate::util::time::HOUR_MS;

/// Which flavour of consensus an hour's entries come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Flavor {
    /// `network-status-consensus-3` (`consensus_entries`): preferred where an hour has it.
    Ns,
    /// `network-status-microdesc-consensus-3` (`microdesc_consensus_entries`): used for the
    /// hours that have only this flavour.
    Microdesc,
}

impl Flavor {
    /// The name used in the warehouse (`consensuses.flavor`).
    pub fn name(self) -> &'static str {
        match self {
            Flavor::Ns => "ns",
            Flavor::Microdesc => "microdesc",
        }
    }

    /// The flavour of a `consensuses.flavor` value.
    pub fn of_name(name: &str) -> Option<Flavor> {
        match name {
            "ns" => Some(Flavor::Ns),
            "microdesc" => Some(Flavor::Microdesc),
            _ => None,
        }
    }
}

/// The segments of a sorted list of consensus times.
#[derive(Debug, Clone)]
pub struct Coverage {
    /// Longest time (hours) between two consecutive consensuses of one segment.
    pub max_gap_hours: u32,
    /// Segment number of each consensus number.
    segment_of: Vec<u32>,
    /// First and last consensus number of each segment.
    bounds: Vec<(u32, u32)>,
}

impl Coverage {
    /// Cuts `times` (ms, ascending) wherever a consensus comes more than `max_gap_hours`
    /// after the previous one.
    pub fn new(times: &[i64], max_gap_hours: u32) -> Self {
        let max_gap = i64::from(max_gap_hours) * HOUR_MS;
        let mut segment_of = Vec::with_capacity(times.len());
        let mut bounds: Vec<(u32, u32)> = Vec::new();
        for (i, &t) in times.iter().enumerate() {
            let i = i as u32;
            let new_segment = i == 0 || t - times[i as usize - 1] > max_gap;
            if new_segment {
                bounds.push((i, i));
            } else {
                bounds.last_mut().expect("a segment").1 = i;
            }
            segment_of.push(bounds.len() as u32 - 1);
        }
        Coverage {
            max_gap_hours,
            segment_of,
            bounds,
        }
    }

    /// The segment of a consensus.
    pub fn segment(&self, cidx: u32) -> u32 {
        self.segment_of[cidx as usize]
    }

    /// Whether a consensus is the first of its segment (the first of the data included):
    /// nothing is compared with the consensus before it.
    pub fn starts_segment(&self, cidx: u32) -> bool {
        self.bounds[self.segment(cidx) as usize].0 == cidx
    }

    /// Whether a consensus is the first after a gap longer than `max_gap_hours`.
    pub fn after_gap(&self, cidx: u32) -> bool {
        cidx > 0 && self.starts_segment(cidx)
    }

    /// Whether a consensus is the last before a gap longer than `max_gap_hours`.
    pub fn before_gap(&self, cidx: u32) -> bool {
        let segment = self.segment(cidx) as usize;
        segment + 1 < self.bounds.len() && self.bounds[segment].1 == cidx
    }

    /// The first consensus number of the segment holding `cidx`.
    pub fn segment_start(&self, cidx: u32) -> u32 {
        self.bounds[self.segment(cidx) as usize].0
    }

    /// The last consensus number of the segment holding `cidx`: how far the data is
    /// continuous after it.
    pub fn segment_end(&self, cidx: u32) -> u32 {
        self.bounds[self.segment(cidx) as usize].1
    }

    /// Number of segments.
    pub fn len(&self) -> usize {
        self.bounds.len()
    }

    pub fn is_empty(&self) -> bool {
        self.bounds.is_empty()
    }

    /// The `coverage` dataset: one row per segment.
    pub fn table(&self, times: &[i64], flavors: &[Flavor]) -> Result<DataFrame> {
        let mut start = Vec::new();
        let mut end = Vec::new();
        let mut consensuses = Vec::new();
        let mut hours_spanned = Vec::new();
        let mut missing_hours = Vec::new();
        let mut longest_gap = Vec::new();
        let mut gap_before = Vec::new();
        let mut ns = Vec::new();
        let mut microdesc = Vec::new();
        let mut flavor = Vec::new();
        for (k, &(a, b)) in self.bounds.iter().enumerate() {
            let (a, b) = (a as usize, b as usize);
            start.push(Some(times[a]));
            end.push(Some(times[b]));
            let count = (b - a + 1) as u32;
            consensuses.push(count);
            let spanned = ((times[b] - times[a]) / HOUR_MS + 1) as u32;
            hours_spanned.push(spanned);
            missing_hours.push(spanned.saturating_sub(count));
            longest_gap.push(
                (a + 1..=b)
                    .map(|i| ((times[i] - times[i - 1]) / HOUR_MS) as u32)
                    .max(),
            );
            gap_before.push(
                (k > 0)
                    .then(|| ((times[a] - times[self.bounds[k - 1].1 as usize]) / HOUR_MS) as u32),
            );
            let n_ns = flavors[a..=b].iter().filter(|f| **f == Flavor::Ns).count() as u32;
            ns.push(n_ns);
            microdesc.push(count - n_ns);
            flavor.push(match (n_ns, count - n_ns) {
                (_, 0) => "ns",
                (0, _) => "microdesc",
                _ => "mixed",
            });
        }
        Ok(DataFrame::new_infer_height(vec![
            Column::new(
                "segment".into(),
                (0..self.bounds.len() as u32).collect::<Vec<_>>(),
            ),
            datetime_column("segment_start", start)?,
            datetime_column("segment_end", end)?,
            Column::new("consensuses".into(), consensuses),
            Column::new("hours_spanned".into(), hours_spanned),
            Column::new("missing_hours".into(), missing_hours),
            Column::new("longest_gap_hours".into(), longest_gap),
            Column::new("hours_since_previous_segment".into(), gap_before),
            Column::new("ns_consensuses".into(), ns),
            Column::new("microdesc_consensuses".into(), microdesc),
            Column::new("flavor".into(), flavor),
            Column::new(
                "max_gap_hours".into(),
                vec![self.max_gap_hours; self.bounds.len()],
            ),
        ])?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hours(list: &[i64]) -> Vec<i64> {
        list.iter().map(|h| h * HOUR_MS).collect()
    }

    #[test]
    fn segments_break_only_at_gaps_longer_than_the_limit() {
        // 0 1 2 | 9 (7 h later) 15 (6 h later: same segment) | 40
        let times = hours(&[0, 1, 2, 9, 15, 40]);
        let c = Coverage::new(&times, 6);
        assert_eq!(c.len(), 3);
        assert_eq!(
            (0..6).map(|i| c.segment(i)).collect::<Vec<_>>(),
            [0, 0, 0, 1, 1, 2]
        );
        assert!(c.starts_segment(0) && !c.after_gap(0));
        assert!(c.after_gap(3) && c.after_gap(5) && !c.after_gap(4));
        assert!(c.before_gap(2) && c.before_gap(4) && !c.before_gap(5) && !c.before_gap(3));
        assert_eq!(c.segment_end(3), 4);
        let flavors = [
            Flavor::Ns,
            Flavor::Ns,
            Flavor::Microdesc,
            Flavor::Microdesc,
            Flavor::Microdesc,
            Flavor::Ns,
        ];
        let table = c.table(&times, &flavors).unwrap();
        let col = |n: &str| {
            table
                .column(n)
                .unwrap()
                .cast(&DataType::UInt32)
                .unwrap()
                .u32()
                .unwrap()
                .iter()
                .collect::<Vec<_>>()
        };
        assert_eq!(col("consensuses"), [Some(3), Some(2), Some(1)]);
        assert_eq!(col("hours_spanned"), [Some(3), Some(7), Some(1)]);
        assert_eq!(col("missing_hours"), [Some(0), Some(5), Some(0)]);
        assert_eq!(col("longest_gap_hours"), [Some(1), Some(6), None]);
        assert_eq!(
            col("hours_since_previous_segment"),
            [None, Some(7), Some(25)]
        );
        let flavor: Vec<_> = table
            .column("flavor")
            .unwrap()
            .str()
            .unwrap()
            .iter()
            .collect();
        assert_eq!(flavor, [Some("mixed"), Some("microdesc"), Some("ns")]);
    }

    #[test]
    fn a_limit_of_zero_makes_every_consensus_its_own_segment() {
        let c = Coverage::new(&hours(&[0, 1, 2]), 0);
        assert_eq!(c.len(), 3);
    }
}
