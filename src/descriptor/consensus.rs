//! Network-status consensus documents (`network-status-consensus-3`, dir-spec §3.4.1), all
//! eras: method 1 (2007, no `w`/`p`/footer) through method 35 (2026). The microdesc flavour
//! (8-token `r` lines, `m` lines) parses with the same code.

use super::error::{ErrorKind, ParseError, Parsed};
use super::status::{comma_list, ends_entries, key_values, voting_delay, EntrySection};
use super::tokenizer::Tokenizer;
use super::values::{parse_i64, timestamp_arg};

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
    /// The entries parsed, in document order.
    pub entries: Vec<Entry<'a>>,
    /// The entries passed over unparsed because the caller knew their text (see
    /// [`parse_reusing`]): the caller's id and the entry's byte offset in the document.
    /// They are not in `entries`.
    pub known_entries: Vec<(u32, usize)>,
}

/// Parses one consensus document. Entries with a bad `r` line are skipped and reported as
/// warnings; a bad `w` value is a warning that leaves the entry's bandwidth null; a missing or
/// bad header time rejects the document.
pub fn parse(data: &[u8], first_line: u32) -> Result<Parsed<Consensus<'_>>, ParseError> {
    parse_reusing(data, first_line, |_| None)
}

/// An entry text the caller of [`parse_reusing`] knows: the text, an id of the caller's
/// choice, and the number of line ends in the text.
pub struct KnownEntry<'a> {
    pub text: &'a [u8],
    pub id: u32,
    pub lines: u32,
}

/// Like [`parse`], but first offers each entry to `known`, as the rest of the document from
/// its `r` line on. When the caller kept an [`Entry::reusable_text`] from an earlier document
/// that this rest starts with, it returns that text; if the text is followed by the next
/// entry, the footer or the end (so it is this whole entry), the entry is passed over without
/// being parsed and listed in `known_entries`. Hourly consensuses repeat most entries byte
/// for byte, so this skips most of the parsing.
pub fn parse_reusing<'a>(
    data: &'a [u8],
    first_line: u32,
    mut known: impl FnMut(&'a [u8]) -> Option<KnownEntry<'a>>,
) -> Result<Parsed<Consensus<'a>>, ParseError> {
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
        known_entries: Vec::new(),
    };
    let mut valid_after = None;
    let mut saw_version = false;
    let mut entries = EntrySection::new(data);

    let mut tokens = Tokenizer::new(data, first_line);
    while let Some(item) = tokens.next() {
        let item = item?;
        if item.keyword == b"r" {
            if let Some(entry) = known(&data[item.offset..]) {
                let end = item.offset + entry.text.len();
                if end == data.len() || ends_entries(&data[end..]) {
                    entries.pass_over(item.offset);
                    c.known_entries.push((entry.id, item.offset));
                    tokens.resume_at(end, item.line + entry.lines);
                    continue;
                }
            }
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    const DIGEST: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAA 2021-09-30 12:00:00 1.2.3.4 9001 0";

    fn doc(entries: &[&str]) -> Vec<u8> {
        let mut out = String::from(
            "network-status-version 3\nvote-status consensus\nconsensus-method 28\n\
             valid-after 2021-10-01 00:00:00\n",
        );
        for e in entries {
            out.push_str(e);
        }
        out.push_str("directory-footer\nbandwidth-weights Wgg=10000 Wmg=3000\n");
        out.into_bytes()
    }

    fn entry(nickname: &str, identity: &str, rest: &str) -> String {
        format!("r {nickname} {identity} {DIGEST}\ns Fast Running\n{rest}")
    }

    #[test]
    fn known_entries_are_passed_over_and_the_rest_parses_as_before() {
        let a = entry("a", "AAAAAAAAAAAAAAAAAAAAAAAAAAA", "w Bandwidth=10\n");
        let b = entry("b", "BAAAAAAAAAAAAAAAAAAAAAAAAAA", "w Bandwidth=many\n");
        let c = entry("c", "CAAAAAAAAAAAAAAAAAAAAAAAAAA", "w Bandwidth=30\n");
        let first = doc(&[&a, &b, &c]);
        let parsed = parse(&first, 1).unwrap();
        let texts: Vec<Option<&[u8]>> =
            parsed.doc.entries.iter().map(|e| e.reusable_text).collect();
        // An entry with a warning cannot stand for itself elsewhere.
        assert_eq!(texts, [Some(a.as_bytes()), None, Some(c.as_bytes())]);

        // The next hour: `a` goes on past its old text (an `a` line added), `b` and `c`
        // repeat, and a new `d` with a bad weight comes last.
        let a2 = format!("{a}a [2001:db8::1]:9001\n");
        let d = entry("d", "DAAAAAAAAAAAAAAAAAAAAAAAAAA", "w Bandwidth=oops\n");
        let second = doc(&[&a2, &b, &c, &d]);
        let known_texts = [a.as_bytes(), b.as_bytes(), c.as_bytes()];
        let reused = parse_reusing(&second, 1, |rest| {
            let i = known_texts.iter().position(|t| rest.starts_with(t))?;
            Some(KnownEntry {
                text: known_texts[i],
                id: i as u32,
                lines: known_texts[i].iter().filter(|&&b| b == b'\n').count() as u32,
            })
        })
        .unwrap();
        let at = |text: &str| {
            let needle = format!("\n{}", text.lines().next().unwrap());
            let s = String::from_utf8_lossy(&second).into_owned();
            s.find(&needle).unwrap() + 1
        };
        // `a` starts with its old text but goes on, so it is parsed; `b` and `c` are passed over.
        assert_eq!(reused.doc.known_entries, [(1, at(&b)), (2, at(&c))]);
        let nicknames: Vec<&[u8]> = reused.doc.entries.iter().map(|e| e.nickname).collect();
        assert_eq!(nicknames, [&b"a"[..], b"d"]);
        assert_eq!(reused.doc.entries[0].or_addresses, [b"[2001:db8::1]:9001"]);
        assert_eq!(reused.doc.bandwidth_weights.len(), 2);
        // Lines after the passed-over entries keep their numbers: `d`'s warning is reported
        // at the line it has in the document, as a full parse reports it.
        let plain = parse(&second, 1).unwrap();
        let line_of = |wanted: &str| {
            let text = String::from_utf8_lossy(&second).into_owned();
            text.lines().position(|l| l == wanted).unwrap() as u32 + 1
        };
        let lines = |w: &[ParseError]| w.iter().map(|w| w.line).collect::<Vec<_>>();
        assert_eq!(lines(&reused.warnings), [line_of("w Bandwidth=oops")]);
        assert_eq!(
            lines(&plain.warnings),
            [line_of("w Bandwidth=many"), line_of("w Bandwidth=oops")]
        );
    }
}
