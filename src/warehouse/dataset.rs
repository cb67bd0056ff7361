//! The warehouse's datasets: how each is split into partitions ([`Partitioning`],
//! [`PartitionKey`]), its schema, its sort and de-duplication key and its spill size
//! ([`Dataset`]), and the list of datasets the importer writes ([`DatasetId`]).

use arrow::datatypes::SchemaRef;

/// How a dataset is split into folders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Partitioning {
    /// `year=YYYY/month=MM` of the named timestamp column.
    Monthly(&'static str),
    /// One file for the whole dataset.
    None,
}

/// A warehouse dataset.
#[derive(Debug, Clone)]
pub struct Dataset {
    pub name: &'static str,
    pub schema: SchemaRef,
    pub partitioning: Partitioning,
    /// Rows are sorted by these columns and then by every other column (so the order is
    /// total and does not depend on input order). Rows equal on the first `key_len` columns
    /// are duplicates: only the first in that order is kept.
    pub sort_key: &'static [&'static str],
    pub key_len: usize,
    /// Columns that get a Parquet bloom filter (point look-ups by fingerprint).
    pub bloom_columns: &'static [&'static str],
    /// Rows buffered in memory per partition before a sorted run is spilled to disk.
    pub spill_rows: usize,
}

/// Identifies one of the datasets the importer writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DatasetId {
    Consensuses,
    ConsensusEntries,
    ServerDescriptors,
    ExitLists,
    ExtraInfos,
    Votes,
    VoteEntries,
    MicrodescConsensusEntries,
    Microdescriptors,
    BridgeNetworkStatuses,
    BridgeStatusEntries,
    BridgeServerDescriptors,
    BridgeExtraInfos,
    BandwidthFiles,
    BandwidthFileEntries,
    BridgePoolAssignments,
    Imports,
    ImportErrors,
}

impl DatasetId {
    pub const ALL: [DatasetId; 18] = [
        DatasetId::Consensuses,
        DatasetId::ConsensusEntries,
        DatasetId::ServerDescriptors,
        DatasetId::ExitLists,
        DatasetId::ExtraInfos,
        DatasetId::Votes,
        DatasetId::VoteEntries,
        DatasetId::MicrodescConsensusEntries,
        DatasetId::Microdescriptors,
        DatasetId::BridgeNetworkStatuses,
        DatasetId::BridgeStatusEntries,
        DatasetId::BridgeServerDescriptors,
        DatasetId::BridgeExtraInfos,
        DatasetId::BandwidthFiles,
        DatasetId::BandwidthFileEntries,
        DatasetId::BridgePoolAssignments,
        DatasetId::Imports,
        DatasetId::ImportErrors,
    ];

