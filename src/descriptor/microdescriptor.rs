//! Microdescriptors (`microdescriptor`, dir-spec §3.3; collector-formats.md §9): what clients
//! fetch about a relay: keys, family, exit-port summaries and identities. They carry no time
//! and no fingerprint of their own (only `id rsa1024` from consensus method 18): the
//! microdesc consensus's `m` lines link them to relays.

use super::error::{ErrorKind, ParseError, Parsed};
use super::server_descriptor::normalise_family_entry;
use super::tokenizer::Tokenizer;
use super::values::{base64_exact, fingerprint_hex, text};
use sha2::{Digest, Sha256};

/// A parsed microdescriptor.
#[derive(Debug, Clone)]
pub struct Microdescriptor<'a> {
    /// SHA-256 of the document from `onion-key` to its end (annotation lines of a following
    /// document excluded): the `m` line of the microdesc consensus, and CollecTor's file name.
    pub digest: [u8; 32],
    pub ntor_onion_key: Option<&'a [u8]>,
    /// `a` lines (consensus methods 14–27).
    pub or_addresses: Vec<&'a [u8]>,
    /// `family` entries, normalised like server descriptors' (`$HEX`, nicknames as written).
    pub family: Vec<String>,
    /// `family-ids` items as written (`ed25519:<b64>`, 2026+).
    pub family_ids: Vec<&'a [u8]>,
    /// `p` and `p6` exit-port summaries as written (`accept 80,443`).
    pub policy_summary: Option<&'a [u8]>,
    pub policy6_summary: Option<&'a [u8]>,
    /// `id rsa1024 <b64>` as the relay's fingerprint (40 upper-case hex).
    pub rsa1024_id: Option<String>,
    /// `id ed25519 <b64>` as written.
    pub ed25519_id: Option<&'a [u8]>,
}

/// Parses one microdescriptor starting at its `onion-key` line. A bad `id rsa1024` value
/// is a warning.
pub fn parse(data: &[u8], first_line: u32) -> Result<Parsed<Microdescriptor<'_>>, ParseError> {
    let data = without_trailing_annotations(data);
    let mut warnings = Vec::new();
    let mut m = Microdescriptor {
        digest: Sha256::digest(data).into(),
        ntor_onion_key: None,
        or_addresses: Vec::new(),
        family: Vec::new(),
        family_ids: Vec::new(),
        policy_summary: None,
        policy6_summary: None,
        rsa1024_id: None,
        ed25519_id: None,
    };
    let mut items = Tokenizer::new(data, first_line);
    match items.next() {
        Some(item) => {
            let item = item?;
            if item.keyword != b"onion-key" {
                return Err(item.error(
                    ErrorKind::MissingLine,
                    "microdescriptor does not start with an onion-key line",
                ));
            }
        }
        None => {
            return Err(ParseError::new(
                ErrorKind::Truncated,
                first_line,
                "empty microdescriptor",
            ))
        }
    }
    for item in items {
        let item = item?;
        match item.keyword {
            b"ntor-onion-key" => m.ntor_onion_key = item.fields().next(),
            b"a" => m.or_addresses.push(item.args),
            b"family" => m.family = item.fields().map(normalise_family_entry).collect(),
            b"family-ids" => m.family_ids = item.fields().collect(),
            b"p" => m.policy_summary = Some(item.args),
            b"p6" => m.policy6_summary = Some(item.args),
            b"id" => {
                let mut f = item.fields();
                match (f.next(), f.next()) {
                    (Some(b"rsa1024"), Some(id)) => match base64_exact::<20>(id) {
                        Some(bytes) => m.rsa1024_id = Some(fingerprint_hex(&bytes)),
                        None => warnings.push(item.error(
                            ErrorKind::BadValue,
                            format!("id rsa1024: bad identity '{}'", text(id)),
                        )),
                    },
                    (Some(b"ed25519"), Some(key)) => m.ed25519_id = Some(key),
                    _ => {}
                }
            }
            _ => {}
        }
    }
    Ok(Parsed { doc: m, warnings })
}

/// `data` without the `@` annotation lines (`@last-listed`) of a following document that a
/// tor cache file puts before each microdescriptor.
fn without_trailing_annotations(data: &[u8]) -> &[u8] {
    let mut pos = 0;
    while let Some(i) = memchr::memchr(b'\n', &data[pos..]) {
        pos += i + 1;
        if data[pos..].starts_with(b"@") {
            return &data[..pos];
        }
    }
    data
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arti_2026_microdescriptor() {
        // The microdescriptor of d2d4 (arti testdata-live, 2026-07), its `p` lines shortened:
        // the digest is then not the consensus's.
        let doc = b"onion-key
ntor-onion-key 6xXRR08fb9zL1JFuXqdfU1a1s2mzgAai2pSynTuAwng
family $50485E03CA39D393BD54D315CEBA65E6DD0FDDB9 $FAF0A8829E39063669FA609B904E0FB8D5E1F23F
p accept 20-23,43,53
p6 accept 20-23,43
id ed25519 SScEVxrvJIgSd5PQROVA47vXiEZoWmb6PDY0Y7jCHI0
@last-listed 2026-07-27 10:00:00
";
        let parsed = parse(doc, 1).unwrap();
        assert!(parsed.warnings.is_empty());
        let m = parsed.doc;
        assert_eq!(m.family.len(), 2);
        assert_eq!(m.policy6_summary, Some(&b"accept 20-23,43"[..]));
        assert_eq!(
            m.ed25519_id,
            Some(&b"SScEVxrvJIgSd5PQROVA47vXiEZoWmb6PDY0Y7jCHI0"[..])
        );
        let end = doc.len() - b"@last-listed 2026-07-27 10:00:00\n".len();
        assert_eq!(m.digest, <[u8; 32]>::from(Sha256::digest(&doc[..end])));
    }

    #[test]
    fn not_a_microdescriptor() {
        let err = parse(b"router a 1.2.3.4 1 0 0\n", 1).err().unwrap();
        assert_eq!(err.kind, ErrorKind::MissingLine);
    }
}
