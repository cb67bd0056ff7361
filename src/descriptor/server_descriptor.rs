//! Relay server descriptors (`server-descriptor`, dir-spec §2.1.1), 2005 to today: `opt`
//! prefixes, netmask exit policies, negative uptimes, non-UTF-8 contact lines, ed25519 keys,
//! `proto`, `overload-general`, happy-family certificates.

use super::error::{ErrorKind, ParseError, Parsed};
use super::tokenizer::{Item, Tokenizer};
use super::values::{
    base64_exact, base64_object, fingerprint_hex, is_ipv4, normalise_hex_fingerprint, parse_i64,
    parse_port, parse_u64, text, timestamp_arg,
};
use sha1::{Digest, Sha1};
use sha2::Sha256;

/// A parsed server descriptor. Byte slices borrow from the input.
#[derive(Debug, Clone)]
pub struct ServerDescriptor<'a> {
    /// SHA-1 of `router ` through `\nrouter-signature\n` (what consensus `r` lines reference).
    pub digest: [u8; 20],
    /// RSA identity: the `fingerprint` line, or the SHA-1 of the `signing-key` when absent.
    pub fingerprint: String,
    pub nickname: &'a [u8],
    pub address: &'a [u8],
    pub or_port: u16,
    pub socks_port: u16,
    pub dir_port: u16,
    pub published: i64,
    pub platform: Option<&'a [u8]>,
    pub uptime: Option<i64>,
    pub bandwidth_avg: Option<i64>,
    pub bandwidth_burst: Option<i64>,
    pub bandwidth_observed: Option<i64>,
    pub contact: Option<&'a [u8]>,
    /// `family` entries, normalised (see [`normalise_family_entry`]).
    pub family: Vec<String>,
    /// Exit policy rules in order, whitespace-normalised (`accept *:80`).
    pub exit_policy: Vec<String>,
    pub ipv6_policy: Option<&'a [u8]>,
    /// `or-address` values that are IPv6 (`[2001:db8::1]:443`).
    pub ipv6_or_addresses: Vec<&'a [u8]>,
    pub ed25519_master_key: Option<String>,
    pub proto: Option<&'a [u8]>,
    pub hibernating: bool,
    pub hidden_service_dir: bool,
    pub tunnelled_dir_server: bool,
    pub caches_extra_info: bool,
    pub allow_single_hop_exits: bool,
    pub extra_info_digest: Option<String>,
    /// Time of the `overload-general` line (tor 0.4.6+).
    pub overload_general: Option<i64>,
    pub family_certs: u32,
    pub ntor_onion_key: bool,
    pub bridge_distribution_request: Option<&'a [u8]>,
}

impl ServerDescriptor<'_> {
    /// Tor version number and operating system parsed leniently from `platform`:
    /// `Tor 0.2.0.26-rc (r14597) on Linux i686` → (`0.2.0.26-rc`, `Linux i686`).
    /// The version is only given for C tor (`Tor …`), not for other software.
    pub fn version_and_os(&self) -> (Option<String>, Option<String>) {
        let Some(platform) = self.platform else {
            return (None, None);
        };
        let platform = text(platform);
        let (software, os) = match platform.split_once(" on ") {
            Some((software, os)) => (software, Some(os.trim().to_string())),
            None => (platform.as_str(), None),
        };
        let mut words = software.split_whitespace();
        let version = match (words.next(), words.next()) {
            (Some("Tor"), Some(v)) => Some(v.to_string()),
            _ => None,
        };
        (version, os.filter(|o| !o.is_empty()))
    }

    /// A stable hash of the exit policy: the first 16 hex characters of the SHA-256 of the
    /// normalised rules joined with `\n`. Equal policies give equal hashes in every run.
    pub fn exit_policy_hash(&self) -> String {
        let mut h = Sha256::new();
        for (i, rule) in self.exit_policy.iter().enumerate() {
            if i > 0 {
                h.update(b"\n");
            }
            h.update(rule.as_bytes());
        }
        hex::encode(&h.finalize()[..8])
    }
}

