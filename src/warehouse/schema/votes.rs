//! The vote datasets: `votes` (one row per authority's vote) and `vote_entries`.

use std::sync::Arc;

use arrow::array::{
    ArrayBuilder, ArrayRef, ListBuilder, StringBuilder, TimestampMillisecondBuilder, UInt32Builder,
};
use arrow::datatypes::{DataType, SchemaRef};
use arrow::record_batch::RecordBatch;

use super::builder::{
    append_hex, append_text_opt, cached_schema, field, finish, millis, push_list, str_list, ts,
    BatchBuilder, Source,
};
use super::status_entries::{entry_fields, EntryColumns};
use crate::descriptor::consensus::Entry;
use crate::descriptor::values::text;
use crate::descriptor::vote::Vote;

// ---------------------------------------------------------------------------------------
// votes and vote_entries

pub fn votes_schema() -> SchemaRef {
    cached_schema!(vec![
        field("valid_after", ts(), false),
        field("authority", DataType::Utf8, false),
        field("digest", DataType::Utf8, true),
        field("authority_nickname", DataType::Utf8, true),
        field("authority_address", DataType::Utf8, true),
        field("published", ts(), true),
        field("fresh_until", ts(), true),
        field("valid_until", ts(), true),
        field("voting_delay_vote", DataType::UInt32, true),
        field("voting_delay_dist", DataType::UInt32, true),
        field("consensus_methods", str_list(), false),
        field("known_flags", str_list(), false),
        field("flag_thresholds", str_list(), false),
        field("params", str_list(), false),
        field("client_versions", str_list(), false),
        field("server_versions", str_list(), false),
        field("contact", DataType::Utf8, true),
        field("bandwidth_file_headers", str_list(), false),
        field("bandwidth_file_digest", DataType::Utf8, true),
        field("relays", DataType::UInt32, false),
        field("source_file", DataType::Utf8, false),
        field("source_member", DataType::Utf8, true),
    ])
}

pub struct VotesBuilder {
    valid_after: TimestampMillisecondBuilder,
    authority: StringBuilder,
    digest: StringBuilder,
    authority_nickname: StringBuilder,
    authority_address: StringBuilder,
    published: TimestampMillisecondBuilder,
    fresh_until: TimestampMillisecondBuilder,
    valid_until: TimestampMillisecondBuilder,
    voting_delay_vote: UInt32Builder,
    voting_delay_dist: UInt32Builder,
    consensus_methods: ListBuilder<StringBuilder>,
    known_flags: ListBuilder<StringBuilder>,
    flag_thresholds: ListBuilder<StringBuilder>,
    params: ListBuilder<StringBuilder>,
    client_versions: ListBuilder<StringBuilder>,
    server_versions: ListBuilder<StringBuilder>,
    contact: StringBuilder,
    bandwidth_file_headers: ListBuilder<StringBuilder>,
    bandwidth_file_digest: StringBuilder,
    relays: UInt32Builder,
    source_file: StringBuilder,
    source_member: StringBuilder,
}

impl Default for VotesBuilder {
    fn default() -> Self {
        let list = || ListBuilder::new(StringBuilder::new());
        VotesBuilder {
            valid_after: TimestampMillisecondBuilder::new(),
            authority: StringBuilder::new(),
            digest: StringBuilder::new(),
            authority_nickname: StringBuilder::new(),
            authority_address: StringBuilder::new(),
            published: TimestampMillisecondBuilder::new(),
            fresh_until: TimestampMillisecondBuilder::new(),
            valid_until: TimestampMillisecondBuilder::new(),
            voting_delay_vote: UInt32Builder::new(),
            voting_delay_dist: UInt32Builder::new(),
            consensus_methods: list(),
            known_flags: list(),
            flag_thresholds: list(),
            params: list(),
            client_versions: list(),
            server_versions: list(),
            contact: StringBuilder::new(),
            bandwidth_file_headers: list(),
            bandwidth_file_digest: StringBuilder::new(),
            relays: UInt32Builder::new(),
            source_file: StringBuilder::new(),
            source_member: StringBuilder::new(),
        }
    }
}

impl VotesBuilder {
    pub fn push(&mut self, v: &Vote, source: Source) {
        self.valid_after.append_value(millis(v.valid_after));
        self.authority.append_value(&v.authority);
        match &v.digest {
            Some(d) => append_hex(&mut self.digest, d, false),
            None => self.digest.append_null(),
        }
        append_text_opt(&mut self.authority_nickname, v.authority_nickname);
        append_text_opt(&mut self.authority_address, v.authority_address);
        self.published.append_option(v.published.map(millis));
        self.fresh_until.append_option(v.fresh_until.map(millis));
        self.valid_until.append_option(v.valid_until.map(millis));
        self.voting_delay_vote
            .append_option(v.voting_delay.map(|d| d.0));
        self.voting_delay_dist
            .append_option(v.voting_delay.map(|d| d.1));
        push_list(
            &mut self.consensus_methods,
            v.consensus_methods.iter().copied(),
        );
        push_list(&mut self.known_flags, v.known_flags.iter().copied());
        push_list(&mut self.flag_thresholds, v.flag_thresholds.iter().copied());
        for (k, value) in &v.params {
            self.params
                .values()
                .append_value(format!("{}={value}", text(k)));
        }
        self.params.append(true);
        push_list(&mut self.client_versions, v.client_versions.iter().copied());
        push_list(&mut self.server_versions, v.server_versions.iter().copied());
        append_text_opt(&mut self.contact, v.contact);
        push_list(
            &mut self.bandwidth_file_headers,
            v.bandwidth_file_headers.iter().copied(),
        );
        append_text_opt(&mut self.bandwidth_file_digest, v.bandwidth_file_digest);
        self.relays.append_value(v.entries.len() as u32);
        self.source_file.append_value(source.file);
        self.source_member.append_option(source.member);
    }
}

