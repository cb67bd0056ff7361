//! Network-status consensus documents (`network-status-consensus-3`, dir-spec §3.4.1), all
//! eras: method 1 (2007, no `w`/`p`/footer) through method 35 (2026). The microdesc flavour
//! (8-token `r` lines, `m` lines) parses with the same code.

use super::status::{comma_list, key_values, voting_delay, EntrySection};
use super::tokenizer::Tokenizer;
use super::values::{parse_i64, timestamp_arg};
use super::{ErrorKind, ParseError, Parsed};

/// Router status entries are shared with the other status documents.
pub use super::status::Entry;

/// The flavour named by `network-status-version 3 [flavour]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    Ns,
    Microdesc,
}

/// A parsed consensus (header, footer and entries).
#[derive(Debug)]
pub struct Consensus<'a> {
    pub flavor: Flavor,
    /// `consensus-method`; 1 when the line is absent (dir-spec).
    pub consensus_method: u32,
    pub valid_after: i64,
    pub fresh_until: Option<i64>,
    pub valid_until: Option<i64>,
    pub voting_delay: Option<(u32, u32)>,
    pub client_versions: Vec<&'a [u8]>,
    pub server_versions: Vec<&'a [u8]>,
    pub known_flags: Vec<&'a [u8]>,
    /// `params` as (key, value) pairs.
    pub params: Vec<(&'a [u8], i64)>,
    /// Number of `dir-source` lines (legacy keys included).
    pub dir_sources: u32,
    /// `bandwidth-weights` as (key, value) pairs, in document order.
    pub bandwidth_weights: Vec<(&'a [u8], i64)>,
    /// Number of `directory-signature` items.
    pub signatures: u32,
    pub entries: Vec<Entry<'a>>,
}

/// Parses one consensus document. Entries with a bad `r` line are skipped and reported as
/// warnings; a bad `w` value is a warning that leaves the entry's bandwidth null; a missing or
/// bad header time rejects the document.
pub fn parse(data: &[u8], first_line: u32) -> Result<Parsed<Consensus<'_>>, ParseError> {
    let mut warnings = Vec::new();
    let mut c = Consensus {
        flavor: Flavor::Ns,
        consensus_method: 1,
        valid_after: 0,
        fresh_until: None,
        valid_until: None,
        voting_delay: None,
        client_versions: Vec::new(),
        server_versions: Vec::new(),
        known_flags: Vec::new(),
        params: Vec::new(),
        dir_sources: 0,
        bandwidth_weights: Vec::new(),
        signatures: 0,
        entries: Vec::new(),
    };
    let mut valid_after = None;
    let mut saw_version = false;
    let mut entries = EntrySection::new();

    for item in Tokenizer::new(data, first_line) {
        let item = item?;
        if entries.offer(&item, &mut warnings) {
            continue;
        }
        match item.keyword {
            b"directory-footer" => {}
            b"directory-signature" => c.signatures += 1,
            b"network-status-version" => {
                saw_version = true;
                let mut f = item.fields();
                if f.next() != Some(b"3") {
                    return Err(item.error(
                        ErrorKind::UnsupportedVersion,
                        format!(
                            "network-status-version '{}' is not a v3 status",
                            item.args_text()
                        ),
                    ));
                }
                if f.next() == Some(b"microdesc") {
                    c.flavor = Flavor::Microdesc;
                }
            }
            b"vote-status" if item.args != b"consensus" => {
                return Err(item.error(
                    ErrorKind::BadValue,
                    format!("vote-status '{}' is not a consensus", item.args_text()),
                ));
            }
            b"consensus-method" => {
                c.consensus_method = item
                    .fields()
                    .next()
                    .and_then(parse_i64)
                    .and_then(|n| u32::try_from(n).ok())
                    .ok_or_else(|| {
                        item.error(ErrorKind::BadValue, "consensus-method is not a number")
                    })?;
            }
            b"valid-after" => valid_after = Some(timestamp_arg(&item)?),
            b"fresh-until" => c.fresh_until = Some(timestamp_arg(&item)?),
            b"valid-until" => c.valid_until = Some(timestamp_arg(&item)?),
            b"voting-delay" => {
                c.voting_delay = voting_delay(&item, &mut warnings).or(c.voting_delay);
            }
            b"client-versions" => c.client_versions = comma_list(item.args),
            b"server-versions" => c.server_versions = comma_list(item.args),
            b"known-flags" => c.known_flags = item.fields().collect(),
            b"params" => c.params = key_values(&item, &mut warnings),
            b"dir-source" => c.dir_sources += 1,
            b"bandwidth-weights" => c.bandwidth_weights = key_values(&item, &mut warnings),
            _ => {}
        }
    }
    c.entries = entries.finish();
    if !saw_version {
        return Err(ParseError::new(
            ErrorKind::MissingLine,
            first_line,
            "consensus has no network-status-version line",
        ));
    }
    c.valid_after = valid_after.ok_or_else(|| {
        ParseError::new(
            ErrorKind::MissingLine,
            first_line,
            "consensus has no valid-after line",
        )
    })?;
    Ok(Parsed { doc: c, warnings })
}
