//! Network-level datasets: `relay_probabilities` (each relay's consensus weight fraction
//! and guard / middle / exit probability in each consensus, computed as Onionoo does) and
//! `network_hourly` (relay counts per flag, joins, returns, departures, Winter churn and
//! total weight per consensus).
//!
//! Onionoo's formula (`NodeDetailsStatusUpdater.calculatePathSelectionProbabilities`): over
//! the relays with the `Running` flag, with `w` = the `w Bandwidth=` consensus weight, a
//! relay is an exit when it has `Exit` and not `BadExit`, a guard when it has `Guard`;
//!
//! | relay | guard weight | middle weight | exit weight |
//! |---|---|---|---|
//! | guard and exit | w·Wgd | w·Wmd | w·Wed |
//! | guard only | w·Wgg | w·Wmg | 0 |
//! | exit only | 0 | w·Wme | w·Wee |
//! | neither | 0 | w·Wmm | 0 |
//!
//! and each probability is the relay's weight over the sum of that weight over all running
//! relays of the consensus (the consensus weight fraction likewise with `w`). The
//! `bandwidth-weights` scale cancels out. Without `bandwidth-weights` (before consensus
//! method 9, 2010) the three probabilities are null.

use std::path::Path;

use anyhow::{bail, Context, Result};
use polars::prelude::*;

use super::presence::{flag_bit, Presence, FLAGS, PASS_COLUMNS};
use super::{datetime_column, flag_suffixes};

/// The bandwidth-weights the formula uses.
const WEIGHTS: [&str; 8] = ["Wgg", "Wgd", "Wmg", "Wmm", "Wme", "Wmd", "Wee", "Wed"];

/// Every consensus of the warehouse in time order (its position is its number `cidx`), with
/// its bandwidth-weights.
pub fn consensus_index(root: &Path) -> Result<ConsensusWeights> {
    let Some(scan) = super::scan_dataset(root, "consensuses")? else {
        bail!(
            "{}: no consensuses imported yet (run `relaytrail import` first)",
            root.display()
        );
    };
    let mut columns = vec![col("valid_after")
        .cast(DataType::Int64)
        .alias("valid_after_ms")];
    columns.extend(WEIGHTS.iter().map(|w| col(*w).cast(DataType::Float64)));
    let frame = scan
        .select(columns)
        .unique_stable_generic(Some(vec![col("valid_after_ms")]), UniqueKeepStrategy::First)
        .sort(["valid_after_ms"], SortMultipleOptions::default())
        .collect()
        .map_err(anyhow::Error::from)
        .context("cannot read the consensuses dataset")?;
    ConsensusWeights::new(&frame)
}

/// Flag masks of a `flags` list column (see [`FLAGS`]); flags not tracked are ignored.
fn flag_masks(lists: &ListChunked) -> Result<Vec<u32>> {
    let mut masks = Vec::with_capacity(lists.len());
    for item in lists.amortized_iter() {
        let mut mask = 0u32;
        if let Some(series) = item {
            for flag in series.as_ref().str()?.iter().flatten() {
                if let Some(i) = FLAGS.iter().position(|f| *f == flag) {
                    mask |= 1 << i;
                }
            }
        }
        masks.push(mask);
    }
    Ok(masks)
}

/// One month of consensus entries with everything the presence pass and the probabilities
/// need: consensus number, flag mask, and the Onionoo shares.
pub fn month_frame(file: &Path, index: &ConsensusWeights) -> Result<DataFrame> {
    let mut entries = LazyFrame::scan_parquet(
        PlRefPath::new(file.to_string_lossy().as_ref()),
        ScanArgsParquet::default(),
    )?
    .select([
        col("fingerprint"),
        col("valid_after")
            .cast(DataType::Int64)
            .alias("valid_after_ms"),
        col("nickname"),
        col("address"),
        col("or_port"),
        col("version"),
        col("bandwidth"),
        col("flags"),
    ])
    .collect()?;
    let masks = flag_masks(entries.column("flags")?.list()?)?;
    entries = entries.drop("flags")?;
    let times = entries.column("valid_after_ms")?.i64()?;
    let bandwidths = entries.column("bandwidth")?.i64()?;
    let cidxs: Vec<Option<u32>> = times
        .iter()
        .map(|t| t.and_then(|t| index.cidx(t)))
        .collect();
    let shares = onionoo_shares(index, &cidxs, &masks, bandwidths);
    let [cwf, guard, middle, exit] = shares;
    let columns = [
        Column::new("cidx".into(), cidxs),
        Column::new("flag_mask".into(), masks),
        Column::new("consensus_weight_fraction".into(), cwf),
        Column::new("guard_probability".into(), guard),
        Column::new("middle_probability".into(), middle),
        Column::new("exit_probability".into(), exit),
    ];
    for column in columns {
        entries.with_column(column)?;
    }
    let order: Vec<&str> = PASS_COLUMNS
        .iter()
        .copied()
        .chain(["valid_after_ms"])
        .collect();
    Ok(entries.select(order)?)
}

