//! The consensus datasets: `consensuses` (one row per consensus of either flavour, with
//! its bandwidth weights), `consensus_entries` (ns flavour) and
//! `microdesc_consensus_entries`.

use std::sync::Arc;

use arrow::array::{
    ArrayBuilder, ArrayRef, Int64Builder, ListBuilder, StringBuilder, TimestampMillisecondBuilder,
    UInt32Builder,
};
use arrow::datatypes::{DataType, SchemaRef};
use arrow::record_batch::RecordBatch;

use super::builder::{
    append_hex, cached_schema, field, finish, millis, push_list, str_list, ts, BatchBuilder, Source,
};
use super::status_entries::{entry_fields, EntryColumns};
use crate::descriptor::consensus::{Consensus, Entry};
use crate::descriptor::values::text;

/// The 19 `bandwidth-weights` keys (dir-spec §3.8.3), each stored as its own column.
pub const BANDWIDTH_WEIGHT_KEYS: [&str; 19] = [
    "Wbd", "Wbe", "Wbg", "Wbm", "Wdb", "Web", "Wed", "Wee", "Weg", "Wem", "Wgb", "Wgd", "Wgg",
    "Wgm", "Wmb", "Wmd", "Wme", "Wmg", "Wmm",
];

// ---------------------------------------------------------------------------------------
// consensuses

pub fn consensuses_schema() -> SchemaRef {
    cached_schema!({
        let mut f = vec![
            field("valid_after", ts(), false),
            field("fresh_until", ts(), true),
            field("valid_until", ts(), true),
            field("consensus_method", DataType::UInt32, false),
            field("flavor", DataType::Utf8, false),
            field("voting_delay_vote", DataType::UInt32, true),
            field("voting_delay_dist", DataType::UInt32, true),
            field("known_flags", str_list(), false),
            field("client_versions", str_list(), false),
            field("server_versions", str_list(), false),
            field("params", str_list(), false),
            field("bwweightscale", DataType::Int64, false),
            field("relays", DataType::UInt32, false),
            field("dir_sources", DataType::UInt32, false),
            field("signatures", DataType::UInt32, false),
        ];
        f.extend(
            BANDWIDTH_WEIGHT_KEYS
                .iter()
                .map(|k| field(k, DataType::Int64, true)),
        );
        f.push(field("source_file", DataType::Utf8, false));
        f.push(field("source_member", DataType::Utf8, true));
        f
    })
}

#[derive(Default)]
pub struct ConsensusesBuilder {
    valid_after: TimestampMillisecondBuilder,
    fresh_until: TimestampMillisecondBuilder,
    valid_until: TimestampMillisecondBuilder,
    consensus_method: UInt32Builder,
    flavor: StringBuilder,
    voting_delay_vote: UInt32Builder,
    voting_delay_dist: UInt32Builder,
    known_flags: ListBuilder<StringBuilder>,
    client_versions: ListBuilder<StringBuilder>,
    server_versions: ListBuilder<StringBuilder>,
    params: ListBuilder<StringBuilder>,
    bwweightscale: Int64Builder,
    relays: UInt32Builder,
    dir_sources: UInt32Builder,
    signatures: UInt32Builder,
    weights: [Int64Builder; 19],
    source_file: StringBuilder,
    source_member: StringBuilder,
}

impl ConsensusesBuilder {
    pub fn push(&mut self, c: &Consensus, relays: u32, source: Source) {
        self.valid_after.append_value(millis(c.valid_after));
        self.fresh_until.append_option(c.fresh_until.map(millis));
        self.valid_until.append_option(c.valid_until.map(millis));
        self.consensus_method.append_value(c.consensus_method);
        self.flavor.append_value(match c.flavor {
            crate::descriptor::consensus::Flavor::Ns => "ns",
            crate::descriptor::consensus::Flavor::Microdesc => "microdesc",
        });
        self.voting_delay_vote
            .append_option(c.voting_delay.map(|d| d.0));
        self.voting_delay_dist
            .append_option(c.voting_delay.map(|d| d.1));
        push_list(&mut self.known_flags, c.known_flags.iter().copied());
        push_list(&mut self.client_versions, c.client_versions.iter().copied());
        push_list(&mut self.server_versions, c.server_versions.iter().copied());
        for (k, v) in &c.params {
            self.params
                .values()
                .append_value(format!("{}={v}", text(k)));
        }
        self.params.append(true);
        let scale = c
            .params
            .iter()
            .find(|(k, _)| *k == b"bwweightscale")
            .map_or(10_000, |(_, v)| *v);
        self.bwweightscale.append_value(scale);
        self.relays.append_value(relays);
        self.dir_sources.append_value(c.dir_sources);
        self.signatures.append_value(c.signatures);
        for (key, builder) in BANDWIDTH_WEIGHT_KEYS.iter().zip(self.weights.iter_mut()) {
            builder.append_option(
                c.bandwidth_weights
                    .iter()
                    .find(|(k, _)| *k == key.as_bytes())
                    .map(|(_, v)| *v),
            );
        }
        self.source_file.append_value(source.file);
        self.source_member.append_option(source.member);
    }
}

