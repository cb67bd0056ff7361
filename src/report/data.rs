//! Reading the warehouse's datasets for the report, and the column helpers every section uses
//! (timestamps as milliseconds, strings with nulls as empty).

use std::path::Path;

use anyhow::{Context, Result};
use polars::prelude::*;

use crate::jobs::columns::{strings, times};
use crate::jobs::io::scan_dataset;

/// A whole dataset of the warehouse, or None where it has not been written.
pub(super) fn read(root: &Path, dataset: &str) -> Result<Option<DataFrame>> {
    match scan_dataset(root, dataset)? {
        Some(scan) => Ok(Some(
            scan.collect()
                .map_err(anyhow::Error::from)
                .with_context(|| format!("cannot read {dataset}"))?,
        )),
        None => Ok(None),
    }
}

/// Milliseconds of a timestamp column (nulls as 0).
pub(super) fn times_ms(frame: &DataFrame, name: &str) -> Result<Vec<i64>> {
    Ok(times(frame, name)?
        .into_iter()
        .map(|t| t.unwrap_or(0))
        .collect())
}

/// A string column with nulls as empty strings.
pub(super) fn texts(frame: &DataFrame, name: &str) -> Result<Vec<String>> {
    Ok(strings(frame, name)?
        .into_iter()
        .map(Option::unwrap_or_default)
        .collect())
}
