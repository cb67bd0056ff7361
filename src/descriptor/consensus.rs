//! Network-status consensus documents (`network-status-consensus-3`, dir-spec §3.4.1), all
//! eras: method 1 (2007, no `w`/`p`/footer) through method 35 (2026). The microdesc flavour
//! (8-token `r` lines, `m` lines) parses with the same code.

use super::tokenizer::{fields, Item, Tokenizer};
use super::values::{
    base64_exact, is_ipv4, parse_i64, parse_port, parse_timestamp, text, timestamp_arg,
};
use super::{ErrorKind, ParseError, Parsed};

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

/// One router status entry (`r` line and the lines that follow it).
#[derive(Debug, Clone)]
pub struct Entry<'a> {
    /// Member line number of the `r` line.
    pub line: u32,
    pub nickname: &'a [u8],
    pub identity: [u8; 20],
    /// Server-descriptor digest (ns flavour only).
    pub digest: Option<[u8; 20]>,
    pub published: i64,
    pub address: &'a [u8],
    pub or_port: u16,
    pub dir_port: u16,
    /// `a` lines: `[IPv6]:port` (or other addresses) as written.
    pub or_addresses: Vec<&'a [u8]>,
    pub flags: Vec<&'a [u8]>,
    /// `v` line as written (`Tor 0.2.9.10`).
    pub version_line: Option<&'a [u8]>,
    /// `pr` line as written.
    pub protocols: Option<&'a [u8]>,
    /// `w Bandwidth=` (kB/s consensus weight).
    pub bandwidth: Option<i64>,
    /// `w Measured=` (votes; absent in consensuses).
    pub measured: Option<i64>,
    /// `w Unmeasured=1`.
    pub unmeasured: bool,
    /// `p` line (IPv4 exit-port summary) as written.
    pub policy_summary: Option<&'a [u8]>,
    /// `m` line (microdesc flavour): base64 SHA-256 of the microdescriptor.
    pub microdesc_digest: Option<&'a [u8]>,
}

impl Entry<'_> {
    /// The tor version number from the `v` line (`0.2.9.10` of `Tor 0.2.9.10`), or the line
    /// as written when it names other software.
    pub fn version(&self) -> Option<&[u8]> {
        self.version_line
            .map(|v| v.strip_prefix(b"Tor ").unwrap_or(v))
    }
}

