//! Sanitized bridge network statuses (`bridge-network-status` 1.0–1.2; collector-formats.md
//! §11): the bridge authority's `published` time, `flag-thresholds` and (1.2) its
//! `fingerprint`, then router status entries as in a consensus ([`super::status`]), with
//! sanitized addresses and hashed fingerprints, and no footer.

use super::error::{ErrorKind, ParseError, Parsed};
use super::status::{Entry, EntrySection};
use super::tokenizer::Tokenizer;
use super::values::{normalise_hex_fingerprint, timestamp_arg};

/// A parsed bridge network status.
#[derive(Debug)]
pub struct BridgeStatus<'a> {
    pub published: i64,
    /// The bridge authority's fingerprint (`fingerprint` header, format 1.2+).
    pub authority: Option<String>,
    /// `flag-thresholds` items as written.
    pub flag_thresholds: Vec<&'a [u8]>,
    pub entries: Vec<Entry<'a>>,
}

/// Parses a bridge network status. No `published` line rejects it; bad entries and a bad
/// `fingerprint` line are warnings.
pub fn parse(data: &[u8], first_line: u32) -> Result<Parsed<BridgeStatus<'_>>, ParseError> {
    let mut warnings = Vec::new();
    let mut published = None;
    let mut authority = None;
    let mut flag_thresholds = Vec::new();
    let mut entries = EntrySection::new(data);
    for item in Tokenizer::new(data, first_line) {
        let item = item?;
        if entries.offer(&item, &mut warnings) {
            continue;
        }
        match item.keyword {
            b"published" => published = Some(timestamp_arg(&item)?),
            b"flag-thresholds" => flag_thresholds = item.fields().collect(),
            b"fingerprint" => match normalise_hex_fingerprint(item.args) {
                Some(fp) => authority = Some(fp),
                None => warnings.push(item.error(
                    ErrorKind::BadValue,
                    format!("bad fingerprint '{}'", item.args_text()),
                )),
            },
            _ => {}
        }
    }
    let published = published.ok_or_else(|| {
        ParseError::new(
            ErrorKind::MissingLine,
            first_line,
            "bridge network status has no published line",
        )
    })?;
    Ok(Parsed {
        doc: BridgeStatus {
            published,
            authority,
            flag_thresholds,
            entries: entries.finish(),
        },
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stem_2012_status_has_no_authority_line() {
        let data = include_bytes!("../../tests/fixtures/real/stem/bridge_network_status");
        let body = &data[data.iter().position(|&b| b == b'\n').unwrap() + 1..];
        let parsed = parse(body, 2).unwrap();
        assert!(parsed.warnings.is_empty());
        let s = parsed.doc;
        assert_eq!(s.entries.len(), 4);
        assert_eq!(s.authority, None);
        assert_eq!(s.entries[1].nickname, b"TolFuin");
        assert_eq!(s.entries[1].bandwidth, Some(32));
        assert_eq!(s.entries[1].flags.len(), 5);
    }

    #[test]
    fn missing_published_rejects() {
        let err = parse(b"flag-thresholds a=1\n", 1).err().unwrap();
        assert_eq!(err.kind, ErrorKind::MissingLine);
    }
}