impl BatchBuilder for VotesBuilder {
    fn len(&self) -> usize {
        self.valid_after.len()
    }
    fn finish(&mut self) -> RecordBatch {
        finish(
            &votes_schema(),
            vec![
                Arc::new(self.valid_after.finish().with_timezone("UTC")),
                Arc::new(self.authority.finish()),
                Arc::new(self.digest.finish()),
                Arc::new(self.authority_nickname.finish()),
                Arc::new(self.authority_address.finish()),
                Arc::new(self.published.finish().with_timezone("UTC")),
                Arc::new(self.fresh_until.finish().with_timezone("UTC")),
                Arc::new(self.valid_until.finish().with_timezone("UTC")),
                Arc::new(self.voting_delay_vote.finish()),
                Arc::new(self.voting_delay_dist.finish()),
                Arc::new(self.consensus_methods.finish()),
                Arc::new(self.known_flags.finish()),
                Arc::new(self.flag_thresholds.finish()),
                Arc::new(self.params.finish()),
                Arc::new(self.client_versions.finish()),
                Arc::new(self.server_versions.finish()),
                Arc::new(self.contact.finish()),
                Arc::new(self.bandwidth_file_headers.finish()),
                Arc::new(self.bandwidth_file_digest.finish()),
                Arc::new(self.relays.finish()),
                Arc::new(self.source_file.finish()),
                Arc::new(self.source_member.finish()),
            ],
        )
    }
}

pub fn vote_entries_schema() -> SchemaRef {
    cached_schema!({
        let mut f = vec![
            field("fingerprint", DataType::Utf8, false),
            field("valid_after", ts(), false),
            field("authority", DataType::Utf8, false),
        ];
        f.extend(entry_fields());
        f.push(field("ed25519_id", DataType::Utf8, true));
        f.push(field("stats", str_list(), false));
        f.push(field("microdesc_digests", str_list(), false));
        f
    })
}

pub struct VoteEntriesBuilder {
    fingerprint: StringBuilder,
    valid_after: TimestampMillisecondBuilder,
    authority: StringBuilder,
    entry: EntryColumns,
    ed25519_id: StringBuilder,
    stats: ListBuilder<StringBuilder>,
    microdesc_digests: ListBuilder<StringBuilder>,
}

impl Default for VoteEntriesBuilder {
    fn default() -> Self {
        VoteEntriesBuilder {
            fingerprint: StringBuilder::new(),
            valid_after: TimestampMillisecondBuilder::new(),
            authority: StringBuilder::new(),
            entry: EntryColumns::default(),
            ed25519_id: StringBuilder::new(),
            stats: ListBuilder::new(StringBuilder::new()),
            microdesc_digests: ListBuilder::new(StringBuilder::new()),
        }
    }
}

impl VoteEntriesBuilder {
    pub fn push(&mut self, valid_after: i64, authority: &str, e: &Entry) {
        append_hex(&mut self.fingerprint, &e.identity, true);
        self.valid_after.append_value(millis(valid_after));
        self.authority.append_value(authority);
        self.entry.push(e);
        append_text_opt(
            &mut self.ed25519_id,
            e.ed25519_id.filter(|id| *id != b"none"),
        );
        push_list(
            &mut self.stats,
            e.stats
                .map(crate::descriptor::tokenizer::fields)
                .into_iter()
                .flatten(),
        );
        push_list(
            &mut self.microdesc_digests,
            e.microdesc_lines.iter().copied(),
        );
    }
}

impl BatchBuilder for VoteEntriesBuilder {
    fn len(&self) -> usize {
        self.valid_after.len()
    }
    fn finish(&mut self) -> RecordBatch {
        let mut columns: Vec<ArrayRef> = vec![
            Arc::new(self.fingerprint.finish()),
            Arc::new(self.valid_after.finish().with_timezone("UTC")),
            Arc::new(self.authority.finish()),
        ];
        self.entry.finish_into(&mut columns);
        columns.push(Arc::new(self.ed25519_id.finish()));
        columns.push(Arc::new(self.stats.finish()));
        columns.push(Arc::new(self.microdesc_digests.finish()));
        finish(&vote_entries_schema(), columns)
    }
}
