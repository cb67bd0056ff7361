//! The relay descriptor datasets: `server_descriptors` (and `bridge_server_descriptors`,
//! same schema), `extra_infos` (and `bridge_extra_infos`, same schema) and
//! `microdescriptors`.

use std::sync::Arc;

use arrow::array::{
    ArrayBuilder, ArrayRef, BooleanBuilder, Int64Builder, ListBuilder, StringBuilder,
    TimestampMillisecondBuilder, UInt16Builder, UInt32Builder,
};
use arrow::datatypes::{DataType, Field, SchemaRef};
use arrow::record_batch::RecordBatch;

use super::builder::{
    append_hex, append_text, append_text_opt, cached_schema, field, finish, millis, push_list,
    push_str_list, str_list, ts, BatchBuilder, Source,
};
use crate::descriptor::extra_info::ExtraInfo;
use crate::descriptor::microdescriptor::Microdescriptor;
use crate::descriptor::server_descriptor::ServerDescriptor;
use crate::descriptor::values::text;

// ---------------------------------------------------------------------------------------
// server_descriptors

pub fn server_descriptors_schema() -> SchemaRef {
    cached_schema!(vec![
        field("fingerprint", DataType::Utf8, false),
        field("published", ts(), false),
        field("digest", DataType::Utf8, false),
        field("nickname", DataType::Utf8, false),
        field("address", DataType::Utf8, false),
        field("or_port", DataType::UInt16, false),
        field("socks_port", DataType::UInt16, false),
        field("dir_port", DataType::UInt16, false),
        field("platform", DataType::Utf8, true),
        field("tor_version", DataType::Utf8, true),
        field("os", DataType::Utf8, true),
        field("uptime", DataType::Int64, true),
        field("bandwidth_avg", DataType::Int64, true),
        field("bandwidth_burst", DataType::Int64, true),
        field("bandwidth_observed", DataType::Int64, true),
        field("contact", DataType::Utf8, true),
        field("family", str_list(), false),
        field("exit_policy", str_list(), false),
        field("exit_policy_hash", DataType::Utf8, false),
        field("ipv6_policy", DataType::Utf8, true),
        field("ipv6_or_addresses", str_list(), false),
        field("ed25519_master_key", DataType::Utf8, true),
        field("proto", DataType::Utf8, true),
        field("hibernating", DataType::Boolean, false),
        field("hidden_service_dir", DataType::Boolean, false),
        field("tunnelled_dir_server", DataType::Boolean, false),
        field("caches_extra_info", DataType::Boolean, false),
        field("allow_single_hop_exits", DataType::Boolean, false),
        field("ntor_onion_key", DataType::Boolean, false),
        field("extra_info_digest", DataType::Utf8, true),
        field("overload_general", ts(), true),
        field("family_certs", DataType::UInt32, false),
        field("bridge_distribution_request", DataType::Utf8, true),
        field("source_file", DataType::Utf8, false),
        field("source_member", DataType::Utf8, true),
    ])
}

pub struct ServerDescriptorsBuilder {
    fingerprint: StringBuilder,
    published: TimestampMillisecondBuilder,
    digest: StringBuilder,
    nickname: StringBuilder,
    address: StringBuilder,
    or_port: UInt16Builder,
    socks_port: UInt16Builder,
    dir_port: UInt16Builder,
    platform: StringBuilder,
    tor_version: StringBuilder,
    os: StringBuilder,
    uptime: Int64Builder,
    bandwidth_avg: Int64Builder,
    bandwidth_burst: Int64Builder,
    bandwidth_observed: Int64Builder,
    contact: StringBuilder,
    family: ListBuilder<StringBuilder>,
    exit_policy: ListBuilder<StringBuilder>,
    exit_policy_hash: StringBuilder,
    ipv6_policy: StringBuilder,
    ipv6_or_addresses: ListBuilder<StringBuilder>,
    ed25519_master_key: StringBuilder,
    proto: StringBuilder,
    hibernating: BooleanBuilder,
    hidden_service_dir: BooleanBuilder,
    tunnelled_dir_server: BooleanBuilder,
    caches_extra_info: BooleanBuilder,
    allow_single_hop_exits: BooleanBuilder,
    ntor_onion_key: BooleanBuilder,
    extra_info_digest: StringBuilder,
    overload_general: TimestampMillisecondBuilder,
    family_certs: UInt32Builder,
    bridge_distribution_request: StringBuilder,
    source_file: StringBuilder,
    source_member: StringBuilder,
}

