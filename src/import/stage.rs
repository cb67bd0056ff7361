//! Staging one input ([`stage_input`]): a decoder thread reads its members, the parser
//! splits each into documents, parses them and pushes their rows into the [`Stager`]'s
//! buffers (consensuses, server descriptors and exit lists here; consensus entries through
//! `entry_states.rs`; the further types in `more_types.rs`). The result, a [`StagedInput`],
//! holds the input's sorted runs, its manifest row and its errors.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::sync_channel;
use std::sync::Arc;

use anyhow::Result;
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

use super::entry_states::{self, EntryStates};
use super::input::{base_record, now_ms, InputFile};
use super::sink::{Buffers, RunSink};
use super::state::{MoreBuffers, Stager};
use crate::archive::sniff::split_documents;
use crate::archive::{self, Member};
use crate::descriptor::consensus::{self, Flavor};
use crate::descriptor::{exit_list, server_descriptor, DocType, ErrorKind, ParseError};
use crate::warehouse::schema::{exit_list_time, ImportError, ImportRecord, Source};
use crate::warehouse::store::Run;
use crate::warehouse::{DatasetId, PartitionKey};

/// Members handed from the decoder thread to the parser at once (count, bytes).
const MEMBER_BATCH: usize = 256;
const MEMBER_BATCH_BYTES: usize = 1 << 20;

/// What one input produced: sorted runs per partition, its manifest row and its errors.
pub(super) struct StagedInput {
    pub(super) runs: Vec<(DatasetId, PartitionKey, Run)>,
    pub(super) rows: BTreeMap<&'static str, u64>,
    pub(super) record: ImportRecord,
    pub(super) errors: Vec<ImportError>,
}

pub(super) fn stage_input(
    input: &InputFile,
    staging: &Path,
    spill_rows: Option<usize>,
    multi: &MultiProgress,
) -> Result<StagedInput> {
    let started = now_ms();
    let bar = multi.add(ProgressBar::new(input.size));
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} {msg:40!} [{bar:25}] {bytes}/{total_bytes} {bytes_per_sec} {eta}",
        )?
        .progress_chars("=> "),
    );
    bar.set_message(input.file_name.clone());
    let mut stager = Stager {
        input,
        sink: RunSink {
            dir: staging.to_path_buf(),
            spilled: 0,
            runs: Vec::new(),
            rows: BTreeMap::new(),
            pending: None,
        },
        consensuses: Buffers::new(DatasetId::Consensuses, spill_rows),
        entries: EntryStates::new(spill_rows),
        descriptors: Buffers::new(DatasetId::ServerDescriptors, spill_rows),
        exits: Buffers::new(DatasetId::ExitLists, spill_rows),
        more: MoreBuffers::new(spill_rows),
        counts: BTreeMap::new(),
        errors: Vec::new(),
        members: 0,
    };
    let bytes_read = Arc::new(AtomicU64::new(0));
    // Members travel in batches: one channel hand-off per MB (or 256 members), not per small
    // descriptor; the queue of a few MB lets the parser read what the decoder wrote while it
    // is still in cache.
    let (sender, receiver) = sync_channel::<Vec<Member>>(4);
    let mut fatal: Option<anyhow::Error> = None;
    let read_result = std::thread::scope(|scope| {
        let counter = bytes_read.clone();
        let reader = scope.spawn(move || {
            let mut batch = Vec::new();
            let mut batch_bytes = 0;
            let result = archive::read_members(&input.path, counter, |m| {
                batch_bytes += m.data.len();
                batch.push(m);
                if batch.len() < MEMBER_BATCH && batch_bytes < MEMBER_BATCH_BYTES {
                    return true;
                }
                batch_bytes = 0;
                sender.send(std::mem::take(&mut batch)).is_ok()
            });
            if !batch.is_empty() {
                let _ = sender.send(batch);
            }
            result
        });
        // Owned by this closure, so that a panic below drops it and the reader, blocked on a
        // full queue, ends instead of waiting forever.
        let receiver = receiver;
        for member in receiver.iter().flatten() {
            if fatal.is_none() {
                if let Err(e) = stager.member(member) {
                    fatal = Some(e);
                }
            }
            bar.set_position(bytes_read.load(Ordering::Relaxed));
            let docs: i64 = stager.counts.values().map(|c| c.0 + c.1 + c.2).sum();
            bar.set_message(format!("{} ({docs} docs)", input.file_name));
        }
        reader.join().expect("archive reader thread does not panic")
    });
    if let Some(e) = fatal {
        bar.abandon();
        return Err(e);
    }
    let mut status = "ok";
    if let Err(problem) = read_result {
        status = "failed";
        stager.error(
            problem.member.as_deref(),
            0,
            None,
            problem.kind,
            problem.message,
        );
    } else if !stager.errors.is_empty() {
        status = "errors";
    }
    bar.finish_and_clear();
    stager.sink.wait()?;
    stager.consensuses.drain(&mut stager.sink)?;
    for (key, run) in stager.entries.take_runs()? {
        stager
            .sink
            .runs
            .push((DatasetId::ConsensusEntries, key, run));
    }
    stager.descriptors.drain(&mut stager.sink)?;
    stager.exits.drain(&mut stager.sink)?;
    stager.more.drain(&mut stager.sink)?;
    let total = |i: usize| {
        stager
            .counts
            .values()
            .map(|c| [c.0, c.1, c.2][i])
            .sum::<i64>()
    };
    let record = ImportRecord {
        status: status.into(),
        members: stager.members,
        documents_imported: total(0),
        documents_skipped: total(1),
        documents_rejected: total(2),
        document_counts: stager
            .counts
            .iter()
            .map(|(t, c)| format!("{t}={}/{}/{}", c.0, c.1, c.2))
            .collect(),
        rows: stager
            .sink
            .rows
            .iter()
            .map(|(d, n)| format!("{d}={n}"))
            .collect(),
        errors: stager.errors.len() as i64,
        finished_ms: now_ms(),
        ..base_record(input, started)
    };
    Ok(StagedInput {
        runs: stager.sink.runs,
        rows: stager.sink.rows,
        record,
        errors: stager.errors,
    })
}

