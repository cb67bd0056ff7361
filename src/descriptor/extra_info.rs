//! Extra-info descriptors (`extra-info`, dir-spec §2.1.2) of relays and, sanitized, of
//! bridges (`bridge-extra-info`): byte histories, directory / entry / exit / bridge / onion
//! service statistics, padding counts and overload lines (collector-formats.md §8, §11).
//!
//! The statistics lines are many but of few shapes; each shape has one table of keywords
//! below, which the warehouse schema turns into columns (`read-history` → `read_history`,
//! `read_history_end`, `read_history_interval`).

use super::error::{ErrorKind, ParseError, Parsed};
use super::tokenizer::{Item, Tokenizer};
use super::values::{normalise_hex_fingerprint, parse_i64, parse_timestamp, text, timestamp_arg};
use sha1::{Digest, Sha1};

/// `<keyword> <end date> <end time> (<seconds> s) <n>,<n>,…`: bytes per interval, oldest
/// first.
pub const HISTORY_KEYWORDS: [&str; 6] = [
    "read-history",
    "write-history",
    "ipv6-read-history",
    "ipv6-write-history",
    "dirreq-read-history",
    "dirreq-write-history",
];

/// `<keyword> <end date> <end time> (<seconds> s)`: end of a statistics interval.
/// `padding-counts` has the same head, followed by `key=value` pairs (see [`LIST_KEYWORDS`]).
pub const INTERVAL_KEYWORDS: [&str; 7] = [
    "dirreq-stats-end",
    "entry-stats-end",
    "exit-stats-end",
    "bridge-stats-end",
    "hidserv-stats-end",
    "hidserv-v3-stats-end",
    "padding-counts",
];

/// `<keyword> a=1,b=2,…` (or space-separated pairs): kept as a list of `key=value` items.
/// `padding-counts` is the pairs after its interval head.
pub const LIST_KEYWORDS: [&str; 13] = [
    "geoip-client-origins",
    "dirreq-v3-ips",
    "dirreq-v3-reqs",
    "dirreq-v3-resp",
    "entry-ips",
    "exit-kibibytes-written",
    "exit-kibibytes-read",
    "exit-streams-opened",
    "bridge-ips",
    "bridge-ip-versions",
    "bridge-ip-transports",
    "padding-counts",
    "transport",
];

/// `<keyword> <integer> delta_f=… epsilon=… bin_size=…`: obfuscated onion-service counts
/// (may be negative).
pub const COUNT_KEYWORDS: [&str; 4] = [
    "hidserv-rend-relayed-cells",
    "hidserv-dir-onions-seen",
    "hidserv-rend-v3-relayed-cells",
    "hidserv-dir-v3-onions-seen",
];

/// Lines kept as written (overload reporting, tor 0.4.6+).
pub const RAW_KEYWORDS: [&str; 2] = ["overload-ratelimits", "overload-fd-exhausted"];

/// A byte history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct History {
    pub end: i64,
    pub interval: i64,
    pub values: Vec<i64>,
}

/// The end and length of a statistics interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interval {
    pub end: i64,
    pub seconds: i64,
}