impl Default for ServerDescriptorsBuilder {
    fn default() -> Self {
        ServerDescriptorsBuilder {
            fingerprint: StringBuilder::new(),
            published: TimestampMillisecondBuilder::new(),
            digest: StringBuilder::new(),
            nickname: StringBuilder::new(),
            address: StringBuilder::new(),
            or_port: UInt16Builder::new(),
            socks_port: UInt16Builder::new(),
            dir_port: UInt16Builder::new(),
            platform: StringBuilder::new(),
            tor_version: StringBuilder::new(),
            os: StringBuilder::new(),
            uptime: Int64Builder::new(),
            bandwidth_avg: Int64Builder::new(),
            bandwidth_burst: Int64Builder::new(),
            bandwidth_observed: Int64Builder::new(),
            contact: StringBuilder::new(),
            family: ListBuilder::new(StringBuilder::new()),
            exit_policy: ListBuilder::new(StringBuilder::new()),
            exit_policy_hash: StringBuilder::new(),
            ipv6_policy: StringBuilder::new(),
            ipv6_or_addresses: ListBuilder::new(StringBuilder::new()),
            ed25519_master_key: StringBuilder::new(),
            proto: StringBuilder::new(),
            hibernating: BooleanBuilder::new(),
            hidden_service_dir: BooleanBuilder::new(),
            tunnelled_dir_server: BooleanBuilder::new(),
            caches_extra_info: BooleanBuilder::new(),
            allow_single_hop_exits: BooleanBuilder::new(),
            ntor_onion_key: BooleanBuilder::new(),
            extra_info_digest: StringBuilder::new(),
            overload_general: TimestampMillisecondBuilder::new(),
            family_certs: UInt32Builder::new(),
            bridge_distribution_request: StringBuilder::new(),
            source_file: StringBuilder::new(),
            source_member: StringBuilder::new(),
        }
    }
}

impl ServerDescriptorsBuilder {
    pub fn push(&mut self, d: &ServerDescriptor, source: Source) {
        let (tor_version, os) = d.version_and_os();
        self.fingerprint.append_value(&d.fingerprint);
        self.published.append_value(millis(d.published));
        append_hex(&mut self.digest, &d.digest, false);
        append_text(&mut self.nickname, d.nickname);
        append_text(&mut self.address, d.address);
        self.or_port.append_value(d.or_port);
        self.socks_port.append_value(d.socks_port);
        self.dir_port.append_value(d.dir_port);
        append_text_opt(&mut self.platform, d.platform);
        self.tor_version.append_option(tor_version);
        self.os.append_option(os);
        self.uptime.append_option(d.uptime);
        self.bandwidth_avg.append_option(d.bandwidth_avg);
        self.bandwidth_burst.append_option(d.bandwidth_burst);
        self.bandwidth_observed.append_option(d.bandwidth_observed);
        append_text_opt(&mut self.contact, d.contact);
        push_str_list(&mut self.family, d.family.iter().map(String::as_str));
        push_str_list(
            &mut self.exit_policy,
            d.exit_policy.iter().map(String::as_str),
        );
        self.exit_policy_hash.append_value(d.exit_policy_hash());
        append_text_opt(&mut self.ipv6_policy, d.ipv6_policy);
        push_list(
            &mut self.ipv6_or_addresses,
            d.ipv6_or_addresses.iter().copied(),
        );
        self.ed25519_master_key
            .append_option(d.ed25519_master_key.as_deref());
        append_text_opt(&mut self.proto, d.proto);
        self.hibernating.append_value(d.hibernating);
        self.hidden_service_dir.append_value(d.hidden_service_dir);
        self.tunnelled_dir_server
            .append_value(d.tunnelled_dir_server);
        self.caches_extra_info.append_value(d.caches_extra_info);
        self.allow_single_hop_exits
            .append_value(d.allow_single_hop_exits);
        self.ntor_onion_key.append_value(d.ntor_onion_key);
        self.extra_info_digest
            .append_option(d.extra_info_digest.as_deref());
        self.overload_general
            .append_option(d.overload_general.map(millis));
        self.family_certs.append_value(d.family_certs);
        self.bridge_distribution_request
            .append_option(d.bridge_distribution_request.map(text));
        self.source_file.append_value(source.file);
        self.source_member.append_option(source.member);
    }
}

