//! The warehouse's Arrow schemas, declared once, next to the builders that fill them.
//! Every dataset's columns are documented in `docs/warehouse.md`; keep the two in step.
//!
//! Conventions: times are `Timestamp(ms, UTC)`; fingerprints are 40 upper-case hex
//! characters; digests are lower-case hex; free text is UTF-8, decoded lossily only where
//! the document's bytes are not UTF-8; `source_file` is the input's file name and
//! `source_member` the tar member (null for plain files).

use std::sync::{Arc, OnceLock};

use arrow::array::{
    ArrayBuilder, ArrayRef, BooleanBuilder, Int64Builder, ListBuilder, StringBuilder,
    TimestampMillisecondBuilder, UInt16Builder, UInt32Builder,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use arrow::record_batch::RecordBatch;

use crate::descriptor::bandwidth_file::{BandwidthFile, Relay as BandwidthRelay};
use crate::descriptor::bridge_pool_assignment::Assignment;
use crate::descriptor::bridge_status::BridgeStatus;
use crate::descriptor::consensus::{Consensus, Entry};
use crate::descriptor::exit_list::{ExitList, ExitNode};
use crate::descriptor::extra_info::ExtraInfo;
use crate::descriptor::microdescriptor::Microdescriptor;
use crate::descriptor::server_descriptor::ServerDescriptor;
use crate::descriptor::values::text;
use crate::descriptor::vote::Vote;

/// Where a row came from.
#[derive(Debug, Clone, Copy)]
pub struct Source<'a> {
    pub file: &'a str,
    pub member: Option<&'a str>,
}

/// The 19 `bandwidth-weights` keys (dir-spec §3.8.3), each stored as its own column.
pub const BANDWIDTH_WEIGHT_KEYS: [&str; 19] = [
    "Wbd", "Wbe", "Wbg", "Wbm", "Wdb", "Web", "Wed", "Wee", "Weg", "Wem", "Wgb", "Wgd", "Wgg",
    "Wgm", "Wmb", "Wmd", "Wme", "Wmg", "Wmm",
];

fn ts() -> DataType {
    DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into()))
}

fn str_list() -> DataType {
    DataType::List(Arc::new(Field::new("item", DataType::Utf8, true)))
}

fn field(name: &str, data_type: DataType, nullable: bool) -> Field {
    Field::new(name, data_type, nullable)
}

/// Seconds since the epoch as the milliseconds of the timestamp columns.
pub fn millis(seconds: i64) -> i64 {
    seconds * 1000
}

/// Appends document bytes as text, decoding lossily only when they are not UTF-8.
fn append_text(builder: &mut StringBuilder, bytes: &[u8]) {
    match std::str::from_utf8(bytes) {
        Ok(s) => builder.append_value(s),
        Err(_) => builder.append_value(String::from_utf8_lossy(bytes)),
    }
}

fn append_text_opt(builder: &mut StringBuilder, bytes: Option<&[u8]>) {
    match bytes {
        Some(b) => append_text(builder, b),
        None => builder.append_null(),
    }
}

/// Appends 20 bytes as 40 hex characters (upper or lower case) without allocating.
fn append_hex(builder: &mut StringBuilder, bytes: &[u8; 20], upper: bool) {
    let mut buf = [0u8; 40];
    hex::encode_to_slice(bytes, &mut buf).expect("40 hex characters");
    if upper {
        buf.make_ascii_uppercase();
    }
    builder.append_value(std::str::from_utf8(&buf).expect("hex is ASCII"));
}

fn push_list<'x>(
    builder: &mut ListBuilder<StringBuilder>,
    values: impl IntoIterator<Item = &'x [u8]>,
) {
    for v in values {
        append_text(builder.values(), v);
    }
    builder.append(true);
}

fn push_str_list<'x>(
    builder: &mut ListBuilder<StringBuilder>,
    values: impl IntoIterator<Item = &'x str>,
) {
    for v in values {
        builder.values().append_value(v);
    }
    builder.append(true);
}

