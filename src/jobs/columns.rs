//! Column extraction from polars frames into plain vectors (shared by attribution and the
//! report).

use anyhow::Result;
use polars::prelude::*;

/// A string column; nulls as None.
pub fn strings(frame: &DataFrame, name: &str) -> Result<Vec<Option<String>>> {
    Ok(frame
        .column(name)?
        .str()?
        .iter()
        .map(|v| v.map(str::to_string))
        .collect())
}

/// A `list<string>` column; nulls as empty lists.
pub fn string_lists(frame: &DataFrame, name: &str) -> Result<Vec<Vec<String>>> {
    let lists = frame.column(name)?.list()?;
    let mut out = Vec::with_capacity(frame.height());
    for item in lists.amortized_iter() {
        out.push(match item {
            Some(series) => series
                .as_ref()
                .str()?
                .iter()
                .flatten()
                .map(str::to_string)
                .collect(),
            None => Vec::new(),
        });
    }
    Ok(out)
}

/// A list of integers as `u32`; nulls as empty lists.
pub fn u32_lists(frame: &DataFrame, name: &str) -> Result<Vec<Vec<u32>>> {
    let lists = frame.column(name)?.list()?;
    let mut out = Vec::with_capacity(frame.height());
    for item in lists.amortized_iter() {
        out.push(match item {
            Some(series) => series
                .as_ref()
                .cast(&DataType::UInt32)?
                .u32()?
                .iter()
                .flatten()
                .collect(),
            None => Vec::new(),
        });
    }
    Ok(out)
}

/// A timestamp (or integer) column as milliseconds; nulls as None.
pub fn times(frame: &DataFrame, name: &str) -> Result<Vec<Option<i64>>> {
    Ok(frame
        .column(name)?
        .cast(&DataType::Int64)?
        .i64()?
        .iter()
        .collect())
}

/// A numeric column as `f64`; nulls as 0.
pub fn floats(frame: &DataFrame, name: &str) -> Result<Vec<f64>> {
    Ok(frame
        .column(name)?
        .cast(&DataType::Float64)?
        .f64()?
        .iter()
        .map(|v| v.unwrap_or(0.0))
        .collect())
}
