//! Router status entries and the helpers every status document shares: the ns and microdesc
//! consensus, the vote and the sanitized bridge network status all list relays as an `r` line
//! followed by `a`/`s`/`v`/`pr`/`w`/`p`/`m` (and in votes `id`/`stats`) lines
//! (collector-formats.md §4–§6, §11).

use super::error::{ErrorKind, ParseError};
use super::tokenizer::{fields, Item};
use super::values::{base64_exact, is_ipv4, parse_i64, parse_port, parse_timestamp, text};

/// One router status entry (`r` line and the lines that follow it).
#[derive(Debug, Clone)]
pub struct Entry<'a> {
    /// Member line number of the `r` line.
    pub line: u32,
    pub nickname: &'a [u8],
    pub identity: [u8; 20],
    /// Server-descriptor digest (ns consensus, votes, bridge statuses; not the md flavour).
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
    /// `m` line of the microdesc flavour (one field): base64 SHA-256 of the microdescriptor.
    pub microdesc_digest: Option<&'a [u8]>,
    /// `m` lines of a vote (`13,14 sha256=<b64>`, one per microdescriptor format), as written.
    pub microdesc_lines: Vec<&'a [u8]>,
    /// `id ed25519 <b64>` of a vote (`none` when the relay has no ed25519 key), as written.
    pub ed25519_id: Option<&'a [u8]>,
    /// `stats` line of a vote (`wfu=1.000000 tk=… mtbf=…`, tor 0.4.6+), as written.
    pub stats: Option<&'a [u8]>,
    /// The entry's whole text (its `r` line up to the next entry or the footer) when the same
    /// bytes elsewhere parse to this same entry: it parsed without warnings, and looking at
    /// line starts alone ([`ends_entries`]) delimits exactly its lines. `None` otherwise.
    pub reusable_text: Option<&'a [u8]>,
}

impl Entry<'_> {
    /// The tor version number from the `v` line (`0.2.9.10` of `Tor 0.2.9.10`), or the line
    /// as written when it names other software.
    pub fn version(&self) -> Option<&[u8]> {
        self.version_line
            .map(|v| v.strip_prefix(b"Tor ").unwrap_or(v))
    }
}

/// Collects the entries of a status document. An `r` line opens an entry; the entry lines
/// after it fill it; other keywords inside the entry section are ignored (dir-spec); a
/// `directory-footer` or `directory-signature` ends the section. A bad `r` line skips its
/// entry (with a warning) up to the next `r` line; a bad `w` value is a warning too.
#[derive(Debug)]
pub struct EntrySection<'a> {
    /// The document being tokenized (item offsets point into it).
    data: &'a [u8],
    entries: Vec<Entry<'a>>,
    /// The open entry, its start offset and whether it has had no warning so far.
    current: Option<(Entry<'a>, usize, bool)>,
    active: bool,
}

impl<'a> EntrySection<'a> {
    /// A section of `data`, the slice the caller tokenizes.
    pub fn new(data: &'a [u8]) -> Self {
        EntrySection {
            data,
            entries: Vec::new(),
            current: None,
            active: false,
        }
    }

    /// Offers a line to the section; returns whether it belonged to it (the caller handles
    /// the others: header and footer lines).
    pub fn offer(&mut self, item: &Item<'a>, warnings: &mut Vec<ParseError>) -> bool {
        match item.keyword {
            b"r" => {
                self.active = true;
                self.close_entry(item.offset);
                match parse_r_line(item) {
                    Ok(entry) => self.current = Some((entry, item.offset, true)),
                    Err(e) => warnings.push(e),
                }
                true
            }
            b"directory-footer" | b"directory-signature" => {
                self.close_entry(item.offset);
                self.active = false;
                false
            }
            _ if self.active => {
                if let Some((entry, _, clean)) = self.current.as_mut() {
                    if let Err(e) = apply_entry_line(entry, item) {
                        warnings.push(e);
                        *clean = false;
                    }
                }
                true
            }
            _ => false,
        }
    }

    /// An entry at `offset` that the caller passes over unparsed (its text is known): ends
    /// the open entry there; the section stays open.
    pub fn pass_over(&mut self, offset: usize) {
        self.active = true;
        self.close_entry(offset);
    }

    /// Ends the open entry, whose text runs up to `end`.
    fn close_entry(&mut self, end: usize) {
        if let Some((mut entry, start, clean)) = self.current.take() {
            let text = &self.data[start..end.max(start)];
            if clean && entry_extent(text) == text.len() {
                entry.reusable_text = Some(text);
            }
            self.entries.push(entry);
        }
    }

    /// The entries collected, in document order.
    pub fn finish(mut self) -> Vec<Entry<'a>> {
        self.close_entry(self.data.len());
        self.entries
    }
}

/// The length of the entry whose `r` line starts `data`: up to the next line whose keyword is
/// `r`, `directory-footer` or `directory-signature`, or the end. Found by looking at line
/// starts only, as a caller recognising a known entry without tokenizing it does
/// ([`ends_entries`]).
fn entry_extent(data: &[u8]) -> usize {
    let mut pos = 0;
    while let Some(newline) = memchr::memchr(b'\n', &data[pos..]) {
        pos += newline + 1;
        if ends_entries(&data[pos..]) {
            return pos;
        }
    }
    data.len()
}

/// Whether a line (given from its first byte on) has the keyword `r`, `directory-footer` or
/// `directory-signature`.
pub fn ends_entries(line: &[u8]) -> bool {
    let keyword_is = |keyword: &[u8]| {
        line.starts_with(keyword)
            && matches!(
                line.get(keyword.len()),
                None | Some(b' ' | b'\t' | b'\r' | b'\n')
            )
    };
    match line.first() {
        Some(b'r') => keyword_is(b"r"),
        Some(b'd') => keyword_is(b"directory-footer") || keyword_is(b"directory-signature"),
        _ => false,
    }
}