/// A parsed extra-info descriptor. Arrays are indexed like the keyword tables above.
#[derive(Debug, Clone)]
pub struct ExtraInfo<'a> {
    pub nickname: &'a [u8],
    pub fingerprint: String,
    pub published: i64,
    /// SHA-1 of `extra-info ` through `\nrouter-signature\n` (= the server descriptor's
    /// `extra-info-digest`); for sanitized bridge documents their `router-digest` line.
    pub digest: [u8; 20],
    pub geoip_db_digest: Option<&'a [u8]>,
    pub geoip6_db_digest: Option<&'a [u8]>,
    /// `geoip-start-time` (2007–2009 documents).
    pub geoip_start_time: Option<i64>,
    pub histories: [Option<History>; HISTORY_KEYWORDS.len()],
    pub intervals: [Option<Interval>; INTERVAL_KEYWORDS.len()],
    /// `None` when the line is absent, an empty list when it is present but empty.
    /// `transport` lines (bridges, one per pluggable transport) add their transport name.
    pub lists: [Option<Vec<&'a [u8]>>; LIST_KEYWORDS.len()],
    pub counts: [Option<i64>; COUNT_KEYWORDS.len()],
    pub raw: [Option<&'a [u8]>; RAW_KEYWORDS.len()],
}

fn index_of(table: &[&str], keyword: &[u8]) -> Option<usize> {
    table.iter().position(|k| k.as_bytes() == keyword)
}

/// Parses one extra-info descriptor starting at its `extra-info` line. A document without
/// `published`, or without both `router-signature` and (sanitized bridges) `router-digest`,
/// is rejected; a bad statistics line is a warning and its value is left out.
pub fn parse(data: &[u8], first_line: u32) -> Result<Parsed<ExtraInfo<'_>>, ParseError> {
    let mut warnings = Vec::new();
    let mut items = Tokenizer::new(data, first_line);
    let head = match items.next() {
        Some(item) => item?,
        None => {
            return Err(ParseError::new(
                ErrorKind::Truncated,
                first_line,
                "empty extra-info descriptor",
            ))
        }
    };
    if head.keyword != b"extra-info" {
        return Err(head.error(
            ErrorKind::MissingLine,
            "extra-info descriptor does not start with an extra-info line",
        ));
    }
    let mut f = head.fields();
    let (Some(nickname), Some(fp)) = (f.next(), f.next()) else {
        return Err(head.error(
            ErrorKind::MissingField,
            "extra-info line needs a nickname and a fingerprint",
        ));
    };
    let fingerprint = normalise_hex_fingerprint(fp).ok_or_else(|| {
        head.error(
            ErrorKind::BadValue,
            format!("bad extra-info fingerprint '{}'", text(fp)),
        )
    })?;
    let mut d = ExtraInfo {
        nickname,
        fingerprint,
        published: 0,
        digest: [0; 20],
        geoip_db_digest: None,
        geoip6_db_digest: None,
        geoip_start_time: None,
        histories: Default::default(),
        intervals: Default::default(),
        lists: Default::default(),
        counts: Default::default(),
        raw: Default::default(),
    };
    let mut published = None;
    let mut signature_end = None;
    let mut router_digest = None;
    for item in items {
        let item = item?;
        let result = match item.keyword {
            b"published" => {
                published = Some(timestamp_arg(&item)?);
                Ok(())
            }
            b"geoip-db-digest" => {
                d.geoip_db_digest = item.fields().next();
                Ok(())
            }
            b"geoip6-db-digest" => {
                d.geoip6_db_digest = item.fields().next();
                Ok(())
            }
            b"geoip-start-time" => timestamp_arg(&item).map(|t| d.geoip_start_time = Some(t)),
            b"router-digest" => match hex20(item.fields().next().unwrap_or_default()) {
                Some(digest) => {
                    router_digest = Some(digest);
                    Ok(())
                }
                None => Err(item.error(
                    ErrorKind::BadValue,
                    format!("bad router-digest '{}'", item.args_text()),
                )),
            },
            b"router-signature" => {
                let line_end = memchr::memchr(b'\n', &data[item.offset..])
                    .map_or(data.len(), |i| item.offset + i + 1);
                signature_end = Some(line_end);
                Ok(())
            }
            keyword => apply_statistics_line(&mut d, keyword, &item),
        };
        if let Err(e) = result {
            warnings.push(e);
        }
    }
    d.published = published.ok_or_else(|| {
        head.error(
            ErrorKind::MissingLine,
            "extra-info descriptor has no published line",
        )
    })?;
    d.digest = match (router_digest, signature_end) {
        (Some(digest), _) => digest,
        (None, Some(end)) => Sha1::digest(&data[head.offset..end]).into(),
        (None, None) => {
            return Err(head.error(
                ErrorKind::Truncated,
                "extra-info descriptor has neither a router-signature nor a router-digest line",
            ))
        }
    };
    Ok(Parsed { doc: d, warnings })
}

