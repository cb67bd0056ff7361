//! The code every fuzz target runs: relaytrail's import path from bytes to typed rows. It
//! mirrors `Stager::member` in `src/import/stage.rs` and `stage_more` in `src/import/more_types.rs`:
//! split a member into documents, parse each imported type, fill the warehouse's Arrow row
//! builders and finish the batches. It also checks the invariants the importer relies on.
//! The targets in `fuzz_targets/` are one call each.
//!
//! To fuzz a new parser, add a `pub fn` here, a method on [`Rows`] that parses and stages its
//! rows, and a dispatch arm in [`Rows::member`]. Then add a three-line target, a `[[bin]]` in
//! `Cargo.toml` and, optionally, a seed rule in `scripts/fuzz.sh`.

use relaytrail::archive::sniff::split_documents;
use relaytrail::archive::{read_members_from, ReadProblem};
use relaytrail::descriptor::consensus::{self, Flavor};
use relaytrail::descriptor::{
    bandwidth_file, bridge_pool_assignment, bridge_status, exit_list, extra_info, microdescriptor,
    server_descriptor, vote, DocType, ErrorKind, ParseError, Parsed,
};
use relaytrail::warehouse::schema::{
    exit_list_time, BandwidthFileEntriesBuilder, BandwidthFilesBuilder, BatchBuilder,
    BridgeNetworkStatusesBuilder, BridgePoolAssignmentsBuilder, BridgeStatusEntriesBuilder,
    ConsensusEntriesBuilder, ConsensusesBuilder, ExitListsBuilder, ExtraInfosBuilder,
    MicrodescConsensusEntriesBuilder, MicrodescriptorsBuilder, ServerDescriptorsBuilder, Source,
    VoteEntriesBuilder, VotesBuilder,
};
use relaytrail::warehouse::PartitionKey;

/// Member line number given to a document parsed on its own (as the importer does for the
/// first document of a member).
pub const FIRST_LINE: u32 = 1;

/// Member names that imply a document type, for documents whose type comes from nothing but
/// their member name.
const NAME_HINTS: [&str; 6] = [
    "2016-09-20-13-00-00-consensus",
    "server-descriptors",
    "exit-list",
    "2016-10-02-17-00-00-consensus-microdesc",
    "extra-infos",
    "2016-09-20-13-00-00-vote",
];

const SOURCE: Source<'static> = Source {
    file: "fuzz-input",
    member: Some("member"),
};

/// Parses `data` as a consensus (either flavour) and stages its rows.
pub fn consensus(data: &[u8]) {
    Rows::one(|rows| rows.consensus(data, FIRST_LINE));
}

/// Parses `data` as one server descriptor and stages its row.
pub fn server_descriptor(data: &[u8]) {
    Rows::one(|rows| rows.server_descriptor(data, FIRST_LINE));
}

/// Parses `data` as an exit list and stages its rows.
pub fn exit_list(data: &[u8]) {
    Rows::one(|rows| rows.exit_list(data, FIRST_LINE));
}

/// Parses `data` as one extra-info descriptor and stages its row.
pub fn extra_info(data: &[u8]) {
    Rows::one(|rows| rows.extra_info(data, FIRST_LINE));
}

/// Parses `data` as an authority vote and stages its rows.
pub fn vote(data: &[u8]) {
    Rows::one(|rows| rows.vote(data, FIRST_LINE));
}

/// Parses `data` as one microdescriptor and stages its row.
pub fn microdescriptor(data: &[u8]) {
    Rows::one(|rows| rows.microdescriptor(data, FIRST_LINE));
}

/// Parses `data` as a sanitized bridge network status and stages its rows.
pub fn bridge_status(data: &[u8]) {
    Rows::one(|rows| rows.bridge_status(data, FIRST_LINE));
}

/// Parses `data` as a bandwidth file and stages its rows.
pub fn bandwidth_file(data: &[u8]) {
    Rows::one(|rows| rows.bandwidth_file(data, FIRST_LINE));
}

/// Parses `data` as a bridge pool assignment list and stages its rows.
pub fn bridge_pool_assignment(data: &[u8]) {
    Rows::one(|rows| rows.bridge_pool_assignment(data, FIRST_LINE));
}