/// Parses one server descriptor starting at its `router` line. Sanitized bridge descriptors
/// (`bridge-server-descriptor`) parse alike: their `router-digest` line, the digest of the
/// original descriptor, takes the place of the signature.
pub fn parse(data: &[u8], first_line: u32) -> Result<Parsed<ServerDescriptor<'_>>, ParseError> {
    let mut warnings = Vec::new();
    let mut items = Tokenizer::new(data, first_line);
    let router = match items.next() {
        Some(item) => item?,
        None => {
            return Err(ParseError::new(
                ErrorKind::Truncated,
                first_line,
                "empty server descriptor",
            ))
        }
    };
    if router.keyword != b"router" {
        return Err(router.error(
            ErrorKind::MissingLine,
            "server descriptor does not start with a router line",
        ));
    }
    let f: Vec<&[u8]> = router.fields().collect();
    if f.len() < 5 {
        return Err(router.error(
            ErrorKind::MissingField,
            format!("router line has {} fields, expected 5", f.len()),
        ));
    }
    let bad = |item: &Item, what: &str, value: &[u8]| {
        item.error(ErrorKind::BadValue, format!("bad {what} '{}'", text(value)))
    };
    if !is_ipv4(f[1]) {
        return Err(bad(&router, "router address", f[1]));
    }
    let mut d = ServerDescriptor {
        digest: [0; 20],
        fingerprint: String::new(),
        nickname: f[0],
        address: f[1],
        or_port: parse_port(f[2]).ok_or_else(|| bad(&router, "ORPort", f[2]))?,
        socks_port: parse_port(f[3]).ok_or_else(|| bad(&router, "SOCKSPort", f[3]))?,
        dir_port: parse_port(f[4]).ok_or_else(|| bad(&router, "DirPort", f[4]))?,
        published: 0,
        platform: None,
        uptime: None,
        bandwidth_avg: None,
        bandwidth_burst: None,
        bandwidth_observed: None,
        contact: None,
        family: Vec::new(),
        exit_policy: Vec::new(),
        ipv6_policy: None,
        ipv6_or_addresses: Vec::new(),
        ed25519_master_key: None,
        proto: None,
        hibernating: false,
        hidden_service_dir: false,
        tunnelled_dir_server: false,
        caches_extra_info: false,
        allow_single_hop_exits: false,
        extra_info_digest: None,
        overload_general: None,
        family_certs: 0,
        ntor_onion_key: false,
        bridge_distribution_request: None,
    };
    let mut published = None;
    let mut signing_key = None;
    let mut ed25519_cert = None;
    let mut signature_end = None;
    // Sanitized bridge descriptors have no signature but the original digest.
    let mut router_digest = None;

    for item in items {
        let item = item?;
        match item.keyword {
            b"published" => published = Some(timestamp_arg(&item)?),
            b"fingerprint" => match normalise_hex_fingerprint(item.args) {
                Some(fp) => d.fingerprint = fp,
                None => return Err(bad(&item, "fingerprint", item.args)),
            },
            b"platform" => d.platform = Some(item.args),
            b"contact" => d.contact = Some(item.args),
            b"uptime" => match item.fields().next().and_then(parse_i64) {
                Some(v) => d.uptime = Some(v),
                None => warnings.push(bad(&item, "uptime", item.args)),
            },
            b"bandwidth" => {
                let v: Vec<Option<i64>> = item
                    .fields()
                    .map(|x| parse_u64(x).and_then(|n| i64::try_from(n).ok()))
                    .collect();
                match v.as_slice() {
                    [Some(a), Some(b), Some(o), ..] => {
                        (d.bandwidth_avg, d.bandwidth_burst, d.bandwidth_observed) =
                            (Some(*a), Some(*b), Some(*o))
                    }
                    _ => warnings.push(bad(&item, "bandwidth line", item.args)),
                }
            }
            b"family" => d.family = item.fields().map(normalise_family_entry).collect(),
            b"accept" | b"reject" => {
                let rule: Vec<&[u8]> = std::iter::once(item.keyword).chain(item.fields()).collect();
                d.exit_policy.push(text(&rule.join(&b' ')));
            }
            b"ipv6-policy" => d.ipv6_policy = Some(item.args),
            b"or-address" if item.args.first() == Some(&b'[') => {
                d.ipv6_or_addresses.push(item.args)
            }
            b"master-key-ed25519" => match item.fields().next().and_then(base64_exact::<32>) {
                Some(key) => d.ed25519_master_key = Some(base64_unpadded(&key)),
                None => warnings.push(bad(&item, "master-key-ed25519", item.args)),
            },
            // Decoded only if the document lacks the direct lines (see below).
            b"identity-ed25519" => ed25519_cert = item.object,
            b"signing-key" => signing_key = item.object,
            b"proto" => d.proto = Some(item.args),
            b"hibernating" => d.hibernating = item.fields().next() == Some(b"1"),
            b"hidden-service-dir" => d.hidden_service_dir = true,
            b"tunnelled-dir-server" => d.tunnelled_dir_server = true,
            b"caches-extra-info" => d.caches_extra_info = true,
            b"allow-single-hop-exits" => d.allow_single_hop_exits = true,
            b"ntor-onion-key" => d.ntor_onion_key = true,
            b"family-cert" => d.family_certs += 1,
            b"bridge-distribution-request" => d.bridge_distribution_request = Some(item.args),
            b"extra-info-digest" => match item
                .fields()
                .next()
                .filter(|h| h.len() == 40 && h.iter().all(u8::is_ascii_hexdigit))
            {
                Some(h) => d.extra_info_digest = Some(text(h).to_ascii_lowercase()),
                None => warnings.push(bad(&item, "extra-info-digest", item.args)),
            },
            b"overload-general" => {
                // overload-general <version> <date> <time>
                let mut f = item.fields();
                let _version = f.next();
                match (f.next(), f.next()) {
                    (Some(date), Some(time)) => match super::values::parse_timestamp(date, time) {
                        Some(t) => d.overload_general = Some(t),
                        None => warnings
                            .push(item.error(ErrorKind::BadTimestamp, "bad overload-general time")),
                    },
                    _ => warnings
                        .push(item.error(ErrorKind::MissingField, "overload-general needs a time")),
                }
            }
            b"router-signature" => {
                signature_end = Some(item.offset + line_length(&data[item.offset..]))
            }
            b"router-digest" => {
                let mut digest = [0u8; 20];
                match hex::decode_to_slice(item.fields().next().unwrap_or_default(), &mut digest) {
                    Ok(()) => router_digest = Some(digest),
                    Err(_) => return Err(bad(&item, "router-digest", item.args)),
                }
            }
            _ => {}
        }
    }
    d.published = published.ok_or_else(|| {
        router.error(
            ErrorKind::MissingLine,
            "server descriptor has no published line",
        )
    })?;
    d.digest = match (router_digest, signature_end) {
        (Some(digest), _) => digest,
        (None, Some(end)) => Sha1::digest(&data[router.offset..end]).into(),
        (None, None) => {
            return Err(router.error(
                ErrorKind::Truncated,
                "server descriptor has no router-signature line",
            ))
        }
    };
    if d.fingerprint.is_empty() {
        let identity = signing_key.and_then(|o| base64_object(o.body)).map(|der| {
            let digest: [u8; 20] = Sha1::digest(&der).into();
            fingerprint_hex(&digest)
        });
        d.fingerprint = identity.ok_or_else(|| {
            router.error(
                ErrorKind::MissingLine,
                "server descriptor has neither a fingerprint line nor a signing-key",
            )
        })?;
    }
    if d.ed25519_master_key.is_none() {
        d.ed25519_master_key = ed25519_cert
            .and_then(|o| base64_object(o.body))
            .and_then(|cert| signing_key_of_cert(&cert));
    }
    Ok(Parsed { doc: d, warnings })
}

