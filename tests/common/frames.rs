//! Reading job datasets back with polars in the integration tests, and the columns they
//! compare (nulls kept as `None` where a test cares).

use std::path::Path;

use polars::prelude::*;

/// A dataset of the warehouse: its single `part-0.parquet` or every Hive partition.
pub fn read_frame(warehouse: &Path, dataset: &str) -> DataFrame {
    let base = warehouse.join(dataset);
    let pattern = if base.join("part-0.parquet").is_file() {
        base.join("part-0.parquet")
    } else {
        base.join("**/*.parquet")
    };
    LazyFrame::scan_parquet(
        PlRefPath::new(pattern.to_string_lossy().as_ref()),
        ScanArgsParquet::default(),
    )
    .unwrap()
    .collect()
    .unwrap()
}

/// A timestamp column as milliseconds.
pub fn ms_column(frame: &DataFrame, name: &str) -> Vec<Option<i64>> {
    frame
        .column(name)
        .unwrap()
        .cast(&DataType::Int64)
        .unwrap()
        .i64()
        .unwrap()
        .iter()
        .collect()
}

/// A string column, nulls as empty strings.
pub fn str_column(frame: &DataFrame, name: &str) -> Vec<String> {
    frame
        .column(name)
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .map(|s| s.unwrap_or_default().to_string())
        .collect()
}

/// A boolean column without nulls.
pub fn bool_column(frame: &DataFrame, name: &str) -> Vec<bool> {
    frame
        .column(name)
        .unwrap()
        .bool()
        .unwrap()
        .iter()
        .map(|b| b.unwrap())
        .collect()
}

/// An integer column as `u32`.
pub fn u32_column(frame: &DataFrame, name: &str) -> Vec<Option<u32>> {
    frame
        .column(name)
        .unwrap()
        .cast(&DataType::UInt32)
        .unwrap()
        .u32()
        .unwrap()
        .iter()
        .collect()
}