/// Treats `data` as one archive member. It is split into documents (by `@type`, first
/// keyword, then member name) and each is imported. When a document's type cannot be told,
/// the member is imported once more under a name that implies a type. The name is chosen by
/// the input's length, so the fuzzer can reach each.
pub fn member(data: &[u8]) {
    Rows::one(|rows| {
        if rows.member(data, "member") {
            rows.member(data, NAME_HINTS[data.len() % NAME_HINTS.len()]);
        }
    });
}

/// Treats `data` as an input file (`.tar.xz`, `.tar.gz`, `.tar`, `.xz`, `.gz` or plain) and
/// imports every member it streams.
pub fn archive(data: &[u8]) {
    Rows::one(|rows| {
        let result = read_members_from(data, |m| {
            rows.member(&m.data, m.name.as_deref().unwrap_or("fuzz-input"));
            true
        });
        if let Err(ReadProblem { kind, .. }) = result {
            // Bytes in memory cannot fail to read: every problem is the archive's.
            assert!(
                matches!(kind, ErrorKind::Archive | ErrorKind::TooLarge),
                "unexpected read problem kind {kind:?}"
            );
        }
    });
}

/// A row builder and the number of rows it should hold.
#[derive(Default)]
struct Dataset<B> {
    builder: B,
    expected: usize,
}

impl<B: BatchBuilder> Dataset<B> {
    /// Pushes through `push`, which should add `rows` rows.
    fn push(&mut self, rows: usize, push: impl FnOnce(&mut B)) {
        push(&mut self.builder);
        self.expected += rows;
        assert_eq!(self.builder.len(), self.expected, "rows after a push");
    }

    /// Finishes the batch (the builder checks it against the dataset's schema).
    fn finish(mut self) {
        if self.expected > 0 {
            assert_eq!(self.builder.finish().num_rows(), self.expected);
        }
    }
}

/// The row builders of one input, as the importer's stager keeps them.
#[derive(Default)]
struct Rows {
    consensuses: Dataset<ConsensusesBuilder>,
    consensus_entries: Dataset<ConsensusEntriesBuilder>,
    microdesc_entries: Dataset<MicrodescConsensusEntriesBuilder>,
    descriptors: Dataset<ServerDescriptorsBuilder>,
    exits: Dataset<ExitListsBuilder>,
    extra_infos: Dataset<ExtraInfosBuilder>,
    votes: Dataset<VotesBuilder>,
    vote_entries: Dataset<VoteEntriesBuilder>,
    microdescriptors: Dataset<MicrodescriptorsBuilder>,
    bridge_statuses: Dataset<BridgeNetworkStatusesBuilder>,
    bridge_entries: Dataset<BridgeStatusEntriesBuilder>,
    bandwidth_files: Dataset<BandwidthFilesBuilder>,
    bandwidth_entries: Dataset<BandwidthFileEntriesBuilder>,
    pool_assignments: Dataset<BridgePoolAssignmentsBuilder>,
}

impl Rows {
    /// Runs `stage` on fresh builders, then finishes every batch.
    fn one(stage: impl FnOnce(&mut Rows)) {
        let mut rows = Rows::default();
        stage(&mut rows);
        rows.finish();
    }

    fn finish(self) {
        self.consensuses.finish();
        self.consensus_entries.finish();
        self.microdesc_entries.finish();
        self.descriptors.finish();
        self.exits.finish();
        self.extra_infos.finish();
        self.votes.finish();
        self.vote_entries.finish();
        self.microdescriptors.finish();
        self.bridge_statuses.finish();
        self.bridge_entries.finish();
        self.bandwidth_files.finish();
        self.bandwidth_entries.finish();
        self.pool_assignments.finish();
    }