impl BatchBuilder for ServerDescriptorsBuilder {
    fn len(&self) -> usize {
        self.published.len()
    }
    fn finish(&mut self) -> RecordBatch {
        finish(
            &server_descriptors_schema(),
            vec![
                Arc::new(self.fingerprint.finish()),
                Arc::new(self.published.finish().with_timezone("UTC")),
                Arc::new(self.digest.finish()),
                Arc::new(self.nickname.finish()),
                Arc::new(self.address.finish()),
                Arc::new(self.or_port.finish()),
                Arc::new(self.socks_port.finish()),
                Arc::new(self.dir_port.finish()),
                Arc::new(self.platform.finish()),
                Arc::new(self.tor_version.finish()),
                Arc::new(self.os.finish()),
                Arc::new(self.uptime.finish()),
                Arc::new(self.bandwidth_avg.finish()),
                Arc::new(self.bandwidth_burst.finish()),
                Arc::new(self.bandwidth_observed.finish()),
                Arc::new(self.contact.finish()),
                Arc::new(self.family.finish()),
                Arc::new(self.exit_policy.finish()),
                Arc::new(self.exit_policy_hash.finish()),
                Arc::new(self.ipv6_policy.finish()),
                Arc::new(self.ipv6_or_addresses.finish()),
                Arc::new(self.ed25519_master_key.finish()),
                Arc::new(self.proto.finish()),
                Arc::new(self.hibernating.finish()),
                Arc::new(self.hidden_service_dir.finish()),
                Arc::new(self.tunnelled_dir_server.finish()),
                Arc::new(self.caches_extra_info.finish()),
                Arc::new(self.allow_single_hop_exits.finish()),
                Arc::new(self.ntor_onion_key.finish()),
                Arc::new(self.extra_info_digest.finish()),
                Arc::new(self.overload_general.finish().with_timezone("UTC")),
                Arc::new(self.family_certs.finish()),
                Arc::new(self.bridge_distribution_request.finish()),
                Arc::new(self.source_file.finish()),
                Arc::new(self.source_member.finish()),
            ],
        )
    }
}

// ---------------------------------------------------------------------------------------
// extra_infos and bridge_extra_infos (one schema)

fn int_list() -> DataType {
    DataType::List(Arc::new(Field::new("item", DataType::Int64, true)))
}

/// Column name of a descriptor keyword (`dirreq-v3-ips` → `dirreq_v3_ips`).
fn column_name(keyword: &str) -> String {
    keyword.replace('-', "_")
}

/// Names of the two columns of an interval keyword: `dirreq-stats-end` →
/// `dirreq_stats_end`, `dirreq_stats_interval`; `padding-counts` → `padding_counts_end`, …
fn interval_columns(keyword: &str) -> (String, String) {
    let base = column_name(keyword.strip_suffix("-end").unwrap_or(keyword));
    (format!("{base}_end"), format!("{base}_interval"))
}

pub fn extra_infos_schema() -> SchemaRef {
    use crate::descriptor::extra_info::*;
    cached_schema!({
        let mut f = vec![
            field("fingerprint", DataType::Utf8, false),
            field("published", ts(), false),
            field("digest", DataType::Utf8, false),
            field("nickname", DataType::Utf8, false),
            field("geoip_db_digest", DataType::Utf8, true),
            field("geoip6_db_digest", DataType::Utf8, true),
            field("geoip_start_time", ts(), true),
        ];
        for k in HISTORY_KEYWORDS {
            f.push(field(&format!("{}_end", column_name(k)), ts(), true));
            f.push(field(
                &format!("{}_interval", column_name(k)),
                DataType::Int64,
                true,
            ));
            f.push(field(&column_name(k), int_list(), true));
        }
        for k in INTERVAL_KEYWORDS {
            let (end, interval) = interval_columns(k);
            f.push(field(&end, ts(), true));
            f.push(field(&interval, DataType::Int64, true));
        }
        for k in LIST_KEYWORDS {
            f.push(field(&column_name(k), str_list(), true));
        }
        for k in COUNT_KEYWORDS {
            f.push(field(&column_name(k), DataType::Int64, true));
        }
        for k in RAW_KEYWORDS {
            f.push(field(&column_name(k), DataType::Utf8, true));
        }
        f.push(field("source_file", DataType::Utf8, false));
        f.push(field("source_member", DataType::Utf8, true));
        f
    })
}

pub struct ExtraInfosBuilder {
    fingerprint: StringBuilder,
    published: TimestampMillisecondBuilder,
    digest: StringBuilder,
    nickname: StringBuilder,
    geoip_db_digest: StringBuilder,
    geoip6_db_digest: StringBuilder,
    geoip_start_time: TimestampMillisecondBuilder,
    histories: Vec<(
        TimestampMillisecondBuilder,
        Int64Builder,
        ListBuilder<Int64Builder>,
    )>,
    intervals: Vec<(TimestampMillisecondBuilder, Int64Builder)>,
    lists: Vec<ListBuilder<StringBuilder>>,
    counts: Vec<Int64Builder>,
    raw: Vec<StringBuilder>,
    source_file: StringBuilder,
    source_member: StringBuilder,
}