/// The consensuses by time, with their bandwidth-weights (`None` where a consensus has none).
pub struct ConsensusWeights {
    /// `valid_after` (ms) of each consensus number.
    pub times: Vec<i64>,
    weights: Vec<Option<[f64; 8]>>,
}

impl ConsensusWeights {
    fn new(consensuses: &DataFrame) -> Result<Self> {
        let times: Vec<i64> = consensuses
            .column("valid_after_ms")?
            .i64()?
            .into_no_null_iter()
            .collect();
        let columns = WEIGHTS
            .iter()
            .map(|w| Ok(consensuses.column(w)?.f64()?.clone()))
            .collect::<Result<Vec<_>>>()?;
        let weights = (0..times.len())
            .map(|row| {
                let mut values = [0.0; 8];
                for (value, column) in values.iter_mut().zip(&columns) {
                    *value = column.get(row)?;
                }
                Some(values)
            })
            .collect();
        Ok(ConsensusWeights { times, weights })
    }

    /// The number of the consensus valid after `time` (ms), if it is a known consensus.
    fn cidx(&self, time: i64) -> Option<u32> {
        self.times.binary_search(&time).ok().map(|i| i as u32)
    }
}

/// Onionoo's consensus weight fraction and guard / middle / exit probabilities of each entry
/// (see the module documentation): null for relays without `Running` and, for the three
/// probabilities, in consensuses without bandwidth-weights.
fn onionoo_shares(
    index: &ConsensusWeights,
    cidxs: &[Option<u32>],
    masks: &[u32],
    bandwidths: &Int64Chunked,
) -> [Vec<Option<f64>>; 4] {
    let (running, guard, exit, bad_exit) = (
        flag_bit("Running"),
        flag_bit("Guard"),
        flag_bit("Exit"),
        flag_bit("BadExit"),
    );
    // Each entry's four weights, and their totals per consensus.
    let mut totals = vec![[0.0f64; 4]; index.times.len()];
    let weights: Vec<Option<[Option<f64>; 4]>> = cidxs
        .iter()
        .zip(masks)
        .zip(bandwidths.iter())
        .map(|((cidx, &mask), bandwidth)| {
            let cidx = (*cidx)? as usize;
            if mask & running == 0 {
                return None;
            }
            let w = bandwidth? as f64;
            let is_guard = mask & guard != 0;
            let is_exit = mask & exit != 0 && mask & bad_exit == 0;
            // In WEIGHTS order.
            let roles =
                index.weights[cidx].map(|[wgg, wgd, wmg, wmm, wme, wmd, wee, wed]| {
                    match (is_guard, is_exit) {
                        (true, true) => [w * wgd, w * wmd, w * wed],
                        (true, false) => [w * wgg, w * wmg, 0.0],
                        (false, true) => [0.0, w * wme, w * wee],
                        (false, false) => [0.0, w * wmm, 0.0],
                    }
                });
            let entry = [
                Some(w),
                roles.map(|r| r[0]),
                roles.map(|r| r[1]),
                roles.map(|r| r[2]),
            ];
            for (total, value) in totals[cidx].iter_mut().zip(entry) {
                *total += value.unwrap_or(0.0);
            }
            Some(entry)
        })
        .collect();
    std::array::from_fn(|k| {
        weights
            .iter()
            .zip(cidxs)
            .map(|(entry, cidx)| {
                let value = (*entry)?[k]?;
                let total = totals[(*cidx)? as usize][k];
                (total > 0.0).then(|| value / total)
            })
            .collect()
    })
}