    /// What `Stager::member` does with one member. Returns whether a document's type could
    /// not be told (so the caller may retry with a different name).
    fn member(&mut self, data: &[u8], name: &str) -> bool {
        if data.iter().all(u8::is_ascii_whitespace) {
            return false;
        }
        let member_lines = Lines::of(data, FIRST_LINE);
        let mut unrecognised = false;
        let mut previous_end = data.as_ptr() as usize;
        for doc in split_documents(data, name) {
            // Documents are ordered, non-overlapping slices of the member.
            let start = doc.bytes.as_ptr() as usize;
            assert!(
                start >= previous_end
                    && start + doc.bytes.len() <= data.as_ptr() as usize + data.len(),
                "document is not a slice of the member after the previous one"
            );
            previous_end = start + doc.bytes.len();
            if !doc.bytes.is_empty() {
                // (An `@type` line without a document has no line of its own.)
                member_lines.check(doc.first_line);
            }
            let (bytes, line) = (doc.bytes, doc.first_line);
            match doc.doc_type {
                Ok(DocType::Consensus | DocType::MicrodescConsensus) => self.consensus(bytes, line),
                Ok(DocType::ServerDescriptor | DocType::BridgeServerDescriptor) => {
                    self.server_descriptor(bytes, line)
                }
                Ok(DocType::ExitList) => self.exit_list(bytes, line),
                Ok(DocType::ExtraInfo | DocType::BridgeExtraInfo) => self.extra_info(bytes, line),
                Ok(DocType::Vote) => self.vote(bytes, line),
                Ok(DocType::Microdescriptor) => self.microdescriptor(bytes, line),
                Ok(DocType::BridgeNetworkStatus) => self.bridge_status(bytes, line),
                Ok(DocType::BandwidthFile) => self.bandwidth_file(bytes, line),
                Ok(DocType::BridgePoolAssignment) => self.bridge_pool_assignment(bytes, line),
                Ok(_) => {} // recognised, not imported
                Err(e) => {
                    member_lines.check_error(&e);
                    unrecognised |= e.kind == ErrorKind::Unrecognised;
                }
            }
        }
        unrecognised
    }

    fn consensus(&mut self, data: &[u8], first_line: u32) {
        let result = consensus::parse(data, first_line);
        let Some((c, lines)) = parsed(result, data, first_line) else {
            return;
        };
        let _ = PartitionKey::of_time(c.valid_after);
        for e in &c.entries {
            lines.check(e.line);
        }
        if c.flavor == Flavor::Microdesc {
            self.microdesc_entries.push(c.entries.len(), |b| {
                c.entries.iter().for_each(|e| b.push(c.valid_after, e))
            });
            return;
        }
        self.consensuses
            .push(1, |b| b.push(&c, c.entries.len() as u32, SOURCE));
        self.consensus_entries.push(c.entries.len(), |b| {
            c.entries.iter().for_each(|e| b.push(c.valid_after, e))
        });
    }

    fn server_descriptor(&mut self, data: &[u8], first_line: u32) {
        let result = server_descriptor::parse(data, first_line);
        let Some((d, _)) = parsed(result, data, first_line) else {
            return;
        };
        assert_fingerprint(&d.fingerprint);
        let _ = PartitionKey::of_time(d.published);
        self.descriptors.push(1, |b| b.push(&d, SOURCE));
    }

    fn exit_list(&mut self, data: &[u8], first_line: u32) {
        let result = exit_list::parse(data, first_line);
        let Some((list, lines)) = parsed(result, data, first_line) else {
            return;
        };
        let Some(time) = exit_list_time(&list) else {
            return; // rejected by the importer: nothing to file it under
        };
        let _ = PartitionKey::of_time(time);
        for node in &list.nodes {
            assert_fingerprint(&node.fingerprint);
            lines.check(node.line);
            self.exits
                .push(node.addresses.len().max(1), |b| b.push(time, node, SOURCE));
        }
    }

    fn extra_info(&mut self, data: &[u8], first_line: u32) {
        let result = extra_info::parse(data, first_line);
        let Some((d, _)) = parsed(result, data, first_line) else {
            return;
        };
        assert_fingerprint(&d.fingerprint);
        let _ = PartitionKey::of_time(d.published);
        self.extra_infos.push(1, |b| b.push(&d, SOURCE));
    }