impl Default for ExtraInfosBuilder {
    fn default() -> Self {
        use crate::descriptor::extra_info::*;
        ExtraInfosBuilder {
            fingerprint: StringBuilder::new(),
            published: TimestampMillisecondBuilder::new(),
            digest: StringBuilder::new(),
            nickname: StringBuilder::new(),
            geoip_db_digest: StringBuilder::new(),
            geoip6_db_digest: StringBuilder::new(),
            geoip_start_time: TimestampMillisecondBuilder::new(),
            histories: HISTORY_KEYWORDS
                .iter()
                .map(|_| {
                    (
                        TimestampMillisecondBuilder::new(),
                        Int64Builder::new(),
                        ListBuilder::new(Int64Builder::new()),
                    )
                })
                .collect(),
            intervals: INTERVAL_KEYWORDS
                .iter()
                .map(|_| (TimestampMillisecondBuilder::new(), Int64Builder::new()))
                .collect(),
            lists: LIST_KEYWORDS
                .iter()
                .map(|_| ListBuilder::new(StringBuilder::new()))
                .collect(),
            counts: COUNT_KEYWORDS.iter().map(|_| Int64Builder::new()).collect(),
            raw: RAW_KEYWORDS.iter().map(|_| StringBuilder::new()).collect(),
            source_file: StringBuilder::new(),
            source_member: StringBuilder::new(),
        }
    }
}

impl ExtraInfosBuilder {
    pub fn push(&mut self, d: &ExtraInfo, source: Source) {
        self.fingerprint.append_value(&d.fingerprint);
        self.published.append_value(millis(d.published));
        append_hex(&mut self.digest, &d.digest, false);
        append_text(&mut self.nickname, d.nickname);
        append_text_opt(&mut self.geoip_db_digest, d.geoip_db_digest);
        append_text_opt(&mut self.geoip6_db_digest, d.geoip6_db_digest);
        self.geoip_start_time
            .append_option(d.geoip_start_time.map(millis));
        for ((end, interval, values), h) in self.histories.iter_mut().zip(&d.histories) {
            end.append_option(h.as_ref().map(|h| millis(h.end)));
            interval.append_option(h.as_ref().map(|h| h.interval));
            match h {
                Some(h) => {
                    values.values().append_slice(&h.values);
                    values.append(true);
                }
                None => values.append(false),
            }
        }
        for ((end, seconds), i) in self.intervals.iter_mut().zip(&d.intervals) {
            end.append_option(i.map(|i| millis(i.end)));
            seconds.append_option(i.map(|i| i.seconds));
        }
        for (builder, list) in self.lists.iter_mut().zip(&d.lists) {
            match list {
                Some(items) => push_list(builder, items.iter().copied()),
                None => builder.append(false),
            }
        }
        for (builder, count) in self.counts.iter_mut().zip(&d.counts) {
            builder.append_option(*count);
        }
        for (builder, raw) in self.raw.iter_mut().zip(&d.raw) {
            append_text_opt(builder, *raw);
        }
        self.source_file.append_value(source.file);
        self.source_member.append_option(source.member);
    }
}

impl BatchBuilder for ExtraInfosBuilder {
    fn len(&self) -> usize {
        self.published.len()
    }
    fn finish(&mut self) -> RecordBatch {
        let mut columns: Vec<ArrayRef> = vec![
            Arc::new(self.fingerprint.finish()),
            Arc::new(self.published.finish().with_timezone("UTC")),
            Arc::new(self.digest.finish()),
            Arc::new(self.nickname.finish()),
            Arc::new(self.geoip_db_digest.finish()),
            Arc::new(self.geoip6_db_digest.finish()),
            Arc::new(self.geoip_start_time.finish().with_timezone("UTC")),
        ];
        for (end, interval, values) in &mut self.histories {
            columns.push(Arc::new(end.finish().with_timezone("UTC")));
            columns.push(Arc::new(interval.finish()));
            columns.push(Arc::new(values.finish()));
        }
        for (end, seconds) in &mut self.intervals {
            columns.push(Arc::new(end.finish().with_timezone("UTC")));
            columns.push(Arc::new(seconds.finish()));
        }
        columns.extend(
            self.lists
                .iter_mut()
                .map(|b| Arc::new(b.finish()) as ArrayRef),
        );
        columns.extend(
            self.counts
                .iter_mut()
                .map(|b| Arc::new(b.finish()) as ArrayRef),
        );
        columns.extend(
            self.raw
                .iter_mut()
                .map(|b| Arc::new(b.finish()) as ArrayRef),
        );
        columns.push(Arc::new(self.source_file.finish()));
        columns.push(Arc::new(self.source_member.finish()));
        finish(&extra_infos_schema(), columns)
    }
}