fn apply_statistics_line<'a>(
    d: &mut ExtraInfo<'a>,
    keyword: &[u8],
    item: &Item<'a>,
) -> Result<(), ParseError> {
    if let Some(i) = index_of(&HISTORY_KEYWORDS, keyword) {
        let (interval, rest) = interval_head(item)?;
        let values = super::status::comma_list(rest)
            .into_iter()
            .map(|v| {
                parse_i64(v).ok_or_else(|| {
                    item.error(
                        ErrorKind::BadValue,
                        format!("{}: bad value '{}'", text(keyword), text(v)),
                    )
                })
            })
            .collect::<Result<Vec<i64>, ParseError>>()?;
        d.histories[i] = Some(History {
            end: interval.end,
            interval: interval.seconds,
            values,
        });
        return Ok(());
    }
    let mut list_args = item.args;
    if let Some(i) = index_of(&INTERVAL_KEYWORDS, keyword) {
        let (interval, rest) = interval_head(item)?;
        d.intervals[i] = Some(interval);
        list_args = rest;
    }
    if let Some(i) = index_of(&LIST_KEYWORDS, keyword) {
        let list = d.lists[i].get_or_insert_with(Vec::new);
        if keyword == b"transport" {
            list.extend(item.fields().next());
        } else {
            list.extend(super::status::comma_list(list_args));
        }
    } else if let Some(i) = index_of(&COUNT_KEYWORDS, keyword) {
        let value = item.fields().next().and_then(parse_i64).ok_or_else(|| {
            item.error(
                ErrorKind::BadValue,
                format!("{}: bad count '{}'", text(keyword), item.args_text()),
            )
        })?;
        d.counts[i] = Some(value);
    } else if let Some(i) = index_of(&RAW_KEYWORDS, keyword) {
        d.raw[i] = Some(item.args);
    }
    Ok(())
}

/// Parses `<date> <time> (<seconds> s)` at the start of a line; returns the rest.
fn interval_head<'a>(item: &Item<'a>) -> Result<(Interval, &'a [u8]), ParseError> {
    let mut f = item.fields();
    let (date, time, open, close) = (f.next(), f.next(), f.next(), f.next());
    let (Some(date), Some(time), Some(open), Some(close)) = (date, time, open, close) else {
        return Err(item.error(
            ErrorKind::MissingField,
            format!(
                "{} needs an end time and an interval '(N s)'",
                text(item.keyword)
            ),
        ));
    };
    let end = parse_timestamp(date, time).ok_or_else(|| {
        item.error(
            ErrorKind::BadTimestamp,
            format!(
                "{}: bad end time '{}'",
                text(item.keyword),
                item.args_text()
            ),
        )
    })?;
    let seconds = open
        .strip_prefix(b"(")
        .and_then(parse_i64)
        .filter(|s| *s > 0 && close.starts_with(b"s)"))
        .ok_or_else(|| {
            item.error(
                ErrorKind::BadValue,
                format!(
                    "{}: bad interval '{} {}'",
                    text(item.keyword),
                    text(open),
                    text(close)
                ),
            )
        })?;
    // The rest of the line after the `s)` field.
    let close_end = close.as_ptr() as usize + close.len() - item.args.as_ptr() as usize;
    let rest = &item.args[close_end.min(item.args.len())..];
    Ok((Interval { end, seconds }, rest))
}

