//! The datasets of what others measured about relays: `exit_lists` (the exit scanner's
//! addresses) and `bandwidth_files` with `bandwidth_file_entries` (the bandwidth
//! authorities' measurements).

use std::sync::Arc;

use arrow::array::{
    ArrayBuilder, Int64Builder, ListBuilder, StringBuilder, TimestampMillisecondBuilder,
    UInt32Builder,
};
use arrow::datatypes::{DataType, SchemaRef};
use arrow::record_batch::RecordBatch;

use super::builder::{
    append_text, append_text_opt, cached_schema, field, finish, millis, push_list, str_list, ts,
    BatchBuilder, Source,
};
use crate::descriptor::bandwidth_file::{BandwidthFile, Relay as BandwidthRelay};
use crate::descriptor::exit_list::{ExitList, ExitNode};

// ---------------------------------------------------------------------------------------
// exit_lists

pub fn exit_lists_schema() -> SchemaRef {
    cached_schema!(vec![
        field("downloaded", ts(), false),
        field("fingerprint", DataType::Utf8, false),
        field("exit_address", DataType::Utf8, true),
        field("address_time", ts(), true),
        field("published", ts(), true),
        field("last_status", ts(), true),
        field("source_file", DataType::Utf8, false),
        field("source_member", DataType::Utf8, true),
    ])
}

pub struct ExitListsBuilder {
    downloaded: TimestampMillisecondBuilder,
    fingerprint: StringBuilder,
    exit_address: StringBuilder,
    address_time: TimestampMillisecondBuilder,
    published: TimestampMillisecondBuilder,
    last_status: TimestampMillisecondBuilder,
    source_file: StringBuilder,
    source_member: StringBuilder,
}

impl Default for ExitListsBuilder {
    fn default() -> Self {
        ExitListsBuilder {
            downloaded: TimestampMillisecondBuilder::new(),
            fingerprint: StringBuilder::new(),
            exit_address: StringBuilder::new(),
            address_time: TimestampMillisecondBuilder::new(),
            published: TimestampMillisecondBuilder::new(),
            last_status: TimestampMillisecondBuilder::new(),
            source_file: StringBuilder::new(),
            source_member: StringBuilder::new(),
        }
    }
}

impl ExitListsBuilder {
    /// One row per (node, exit address); a node without addresses still gets one row.
    pub fn push(&mut self, downloaded: i64, node: &ExitNode, source: Source) {
        let addresses: Vec<(Option<&str>, Option<i64>)> = if node.addresses.is_empty() {
            vec![(None, None)]
        } else {
            node.addresses
                .iter()
                .map(|(a, t)| (Some(a.as_str()), Some(*t)))
                .collect()
        };
        for (address, time) in addresses {
            self.downloaded.append_value(millis(downloaded));
            self.fingerprint.append_value(&node.fingerprint);
            self.exit_address.append_option(address);
            self.address_time.append_option(time.map(millis));
            self.published.append_option(node.published.map(millis));
            self.last_status.append_option(node.last_status.map(millis));
            self.source_file.append_value(source.file);
            self.source_member.append_option(source.member);
        }
    }
}

/// The time an exit list is filed under: its `Downloaded` header, or for lists without one
/// (check.torproject.org's `exit-addresses`) the latest time the list mentions.
pub fn exit_list_time(list: &ExitList) -> Option<i64> {
    list.downloaded.or_else(|| {
        list.nodes
            .iter()
            .flat_map(|n| {
                n.addresses
                    .iter()
                    .map(|a| a.1)
                    .chain(n.last_status)
                    .chain(n.published)
            })
            .max()
    })
}

impl BatchBuilder for ExitListsBuilder {
    fn len(&self) -> usize {
        self.downloaded.len()
    }
    fn finish(&mut self) -> RecordBatch {
        finish(
            &exit_lists_schema(),
            vec![
                Arc::new(self.downloaded.finish().with_timezone("UTC")),
                Arc::new(self.fingerprint.finish()),
                Arc::new(self.exit_address.finish()),
                Arc::new(self.address_time.finish().with_timezone("UTC")),
                Arc::new(self.published.finish().with_timezone("UTC")),
                Arc::new(self.last_status.finish().with_timezone("UTC")),
                Arc::new(self.source_file.finish()),
                Arc::new(self.source_member.finish()),
            ],
        )
    }
}

// ---------------------------------------------------------------------------------------
// bandwidth_files and bandwidth_file_entries

pub fn bandwidth_files_schema() -> SchemaRef {
    cached_schema!(vec![
        field("timestamp", ts(), false),
        field("digest", DataType::Utf8, false),
        field("version", DataType::Utf8, true),
        field("software", DataType::Utf8, true),
        field("software_version", DataType::Utf8, true),
        field("header", str_list(), false),
        field("relays", DataType::UInt32, false),
        field("source_file", DataType::Utf8, false),
        field("source_member", DataType::Utf8, true),
    ])
}