// ---------------------------------------------------------------------------------------
// microdescriptors

pub fn microdescriptors_schema() -> SchemaRef {
    cached_schema!(vec![
        field("digest", DataType::Utf8, false),
        field("archive_month", ts(), false),
        field("fingerprint", DataType::Utf8, true),
        field("ed25519_id", DataType::Utf8, true),
        field("ntor_onion_key", DataType::Utf8, true),
        field("ipv6_addresses", str_list(), false),
        field("family", str_list(), false),
        field("family_ids", str_list(), false),
        field("policy_summary", DataType::Utf8, true),
        field("policy6_summary", DataType::Utf8, true),
        field("source_file", DataType::Utf8, false),
        field("source_member", DataType::Utf8, true),
    ])
}

pub struct MicrodescriptorsBuilder {
    digest: StringBuilder,
    archive_month: TimestampMillisecondBuilder,
    fingerprint: StringBuilder,
    ed25519_id: StringBuilder,
    ntor_onion_key: StringBuilder,
    ipv6_addresses: ListBuilder<StringBuilder>,
    family: ListBuilder<StringBuilder>,
    family_ids: ListBuilder<StringBuilder>,
    policy_summary: StringBuilder,
    policy6_summary: StringBuilder,
    source_file: StringBuilder,
    source_member: StringBuilder,
}

impl Default for MicrodescriptorsBuilder {
    fn default() -> Self {
        MicrodescriptorsBuilder {
            digest: StringBuilder::new(),
            archive_month: TimestampMillisecondBuilder::new(),
            fingerprint: StringBuilder::new(),
            ed25519_id: StringBuilder::new(),
            ntor_onion_key: StringBuilder::new(),
            ipv6_addresses: ListBuilder::new(StringBuilder::new()),
            family: ListBuilder::new(StringBuilder::new()),
            family_ids: ListBuilder::new(StringBuilder::new()),
            policy_summary: StringBuilder::new(),
            policy6_summary: StringBuilder::new(),
            source_file: StringBuilder::new(),
            source_member: StringBuilder::new(),
        }
    }
}

impl MicrodescriptorsBuilder {
    /// `archive_month`: seconds of the first day of the month the archive files it under.
    pub fn push(&mut self, m: &Microdescriptor, archive_month: i64, source: Source) {
        self.digest.append_value(hex::encode(m.digest));
        self.archive_month.append_value(millis(archive_month));
        self.fingerprint.append_option(m.rsa1024_id.as_deref());
        append_text_opt(&mut self.ed25519_id, m.ed25519_id);
        append_text_opt(&mut self.ntor_onion_key, m.ntor_onion_key);
        push_list(&mut self.ipv6_addresses, m.or_addresses.iter().copied());
        push_str_list(&mut self.family, m.family.iter().map(String::as_str));
        push_list(&mut self.family_ids, m.family_ids.iter().copied());
        append_text_opt(&mut self.policy_summary, m.policy_summary);
        append_text_opt(&mut self.policy6_summary, m.policy6_summary);
        self.source_file.append_value(source.file);
        self.source_member.append_option(source.member);
    }
}

impl BatchBuilder for MicrodescriptorsBuilder {
    fn len(&self) -> usize {
        self.archive_month.len()
    }
    fn finish(&mut self) -> RecordBatch {
        finish(
            &microdescriptors_schema(),
            vec![
                Arc::new(self.digest.finish()),
                Arc::new(self.archive_month.finish().with_timezone("UTC")),
                Arc::new(self.fingerprint.finish()),
                Arc::new(self.ed25519_id.finish()),
                Arc::new(self.ntor_onion_key.finish()),
                Arc::new(self.ipv6_addresses.finish()),
                Arc::new(self.family.finish()),
                Arc::new(self.family_ids.finish()),
                Arc::new(self.policy_summary.finish()),
                Arc::new(self.policy6_summary.finish()),
                Arc::new(self.source_file.finish()),
                Arc::new(self.source_member.finish()),
            ],
        )
    }
}