/// Parses an `r` line: 8 arguments (ns consensus, vote, bridge status) or 7 (microdesc
/// consensus, no descriptor digest).
pub fn parse_r_line<'a>(item: &Item<'a>) -> Result<Entry<'a>, ParseError> {
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
        microdesc_lines: Vec::new(),
        ed25519_id: None,
        stats: None,
        reusable_text: None,
    })
}

/// Applies one line following an `r` line to its entry; unknown keywords are ignored.
pub fn apply_entry_line<'a>(entry: &mut Entry<'a>, item: &Item<'a>) -> Result<(), ParseError> {
    match item.keyword {
        b"a" => entry.or_addresses.push(item.args),
        b"s" => entry.flags = item.fields().collect(),
        b"v" => entry.version_line = Some(item.args),
        b"pr" => entry.protocols = Some(item.args),
        b"p" => entry.policy_summary = Some(item.args),
        // A vote's `m` lines name the consensus methods before the digest.
        b"m" if item.fields().nth(1).is_some() => entry.microdesc_lines.push(item.args),
        b"m" => entry.microdesc_digest = item.fields().next(),
        b"id" => {
            let mut f = item.fields();
            if f.next() == Some(b"ed25519") {
                entry.ed25519_id = f.next();
            }
        }
        b"stats" => entry.stats = Some(item.args),
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

/// A `voting-delay VoteSeconds DistSeconds` line of a consensus or vote; a warning and `None`
/// when it does not hold two numbers.
pub fn voting_delay(item: &Item, warnings: &mut Vec<ParseError>) -> Option<(u32, u32)> {
    let mut f = item
        .fields()
        .map(|v| parse_i64(v).and_then(|n| u32::try_from(n).ok()));
    match (f.next(), f.next()) {
        (Some(Some(a)), Some(Some(b))) => Some((a, b)),
        _ => {
            warnings.push(item.error(ErrorKind::BadValue, "voting-delay needs two numbers"));
            None
        }
    }
}

/// A comma-separated list (`client-versions`, `dirreq-v3-ips`), empty items dropped.
pub fn comma_list(args: &[u8]) -> Vec<&[u8]> {
    fields(args)
        .flat_map(|f| f.split(|&b| b == b','))
        .filter(|v| !v.is_empty())
        .collect()
}

/// `key=int` pairs (params, bandwidth-weights); malformed pairs become warnings.
pub fn key_values<'a>(item: &Item<'a>, warnings: &mut Vec<ParseError>) -> Vec<(&'a [u8], i64)> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::descriptor::tokenizer::Tokenizer;

    fn entries(doc: &[u8]) -> (Vec<Entry<'_>>, Vec<ParseError>) {
        let mut section = EntrySection::new(doc);
        let mut warnings = Vec::new();
        for item in Tokenizer::new(doc, 1) {
            section.offer(&item.unwrap(), &mut warnings);
        }
        (section.finish(), warnings)
    }

    #[test]
    fn vote_entry_lines() {
        // The entry of d2d4 in tor26's vote of 2026-07-27 10:00 (arti testdata-live/authority),
        // `p` line shortened.
        let doc = b"r d2d4 UEheA8o505O9VNMVzrpl5t0P3bk xxT7DJv/98wTdQzlcLcrDR45Izo 2026-07-27 08:39:11 185.129.61.129 443 0\n\
a [2001:67c:89c:666::1]:443\n\
s Exit Fast Running Stable Valid\n\
v Tor 0.5.0.0-alpha-dev\n\
w Bandwidth=10000 Measured=31000\n\
p accept 20-23,43,53\n\
id ed25519 SScEVxrvJIgSd5PQROVA47vXiEZoWmb6PDY0Y7jCHI0\n\
stats wfu=1.000000 tk=29763399 mtbf=29763399\n\
m 32,33,34,35 sha256=mSR+4lUpkjOhKMUQWHdxwJQOQYPb0J1dmWsyw48+Bt0\n\
directory-footer\n";
        let (entries, warnings) = entries(doc);
        assert!(warnings.is_empty());
        let e = &entries[0];
        assert_eq!(e.nickname, b"d2d4");
        assert_eq!(e.measured, Some(31000));
        assert_eq!(e.version(), Some(&b"0.5.0.0-alpha-dev"[..]));
        assert_eq!(
            e.ed25519_id,
            Some(&b"SScEVxrvJIgSd5PQROVA47vXiEZoWmb6PDY0Y7jCHI0"[..])
        );
        assert_eq!(
            e.stats,
            Some(&b"wfu=1.000000 tk=29763399 mtbf=29763399"[..])
        );
        assert_eq!(
            e.microdesc_lines,
            vec![&b"32,33,34,35 sha256=mSR+4lUpkjOhKMUQWHdxwJQOQYPb0J1dmWsyw48+Bt0"[..]]
        );
        assert_eq!(e.microdesc_digest, None);
    }

    #[test]
    fn bad_r_line_skips_its_entry_only() {
        let doc = b"r a AAoQ1DAR6kkoo19hBAX5K0QztNw 2016-09-20 03:08:07 24.6.164.300 9001 0\n\
s Running\n\
r seele AAoQ1DAR6kkoo19hBAX5K0QztNw s0srVZdfi9BwV3A/Wzre2ZES+sM 2016-09-20 03:08:07 24.6.164.192 9001 0\n\
s Running Stable V2Dir Valid\n";
        let (entries, warnings) = entries(doc);
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].flags.len(), 4);
        assert_eq!(warnings.len(), 1);
        assert_eq!(warnings[0].line, 1);
    }
}
