//! The Parquet warehouse: dataset definitions (schema, partitioning, sort and
//! de-duplication key), sorted runs, the merge that turns runs into partition files, and
//! atomic writes.
//!
//! Layout: `<warehouse>/<dataset>/year=YYYY/month=MM/part-0.parquet` for time-partitioned
//! datasets and `<warehouse>/<dataset>/part-0.parquet` for the manifest tables. Each
//! partition holds exactly one file whose rows are sorted by the dataset's key and
//! de-duplicated on it, so a partition's bytes depend only on the set of documents imported,
//! not on the order or the number of runs that brought them.
//!
//! Files: `dataset.rs` defines the datasets and their partitions (re-exported here),
//! `schema.rs` their Arrow schemas and row builders, `store.rs` the on-disk side.

pub mod schema;
pub mod store;

mod dataset;

pub use dataset::{Dataset, DatasetId, PartitionKey, Partitioning};
