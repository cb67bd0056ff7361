//! Staging of the document types beyond consensuses, server descriptors and exit lists:
//! extra-infos, votes, microdesc consensuses and microdescriptors, the sanitized bridge
//! descriptors (network statuses, server descriptors, extra-infos), bandwidth files and
//! bridge pool assignments. Same pattern as the first three: parse, record the warnings,
//! push rows into the partition buffers (theirs, `MoreBuffers`, are part of the
//! per-input state in `state.rs`).

use anyhow::Result;

use super::state::Stager;
use crate::descriptor::values::{days_from_civil, parse_u64};
use crate::descriptor::{
    bandwidth_file, bridge_pool_assignment, bridge_status, consensus, extra_info, microdescriptor,
    server_descriptor, vote, DocType, ParseError,
};
use crate::warehouse::schema::Source;
use crate::warehouse::PartitionKey;

type Staged = Result<Result<bool, ParseError>>;

impl Stager<'_> {
    /// Parses and stages a document of one of the types above; other types are recognised
    /// and skipped (`Ok(Ok(false))`).
    pub(super) fn stage_more(
        &mut self,
        doc_type: DocType,
        bytes: &[u8],
        line: u32,
        source: Source,
    ) -> Staged {
        match doc_type {
            DocType::ExtraInfo | DocType::BridgeExtraInfo => {
                self.stage(extra_info::parse(bytes, line), source, doc_type, |s, d| {
                    let buffers = if doc_type == DocType::ExtraInfo {
                        &mut s.more.extra_infos
                    } else {
                        &mut s.more.bridge_extra_infos
                    };
                    buffers.push(PartitionKey::of_time(d.published), &mut s.sink, |b| {
                        b.push(&d, source)
                    })?;
                    Ok(Ok(true))
                })
            }
            DocType::BridgeServerDescriptor => self.stage(
                server_descriptor::parse(bytes, line),
                source,
                doc_type,
                |s, d| {
                    s.more.bridge_descriptors.push(
                        PartitionKey::of_time(d.published),
                        &mut s.sink,
                        |b| b.push(&d, source),
                    )?;
                    Ok(Ok(true))
                },
            ),
            DocType::Vote => self.stage(vote::parse(bytes, line), source, doc_type, |s, v| {
                let key = PartitionKey::of_time(v.valid_after);
                s.more
                    .votes
                    .push(key, &mut s.sink, |b| b.push(&v, source))?;
                s.more.vote_entries.push(key, &mut s.sink, |b| {
                    for e in &v.entries {
                        b.push(v.valid_after, &v.authority, e);
                    }
                })?;
                Ok(Ok(true))
            }),
            DocType::Microdescriptor => self.stage(
                microdescriptor::parse(bytes, line),
                source,
                doc_type,
                |s, m| {
                    let month = archive_month(source);
                    s.more.microdescriptors.push(
                        PartitionKey::of_time(month),
                        &mut s.sink,
                        |b| b.push(&m, month, source),
                    )?;
                    Ok(Ok(true))
                },
            ),
            DocType::MicrodescConsensus => {
                self.stage(consensus::parse(bytes, line), source, doc_type, |s, c| {
                    s.microdesc_consensus(c, source)
                })
            }
            DocType::BridgeNetworkStatus => self.stage(
                bridge_status::parse(bytes, line),
                source,
                doc_type,
                |s, status| {
                    let authority = status
                        .authority
                        .clone()
                        .or_else(|| authority_in_name(source));
                    let key = PartitionKey::of_time(status.published);
                    s.more.bridge_statuses.push(key, &mut s.sink, |b| {
                        b.push(&status, authority.as_deref(), source)
                    })?;
                    s.more.bridge_entries.push(key, &mut s.sink, |b| {
                        for e in &status.entries {
                            b.push(status.published, authority.as_deref(), e);
                        }
                    })?;
                    Ok(Ok(true))
                },
            ),
            DocType::BandwidthFile => self.stage(
                bandwidth_file::parse(bytes, line),
                source,
                doc_type,
                |s, f| {
                    let key = PartitionKey::of_time(f.timestamp);
                    s.more
                        .bandwidth_files
                        .push(key, &mut s.sink, |b| b.push(&f, source))?;
                    s.more.bandwidth_entries.push(key, &mut s.sink, |b| {
                        for r in &f.relays {
                            b.push(&f, r);
                        }
                    })?;
                    Ok(Ok(true))
                },
            ),
            DocType::BridgePoolAssignment => self.stage(
                bridge_pool_assignment::parse(bytes, line),
                source,
                doc_type,
                |s, assignments| {
                    for a in &assignments {
                        s.more.pool_assignments.push(
                            PartitionKey::of_time(a.published),
                            &mut s.sink,
                            |b| b.push(a, source),
                        )?;
                    }
                    Ok(Ok(true))
                },
            ),
            _ => Ok(Ok(false)),
        }
    }

    /// Stages a microdesc-flavour consensus: its header (bandwidth-weights, …) as a
    /// `consensuses` row with `flavor = microdesc`, its entries in their own dataset.
    pub(super) fn microdesc_consensus(
        &mut self,
        c: consensus::Consensus,
        source: Source,
    ) -> Staged {
        let key = PartitionKey::of_time(c.valid_after);
        let relays = c.entries.len() as u32;
        self.consensuses
            .push(key, &mut self.sink, |b| b.push(&c, relays, source))?;
        self.more.microdesc_entries.push(key, &mut self.sink, |b| {
            for e in &c.entries {
                b.push(c.valid_after, e);
            }
        })?;
        Ok(Ok(true))
    }
}

