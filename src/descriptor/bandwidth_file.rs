//! Bandwidth files (`bandwidth-file` 1.0, torspec bandwidth-file-spec; CollecTor's
//! `bandwidths-YYYY-MM.tar.xz`): what a bandwidth scanner (sbws, Torflow) measured, which a
//! bandwidth authority then votes as `w Measured=`. A first line with the file's Unix time,
//! from format 1.1.0 `key=value` header lines closed by `=====` (or the older `====`), then
//! one line of `key=value` pairs per relay (`node_id=$FP bw=… nick=… measured_at=…`).
//! Lines go through the shared tokenizer (line numbers, CR, blank lines).

use super::error::{ErrorKind, ParseError, Parsed};
use super::tokenizer::{fields, Item, Tokenizer};
use super::values::{normalise_hex_fingerprint, parse_i64, parse_u64, text};
use sha2::{Digest, Sha256};

/// A parsed bandwidth file.
#[derive(Debug)]
pub struct BandwidthFile<'a> {
    /// SHA-256 of the document (CollecTor names the file by it).
    pub digest: [u8; 32],
    /// The first line: when the file was written (Unix seconds).
    pub timestamp: i64,
    /// Header `key=value` items in order (empty for format 1.0.0).
    pub header: Vec<(&'a [u8], &'a [u8])>,
    pub relays: Vec<Relay<'a>>,
}

impl<'a> BandwidthFile<'a> {
    /// A header value (`version`, `software`, `file_created`, …).
    pub fn header_value(&self, key: &str) -> Option<&'a [u8]> {
        self.header
            .iter()
            .find(|(k, _)| *k == key.as_bytes())
            .map(|(_, v)| *v)
    }
}

/// One relay line.
#[derive(Debug, Clone)]
pub struct Relay<'a> {
    pub line: u32,
    /// `node_id` without its `$`, 40 upper-case hex.
    pub fingerprint: String,
    /// `bw`: the scaled bandwidth the authority votes (kB/s).
    pub bw: Option<i64>,
    pub nick: Option<&'a [u8]>,
    /// `measured_at` / `updated_at` (Unix seconds).
    pub measured_at: Option<i64>,
    pub updated_at: Option<i64>,
    /// Every other `key=value` item as written (`pid_error=…`, `unmeasured=1`, `vote=0`, …).
    pub attributes: Vec<&'a [u8]>,
}

/// Parses a bandwidth file. A first line that is not a Unix time rejects it; a relay line
/// without a valid `node_id`, or with a bad `bw` / time value, is skipped with a warning.
pub fn parse(data: &[u8], first_line: u32) -> Result<Parsed<BandwidthFile<'_>>, ParseError> {
    let mut warnings = Vec::new();
    let mut items = Tokenizer::new(data, first_line);
    let first = match items.next() {
        Some(item) => item?,
        None => {
            return Err(ParseError::new(
                ErrorKind::Truncated,
                first_line,
                "empty bandwidth file",
            ))
        }
    };
    let timestamp = unix_time(first.keyword).ok_or_else(|| {
        first.error(
            ErrorKind::BadTimestamp,
            format!(
                "bandwidth file does not start with a Unix time ('{}')",
                text(first.keyword)
            ),
        )
    })?;
    let mut file = BandwidthFile {
        digest: Sha256::digest(data).into(),
        timestamp,
        header: Vec::new(),
        relays: Vec::new(),
    };
    let mut in_header = true;
    for item in items {
        let item = item?;
        if item.keyword == b"=====" || item.keyword == b"====" {
            in_header = false;
            continue;
        }
        // Format 1.0.0 has no header: the first relay line ends it.
        if in_header && !is_relay_line(&item) {
            match split_pair(item.keyword) {
                Some(pair) => file.header.push(pair),
                None => warnings.push(item.error(
                    ErrorKind::Malformed,
                    format!("bad header line '{}'", text(item.keyword)),
                )),
            }
            continue;
        }
        in_header = false;
        match parse_relay(&item) {
            Ok(relay) => file.relays.push(relay),
            Err(e) => warnings.push(e),
        }
    }
    Ok(Parsed {
        doc: file,
        warnings,
    })
}

/// Unix seconds, restricted to 1990..2100 like every time relaytrail reads, so that a corrupt
/// value cannot pass as a time (nor overflow when stored as milliseconds).
fn unix_time(value: &[u8]) -> Option<i64> {
    parse_u64(value)
        .and_then(|t| i64::try_from(t).ok())
        .filter(|t| (631_152_000..4_102_444_800).contains(t))
}

/// The items of a line: the tokenizer's keyword is the first `key=value` pair.
fn line_items<'a>(item: &Item<'a>) -> impl Iterator<Item = &'a [u8]> {
    std::iter::once(item.keyword).chain(fields(item.args))
}