/// The `relay_probabilities` rows of one month frame.
pub fn probabilities_table(frame: &DataFrame) -> Result<DataFrame> {
    let table = frame
        .clone()
        .lazy()
        .select([
            col("fingerprint"),
            col("valid_after_ms")
                .cast(DataType::Datetime(
                    TimeUnit::Milliseconds,
                    Some(TimeZone::UTC),
                ))
                .alias("valid_after"),
            col("bandwidth").alias("consensus_weight"),
            col("consensus_weight_fraction").cast(DataType::Float32),
            col("guard_probability").cast(DataType::Float32),
            col("middle_probability").cast(DataType::Float32),
            col("exit_probability").cast(DataType::Float32),
        ])
        .collect()?;
    Ok(table)
}

/// `network_hourly`: one row per consensus.
pub fn hourly_table(presence: &Presence) -> Result<DataFrame> {
    let n = presence.times.len();
    let mut joins = vec![0u32; n];
    let mut returns = vec![0u32; n];
    let mut departures = vec![0u32; n];
    let mut gained = vec![[0u32; FLAGS.len()]; n];
    let mut lost = vec![[0u32; FLAGS.len()]; n];
    for (i, t) in presence.totals.iter().enumerate() {
        gained[i] = t.changes.gained;
        lost[i] = t.changes.lost;
    }
    for s in &presence.sessions {
        let start = s.start as usize;
        if s.first_of_relay {
            joins[start] += 1;
        } else {
            returns[start] += 1;
        }
        for (bit, count) in gained[start].iter_mut().enumerate() {
            if s.first_flags & (1 << bit) != 0 {
                *count += 1;
            }
        }
        let gone_at = s.end as usize + 1;
        if gone_at < n {
            departures[gone_at] += 1;
            for (bit, count) in lost[gone_at].iter_mut().enumerate() {
                if s.last_flags & (1 << bit) != 0 {
                    *count += 1;
                }
            }
        }
    }
    let previous = |i: usize| i.checked_sub(1);
    let relays: Vec<u32> = presence.totals.iter().map(|t| t.relays).collect();
    let churn = |new: u32, prev: Option<u32>, cur: u32| -> Option<f64> {
        let prev = prev?;
        let denominator = prev.max(cur);
        (denominator > 0).then(|| f64::from(new) / f64::from(denominator))
    };
    let mut columns = vec![
        datetime_column(
            "valid_after",
            presence.times.iter().map(|&t| Some(t)).collect(),
        )?,
        Column::new(
            "hours_since_previous".into(),
            (0..n)
                .map(|i| {
                    previous(i)
                        .map(|p| ((presence.times[i] - presence.times[p]) / 3_600_000) as u32)
                })
                .collect::<Vec<_>>(),
        ),
        Column::new("relays".into(), relays.clone()),
    ];
    for (bit, suffix) in flag_suffixes() {
        let counts: Vec<u32> = presence.totals.iter().map(|t| t.per_flag[bit]).collect();
        columns.push(Column::new(format!("relays_{suffix}").into(), counts));
    }
    columns.push(Column::new("joins".into(), joins.clone()));
    columns.push(Column::new("returns".into(), returns.clone()));
    columns.push(Column::new("departures".into(), departures.clone()));
    columns.push(Column::new(
        "churn_new".into(),
        (0..n)
            .map(|i| {
                churn(
                    joins[i] + returns[i],
                    previous(i).map(|p| relays[p]),
                    relays[i],
                )
            })
            .collect::<Vec<_>>(),
    ));
    columns.push(Column::new(
        "churn_gone".into(),
        (0..n)
            .map(|i| churn(departures[i], previous(i).map(|p| relays[p]), relays[i]))
            .collect::<Vec<_>>(),
    ));
    for (bit, suffix) in flag_suffixes() {
        let count = |i: usize| presence.totals[i].per_flag[bit];
        columns.push(Column::new(
            format!("churn_new_{suffix}").into(),
            (0..n)
                .map(|i| churn(gained[i][bit], previous(i).map(count), count(i)))
                .collect::<Vec<_>>(),
        ));
        columns.push(Column::new(
            format!("churn_gone_{suffix}").into(),
            (0..n)
                .map(|i| churn(lost[i][bit], previous(i).map(count), count(i)))
                .collect::<Vec<_>>(),
        ));
    }
    columns.push(Column::new(
        "total_consensus_weight".into(),
        presence
            .totals
            .iter()
            .map(|t| t.consensus_weight)
            .collect::<Vec<_>>(),
    ));
    Ok(DataFrame::new_infer_height(columns)?)
}