impl Stager<'_> {
    /// Parses every document of a member into the row buffers. Only I/O failures of the
    /// staging folder are returned as errors; document problems are recorded.
    fn member(&mut self, member: Member) -> Result<()> {
        self.members += 1;
        let name = member.name.as_deref();
        // Shared, so that consensus entries can keep pointing into it (`entry_states`).
        let data = Arc::new(member.data);
        if data.iter().all(u8::is_ascii_whitespace) {
            self.error(
                name,
                0,
                None,
                ErrorKind::Truncated,
                "empty member: no document in it".into(),
            );
            self.count(None, 2);
            return Ok(());
        }
        if has_bare_cr_line_ends(&data) {
            self.error(
                name,
                1,
                None,
                ErrorKind::Malformed,
                "lines end in a bare CR (carriage return) without LF; Tor documents end \
                 lines in LF (or CR LF)"
                    .into(),
            );
            self.count(None, 2);
            return Ok(());
        }
        let source = Source {
            file: &self.input.file_name,
            member: name,
        };
        let label = name.unwrap_or(&self.input.file_name).to_string();
        for doc in split_documents(&data, &label) {
            let doc_type = match doc.doc_type {
                Ok(t) => t,
                Err(e) => {
                    self.parse_error(name, None, e);
                    self.count(None, 2);
                    continue;
                }
            };
            let (bytes, line) = (doc.bytes, doc.first_line);
            let outcome = match doc_type {
                DocType::Consensus => {
                    let parsed = entry_states::parse_consensus(&self.entries, bytes, line);
                    self.stage(parsed, source, doc_type, |s, c| {
                        s.consensus(c, &data, bytes, source)
                    })?
                }
                DocType::ServerDescriptor => self.stage(
                    server_descriptor::parse(bytes, line),
                    source,
                    doc_type,
                    |s, d| s.server_descriptor(d, source),
                )?,
                DocType::ExitList => {
                    self.stage(exit_list::parse(bytes, line), source, doc_type, |s, l| {
                        s.exit_list(l, line, source)
                    })?
                }
                _ => self.stage_more(doc_type, bytes, line, source)?,
            };
            match outcome {
                Ok(true) => self.count(Some(doc_type), 0),
                Ok(false) => self.count(Some(doc_type), 1),
                Err(e) => {
                    self.parse_error(name, Some(doc_type), e);
                    self.count(Some(doc_type), 2);
                }
            }
        }
        Ok(())
    }

    /// Stages an ns consensus, `document` of `member` (a microdesc-flavour one's entries go
    /// to their own dataset).
    fn consensus(
        &mut self,
        c: consensus::Consensus,
        member: &Arc<Vec<u8>>,
        document: &[u8],
        source: Source,
    ) -> Result<Result<bool, ParseError>> {
        if c.flavor == Flavor::Microdesc {
            // Only ns entries are kept as states, and the texts of the two flavours never
            // coincide (8 against 7 `r` fields), so nothing was passed over.
            debug_assert!(c.known_entries.is_empty());
            return self.microdesc_consensus(c, source);
        }
        let key = PartitionKey::of_time(c.valid_after);
        let relays = (c.entries.len() + c.known_entries.len()) as u32;
        self.consensuses
            .push(key, &mut self.sink, |b| b.push(&c, relays, source))?;
        let added = self.entries.add(key, member, document, &c);
        self.sink.count_rows(DatasetId::ConsensusEntries, added);
        if self.entries.full() {
            for (key, run) in self.entries.take_runs()? {
                self.sink.spill_run(DatasetId::ConsensusEntries, key, run)?;
            }
        }
        Ok(Ok(true))
    }

    fn server_descriptor(
        &mut self,
        d: server_descriptor::ServerDescriptor,
        source: Source,
    ) -> Result<Result<bool, ParseError>> {
        self.descriptors
            .push(PartitionKey::of_time(d.published), &mut self.sink, |b| {
                b.push(&d, source)
            })?;
        Ok(Ok(true))
    }

    fn exit_list(
        &mut self,
        list: exit_list::ExitList,
        first_line: u32,
        source: Source,
    ) -> Result<Result<bool, ParseError>> {
        let Some(time) = exit_list_time(&list) else {
            return Ok(Err(ParseError::new(
                ErrorKind::MissingLine,
                first_line,
                "exit list has no Downloaded line and no times to file it under",
            )));
        };
        self.exits
            .push(PartitionKey::of_time(time), &mut self.sink, |b| {
                for node in &list.nodes {
                    b.push(time, node, source);
                }
            })?;
        Ok(Ok(true))
    }
}

/// Whether `data` is text with CR alone as its line end (classic Mac OS): no LF anywhere, a
/// printable first line ended by a CR, and more text after it. Split on LF, such a member
/// would be one enormous line.
fn has_bare_cr_line_ends(data: &[u8]) -> bool {
    if memchr::memchr(b'\n', data).is_some() {
        return false;
    }
    let Some(first_cr) = memchr::memchr(b'\r', data) else {
        return false;
    };
    let first_line = &data[..first_cr];
    !first_line.is_empty()
        && first_line
            .iter()
            .all(|&b| b == b'\t' || (b' '..=b'~').contains(&b))
        && data[first_cr..].iter().any(|b| !b.is_ascii_whitespace())
}
