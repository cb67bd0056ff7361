//! Authority votes (`network-status-vote-3`, dir-spec §3.4.1; collector-formats.md §6): the
//! header of one directory authority's opinion, its embedded key certificate (skipped), and
//! one router status entry per relay it knows (shared grammar: [`super::status`]).

use super::error::{ErrorKind, ParseError, Parsed};
use super::status::{comma_list, key_values, voting_delay, Entry, EntrySection};
use super::tokenizer::Tokenizer;
use super::values::{normalise_hex_fingerprint, text, timestamp_arg};
use sha1::{Digest, Sha1};

/// A parsed vote.
#[derive(Debug)]
pub struct Vote<'a> {
    /// SHA-1 of the document from `network-status-version` through the space after
    /// `directory-signature` (the last part of CollecTor's file name); `None` without a
    /// signature.
    pub digest: Option<[u8; 20]>,
    pub valid_after: i64,
    pub published: Option<i64>,
    pub fresh_until: Option<i64>,
    pub valid_until: Option<i64>,
    pub voting_delay: Option<(u32, u32)>,
    /// `consensus-methods` as written.
    pub consensus_methods: Vec<&'a [u8]>,
    pub client_versions: Vec<&'a [u8]>,
    pub server_versions: Vec<&'a [u8]>,
    pub known_flags: Vec<&'a [u8]>,
    /// `flag-thresholds` items as written (`guard-wfu=98.000%`).
    pub flag_thresholds: Vec<&'a [u8]>,
    pub params: Vec<(&'a [u8], i64)>,
    /// The authority: `dir-source <nickname> <identity> <hostname> <address> <dirport> <orport>`.
    pub authority_nickname: Option<&'a [u8]>,
    /// Its v3 identity (40 upper-case hex).
    pub authority: String,
    pub authority_address: Option<&'a [u8]>,
    pub contact: Option<&'a [u8]>,
    /// `bandwidth-file-headers` items as written (bandwidth authorities, tor 0.4.0+).
    pub bandwidth_file_headers: Vec<&'a [u8]>,
    /// `bandwidth-file-digest` items as written (`sha256=…`).
    pub bandwidth_file_digest: Option<&'a [u8]>,
    pub entries: Vec<Entry<'a>>,
}