    fn vote(&mut self, data: &[u8], first_line: u32) {
        let result = vote::parse(data, first_line);
        let Some((v, lines)) = parsed(result, data, first_line) else {
            return;
        };
        assert_fingerprint(&v.authority);
        let _ = PartitionKey::of_time(v.valid_after);
        self.votes.push(1, |b| b.push(&v, SOURCE));
        for e in &v.entries {
            lines.check(e.line);
        }
        self.vote_entries.push(v.entries.len(), |b| {
            for e in &v.entries {
                b.push(v.valid_after, &v.authority, e);
            }
        });
    }

    fn microdescriptor(&mut self, data: &[u8], first_line: u32) {
        let result = microdescriptor::parse(data, first_line);
        let Some((m, _)) = parsed(result, data, first_line) else {
            return;
        };
        if let Some(id) = &m.rsa1024_id {
            assert_fingerprint(id);
        }
        // Filed under the Unix epoch, as the importer does for a tor cache file.
        self.microdescriptors.push(1, |b| b.push(&m, 0, SOURCE));
    }

    fn bridge_status(&mut self, data: &[u8], first_line: u32) {
        let result = bridge_status::parse(data, first_line);
        let Some((s, lines)) = parsed(result, data, first_line) else {
            return;
        };
        if let Some(authority) = &s.authority {
            assert_fingerprint(authority);
        }
        let _ = PartitionKey::of_time(s.published);
        let authority = s.authority.as_deref();
        self.bridge_statuses
            .push(1, |b| b.push(&s, authority, SOURCE));
        for e in &s.entries {
            lines.check(e.line);
        }
        self.bridge_entries.push(s.entries.len(), |b| {
            for e in &s.entries {
                b.push(s.published, authority, e);
            }
        });
    }

    fn bandwidth_file(&mut self, data: &[u8], first_line: u32) {
        let result = bandwidth_file::parse(data, first_line);
        let Some((f, lines)) = parsed(result, data, first_line) else {
            return;
        };
        let _ = PartitionKey::of_time(f.timestamp);
        self.bandwidth_files.push(1, |b| b.push(&f, SOURCE));
        for r in &f.relays {
            assert_fingerprint(&r.fingerprint);
            lines.check(r.line);
        }
        self.bandwidth_entries.push(f.relays.len(), |b| {
            for r in &f.relays {
                b.push(&f, r);
            }
        });
    }

    fn bridge_pool_assignment(&mut self, data: &[u8], first_line: u32) {
        let result = bridge_pool_assignment::parse(data, first_line);
        let Some((assignments, lines)) = parsed(result, data, first_line) else {
            return;
        };
        for a in &assignments {
            assert_fingerprint(&a.fingerprint);
            lines.check(a.line);
            let _ = PartitionKey::of_time(a.published);
            self.pool_assignments.push(1, |b| b.push(a, SOURCE));
        }
    }
}

/// The document of a successful parse, with its lines, after checking the line numbers of
/// its warnings (or of the error that rejected it).
fn parsed<T>(
    result: Result<Parsed<T>, ParseError>,
    data: &[u8],
    first_line: u32,
) -> Option<(T, Lines)> {
    let lines = Lines::of(data, first_line);
    match result {
        Ok(parsed) => {
            parsed.warnings.iter().for_each(|w| lines.check_error(w));
            Some((parsed.doc, lines))
        }
        Err(e) => {
            lines.check_error(&e);
            None
        }
    }
}

/// Fingerprints are stored as 40 upper-case hex characters.
fn assert_fingerprint(fingerprint: &str) {
    assert!(
        fingerprint.len() == 40
            && fingerprint
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b)),
        "fingerprint {fingerprint:?} is not 40 upper-case hex characters"
    );
}

/// The member lines a document covers: every line number the importer records for it
/// must fall inside.
struct Lines {
    first: u32,
    last: u64,
}

impl Lines {
    fn of(data: &[u8], first: u32) -> Self {
        let newlines = memchr::memchr_iter(b'\n', data).count() as u64;
        Lines {
            first,
            last: first as u64 + newlines,
        }
    }

    fn check(&self, line: u32) {
        assert!(
            (self.first as u64..=self.last).contains(&(line as u64)),
            "line {line} outside the document's lines {}..={}",
            self.first,
            self.last
        );
    }

    fn check_error(&self, e: &ParseError) {
        self.check(e.line);
        assert!(!e.message.is_empty(), "error without a message: {e:?}");
    }
}