fn hex20(value: &[u8]) -> Option<[u8; 20]> {
    let mut out = [0u8; 20];
    hex::decode_to_slice(value, &mut out).ok()?;
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The second document of CollecTor's relay-2016-10-02-08-05-00-extra-infos (grepular1),
    /// signature shortened (the digest is then not the real one).
    const GREPULAR: &[u8] = b"extra-info grepular1 0F408EA9DE6B40D695A4206B73ACBDE747DED7A4
published 2016-10-02 07:01:21
write-history 2016-10-02 04:57:48 (14400 s) 3286129664,4097942528,4426873856,4770973696,3259864064,2520341504
read-history 2016-10-02 04:57:48 (14400 s) 3265520640,4073435136,4407179264,4744848384,3243676672,2507649024
geoip-db-digest C1EB5237F2FBAF63381D8551157F13D12EFCCA25
geoip6-db-digest 1F99B6B0EC78E9DB34D61AE7E0FC261D558E8E5D
dirreq-stats-end 2016-10-01 08:19:32 (86400 s)
dirreq-v3-ips 
dirreq-v3-reqs 
dirreq-v3-resp ok=0,not-enough-sigs=0,unavailable=0,not-found=0,not-modified=0,busy=0
dirreq-v3-direct-dl complete=0,timeout=0,running=0
dirreq-v3-tunneled-dl complete=0,timeout=0,running=0
router-signature
-----BEGIN SIGNATURE-----
KbF/A5WpDEZR+TVrepv81CnDPKwKhPN0Pvygu1piBAo=
-----END SIGNATURE-----
";

    #[test]
    fn relay_histories_and_dirreq_stats() {
        let parsed = parse(GREPULAR, 2).unwrap();
        assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
        let d = parsed.doc;
        assert_eq!(d.nickname, b"grepular1");
        assert_eq!(d.fingerprint, "0F408EA9DE6B40D695A4206B73ACBDE747DED7A4");
        let write = d.histories[1].as_ref().unwrap();
        assert_eq!(write.interval, 14400);
        assert_eq!(write.values.len(), 6);
        assert_eq!(write.values[0], 3_286_129_664);
        assert_eq!(
            crate::descriptor::values::format_timestamp(write.end),
            "2016-10-02 04:57:48"
        );
        assert_eq!(d.intervals[0].unwrap().seconds, 86400);
        assert_eq!(d.lists[1], Some(vec![])); // dirreq-v3-ips present but empty
        assert_eq!(d.lists[3].as_ref().unwrap()[0], b"ok=0");
        assert_eq!(d.lists[4], None); // no entry-ips
    }

    #[test]
    fn bridge_digest_transports_and_bad_lines() {
        // stem's bridge_extrainfo_descriptor_with_ed25519 (2015), some lines left out, with
        // its write-history interval broken on purpose, and a 2026 hidserv line.
        let doc = b"extra-info Unnamed B8AB331047F1C1637EFE07FB1B94CCC0FE0ABFFA
master-key-ed25519 VigmhxML9uw8CT1XeGqZ8KLMhKk6AOKnChQt24usBbI
published 2015-08-21 16:08:15
write-history 2015-08-21 12:51:16 (bad s) 2371584,40206336,45142016,8745984,6049792,1072128
transport scramblesuit
transport obfs3
transport obfs4
bridge-stats-end 2015-08-21 12:51:21 (86400 s)
bridge-ips ie=8,in=8,kz=8,nl=8,qa=8
bridge-ip-versions v4=8,v6=0
bridge-ip-transports <OR>=8,obfs3=8,obfs4=8
hidserv-rend-v3-relayed-cells 158513042 delta_f=2048 epsilon=0.30 bin_size=1024
router-digest-sha256 7DSOQz9eGgjDX6GT7qcrVViK8yqJD4aoEnuhdAgYtgA
router-digest 3DBE6840376F3EC277002396832788DB2FB38393
";
        let parsed = parse(doc, 1).unwrap();
        assert_eq!(parsed.warnings.len(), 1);
        assert_eq!(parsed.warnings[0].line, 4);
        assert_eq!(parsed.warnings[0].kind, ErrorKind::BadValue);
        let d = parsed.doc;
        assert_eq!(
            hex::encode_upper(d.digest),
            "3DBE6840376F3EC277002396832788DB2FB38393"
        );
        assert!(d.histories[1].is_none());
        assert_eq!(
            d.lists[12],
            Some(vec![&b"scramblesuit"[..], &b"obfs3"[..], &b"obfs4"[..]])
        );
        assert_eq!(d.counts[2], Some(158_513_042));
        assert_eq!(d.lists[8].as_ref().unwrap().len(), 5);
        assert_eq!(d.intervals[3].unwrap().seconds, 86400);
    }

    #[test]
    fn missing_published_or_end_rejects() {
        let err = parse(
            b"extra-info a 0F408EA9DE6B40D695A4206B73ACBDE747DED7A4\n",
            1,
        )
        .err()
        .unwrap();
        assert_eq!(err.kind, ErrorKind::MissingLine);
        let err = parse(
            b"extra-info a 0F408EA9DE6B40D695A4206B73ACBDE747DED7A4\npublished 2016-10-02 07:01:21\n",
            1,
        )
        .err()
        .unwrap();
        assert_eq!(err.kind, ErrorKind::Truncated);
    }
}
