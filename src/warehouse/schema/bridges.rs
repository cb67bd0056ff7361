//! The bridge datasets beyond the bridge descriptors: `bridge_network_statuses`,
//! `bridge_status_entries` and `bridge_pool_assignments`.

use std::sync::Arc;

use arrow::array::{
    ArrayBuilder, ArrayRef, ListBuilder, StringBuilder, TimestampMillisecondBuilder, UInt32Builder,
};
use arrow::datatypes::{DataType, SchemaRef};
use arrow::record_batch::RecordBatch;

use super::builder::{
    append_hex, append_text, cached_schema, field, finish, millis, push_list, str_list, ts,
    BatchBuilder, Source,
};
use super::status_entries::{entry_fields, EntryColumns};
use crate::descriptor::bridge_pool_assignment::Assignment;
use crate::descriptor::bridge_status::BridgeStatus;
use crate::descriptor::consensus::Entry;

// ---------------------------------------------------------------------------------------
// bridge_network_statuses and bridge_status_entries

pub fn bridge_network_statuses_schema() -> SchemaRef {
    cached_schema!(vec![
        field("published", ts(), false),
        field("authority", DataType::Utf8, true),
        field("flag_thresholds", str_list(), false),
        field("relays", DataType::UInt32, false),
        field("source_file", DataType::Utf8, false),
        field("source_member", DataType::Utf8, true),
    ])
}

pub struct BridgeNetworkStatusesBuilder {
    published: TimestampMillisecondBuilder,
    authority: StringBuilder,
    flag_thresholds: ListBuilder<StringBuilder>,
    relays: UInt32Builder,
    source_file: StringBuilder,
    source_member: StringBuilder,
}

impl Default for BridgeNetworkStatusesBuilder {
    fn default() -> Self {
        BridgeNetworkStatusesBuilder {
            published: TimestampMillisecondBuilder::new(),
            authority: StringBuilder::new(),
            flag_thresholds: ListBuilder::new(StringBuilder::new()),
            relays: UInt32Builder::new(),
            source_file: StringBuilder::new(),
            source_member: StringBuilder::new(),
        }
    }
}

impl BridgeNetworkStatusesBuilder {
    /// `authority`: the `fingerprint` header, or for older formats the one in the file name.
    pub fn push(&mut self, s: &BridgeStatus, authority: Option<&str>, source: Source) {
        self.published.append_value(millis(s.published));
        self.authority.append_option(authority);
        push_list(&mut self.flag_thresholds, s.flag_thresholds.iter().copied());
        self.relays.append_value(s.entries.len() as u32);
        self.source_file.append_value(source.file);
        self.source_member.append_option(source.member);
    }
}

impl BatchBuilder for BridgeNetworkStatusesBuilder {
    fn len(&self) -> usize {
        self.published.len()
    }
    fn finish(&mut self) -> RecordBatch {
        finish(
            &bridge_network_statuses_schema(),
            vec![
                Arc::new(self.published.finish().with_timezone("UTC")),
                Arc::new(self.authority.finish()),
                Arc::new(self.flag_thresholds.finish()),
                Arc::new(self.relays.finish()),
                Arc::new(self.source_file.finish()),
                Arc::new(self.source_member.finish()),
            ],
        )
    }
}

pub fn bridge_status_entries_schema() -> SchemaRef {
    cached_schema!({
        let mut f = vec![
            field("fingerprint", DataType::Utf8, false),
            field("status_published", ts(), false),
            field("authority", DataType::Utf8, true),
        ];
        f.extend(entry_fields());
        f
    })
}

#[derive(Default)]
pub struct BridgeStatusEntriesBuilder {
    fingerprint: StringBuilder,
    status_published: TimestampMillisecondBuilder,
    authority: StringBuilder,
    entry: EntryColumns,
}

impl BridgeStatusEntriesBuilder {
    pub fn push(&mut self, status_published: i64, authority: Option<&str>, e: &Entry) {
        append_hex(&mut self.fingerprint, &e.identity, true);
        self.status_published.append_value(millis(status_published));
        self.authority.append_option(authority);
        self.entry.push(e);
    }
}

impl BatchBuilder for BridgeStatusEntriesBuilder {
    fn len(&self) -> usize {
        self.status_published.len()
    }
    fn finish(&mut self) -> RecordBatch {
        let mut columns: Vec<ArrayRef> = vec![
            Arc::new(self.fingerprint.finish()),
            Arc::new(self.status_published.finish().with_timezone("UTC")),
            Arc::new(self.authority.finish()),
        ];
        self.entry.finish_into(&mut columns);
        finish(&bridge_status_entries_schema(), columns)
    }
}

// ---------------------------------------------------------------------------------------
// bridge_pool_assignments

pub fn bridge_pool_assignments_schema() -> SchemaRef {
    cached_schema!(vec![
        field("fingerprint", DataType::Utf8, false),
        field("published", ts(), false),
        field("pool", DataType::Utf8, false),
        field("details", str_list(), false),
        field("source_file", DataType::Utf8, false),
        field("source_member", DataType::Utf8, true),
    ])
}

pub struct BridgePoolAssignmentsBuilder {
    fingerprint: StringBuilder,
    published: TimestampMillisecondBuilder,
    pool: StringBuilder,
    details: ListBuilder<StringBuilder>,
    source_file: StringBuilder,
    source_member: StringBuilder,
}

impl Default for BridgePoolAssignmentsBuilder {
    fn default() -> Self {
        BridgePoolAssignmentsBuilder {
            fingerprint: StringBuilder::new(),
            published: TimestampMillisecondBuilder::new(),
            pool: StringBuilder::new(),
            details: ListBuilder::new(StringBuilder::new()),
            source_file: StringBuilder::new(),
            source_member: StringBuilder::new(),
        }
    }
}

impl BridgePoolAssignmentsBuilder {
    pub fn push(&mut self, a: &Assignment, source: Source) {
        self.fingerprint.append_value(&a.fingerprint);
        self.published.append_value(millis(a.published));
        append_text(&mut self.pool, a.pool);
        push_list(&mut self.details, a.details.iter().copied());
        self.source_file.append_value(source.file);
        self.source_member.append_option(source.member);
    }
}

impl BatchBuilder for BridgePoolAssignmentsBuilder {
    fn len(&self) -> usize {
        self.published.len()
    }
    fn finish(&mut self) -> RecordBatch {
        finish(
            &bridge_pool_assignments_schema(),
            vec![
                Arc::new(self.fingerprint.finish()),
                Arc::new(self.published.finish().with_timezone("UTC")),
                Arc::new(self.pool.finish()),
                Arc::new(self.details.finish()),
                Arc::new(self.source_file.finish()),
                Arc::new(self.source_member.finish()),
            ],
        )
    }
}