/// Parses one vote. A document that is not a vote, or lacks `valid-after` or a valid
/// `dir-source`, is rejected; bad entries and bad optional lines are warnings.
pub fn parse(data: &[u8], first_line: u32) -> Result<Parsed<Vote<'_>>, ParseError> {
    let mut warnings = Vec::new();
    let mut v = Vote {
        digest: None,
        valid_after: 0,
        published: None,
        fresh_until: None,
        valid_until: None,
        voting_delay: None,
        consensus_methods: Vec::new(),
        client_versions: Vec::new(),
        server_versions: Vec::new(),
        known_flags: Vec::new(),
        flag_thresholds: Vec::new(),
        params: Vec::new(),
        authority_nickname: None,
        authority: String::new(),
        authority_address: None,
        contact: None,
        bandwidth_file_headers: Vec::new(),
        bandwidth_file_digest: None,
        entries: Vec::new(),
    };
    let mut valid_after = None;
    let mut is_vote = false;
    let mut entries = EntrySection::new(data);
    for item in Tokenizer::new(data, first_line) {
        let item = item?;
        if entries.offer(&item, &mut warnings) {
            continue;
        }
        match item.keyword {
            b"directory-signature" if v.digest.is_none() => {
                // The signed part ends with the space after the keyword.
                let end = item.offset + item.keyword.len() + 1;
                v.digest = Some(Sha1::digest(&data[..end.min(data.len())]).into());
            }
            b"network-status-version" if item.fields().next() != Some(b"3") => {
                return Err(item.error(
                    ErrorKind::UnsupportedVersion,
                    format!(
                        "network-status-version '{}' is not a v3 status",
                        item.args_text()
                    ),
                ));
            }
            b"vote-status" => {
                if item.args != b"vote" {
                    return Err(item.error(
                        ErrorKind::BadValue,
                        format!("vote-status '{}' is not a vote", item.args_text()),
                    ));
                }
                is_vote = true;
            }
            b"consensus-methods" => v.consensus_methods = item.fields().collect(),
            b"published" => v.published = Some(timestamp_arg(&item)?),
            b"valid-after" => valid_after = Some(timestamp_arg(&item)?),
            b"fresh-until" => v.fresh_until = Some(timestamp_arg(&item)?),
            b"valid-until" => v.valid_until = Some(timestamp_arg(&item)?),
            b"voting-delay" => {
                v.voting_delay = voting_delay(&item, &mut warnings).or(v.voting_delay);
            }
            b"client-versions" => v.client_versions = comma_list(item.args),
            b"server-versions" => v.server_versions = comma_list(item.args),
            b"known-flags" => v.known_flags = item.fields().collect(),
            b"flag-thresholds" => v.flag_thresholds = item.fields().collect(),
            b"params" => v.params = key_values(&item, &mut warnings),
            b"dir-source" if v.authority.is_empty() => {
                let f: Vec<&[u8]> = item.fields().collect();
                if f.len() < 6 {
                    return Err(item.error(
                        ErrorKind::MissingField,
                        format!("dir-source has {} fields, expected 6", f.len()),
                    ));
                }
                v.authority = normalise_hex_fingerprint(f[1]).ok_or_else(|| {
                    item.error(
                        ErrorKind::BadValue,
                        format!("dir-source: bad identity '{}'", text(f[1])),
                    )
                })?;
                v.authority_nickname = Some(f[0]);
                v.authority_address = Some(f[3]);
            }
            b"contact" if v.contact.is_none() => v.contact = Some(item.args),
            b"bandwidth-file-headers" => v.bandwidth_file_headers = item.fields().collect(),
            b"bandwidth-file-digest" => v.bandwidth_file_digest = Some(item.args),
            _ => {}
        }
    }
    v.entries = entries.finish();
    if !is_vote {
        return Err(ParseError::new(
            ErrorKind::MissingLine,
            first_line,
            "vote has no 'vote-status vote' line",
        ));
    }
    v.valid_after = valid_after.ok_or_else(|| {
        ParseError::new(
            ErrorKind::MissingLine,
            first_line,
            "vote has no valid-after line",
        )
    })?;
    if v.authority.is_empty() {
        return Err(ParseError::new(
            ErrorKind::MissingLine,
            first_line,
            "vote has no dir-source line naming its authority",
        ));
    }
    Ok(Parsed { doc: v, warnings })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stem_2012_vote() {
        // stem's metrics_vote: tor26's vote of 2012-07-12 00:00, cropped to 4 relays.
        let data = include_bytes!("../../tests/fixtures/real/stem/metrics_vote");
        let body = &data[data.iter().position(|&b| b == b'\n').unwrap() + 1..];
        let parsed = parse(body, 2).unwrap();
        assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
        let v = parsed.doc;
        assert_eq!(v.authority, "14C131DFC5C6F93646BE72FA1401C02A8DF2E8B4");
        assert_eq!(v.authority_nickname, Some(&b"tor26"[..]));
        assert_eq!(v.consensus_methods.len(), 12);
        assert_eq!(
            crate::descriptor::values::format_timestamp(v.valid_after),
            "2012-07-12 00:00:00"
        );
        let r_lines = body
            .split(|&b| b == b'\n')
            .filter(|l| l.starts_with(b"r "))
            .count();
        assert_eq!(v.entries.len(), r_lines);
        assert!(v.digest.is_some());
    }

    #[test]
    fn a_consensus_is_not_a_vote() {
        let doc =
            b"network-status-version 3\nvote-status consensus\nvalid-after 2016-09-20 13:00:00\n";
        assert_eq!(parse(doc, 1).err().unwrap().kind, ErrorKind::BadValue);
    }
}
