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

/// Every consensus in time order: `valid_after` (datetime), `valid_after_ms`, its number
/// `cidx`, and the bandwidth weights as floats.
pub fn consensus_index(root: &Path) -> Result<DataFrame> {
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
        .with_row_index("cidx", None)
        .with_column(col("cidx").cast(DataType::UInt32))
        .collect()
        .map_err(anyhow::Error::from)
        .context("cannot read the consensuses dataset")?;
    Ok(frame)
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
pub fn month_frame(file: &Path, consensuses: &DataFrame) -> Result<DataFrame> {
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
    entries.with_column(Column::new("flag_mask".into(), masks))?;
    let entries = entries.lazy();
    let mut join = JoinArgs::new(JoinType::Left);
    join.maintain_order = MaintainOrderJoin::Left;
    // Stage 1: the three roles as booleans.
    let bit = |flag: &str| (col("flag_mask") / lit(flag_bit(flag)) % lit(2u32)).eq(lit(1u32));
    let with_roles = entries
        .with_columns([
            bit("Running").alias("is_running"),
            bit("Guard").alias("is_guard"),
            bit("Exit").and(bit("BadExit").not()).alias("is_exit"),
        ])
        .join(
            consensuses.clone().lazy(),
            [col("valid_after_ms")],
            [col("valid_after_ms")],
            join,
        );
    // Stage 2: the Onionoo weights.
    let (guard, exit) = (col("is_guard"), col("is_exit"));
    let both = guard.clone().and(exit.clone());
    let w = col("w");
    let weighted = with_roles
        .with_column(
            when(col("is_running"))
                .then(col("bandwidth").cast(DataType::Float64))
                .otherwise(lit(NULL).cast(DataType::Float64))
                .alias("w"),
        )
        .with_columns([
            when(both.clone())
                .then(w.clone() * col("Wgd"))
                .when(guard.clone())
                .then(w.clone() * col("Wgg"))
                .otherwise(w.clone() * lit(0.0))
                .alias("guard_w"),
            when(both.clone())
                .then(w.clone() * col("Wmd"))
                .when(guard.clone())
                .then(w.clone() * col("Wmg"))
                .when(exit.clone())
                .then(w.clone() * col("Wme"))
                .otherwise(w.clone() * col("Wmm"))
                .alias("middle_w"),
            when(both)
                .then(w.clone() * col("Wed"))
                .when(guard)
                .then(w.clone() * lit(0.0))
                .when(exit)
                .then(w.clone() * col("Wee"))
                .otherwise(w.clone() * lit(0.0))
                .alias("exit_w"),
        ]);
    // Stage 3: each weight over its consensus total.
    let share = |weight: &str, name: &str| -> Result<Expr> {
        let total = col(weight).sum().over([col("valid_after_ms")])?;
        Ok(when(total.clone().gt(lit(0.0)))
            .then(col(weight) / total)
            .otherwise(lit(NULL).cast(DataType::Float64))
            .alias(name))
    };
    let frame = weighted
        .with_columns([
            share("w", "consensus_weight_fraction")?,
            share("guard_w", "guard_probability")?,
            share("middle_w", "middle_probability")?,
            share("exit_w", "exit_probability")?,
        ])
        .select(
            PASS_COLUMNS
                .iter()
                .map(|c| col(*c))
                .chain([col("valid_after_ms")])
                .collect::<Vec<_>>(),
        )
        .collect()?;
    Ok(frame)
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
