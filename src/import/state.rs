//! The state of one input being staged ([`Stager`]): the row buffers of every dataset, the
//! document counts and the errors, with what every document type's staging uses (recording
//! errors and a parse's warnings, counting outcomes). The staging itself is in `stage.rs`
//! and, for the further document types, `more_types.rs`.

use std::collections::BTreeMap;

use anyhow::Result;

use super::entry_states::EntryStates;
use super::input::{clean_message, InputFile};
use super::sink::{Buffers, RunSink};
use crate::descriptor::{DocType, ErrorKind, ParseError, Parsed};
use crate::warehouse::schema::{
    BandwidthFileEntriesBuilder, BandwidthFilesBuilder, BridgeNetworkStatusesBuilder,
    BridgePoolAssignmentsBuilder, BridgeStatusEntriesBuilder, ConsensusesBuilder, ExitListsBuilder,
    ExtraInfosBuilder, ImportError, MicrodescConsensusEntriesBuilder, MicrodescriptorsBuilder,
    ServerDescriptorsBuilder, Source, VoteEntriesBuilder, VotesBuilder,
};
use crate::warehouse::DatasetId;

/// Per-input parsing state.
pub(super) struct Stager<'a> {
    pub(super) input: &'a InputFile,
    pub(super) sink: RunSink,
    pub(super) consensuses: Buffers<ConsensusesBuilder>,
    /// Consensus entries as rows of distinct states (`import/entry_states.rs`).
    pub(super) entries: EntryStates,
    pub(super) descriptors: Buffers<ServerDescriptorsBuilder>,
    pub(super) exits: Buffers<ExitListsBuilder>,
    /// Extra-infos, votes, microdescriptors, bridge descriptors (`import/more_types.rs`).
    pub(super) more: MoreBuffers,
    /// Per document type: (imported, skipped, rejected).
    pub(super) counts: BTreeMap<String, (i64, i64, i64)>,
    pub(super) errors: Vec<ImportError>,
    pub(super) members: i64,
}

/// Row buffers of the datasets staged in `more_types.rs`.
pub(super) struct MoreBuffers {
    pub(super) extra_infos: Buffers<ExtraInfosBuilder>,
    pub(super) bridge_extra_infos: Buffers<ExtraInfosBuilder>,
    pub(super) votes: Buffers<VotesBuilder>,
    pub(super) vote_entries: Buffers<VoteEntriesBuilder>,
    pub(super) microdesc_entries: Buffers<MicrodescConsensusEntriesBuilder>,
    pub(super) microdescriptors: Buffers<MicrodescriptorsBuilder>,
    pub(super) bridge_statuses: Buffers<BridgeNetworkStatusesBuilder>,
    pub(super) bridge_entries: Buffers<BridgeStatusEntriesBuilder>,
    pub(super) bridge_descriptors: Buffers<ServerDescriptorsBuilder>,
    pub(super) bandwidth_files: Buffers<BandwidthFilesBuilder>,
    pub(super) bandwidth_entries: Buffers<BandwidthFileEntriesBuilder>,
    pub(super) pool_assignments: Buffers<BridgePoolAssignmentsBuilder>,
}

impl MoreBuffers {
    pub(super) fn new(spill_rows: Option<usize>) -> Self {
        MoreBuffers {
            extra_infos: Buffers::new(DatasetId::ExtraInfos, spill_rows),
            bridge_extra_infos: Buffers::new(DatasetId::BridgeExtraInfos, spill_rows),
            votes: Buffers::new(DatasetId::Votes, spill_rows),
            vote_entries: Buffers::new(DatasetId::VoteEntries, spill_rows),
            microdesc_entries: Buffers::new(DatasetId::MicrodescConsensusEntries, spill_rows),
            microdescriptors: Buffers::new(DatasetId::Microdescriptors, spill_rows),
            bridge_statuses: Buffers::new(DatasetId::BridgeNetworkStatuses, spill_rows),
            bridge_entries: Buffers::new(DatasetId::BridgeStatusEntries, spill_rows),
            bridge_descriptors: Buffers::new(DatasetId::BridgeServerDescriptors, spill_rows),
            bandwidth_files: Buffers::new(DatasetId::BandwidthFiles, spill_rows),
            bandwidth_entries: Buffers::new(DatasetId::BandwidthFileEntries, spill_rows),
            pool_assignments: Buffers::new(DatasetId::BridgePoolAssignments, spill_rows),
        }
    }

    /// Hands every non-empty buffer to the sink.
    pub(super) fn drain(&mut self, sink: &mut RunSink) -> Result<()> {
        self.extra_infos.drain(sink)?;
        self.bridge_extra_infos.drain(sink)?;
        self.votes.drain(sink)?;
        self.vote_entries.drain(sink)?;
        self.microdesc_entries.drain(sink)?;
        self.microdescriptors.drain(sink)?;
        self.bridge_statuses.drain(sink)?;
        self.bridge_entries.drain(sink)?;
        self.bridge_descriptors.drain(sink)?;
        self.bandwidth_files.drain(sink)?;
        self.bandwidth_entries.drain(sink)?;
        self.pool_assignments.drain(sink)
    }
}

impl Stager<'_> {
    pub(super) fn error(
        &mut self,
        member: Option<&str>,
        line: u32,
        doc_type: Option<DocType>,
        kind: ErrorKind,
        message: String,
    ) {
        self.errors.push(ImportError {
            source_sha256: self.input.sha256.clone(),
            source_file: self.input.display.clone(),
            source_member: member.map(str::to_string),
            line,
            document_type: doc_type.map(|t| t.type_name().to_string()),
            kind: kind.as_str().to_string(),
            message: clean_message(&message),
        });
    }

    pub(super) fn parse_error(
        &mut self,
        member: Option<&str>,
        doc_type: Option<DocType>,
        e: ParseError,
    ) {
        self.error(member, e.line, doc_type, e.kind, e.message);
    }

    pub(super) fn count(&mut self, doc_type: Option<DocType>, outcome: usize) {
        let name = doc_type.map_or("unrecognised", |t| t.type_name());
        let entry = self.counts.entry(name.to_string()).or_default();
        match outcome {
            0 => entry.0 += 1,
            1 => entry.1 += 1,
            _ => entry.2 += 1,
        }
    }

    /// Records a parse's warnings and stages its document; a rejected document comes back as
    /// `Ok(Err(_))`, staging I/O failures as `Err`. `Ok(Ok(false))` means recognised but skipped.
    pub(super) fn stage<T>(
        &mut self,
        parsed: Result<Parsed<T>, ParseError>,
        source: Source,
        doc_type: DocType,
        stage: impl FnOnce(&mut Self, T) -> Result<Result<bool, ParseError>>,
    ) -> Result<Result<bool, ParseError>> {
        match parsed {
            Ok(parsed) => {
                for w in parsed.warnings {
                    self.parse_error(source.member, Some(doc_type), w);
                }
                stage(self, parsed.doc)
            }
            Err(e) => Ok(Err(e)),
        }
    }
}
