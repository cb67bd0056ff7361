//! Columns between polars frames and plain vectors: extraction (`strings`, `times`, ...,
//! shared by the jobs, the attribution and the report) and construction (`datetime_column`,
//! `build_string_lists`, ...: how every job dataset builds its time and list columns).

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

/// `valid_after` milliseconds as a polars datetime column (ms, UTC).
pub fn datetime_column(name: &str, values: Vec<Option<i64>>) -> Result<Column> {
    let column = Column::new(name.into(), values).cast(&DataType::Datetime(
        TimeUnit::Milliseconds,
        Some(TimeZone::UTC),
    ))?;
    Ok(column)
}

/// A `list<string>` column from per-row string lists.
pub fn string_list_column<S: AsRef<str>>(name: &str, rows: &[Vec<S>]) -> Column {
    build_string_lists(name, rows.iter().map(|row| row.iter().map(AsRef::as_ref)))
}

/// A `list<string>` column built in one values buffer (a `Series` per row, the obvious way,
/// costs about a kilobyte per row: gigabytes for a year of sessions).
pub fn build_string_lists<'a, V: Iterator<Item = &'a str>>(
    name: &str,
    rows: impl Iterator<Item = V>,
) -> Column {
    let capacity = rows.size_hint().0;
    let mut builder = ListStringChunkedBuilder::new(name.into(), capacity, capacity * 2);
    for row in rows {
        builder.append_values_iter(row);
    }
    builder.finish().into_column()
}

/// A `list<u32>` column built in one values buffer (see [`build_string_lists`]).
pub fn build_u32_lists<V: Iterator<Item = u32>>(
    name: &str,
    rows: impl Iterator<Item = V>,
) -> Column {
    let capacity = rows.size_hint().0;
    let mut builder = ListPrimitiveChunkedBuilder::<UInt32Type>::new(
        name.into(),
        capacity,
        capacity * 2,
        DataType::UInt32,
    );
    for row in rows {
        builder.append_values_iter(row);
    }
    builder.finish().into_column()
}
