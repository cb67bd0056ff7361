//! The warehouse's Arrow schemas, declared once, next to the builders that fill them.
//! Every dataset's columns are documented in `docs/warehouse.md`; keep the two in step.
//!
//! Conventions: times are `Timestamp(ms, UTC)`; fingerprints are 40 upper-case hex
//! characters; digests are lower-case hex; free text is UTF-8, decoded lossily only where
//! the document's bytes are not UTF-8; `source_file` is the input's file name and
//! `source_member` the tar member (null for plain files).
//!
//! One file per family of datasets, everything public re-exported here: `consensuses.rs`,
//! `votes.rs`, `descriptors.rs` (server descriptors, extra-infos, microdescriptors),
//! `bridges.rs` (bridge statuses and pool assignments), `measurements.rs` (exit lists,
//! bandwidth files) and `manifest.rs` (imports, import errors). They share the machinery in
//! `builder.rs` and, for the router status entry datasets, the columns in
//! `status_entries.rs`; no family file imports from this one.

mod bridges;
mod builder;
mod consensuses;
mod descriptors;
mod manifest;
mod measurements;
mod status_entries;
mod votes;

pub use bridges::{
    bridge_network_statuses_schema, bridge_pool_assignments_schema, bridge_status_entries_schema,
    BridgeNetworkStatusesBuilder, BridgePoolAssignmentsBuilder, BridgeStatusEntriesBuilder,
};
pub use builder::{millis, BatchBuilder, Source};
pub use consensuses::{
    consensus_entries_schema, consensuses_schema, microdesc_consensus_entries_schema,
    ConsensusEntriesBuilder, ConsensusesBuilder, MicrodescConsensusEntriesBuilder,
    BANDWIDTH_WEIGHT_KEYS,
};
pub use descriptors::{
    extra_infos_schema, microdescriptors_schema, server_descriptors_schema, ExtraInfosBuilder,
    MicrodescriptorsBuilder, ServerDescriptorsBuilder,
};
pub use manifest::{
    import_errors_schema, imports_schema, ImportError, ImportErrorsBuilder, ImportRecord,
    ImportsBuilder,
};
pub use measurements::{
    bandwidth_file_entries_schema, bandwidth_files_schema, exit_list_time, exit_lists_schema,
    BandwidthFileEntriesBuilder, BandwidthFilesBuilder, ExitListsBuilder,
};
pub use votes::{vote_entries_schema, votes_schema, VoteEntriesBuilder, VotesBuilder};
