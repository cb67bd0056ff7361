//! relaytrail: batch analytics over the history of the Tor network.
//!
//! Data flows one way: [`archive`] finds inputs and streams their members, [`descriptor`]
//! parses documents zero-copy, [`warehouse`] turns rows into Hive-partitioned Parquet, and
//! [`import`] orchestrates the three. [`jobs`] derives lifetimes, network series, events
//! and actors with polars; [`report`] renders them as HTML. [`synth`] writes CollecTor-format archives with planted
//! actors and ground truth.

pub mod archive;
pub mod descriptor;
pub mod import;
#[cfg(feature = "analytics")]
pub mod jobs;
#[cfg(feature = "analytics")]
pub mod pipeline;
#[cfg(feature = "analytics")]
pub mod report;
pub mod synth;
#[cfg(feature = "analytics")]
pub mod util;
pub mod warehouse;