/// Length of the line at the start of `data`, including its `\n`.
fn line_length(data: &[u8]) -> usize {
    memchr::memchr(b'\n', data).map_or(data.len(), |i| i + 1)
}

fn base64_unpadded(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD_NO_PAD.encode(bytes)
}

/// The ed25519 master key certified by an `identity-ed25519` certificate (cert-spec §2.1:
/// version, type, expiry, key type, certified key, then extensions; extension type 4 holds
/// the signing key, which for this certificate is the master identity key).
fn signing_key_of_cert(cert: &[u8]) -> Option<String> {
    if cert.len() < 40 || cert[0] != 1 {
        return None;
    }
    let n_extensions = cert[39] as usize;
    let mut pos = 40;
    for _ in 0..n_extensions {
        let len = u16::from_be_bytes([*cert.get(pos)?, *cert.get(pos + 1)?]) as usize;
        let ext_type = *cert.get(pos + 2)?;
        let data = cert.get(pos + 4..pos + 4 + len)?;
        if ext_type == 4 && len == 32 {
            return Some(base64_unpadded(data));
        }
        pos += 4 + len;
    }
    None
}

/// Normalises one `family` entry: `$hex`, `$HEX=nick` and `$HEX~nick` become `$HEX` (upper
/// case); nicknames and anything unrecognised are kept as written.
pub fn normalise_family_entry(entry: &[u8]) -> String {
    if let Some(rest) = entry.strip_prefix(b"$") {
        let hex_part = rest
            .split(|&b| b == b'=' || b == b'~')
            .next()
            .unwrap_or(rest);
        if let Some(fp) = normalise_hex_fingerprint(hex_part) {
            return format!("${fp}");
        }
    }
    text(entry)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn family_entries_normalise() {
        assert_eq!(
            normalise_family_entry(b"$abcdefabcdefabcdefabcdefabcdefabcdefabcd~nick"),
            "$ABCDEFABCDEFABCDEFABCDEFABCDEFABCDEFABCD"
        );
        assert_eq!(normalise_family_entry(b"SomeNick"), "SomeNick");
        assert_eq!(normalise_family_entry(b"$XYZ"), "$XYZ");
    }
}
