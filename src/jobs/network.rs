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

use super::columns::datetime_column;
use super::coverage::Flavor;
use super::io::{scan_dataset, scan_file};
use super::presence::{flag_bit, flag_suffixes, Presence, FLAGS, PASS_COLUMNS};

/// The bandwidth-weights the formula uses.
const WEIGHTS: [&str; 8] = ["Wgg", "Wgd", "Wmg", "Wmm", "Wme", "Wmd", "Wee", "Wed"];

/// Every consensus hour of the warehouse in time order (its position is its number `cidx`),
/// with the flavour whose entries the jobs use for it (ns where the hour has an ns consensus,
/// else microdesc) and that consensus' bandwidth-weights.
pub fn consensus_index(root: &Path) -> Result<ConsensusIndex> {
    let Some(scan) = scan_dataset(root, "consensuses")? else {
        bail!(
            "{}: no consensuses imported yet (run `relaytrail import` first)",
            root.display()
        );
    };
    let mut columns = vec![
        col("valid_after")
            .cast(DataType::Int64)
            .alias("valid_after_ms"),
        col("flavor"),
    ];
    columns.extend(WEIGHTS.iter().map(|w| col(*w).cast(DataType::Float64)));
    // Each hour's preferred flavour (ns) first, then the first row of each hour is kept.
    let frame = scan
        .select(columns)
        .with_column(col("flavor").neq(lit("ns")).alias("not_ns"))
        .sort(
            ["valid_after_ms", "not_ns"],
            SortMultipleOptions::default().with_maintain_order(true),
        )
        .unique_stable_generic(Some(vec![col("valid_after_ms")]), UniqueKeepStrategy::First)
        .collect()
        .map_err(anyhow::Error::from)
        .context("cannot read the consensuses dataset")?;
    ConsensusIndex::new(&frame)
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

/// The entry columns the jobs read, from either flavour's dataset.
fn entry_columns() -> [Expr; 8] {
    [
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
    ]
}

/// The partition files of one month: `consensus_entries` and/or
/// `microdesc_consensus_entries`.
#[derive(Debug, Clone, Default)]
pub struct MonthFiles {
    pub ns: Option<std::path::PathBuf>,
    pub microdesc: Option<std::path::PathBuf>,
}

impl MonthFiles {
    /// The files, for messages.
    pub fn describe(&self) -> String {
        [&self.ns, &self.microdesc]
            .into_iter()
            .flatten()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(" and ")
    }
}

/// One month of consensus entries with everything the presence pass and the probabilities
/// need: consensus number, flag mask, and the Onionoo shares. Rows come from the ns entries,
/// and from the microdesc entries of the hours that have no ns consensus; sorted by relay,
/// then time.
pub fn month_frame(files: &MonthFiles, index: &ConsensusIndex) -> Result<DataFrame> {
    let scan = |file: &Path| scan_file(file).map(|f| f.select(entry_columns()));
    let ns = files.ns.as_deref().map(scan).transpose()?;
    let microdesc = files
        .microdesc
        .as_deref()
        .map(scan)
        .transpose()?
        .map(|frame| {
            // Only the hours the index takes from the microdesc flavour (no ns consensus).
            frame.filter(
                col("valid_after_ms")
                    .is_in(lit(index.microdesc_hours.clone()).implode(false), false),
            )
        });
    let mut entries = match (ns, microdesc) {
        (Some(ns), None) => ns.collect()?,
        (None, Some(md)) => md.collect()?,
        (Some(ns), Some(md)) => concat([ns, md], UnionArgs::default())?
            .sort(
                ["fingerprint", "valid_after_ms"],
                SortMultipleOptions::default(),
            )
            .collect()?,
        (None, None) => bail!("a month without entry files"),
    };
    let masks = flag_masks(entries.column("flags")?.list()?)?;
    entries = entries.drop("flags")?;
    let times = entries.column("valid_after_ms")?.i64()?;
    let bandwidths = entries.column("bandwidth")?.i64()?;
    let mut unknown = None;
    let cidxs: Vec<Option<u32>> = times
        .iter()
        .map(|t| {
            let cidx = t.and_then(|t| index.cidx(t));
            if cidx.is_none() && unknown.is_none() {
                unknown = t;
            }
            cidx
        })
        .collect();
    if let Some(t) = unknown {
        bail!(
            "entries of {} have no consensus header in the `consensuses` dataset (an earlier \
             relaytrail kept no microdesc consensus headers: run `relaytrail import --force` \
             over the same inputs)",
            crate::descriptor::values::format_timestamp(t.div_euclid(1000))
        );
    }
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

/// The consensus hours in time order, with the flavour used and its bandwidth-weights
/// (`None` where the consensus has none).
pub struct ConsensusIndex {
    /// `valid_after` (ms) of each consensus number.
    pub times: Vec<i64>,
    /// The flavour whose entries are used for each consensus number.
    pub flavors: Vec<Flavor>,
    /// The hours whose entries come from the microdesc flavour (no ns consensus).
    microdesc_hours: Series,
    weights: Vec<Option<[f64; 8]>>,
}

impl ConsensusIndex {
    fn new(consensuses: &DataFrame) -> Result<Self> {
        let times: Vec<i64> = consensuses
            .column("valid_after_ms")?
            .i64()?
            .into_no_null_iter()
            .collect();
        let flavors = consensuses
            .column("flavor")?
            .str()?
            .iter()
            .map(|f| {
                f.and_then(Flavor::of_name)
                    .with_context(|| format!("unknown consensus flavor {f:?}"))
            })
            .collect::<Result<Vec<_>>>()?;
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
        let microdesc_hours: Vec<i64> = times
            .iter()
            .zip(&flavors)
            .filter(|(_, f)| **f == Flavor::Microdesc)
            .map(|(t, _)| *t)
            .collect();
        Ok(ConsensusIndex {
            microdesc_hours: Series::new("hours".into(), microdesc_hours),
            times,
            flavors,
            weights,
        })
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
    index: &ConsensusIndex,
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

/// `network_hourly`: one row per consensus. Joins, returns, departures, flag changes and
/// churn are null at the first consensus of each coverage segment (nothing before it to
/// compare with).
pub fn hourly_table(
    presence: &Presence,
    flavors: &[Flavor],
    with_descriptor: &std::collections::HashMap<i64, u32>,
) -> Result<DataFrame> {
    let n = presence.times.len();
    let coverage = &presence.coverage;
    let counted = |i: usize| !coverage.starts_segment(i as u32);
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
    let only_counted = |values: &[u32]| -> Vec<Option<u32>> {
        (0..n).map(|i| counted(i).then_some(values[i])).collect()
    };
    let previous = |i: usize| i.checked_sub(1);
    let relays: Vec<u32> = presence.totals.iter().map(|t| t.relays).collect();
    let churn = |i: usize, new: u32, prev: u32, cur: u32| -> Option<f64> {
        let denominator = prev.max(cur);
        (counted(i) && denominator > 0).then(|| f64::from(new) / f64::from(denominator))
    };
    let before = |i: usize, values: &dyn Fn(usize) -> u32| previous(i).map_or(0, values);
    let mut columns = vec![
        datetime_column(
            "valid_after",
            presence.times.iter().map(|&t| Some(t)).collect(),
        )?,
        Column::new(
            "flavor".into(),
            flavors.iter().map(|f| f.name()).collect::<Vec<_>>(),
        ),
        Column::new(
            "segment".into(),
            (0..n as u32)
                .map(|i| coverage.segment(i))
                .collect::<Vec<_>>(),
        ),
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
    columns.push(Column::new("joins".into(), only_counted(&joins)));
    columns.push(Column::new("returns".into(), only_counted(&returns)));
    columns.push(Column::new("departures".into(), only_counted(&departures)));
    columns.push(Column::new(
        "churn_new".into(),
        (0..n)
            .map(|i| {
                churn(
                    i,
                    joins[i] + returns[i],
                    before(i, &|p| relays[p]),
                    relays[i],
                )
            })
            .collect::<Vec<_>>(),
    ));
    columns.push(Column::new(
        "churn_gone".into(),
        (0..n)
            .map(|i| churn(i, departures[i], before(i, &|p| relays[p]), relays[i]))
            .collect::<Vec<_>>(),
    ));
    for (bit, suffix) in flag_suffixes() {
        let count = |i: usize| presence.totals[i].per_flag[bit];
        columns.push(Column::new(
            format!("churn_new_{suffix}").into(),
            (0..n)
                .map(|i| churn(i, gained[i][bit], before(i, &count), count(i)))
                .collect::<Vec<_>>(),
        ));
        columns.push(Column::new(
            format!("churn_gone_{suffix}").into(),
            (0..n)
                .map(|i| churn(i, lost[i][bit], before(i, &count), count(i)))
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
    // Relays an imported server descriptor covers (see `descriptor_coverage`).
    columns.push(Column::new(
        "relays_with_descriptor".into(),
        presence
            .times
            .iter()
            .map(|t| with_descriptor.get(t).copied().unwrap_or(0))
            .collect::<Vec<_>>(),
    ));
    Ok(DataFrame::new_infer_height(columns)?)
}