    pub fn dataset(self) -> Dataset {
        use super::schema::*;
        match self {
            DatasetId::Consensuses => Dataset {
                name: "consensuses",
                schema: consensuses_schema(),
                partitioning: Partitioning::Monthly("valid_after"),
                sort_key: &["valid_after", "flavor"],
                key_len: 2,
                bloom_columns: &[],
                spill_rows: 50_000,
            },
            DatasetId::ConsensusEntries => Dataset {
                name: "consensus_entries",
                schema: consensus_entries_schema(),
                partitioning: Partitioning::Monthly("valid_after"),
                sort_key: &["fingerprint", "valid_after"],
                key_len: 2,
                bloom_columns: &["fingerprint"],
                spill_rows: 400_000,
            },
            DatasetId::ServerDescriptors => Dataset {
                name: "server_descriptors",
                schema: server_descriptors_schema(),
                partitioning: Partitioning::Monthly("published"),
                sort_key: &["fingerprint", "published", "digest"],
                key_len: 3,
                bloom_columns: &["fingerprint", "digest"],
                spill_rows: 100_000,
            },
            DatasetId::ExitLists => Dataset {
                name: "exit_lists",
                schema: exit_lists_schema(),
                partitioning: Partitioning::Monthly("downloaded"),
                sort_key: &["downloaded", "fingerprint", "exit_address", "address_time"],
                key_len: 4,
                bloom_columns: &["fingerprint"],
                spill_rows: 400_000,
            },
            // Relay and bridge extra-infos share a schema, like the server descriptors.
            DatasetId::ExtraInfos | DatasetId::BridgeExtraInfos => Dataset {
                name: if self == DatasetId::ExtraInfos {
                    "extra_infos"
                } else {
                    "bridge_extra_infos"
                },
                schema: extra_infos_schema(),
                partitioning: Partitioning::Monthly("published"),
                sort_key: &["fingerprint", "published", "digest"],
                key_len: 3,
                bloom_columns: &["fingerprint", "digest"],
                spill_rows: 100_000,
            },
            DatasetId::Votes => Dataset {
                name: "votes",
                schema: votes_schema(),
                partitioning: Partitioning::Monthly("valid_after"),
                sort_key: &["valid_after", "authority", "digest"],
                key_len: 3,
                bloom_columns: &[],
                spill_rows: 50_000,
            },
            DatasetId::VoteEntries => Dataset {
                name: "vote_entries",
                schema: vote_entries_schema(),
                partitioning: Partitioning::Monthly("valid_after"),
                sort_key: &["fingerprint", "valid_after", "authority"],
                key_len: 3,
                bloom_columns: &["fingerprint"],
                spill_rows: 400_000,
            },
            DatasetId::MicrodescConsensusEntries => Dataset {
                name: "microdesc_consensus_entries",
                schema: microdesc_consensus_entries_schema(),
                partitioning: Partitioning::Monthly("valid_after"),
                sort_key: &["fingerprint", "valid_after"],
                key_len: 2,
                bloom_columns: &["fingerprint", "microdesc_digest"],
                spill_rows: 400_000,
            },
            DatasetId::Microdescriptors => Dataset {
                name: "microdescriptors",
                schema: microdescriptors_schema(),
                partitioning: Partitioning::Monthly("archive_month"),
                sort_key: &["digest"],
                key_len: 1,
                bloom_columns: &["digest", "fingerprint"],
                spill_rows: 200_000,
            },
            DatasetId::BridgeNetworkStatuses => Dataset {
                name: "bridge_network_statuses",
                schema: bridge_network_statuses_schema(),
                partitioning: Partitioning::Monthly("published"),
                sort_key: &["published", "authority"],
                key_len: 2,
                bloom_columns: &[],
                spill_rows: 50_000,
            },
            DatasetId::BridgeStatusEntries => Dataset {
                name: "bridge_status_entries",
                schema: bridge_status_entries_schema(),
                partitioning: Partitioning::Monthly("status_published"),
                sort_key: &["fingerprint", "status_published", "authority"],
                key_len: 3,
                bloom_columns: &["fingerprint"],
                spill_rows: 400_000,
            },
            DatasetId::BridgeServerDescriptors => Dataset {
                name: "bridge_server_descriptors",
                ..DatasetId::ServerDescriptors.dataset()
            },
            DatasetId::BandwidthFiles => Dataset {
                name: "bandwidth_files",
                schema: bandwidth_files_schema(),
                partitioning: Partitioning::Monthly("timestamp"),
                sort_key: &["timestamp", "digest"],
                key_len: 2,
                bloom_columns: &[],
                spill_rows: 50_000,
            },
            DatasetId::BandwidthFileEntries => Dataset {
                name: "bandwidth_file_entries",
                schema: bandwidth_file_entries_schema(),
                partitioning: Partitioning::Monthly("timestamp"),
                sort_key: &["fingerprint", "timestamp", "file_digest"],
                key_len: 3,
                bloom_columns: &["fingerprint"],
                spill_rows: 400_000,
            },
            DatasetId::BridgePoolAssignments => Dataset {
                name: "bridge_pool_assignments",
                schema: bridge_pool_assignments_schema(),
                partitioning: Partitioning::Monthly("published"),
                sort_key: &["fingerprint", "published"],
                key_len: 2,
                bloom_columns: &["fingerprint"],
                spill_rows: 400_000,
            },
            DatasetId::Imports => Dataset {
                name: "imports",
                schema: imports_schema(),
                partitioning: Partitioning::None,
                sort_key: &["sha256", "path"],
                key_len: 2,
                bloom_columns: &[],
                spill_rows: 100_000,
            },
            DatasetId::ImportErrors => Dataset {
                name: "import_errors",
                schema: import_errors_schema(),
                partitioning: Partitioning::None,
                // The file is part of the key: unreadable inputs have no content hash, and
                // two of them with the same message are still two rows.
                sort_key: &[
                    "source_sha256",
                    "source_file",
                    "source_member",
                    "line",
                    "kind",
                    "message",
                ],
                key_len: 6,
                bloom_columns: &[],
                spill_rows: 200_000,
            },
        }
    }
}

/// A partition of a dataset: `(year, month)` or the single partition of an unpartitioned one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PartitionKey {
    Month(i32, u32),
    Whole,
}

impl PartitionKey {
    /// The partition a timestamp (seconds) falls into.
    pub fn of_time(seconds: i64) -> Self {
        let (y, m) = crate::descriptor::values::year_month(seconds);
        PartitionKey::Month(y, m)
    }

    /// Folder below the dataset folder (`year=2021/month=10`, or empty).
    pub fn relative_dir(self) -> std::path::PathBuf {
        match self {
            PartitionKey::Month(y, m) => format!("year={y:04}/month={m:02}").into(),
            PartitionKey::Whole => std::path::PathBuf::new(),
        }
    }
}

impl std::fmt::Display for PartitionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PartitionKey::Month(y, m) => write!(f, "{y:04}-{m:02}"),
            PartitionKey::Whole => f.write_str("all"),
        }
    }
}