impl BatchBuilder for ConsensusesBuilder {
    fn len(&self) -> usize {
        self.valid_after.len()
    }
    fn finish(&mut self) -> RecordBatch {
        let mut columns: Vec<ArrayRef> = vec![
            Arc::new(self.valid_after.finish().with_timezone("UTC")),
            Arc::new(self.fresh_until.finish().with_timezone("UTC")),
            Arc::new(self.valid_until.finish().with_timezone("UTC")),
            Arc::new(self.consensus_method.finish()),
            Arc::new(self.flavor.finish()),
            Arc::new(self.voting_delay_vote.finish()),
            Arc::new(self.voting_delay_dist.finish()),
            Arc::new(self.known_flags.finish()),
            Arc::new(self.client_versions.finish()),
            Arc::new(self.server_versions.finish()),
            Arc::new(self.params.finish()),
            Arc::new(self.bwweightscale.finish()),
            Arc::new(self.relays.finish()),
            Arc::new(self.dir_sources.finish()),
            Arc::new(self.signatures.finish()),
        ];
        columns.extend(
            self.weights
                .iter_mut()
                .map(|b| Arc::new(b.finish()) as ArrayRef),
        );
        columns.push(Arc::new(self.source_file.finish()));
        columns.push(Arc::new(self.source_member.finish()));
        finish(&consensuses_schema(), columns)
    }
}

// ---------------------------------------------------------------------------------------
// consensus_entries

pub fn consensus_entries_schema() -> SchemaRef {
    cached_schema!({
        let mut f = vec![
            field("fingerprint", DataType::Utf8, false),
            field("valid_after", ts(), false),
        ];
        f.extend(entry_fields());
        f
    })
}

#[derive(Default)]
pub struct ConsensusEntriesBuilder {
    fingerprint: StringBuilder,
    valid_after: TimestampMillisecondBuilder,
    entry: EntryColumns,
}

impl ConsensusEntriesBuilder {
    pub fn push(&mut self, valid_after: i64, e: &Entry) {
        append_hex(&mut self.fingerprint, &e.identity, true);
        self.valid_after.append_value(millis(valid_after));
        self.entry.push(e);
    }
}

impl BatchBuilder for ConsensusEntriesBuilder {
    fn len(&self) -> usize {
        self.valid_after.len()
    }
    fn finish(&mut self) -> RecordBatch {
        let mut columns: Vec<ArrayRef> = vec![
            Arc::new(self.fingerprint.finish()),
            Arc::new(self.valid_after.finish().with_timezone("UTC")),
        ];
        self.entry.finish_into(&mut columns);
        finish(&consensus_entries_schema(), columns)
    }
}

// ---------------------------------------------------------------------------------------
// microdesc_consensus_entries

pub fn microdesc_consensus_entries_schema() -> SchemaRef {
    cached_schema!({
        let mut f = vec![
            field("fingerprint", DataType::Utf8, false),
            field("valid_after", ts(), false),
        ];
        f.extend(entry_fields());
        f.push(field("microdesc_digest", DataType::Utf8, true));
        f
    })
}

#[derive(Default)]
pub struct MicrodescConsensusEntriesBuilder {
    fingerprint: StringBuilder,
    valid_after: TimestampMillisecondBuilder,
    entry: EntryColumns,
    microdesc_digest: StringBuilder,
}

impl MicrodescConsensusEntriesBuilder {
    /// The `m` digest is stored as lower-case hex (= `microdescriptors.digest`); a value
    /// that is not base64 of 32 bytes is stored null.
    pub fn push(&mut self, valid_after: i64, e: &Entry) {
        append_hex(&mut self.fingerprint, &e.identity, true);
        self.valid_after.append_value(millis(valid_after));
        self.entry.push(e);
        self.microdesc_digest.append_option(
            e.microdesc_digest
                .and_then(crate::descriptor::values::base64_exact::<32>)
                .map(hex::encode),
        );
    }
}

impl BatchBuilder for MicrodescConsensusEntriesBuilder {
    fn len(&self) -> usize {
        self.valid_after.len()
    }
    fn finish(&mut self) -> RecordBatch {
        let mut columns: Vec<ArrayRef> = vec![
            Arc::new(self.fingerprint.finish()),
            Arc::new(self.valid_after.finish().with_timezone("UTC")),
        ];
        self.entry.finish_into(&mut columns);
        columns.push(Arc::new(self.microdesc_digest.finish()));
        finish(&microdesc_consensus_entries_schema(), columns)
    }
}