fn is_relay_line(item: &Item) -> bool {
    line_items(item).any(|kv| kv.starts_with(b"node_id="))
}

fn split_pair(kv: &[u8]) -> Option<(&[u8], &[u8])> {
    let eq = kv.iter().position(|&b| b == b'=')?;
    (eq > 0).then(|| (&kv[..eq], &kv[eq + 1..]))
}

fn parse_relay<'a>(item: &Item<'a>) -> Result<Relay<'a>, ParseError> {
    let mut relay = Relay {
        line: item.line,
        fingerprint: String::new(),
        bw: None,
        nick: None,
        measured_at: None,
        updated_at: None,
        attributes: Vec::new(),
    };
    for kv in line_items(item) {
        let Some((key, value)) = split_pair(kv) else {
            relay.attributes.push(kv);
            continue;
        };
        let number = || {
            parse_i64(value).ok_or_else(|| {
                item.error(
                    ErrorKind::BadValue,
                    format!("relay line: bad value '{}'", text(kv)),
                )
            })
        };
        let time = || {
            unix_time(value).ok_or_else(|| {
                item.error(
                    ErrorKind::BadTimestamp,
                    format!("relay line: bad time '{}'", text(kv)),
                )
            })
        };
        match key {
            b"node_id" => {
                relay.fingerprint =
                    normalise_hex_fingerprint(value.strip_prefix(b"$").unwrap_or(value))
                        .ok_or_else(|| {
                            item.error(
                                ErrorKind::BadValue,
                                format!("relay line: bad node_id '{}'", text(value)),
                            )
                        })?
            }
            b"bw" => relay.bw = Some(number()?),
            b"nick" => relay.nick = Some(value),
            b"measured_at" => relay.measured_at = Some(time()?),
            b"updated_at" => relay.updated_at = Some(time()?),
            _ => relay.attributes.push(kv),
        }
    }
    if relay.fingerprint.is_empty() {
        return Err(item.error(ErrorKind::MissingField, "relay line has no node_id"));
    }
    Ok(relay)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_1_4_with_header_and_bad_line() {
        // The second file of stem's bandwidths-2019-05-cropped.tar (sbws 1.1.0): some header
        // lines, its first relay line, and a relay line without node_id added.
        let doc = b"1557837295
version=1.4.0
earliest_bandwidth=2019-05-09T12:35:05
file_created=2019-05-14T12:35:04
software=sbws
=====
bw=1 bw_mean=184684 bw_median=218280 consensus_bandwidth=0 consensus_bandwidth_is_unmeasured=False desc_bw_avg=307200 desc_bw_bur=317440 desc_bw_obs_last=0 desc_bw_obs_mean=1 error_circ=0 error_destination=0 error_misc=0 error_second_relay=0 error_stream=0 master_key_ed25519=u0Gj3Ke56Es+mDZnAtnzefcEGMZQ9TAM2UzKN3lD5nM nick=ripple node_id=$BAF94556C27AA9A988199DC275E4E1BEEE9612DA relay_in_recent_consensus_count=403 relay_recent_measurement_attempt_count=1 relay_recent_priority_list_count=1 success=3 time=2019-05-13T07:28:23
bw=3 nick=foo
";
        let parsed = parse(doc, 2).unwrap();
        assert_eq!(parsed.warnings.len(), 1);
        assert_eq!(parsed.warnings[0].line, 9);
        let f = parsed.doc;
        assert_eq!(f.timestamp, 1_557_837_295);
        assert_eq!(f.header.len(), 4);
        assert_eq!(f.header_value("software"), Some(&b"sbws"[..]));
        let r = &f.relays[0];
        assert_eq!(r.fingerprint, "BAF94556C27AA9A988199DC275E4E1BEEE9612DA");
        assert_eq!(r.bw, Some(1));
        assert_eq!(r.nick, Some(&b"ripple"[..]));
        assert_eq!(r.measured_at, None);
        assert_eq!(r.attributes.len(), 19);
        assert_eq!(r.attributes[0], b"bw_mean=184684");
    }

    #[test]
    fn format_1_0_has_no_header() {
        let doc = b"1557834219
node_id=$35BD292A0F86C06A4753FF6F66505FF04B561986 bw=1210 nick=tor6zXLCtAn measured_at=1557789244 updated_at=1557789244
";
        let f = parse(doc, 2).unwrap().doc;
        assert!(f.header.is_empty());
        assert_eq!(f.relays.len(), 1);
        assert_eq!(
            parse(b"version=1.4.0\n", 1).err().unwrap().kind,
            ErrorKind::BadTimestamp
        );
    }
}