fn finish(schema: &SchemaRef, columns: Vec<ArrayRef>) -> RecordBatch {
    RecordBatch::try_new(schema.clone(), columns)
        .expect("builder columns match the declared schema")
}

/// Something that accumulates rows of one dataset and hands them out as a batch.
pub trait BatchBuilder: Default + Send {
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    fn finish(&mut self) -> RecordBatch;
}

macro_rules! cached_schema {
    ($fields:expr) => {{
        static SCHEMA: OnceLock<SchemaRef> = OnceLock::new();
        SCHEMA
            .get_or_init(|| Arc::new(Schema::new($fields)))
            .clone()
    }};
}

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
// consensus_entries (and the columns every router-status-entry dataset shares)

/// The columns of a router status entry, shared by `consensus_entries`,
/// `microdesc_consensus_entries`, `vote_entries` and `bridge_status_entries` after their
/// own key columns.
fn entry_fields() -> Vec<Field> {
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
struct EntryColumns {
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
    fn push(&mut self, e: &Entry) {
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

    fn finish_into(&mut self, columns: &mut Vec<ArrayRef>) {
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
// imports (the manifest) and import_errors

pub fn imports_schema() -> SchemaRef {
    cached_schema!(vec![
        field("sha256", DataType::Utf8, false),
        field("path", DataType::Utf8, false),
        field("file_name", DataType::Utf8, false),
        field("size", DataType::Int64, false),
        field("format", DataType::Utf8, false),
        field("status", DataType::Utf8, false),
        field("duplicate_of", DataType::Utf8, true),
        field("members", DataType::Int64, false),
        field("documents_imported", DataType::Int64, false),
        field("documents_skipped", DataType::Int64, false),
        field("documents_rejected", DataType::Int64, false),
        field("document_counts", str_list(), false),
        field("rows", str_list(), false),
        field("errors", DataType::Int64, false),
        field("tool_version", DataType::Utf8, false),
        field("started", ts(), false),
        field("finished", ts(), false),
    ])
}

/// One manifest row.
#[derive(Debug, Clone, Default)]
pub struct ImportRecord {
    pub sha256: String,
    pub path: String,
    pub file_name: String,
    pub size: i64,
    pub format: String,
    /// `ok`, `errors` (imported, some documents or lines rejected), `failed` (the input
    /// could not be read to its end) or `duplicate` (same content as `duplicate_of`).
    pub status: String,
    pub duplicate_of: Option<String>,
    pub members: i64,
    pub documents_imported: i64,
    pub documents_skipped: i64,
    pub documents_rejected: i64,
    /// `type=imported/skipped/rejected` per document type seen, e.g.
    /// `network-status-consensus-3=720/0/0`.
    pub document_counts: Vec<String>,
    /// `dataset=rows` written per dataset.
    pub rows: Vec<String>,
    pub errors: i64,
    pub tool_version: String,
    /// Milliseconds since the epoch.
    pub started_ms: i64,
    pub finished_ms: i64,
}

#[derive(Default)]
pub struct ImportsBuilder {
    rows: Vec<ImportRecord>,
}

impl ImportsBuilder {
    pub fn push(&mut self, record: ImportRecord) {
        self.rows.push(record);
    }
}

impl BatchBuilder for ImportsBuilder {
    fn len(&self) -> usize {
        self.rows.len()
    }
    fn finish(&mut self) -> RecordBatch {
        let rows = std::mem::take(&mut self.rows);
        let strings = |f: &dyn Fn(&ImportRecord) -> Option<&str>| -> ArrayRef {
            let mut b = StringBuilder::new();
            rows.iter().for_each(|r| b.append_option(f(r)));
            Arc::new(b.finish())
        };
        let ints = |f: &dyn Fn(&ImportRecord) -> i64| -> ArrayRef {
            let mut b = Int64Builder::new();
            rows.iter().for_each(|r| b.append_value(f(r)));
            Arc::new(b.finish())
        };
        let lists = |f: &dyn Fn(&ImportRecord) -> &Vec<String>| -> ArrayRef {
            let mut b = ListBuilder::new(StringBuilder::new());
            rows.iter()
                .for_each(|r| push_str_list(&mut b, f(r).iter().map(String::as_str)));
            Arc::new(b.finish())
        };
        let times = |f: &dyn Fn(&ImportRecord) -> i64| -> ArrayRef {
            let mut b = TimestampMillisecondBuilder::new();
            rows.iter().for_each(|r| b.append_value(f(r)));
            Arc::new(b.finish().with_timezone("UTC"))
        };
        finish(
            &imports_schema(),
            vec![
                strings(&|r| Some(&r.sha256)),
                strings(&|r| Some(&r.path)),
                strings(&|r| Some(&r.file_name)),
                ints(&|r| r.size),
                strings(&|r| Some(&r.format)),
                strings(&|r| Some(&r.status)),
                strings(&|r| r.duplicate_of.as_deref()),
                ints(&|r| r.members),
                ints(&|r| r.documents_imported),
                ints(&|r| r.documents_skipped),
                ints(&|r| r.documents_rejected),
                lists(&|r| &r.document_counts),
                lists(&|r| &r.rows),
                ints(&|r| r.errors),
                strings(&|r| Some(&r.tool_version)),
                times(&|r| r.started_ms),
                times(&|r| r.finished_ms),
            ],
        )
    }
}

pub fn import_errors_schema() -> SchemaRef {
    cached_schema!(vec![
        field("source_sha256", DataType::Utf8, false),
        field("source_file", DataType::Utf8, false),
        field("source_member", DataType::Utf8, true),
        field("line", DataType::UInt32, false),
        field("document_type", DataType::Utf8, true),
        field("kind", DataType::Utf8, false),
        field("message", DataType::Utf8, false),
    ])
}

/// One rejected document, line or unreadable piece of input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportError {
    pub source_sha256: String,
    /// The input path as given (messages must name the file).
    pub source_file: String,
    pub source_member: Option<String>,
    /// 1-based line within the member (or plain file); 0 when no line applies.
    pub line: u32,
    pub document_type: Option<String>,
    pub kind: String,
    pub message: String,
}

impl std::fmt::Display for ImportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.source_file)?;
        if let Some(member) = &self.source_member {
            write!(f, ": member {member}")?;
        }
        if self.line > 0 {
            write!(f, ": line {}", self.line)?;
        }
        if let Some(t) = &self.document_type {
            write!(f, ": {t}")?;
        }
        write!(f, ": {} [{}]", self.message, self.kind)
    }
}