/// Parses one consensus document. Entries with a bad `r` line (or a bad `w` value) are
/// skipped and reported as warnings; a missing or bad header time rejects the document.
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
    // The entry being built, or None while in the header, between a bad `r` line and the next
    // one, or in the footer.
    let mut current: Option<Entry> = None;
    let mut in_entries = false;

    for item in Tokenizer::new(data, first_line) {
        let item = item?;
        match item.keyword {
            b"r" => {
                in_entries = true;
                c.entries.extend(current.take());
                match parse_r_line(&item) {
                    Ok(entry) => current = Some(entry),
                    Err(e) => warnings.push(e),
                }
            }
            b"a" | b"s" | b"v" | b"pr" | b"w" | b"p" | b"m" if in_entries => {
                if let Some(entry) = current.as_mut() {
                    if let Err(e) = apply_entry_line(entry, &item) {
                        warnings.push(e);
                    }
                }
            }
            b"directory-footer" | b"directory-signature" => {
                c.entries.extend(current.take());
                in_entries = false;
                if item.keyword == b"directory-signature" {
                    c.signatures += 1;
                }
            }
            _ if in_entries => {} // unknown entry keywords are ignored
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
                let mut f = item
                    .fields()
                    .map(|v| parse_i64(v).and_then(|n| u32::try_from(n).ok()));
                if let (Some(Some(a)), Some(Some(b))) = (f.next(), f.next()) {
                    c.voting_delay = Some((a, b));
                } else {
                    warnings
                        .push(item.error(ErrorKind::BadValue, "voting-delay needs two numbers"));
                }
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
    c.entries.extend(current.take());
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

fn parse_r_line<'a>(item: &Item<'a>) -> Result<Entry<'a>, ParseError> {
    let mut f: [&[u8]; 8] = [&[]; 8];
    let mut count = 0;
    for field in item.fields() {
        if count < 8 {
            f[count] = field;
        }
        count += 1;
    }
    // ns flavour: nickname identity digest date time address orport dirport (8 arguments);
    // microdesc flavour: no digest (7 arguments).
    let (digest_field, rest) = match count {
        n if n >= 8 => (Some(f[2]), &f[3..8]),
        7 => (None, &f[2..7]),
        n => {
            return Err(item.error(
                ErrorKind::MissingField,
                format!("r line has {n} fields, expected 8 (or 7 in a microdesc consensus)"),
            ))
        }
    };
    let bad = |what: &str, value: &[u8]| {
        item.error(
            ErrorKind::BadValue,
            format!("r line: bad {what} '{}'", text(value)),
        )
    };
    let identity = base64_exact::<20>(f[1]).ok_or_else(|| bad("identity", f[1]))?;
    let digest = match digest_field {
        Some(d) => Some(base64_exact::<20>(d).ok_or_else(|| bad("descriptor digest", d))?),
        None => None,
    };
    let published = parse_timestamp(rest[0], rest[1]).ok_or_else(|| {
        item.error(
            ErrorKind::BadTimestamp,
            format!(
                "r line: bad publication time '{} {}'",
                text(rest[0]),
                text(rest[1])
            ),
        )
    })?;
    if !is_ipv4(rest[2]) {
        return Err(bad("IPv4 address", rest[2]));
    }
    let or_port = parse_port(rest[3]).ok_or_else(|| bad("ORPort", rest[3]))?;
    let dir_port = parse_port(rest[4]).ok_or_else(|| bad("DirPort", rest[4]))?;
    Ok(Entry {
        line: item.line,
        nickname: f[0],
        identity,
        digest,
        published,
        address: rest[2],
        or_port,
        dir_port,
        or_addresses: Vec::new(),
        flags: Vec::new(),
        version_line: None,
        protocols: None,
        bandwidth: None,
        measured: None,
        unmeasured: false,
        policy_summary: None,
        microdesc_digest: None,
    })
}

fn apply_entry_line<'a>(entry: &mut Entry<'a>, item: &Item<'a>) -> Result<(), ParseError> {
    match item.keyword {
        b"a" => entry.or_addresses.push(item.args),
        b"s" => entry.flags = item.fields().collect(),
        b"v" => entry.version_line = Some(item.args),
        b"pr" => entry.protocols = Some(item.args),
        b"p" => entry.policy_summary = Some(item.args),
        b"m" => entry.microdesc_digest = item.fields().next(),
        b"w" => {
            for kv in item.fields() {
                let Some(eq) = kv.iter().position(|&b| b == b'=') else {
                    continue;
                };
                let (key, value) = (&kv[..eq], &kv[eq + 1..]);
                let parsed = || {
                    parse_i64(value).ok_or_else(|| {
                        item.error(
                            ErrorKind::BadValue,
                            format!("w line: bad value '{}'", text(kv)),
                        )
                    })
                };
                match key {
                    b"Bandwidth" => entry.bandwidth = Some(parsed()?),
                    b"Measured" => entry.measured = Some(parsed()?),
                    b"Unmeasured" => entry.unmeasured = parsed()? == 1,
                    _ => {}
                }
            }
        }
        _ => {}
    }
    Ok(())
}

fn comma_list(args: &[u8]) -> Vec<&[u8]> {
    fields(args)
        .flat_map(|f| f.split(|&b| b == b','))
        .filter(|v| !v.is_empty())
        .collect()
}

/// `key=int` pairs (params, bandwidth-weights); malformed pairs become warnings.
fn key_values<'a>(item: &Item<'a>, warnings: &mut Vec<ParseError>) -> Vec<(&'a [u8], i64)> {
    let mut out = Vec::new();
    for kv in item.fields() {
        let parsed = kv
            .iter()
            .position(|&b| b == b'=')
            .and_then(|eq| parse_i64(&kv[eq + 1..]).map(|v| (&kv[..eq], v)));
        match parsed {
            Some(pair) => out.push(pair),
            None => warnings.push(item.error(
                ErrorKind::BadValue,
                format!("{}: bad key=value '{}'", text(item.keyword), text(kv)),
            )),
        }
    }
    out
}