pub struct BandwidthFilesBuilder {
    timestamp: TimestampMillisecondBuilder,
    digest: StringBuilder,
    version: StringBuilder,
    software: StringBuilder,
    software_version: StringBuilder,
    header: ListBuilder<StringBuilder>,
    relays: UInt32Builder,
    source_file: StringBuilder,
    source_member: StringBuilder,
}

impl Default for BandwidthFilesBuilder {
    fn default() -> Self {
        BandwidthFilesBuilder {
            timestamp: TimestampMillisecondBuilder::new(),
            digest: StringBuilder::new(),
            version: StringBuilder::new(),
            software: StringBuilder::new(),
            software_version: StringBuilder::new(),
            header: ListBuilder::new(StringBuilder::new()),
            relays: UInt32Builder::new(),
            source_file: StringBuilder::new(),
            source_member: StringBuilder::new(),
        }
    }
}

impl BandwidthFilesBuilder {
    pub fn push(&mut self, f: &BandwidthFile, source: Source) {
        self.timestamp.append_value(millis(f.timestamp));
        self.digest.append_value(hex::encode(f.digest));
        append_text_opt(&mut self.version, f.header_value("version"));
        append_text_opt(&mut self.software, f.header_value("software"));
        append_text_opt(
            &mut self.software_version,
            f.header_value("software_version"),
        );
        for (k, v) in &f.header {
            let mut item = k.to_vec();
            item.push(b'=');
            item.extend_from_slice(v);
            append_text(self.header.values(), &item);
        }
        self.header.append(true);
        self.relays.append_value(f.relays.len() as u32);
        self.source_file.append_value(source.file);
        self.source_member.append_option(source.member);
    }
}

impl BatchBuilder for BandwidthFilesBuilder {
    fn len(&self) -> usize {
        self.timestamp.len()
    }
    fn finish(&mut self) -> RecordBatch {
        finish(
            &bandwidth_files_schema(),
            vec![
                Arc::new(self.timestamp.finish().with_timezone("UTC")),
                Arc::new(self.digest.finish()),
                Arc::new(self.version.finish()),
                Arc::new(self.software.finish()),
                Arc::new(self.software_version.finish()),
                Arc::new(self.header.finish()),
                Arc::new(self.relays.finish()),
                Arc::new(self.source_file.finish()),
                Arc::new(self.source_member.finish()),
            ],
        )
    }
}

pub fn bandwidth_file_entries_schema() -> SchemaRef {
    cached_schema!(vec![
        field("fingerprint", DataType::Utf8, false),
        field("timestamp", ts(), false),
        field("file_digest", DataType::Utf8, false),
        field("bw", DataType::Int64, true),
        field("nick", DataType::Utf8, true),
        field("measured_at", ts(), true),
        field("updated_at", ts(), true),
        field("attributes", str_list(), false),
    ])
}

pub struct BandwidthFileEntriesBuilder {
    fingerprint: StringBuilder,
    timestamp: TimestampMillisecondBuilder,
    file_digest: StringBuilder,
    bw: Int64Builder,
    nick: StringBuilder,
    measured_at: TimestampMillisecondBuilder,
    updated_at: TimestampMillisecondBuilder,
    attributes: ListBuilder<StringBuilder>,
}

impl Default for BandwidthFileEntriesBuilder {
    fn default() -> Self {
        BandwidthFileEntriesBuilder {
            fingerprint: StringBuilder::new(),
            timestamp: TimestampMillisecondBuilder::new(),
            file_digest: StringBuilder::new(),
            bw: Int64Builder::new(),
            nick: StringBuilder::new(),
            measured_at: TimestampMillisecondBuilder::new(),
            updated_at: TimestampMillisecondBuilder::new(),
            attributes: ListBuilder::new(StringBuilder::new()),
        }
    }
}

impl BandwidthFileEntriesBuilder {
    pub fn push(&mut self, f: &BandwidthFile, r: &BandwidthRelay) {
        self.fingerprint.append_value(&r.fingerprint);
        self.timestamp.append_value(millis(f.timestamp));
        self.file_digest.append_value(hex::encode(f.digest));
        self.bw.append_option(r.bw);
        append_text_opt(&mut self.nick, r.nick);
        self.measured_at.append_option(r.measured_at.map(millis));
        self.updated_at.append_option(r.updated_at.map(millis));
        push_list(&mut self.attributes, r.attributes.iter().copied());
    }
}

impl BatchBuilder for BandwidthFileEntriesBuilder {
    fn len(&self) -> usize {
        self.timestamp.len()
    }
    fn finish(&mut self) -> RecordBatch {
        finish(
            &bandwidth_file_entries_schema(),
            vec![
                Arc::new(self.fingerprint.finish()),
                Arc::new(self.timestamp.finish().with_timezone("UTC")),
                Arc::new(self.file_digest.finish()),
                Arc::new(self.bw.finish()),
                Arc::new(self.nick.finish()),
                Arc::new(self.measured_at.finish().with_timezone("UTC")),
                Arc::new(self.updated_at.finish().with_timezone("UTC")),
                Arc::new(self.attributes.finish()),
            ],
        )
    }
}