/// The month a microdescriptor is filed under: CollecTor stores each in the monthly archive
/// of the microdesc consensuses that list it (`microdescs-2019-05/micro/…`); recent/ files
/// are named by time (`2017-07-17-17-20-00-micro`). The first `YYYY-MM` in the member path,
/// else in the file name; the Unix epoch (1970-01) when neither has one (a tor cache file).
fn archive_month(source: Source) -> i64 {
    source
        .member
        .and_then(first_year_month)
        .or_else(|| first_year_month(source.file))
        .map_or(0, |(y, m)| days_from_civil(y, m, 1) * 86_400)
}

fn first_year_month(name: &str) -> Option<(i64, u32)> {
    let b = name.as_bytes();
    (0..b.len().saturating_sub(6)).find_map(|i| {
        let w = &b[i..i + 7];
        if w[4] != b'-' || (i > 0 && b[i - 1].is_ascii_digit()) {
            return None;
        }
        let year = parse_u64(&w[..4])? as i64;
        let month = parse_u64(&w[5..7])? as u32;
        ((1990..2100).contains(&year) && (1..=12).contains(&month)).then_some((year, month))
    })
}

/// The bridge authority's fingerprint at the end of a bridge status file name
/// (`20160920-063816-1D8F3A91C37C5D1C4C19B1AD1D0CFBE8BF72D8E1`), for formats before 1.2.
fn authority_in_name(source: Source) -> Option<String> {
    let name = source.member.unwrap_or(source.file);
    let last = name.rsplit(['/', '-']).next()?;
    (last.len() == 40 && last.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| last.to_ascii_uppercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_and_authorities_from_names() {
        assert_eq!(
            first_year_month("microdescs-2019-05/micro/0/0/00a1c073e857ec"),
            Some((2019, 5))
        );
        assert_eq!(
            first_year_month("2017-07-17-17-20-00-micro"),
            Some((2017, 7))
        );
        assert_eq!(first_year_month("cached-microdescs"), None);
        assert_eq!(first_year_month("x12019-05"), None);
        let source = Source {
            file: "20160920-063816-1D8F3A91C37C5D1C4C19B1AD1D0CFBE8BF72D8E1",
            member: None,
        };
        assert_eq!(
            authority_in_name(source).as_deref(),
            Some("1D8F3A91C37C5D1C4C19B1AD1D0CFBE8BF72D8E1")
        );
        assert_eq!(archive_month(source), 0);
        let source = Source {
            file: "microdescs-2019-05-cropped.tar",
            member: Some("microdescs-2019-05/micro/0/0/00a1c073e857ec"),
        };
        assert_eq!(archive_month(source), 1_556_668_800); // 2019-05-01
    }
}
