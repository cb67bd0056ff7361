//! `watchlist_presence`: per list and consensus, the listed relays present and their summed
//! shares, accumulated month by month during the presence pass.

use std::collections::HashMap;

use anyhow::Result;
use polars::prelude::*;

use super::store::StoredList;
use crate::jobs::columns::datetime_column;

/// Per list and consensus: the listed relays present and their summed shares. Fed month by
/// month by the presence pass.
pub struct PresenceAccumulator {
    names: Vec<String>,
    listed: Vec<u32>,
    lists_of: HashMap<String, Vec<usize>>,
    /// [list][cidx] → (relays, cw, guard, middle, exit).
    sums: Vec<Vec<(u32, [f64; 4])>>,
}

impl PresenceAccumulator {
    pub fn new(lists: &[StoredList], consensuses: usize) -> Self {
        let mut lists_of: HashMap<String, Vec<usize>> = HashMap::new();
        for (k, list) in lists.iter().enumerate() {
            for fp in &list.fingerprints {
                lists_of.entry(fp.clone()).or_default().push(k);
            }
        }
        PresenceAccumulator {
            names: lists.iter().map(|l| l.name.clone()).collect(),
            listed: lists.iter().map(|l| l.fingerprints.len() as u32).collect(),
            lists_of,
            sums: vec![vec![(0, [0.0; 4]); consensuses]; lists.len()],
        }
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// Adds one month frame (columns as `network::month_frame`).
    pub fn add_month(&mut self, frame: &DataFrame) -> Result<()> {
        if self.is_empty() {
            return Ok(());
        }
        let fps = frame.column("fingerprint")?.str()?;
        let cidxs = frame.column("cidx")?.u32()?;
        let shares = [
            frame.column("consensus_weight_fraction")?.f64()?,
            frame.column("guard_probability")?.f64()?,
            frame.column("middle_probability")?.f64()?,
            frame.column("exit_probability")?.f64()?,
        ];
        for (row, fp) in fps.iter().enumerate() {
            let (Some(fp), Some(cidx)) = (fp, cidxs.get(row)) else {
                continue;
            };
            let Some(lists) = self.lists_of.get(fp) else {
                continue;
            };
            for &k in lists {
                let cell = &mut self.sums[k][cidx as usize];
                cell.0 += 1;
                for (sum, column) in cell.1.iter_mut().zip(&shares) {
                    *sum += column.get(row).unwrap_or(0.0);
                }
            }
        }
        Ok(())
    }

    /// `watchlist_presence`: one row per list and consensus.
    pub fn table(&self, times: &[i64]) -> Result<DataFrame> {
        let mut name = Vec::new();
        let mut at = Vec::new();
        let mut present = Vec::new();
        let mut listed = Vec::new();
        let mut shares: [Vec<f64>; 4] = Default::default();
        for (k, list) in self.names.iter().enumerate() {
            for (cidx, (n, sums)) in self.sums[k].iter().enumerate() {
                name.push(list.clone());
                at.push(Some(times[cidx]));
                present.push(*n);
                listed.push(self.listed[k]);
                for (column, value) in shares.iter_mut().zip(sums) {
                    column.push(*value);
                }
            }
        }
        let [cw, guard, middle, exit] = shares;
        Ok(DataFrame::new_infer_height(vec![
            Column::new("name".into(), name),
            datetime_column("valid_after", at)?,
            Column::new("relays_present".into(), present),
            Column::new("relays_listed".into(), listed),
            Column::new("consensus_weight_fraction".into(), cw),
            Column::new("guard_probability".into(), guard),
            Column::new("middle_probability".into(), middle),
            Column::new("exit_probability".into(), exit),
        ])?)
    }
}
