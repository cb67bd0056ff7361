//! The columns of a router status entry ([`entry_fields`], [`EntryColumns`]), which
//! `consensus_entries`, `microdesc_consensus_entries`, `vote_entries` and
//! `bridge_status_entries` share after their own key columns.

use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanBuilder, Int64Builder, ListBuilder, StringBuilder,
    TimestampMillisecondBuilder, UInt16Builder,
};
use arrow::datatypes::{DataType, Field};

use super::builder::{
    append_hex, append_text, append_text_opt, field, millis, push_list, str_list, ts,
};
use crate::descriptor::consensus::Entry;

// ---------------------------------------------------------------------------------------
// consensus_entries (and the columns every router-status-entry dataset shares)

/// The columns of a router status entry, shared by `consensus_entries`,
/// `microdesc_consensus_entries`, `vote_entries` and `bridge_status_entries` after their
/// own key columns.
pub(super) fn entry_fields() -> Vec<Field> {
    vec![
        field("nickname", DataType::Utf8, false),
        field("descriptor_digest", DataType::Utf8, true),
        field("published", ts(), false),
        field("address", DataType::Utf8, false),
        field("or_port", DataType::UInt16, false),
        field("dir_port", DataType::UInt16, false),
        field("ipv6_addresses", str_list(), false),
        field("flags", str_list(), false),
        field("version", DataType::Utf8, true),
        field("protocols", DataType::Utf8, true),
        field("bandwidth", DataType::Int64, true),
        field("measured", DataType::Boolean, false),
        field("unmeasured", DataType::Boolean, false),
        field("measured_bandwidth", DataType::Int64, true),
        field("exit_policy_summary", DataType::Utf8, true),
    ]
}

/// Builders of the [`entry_fields`] columns.
pub(super) struct EntryColumns {
    nickname: StringBuilder,
    descriptor_digest: StringBuilder,
    published: TimestampMillisecondBuilder,
    address: StringBuilder,
    or_port: UInt16Builder,
    dir_port: UInt16Builder,
    ipv6_addresses: ListBuilder<StringBuilder>,
    flags: ListBuilder<StringBuilder>,
    version: StringBuilder,
    protocols: StringBuilder,
    bandwidth: Int64Builder,
    measured: BooleanBuilder,
    unmeasured: BooleanBuilder,
    measured_bandwidth: Int64Builder,
    exit_policy_summary: StringBuilder,
}

impl Default for EntryColumns {
    fn default() -> Self {
        EntryColumns {
            nickname: StringBuilder::new(),
            descriptor_digest: StringBuilder::new(),
            published: TimestampMillisecondBuilder::new(),
            address: StringBuilder::new(),
            or_port: UInt16Builder::new(),
            dir_port: UInt16Builder::new(),
            ipv6_addresses: ListBuilder::new(StringBuilder::new()),
            flags: ListBuilder::new(StringBuilder::new()),
            version: StringBuilder::new(),
            protocols: StringBuilder::new(),
            bandwidth: Int64Builder::new(),
            measured: BooleanBuilder::new(),
            unmeasured: BooleanBuilder::new(),
            measured_bandwidth: Int64Builder::new(),
            exit_policy_summary: StringBuilder::new(),
        }
    }
}

impl EntryColumns {
    pub(super) fn push(&mut self, e: &Entry) {
        append_text(&mut self.nickname, e.nickname);
        match &e.digest {
            Some(d) => append_hex(&mut self.descriptor_digest, d, false),
            None => self.descriptor_digest.append_null(),
        }
        self.published.append_value(millis(e.published));
        append_text(&mut self.address, e.address);
        self.or_port.append_value(e.or_port);
        self.dir_port.append_value(e.dir_port);
        push_list(&mut self.ipv6_addresses, e.or_addresses.iter().copied());
        push_list(&mut self.flags, e.flags.iter().copied());
        append_text_opt(&mut self.version, e.version());
        append_text_opt(&mut self.protocols, e.protocols);
        self.bandwidth.append_option(e.bandwidth);
        self.measured
            .append_value(e.bandwidth.is_some() && !e.unmeasured);
        self.unmeasured.append_value(e.unmeasured);
        self.measured_bandwidth.append_option(e.measured);
        append_text_opt(&mut self.exit_policy_summary, e.policy_summary);
    }

    pub(super) fn finish_into(&mut self, columns: &mut Vec<ArrayRef>) {
        columns.extend([
            Arc::new(self.nickname.finish()) as ArrayRef,
            Arc::new(self.descriptor_digest.finish()),
            Arc::new(self.published.finish().with_timezone("UTC")),
            Arc::new(self.address.finish()),
            Arc::new(self.or_port.finish()),
            Arc::new(self.dir_port.finish()),
            Arc::new(self.ipv6_addresses.finish()),
            Arc::new(self.flags.finish()),
            Arc::new(self.version.finish()),
            Arc::new(self.protocols.finish()),
            Arc::new(self.bandwidth.finish()),
            Arc::new(self.measured.finish()),
            Arc::new(self.unmeasured.finish()),
            Arc::new(self.measured_bandwidth.finish()),
            Arc::new(self.exit_policy_summary.finish()),
        ]);
    }
}