#[derive(Default)]
pub struct ImportErrorsBuilder {
    source_sha256: StringBuilder,
    source_file: StringBuilder,
    source_member: StringBuilder,
    line: UInt32Builder,
    document_type: StringBuilder,
    kind: StringBuilder,
    message: StringBuilder,
}

impl ImportErrorsBuilder {
    pub fn push(&mut self, e: &ImportError) {
        self.source_sha256.append_value(&e.source_sha256);
        self.source_file.append_value(&e.source_file);
        self.source_member.append_option(e.source_member.as_deref());
        self.line.append_value(e.line);
        self.document_type.append_option(e.document_type.as_deref());
        self.kind.append_value(&e.kind);
        self.message.append_value(&e.message);
    }
}

impl BatchBuilder for ImportErrorsBuilder {
    fn len(&self) -> usize {
        self.line.len()
    }
    fn finish(&mut self) -> RecordBatch {
        finish(
            &import_errors_schema(),
            vec![
                Arc::new(self.source_sha256.finish()),
                Arc::new(self.source_file.finish()),
                Arc::new(self.source_member.finish()),
                Arc::new(self.line.finish()),
                Arc::new(self.document_type.finish()),
                Arc::new(self.kind.finish()),
                Arc::new(self.message.finish()),
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

// ---------------------------------------------------------------------------------------
// microdesc_consensus_entries and microdescriptors

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
