//! IP address → AS number, AS name and country, from the data files analysts have:
//! iptoasn-style TSV (`ip2asn-v4.tsv`), MaxMind GeoLite2 / DB-IP `.mmdb` (ASN or country
//! databases), and tor's own `geoip` file (country only).
//!
//! Time-aware: several dated snapshots may be given; an address seen at time `t` is resolved
//! with the snapshot whose date is nearest to `t`. A snapshot's date is, in order: an explicit
//! `PATH@YYYY-MM-DD`, the `.mmdb` build time, a `YYYY-MM-DD` / `YYYYMMDD` / `YYYY-MM` in the
//! file name. Undated snapshots are used only when no dated one of the same role exists.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::{bail, Context, Result};

use crate::descriptor::values::days_from_civil;

/// What one snapshot says about an address.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IpInfo {
    pub asn: Option<u32>,
    pub as_name: Option<String>,
    pub country: Option<String>,
}

/// Which lookups a snapshot answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// AS number and name (and country when the file has it).
    Asn,
    /// Country only (tor `geoip`, GeoLite2-Country).
    Country,
}

enum Table {
    /// Sorted, non-overlapping IPv4 ranges `(first, last, info)`.
    Ranges(Vec<(u32, u32, IpInfo)>),
    Mmdb(maxminddb::Reader<Vec<u8>>),
}

/// One data file.
pub struct Snapshot {
    pub path: PathBuf,
    /// Milliseconds since the epoch, when known.
    pub date_ms: Option<i64>,
    pub role: Role,
    table: Table,
}

/// Every snapshot given, with a cache of resolved addresses.
#[derive(Default)]
pub struct Enricher {
    snapshots: Vec<Snapshot>,
    cache: Mutex<HashMap<(String, usize, usize), IpInfo>>,
}

#[derive(serde::Deserialize)]
struct MmdbRecord {
    autonomous_system_number: Option<u32>,
    autonomous_system_organization: Option<String>,
    country: Option<MmdbCountry>,
}

#[derive(serde::Deserialize)]
struct MmdbCountry {
    iso_code: Option<String>,
}

impl Enricher {
    /// Loads AS data files (`asn`) and country files (`geoip`); each argument is `PATH` or
    /// `PATH@YYYY-MM-DD`.
    pub fn load(asn: &[String], geoip: &[String]) -> Result<Self> {
        let mut snapshots = Vec::new();
        for spec in asn {
            snapshots.push(Snapshot::load(spec, Role::Asn)?);
        }
        for spec in geoip {
            snapshots.push(Snapshot::load(spec, Role::Country)?);
        }
        Ok(Enricher {
            snapshots,
            cache: Mutex::new(HashMap::new()),
        })
    }

    pub fn is_empty(&self) -> bool {
        self.snapshots.is_empty()
    }

    pub fn snapshots(&self) -> &[Snapshot] {
        &self.snapshots
    }

    /// The snapshot of `role` nearest to `at_ms`.
    fn nearest(&self, role: Role, at_ms: i64) -> Option<usize> {
        let of_role = || {
            self.snapshots
                .iter()
                .enumerate()
                .filter(move |(_, s)| s.role == role)
        };
        of_role()
            .filter_map(|(i, s)| s.date_ms.map(|d| (i, (d - at_ms).unsigned_abs())))
            .min_by_key(|&(i, distance)| (distance, i))
            .map(|(i, _)| i)
            .or_else(|| of_role().next_back().map(|(i, _)| i))
    }

    /// AS and country of an IPv4 address seen at `at_ms` (empty when unknown or not IPv4).
    pub fn lookup(&self, address: &str, at_ms: i64) -> IpInfo {
        let Ok(ip) = address.parse::<Ipv4Addr>() else {
            return IpInfo::default();
        };
        let asn_snapshot = self.nearest(Role::Asn, at_ms);
        let country_snapshot = self.nearest(Role::Country, at_ms);
        let key = (
            address.to_string(),
            asn_snapshot.unwrap_or(usize::MAX),
            country_snapshot.unwrap_or(usize::MAX),
        );
        if let Some(hit) = self.cache.lock().unwrap().get(&key) {
            return hit.clone();
        }
        let mut info = asn_snapshot
            .map(|i| self.snapshots[i].lookup(ip))
            .unwrap_or_default();
        if let Some(i) = country_snapshot {
            if let Some(country) = self.snapshots[i].lookup(ip).country {
                info.country = Some(country);
            }
        }
        self.cache.lock().unwrap().insert(key, info.clone());
        info
    }
}

impl Snapshot {
    fn load(spec: &str, role: Role) -> Result<Self> {
        let (path, explicit_date) = match spec.rsplit_once('@') {
            Some((p, d)) if parse_date(d).is_some() => (PathBuf::from(p), parse_date(d)),
            _ => (PathBuf::from(spec), None),
        };
        let bytes =
            std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
        let (table, build_date) = if is_mmdb(&bytes) {
            let reader = maxminddb::Reader::from_source(bytes)
                .with_context(|| format!("{}: not a readable MaxMind DB", path.display()))?;
            let built = i64::try_from(reader.metadata().build_epoch)
                .ok()
                .map(|s| s * 1000);
            (Table::Mmdb(reader), built)
        } else {
            let text = String::from_utf8_lossy(&bytes);
            (Table::Ranges(parse_ranges(&path, &text)?), None)
        };
        let name_date = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(date_in_name);
        Ok(Snapshot {
            date_ms: explicit_date.or(build_date).or(name_date),
            path,
            role,
            table,
        })
    }

    fn lookup(&self, ip: Ipv4Addr) -> IpInfo {
        match &self.table {
            Table::Ranges(ranges) => {
                let x = u32::from(ip);
                let i = ranges.partition_point(|r| r.0 <= x);
                match i.checked_sub(1).map(|i| &ranges[i]) {
                    Some((_, last, info)) if x <= *last => info.clone(),
                    _ => IpInfo::default(),
                }
            }
            Table::Mmdb(reader) => {
                let record = reader
                    .lookup(IpAddr::V4(ip))
                    .ok()
                    .and_then(|r| r.decode::<MmdbRecord>().ok().flatten());
                match record {
                    Some(r) => IpInfo {
                        asn: r.autonomous_system_number.filter(|&n| n != 0),
                        as_name: r.autonomous_system_organization,
                        country: r.country.and_then(|c| c.iso_code),
                    },
                    None => IpInfo::default(),
                }
            }
        }
    }
}

fn is_mmdb(bytes: &[u8]) -> bool {
    const MARKER: &[u8] = b"\xab\xcd\xefMaxMind.com";
    let tail = &bytes[bytes.len().saturating_sub(128 * 1024)..];
    memchr::memmem::find(tail, MARKER).is_some()
}

/// Parses iptoasn TSV (`first<TAB>last<TAB>asn<TAB>country<TAB>name`) or tor `geoip`
/// (`INTLOW,INTHIGH,CC`, optionally quoted with more columns). IPv6 rows are skipped (relay
/// addresses in the consensus are IPv4). A malformed row is an error naming file and line.
fn parse_ranges(path: &Path, text: &str) -> Result<Vec<(u32, u32, IpInfo)>> {
    let mut ranges = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let bad =
            |what: &str| anyhow::anyhow!("{}: line {}: {what}: {line:.120}", path.display(), n + 1);
        if line.contains('\t') {
            let fields: Vec<&str> = line.split('\t').collect();
            if fields.len() < 3 {
                return Err(bad(
                    "expected first<TAB>last<TAB>asn[<TAB>country<TAB>name]",
                ));
            }
            if fields[0].contains(':') {
                continue;
            }
            let first = fields[0]
                .parse::<Ipv4Addr>()
                .map_err(|_| bad("bad first address"))?;
            let last = fields[1]
                .parse::<Ipv4Addr>()
                .map_err(|_| bad("bad last address"))?;
            let asn: u32 = fields[2]
                .trim_start_matches("AS")
                .parse()
                .map_err(|_| bad("bad AS number"))?;
            let text_field = |i: usize| {
                fields
                    .get(i)
                    .map(|s| s.trim())
                    .filter(|s| !s.is_empty() && *s != "None" && *s != "Not routed")
                    .map(str::to_string)
            };
            ranges.push((
                u32::from(first),
                u32::from(last),
                IpInfo {
                    asn: (asn != 0).then_some(asn),
                    as_name: if asn == 0 { None } else { text_field(4) },
                    country: text_field(3).filter(|c| c != "ZZ"),
                },
            ));
        } else {
            let fields: Vec<&str> = line
                .split(',')
                .map(|f| f.trim().trim_matches('"'))
                .collect();
            if fields.len() < 3 {
                return Err(bad("expected INTIPLOW,INTIPHIGH,CC"));
            }
            if fields[0].contains(':') {
                continue;
            }
            let first: u32 = fields[0].parse().map_err(|_| bad("bad INTIPLOW"))?;
            let last: u32 = fields[1].parse().map_err(|_| bad("bad INTIPHIGH"))?;
            let country = fields[2].to_string();
            ranges.push((
                first,
                last,
                IpInfo {
                    country: (!country.is_empty() && country != "??").then_some(country),
                    ..IpInfo::default()
                },
            ));
        }
    }
    if ranges.is_empty() {
        bail!("{}: no IPv4 ranges found", path.display());
    }
    ranges.sort_by_key(|r| (r.0, r.1));
    Ok(ranges)
}

/// `YYYY-MM-DD`, `YYYYMMDD` or `YYYY-MM` → milliseconds at midnight UTC.
fn parse_date(s: &str) -> Option<i64> {
    let digits: String = s.chars().filter(|c| c.is_ascii_digit()).collect();
    let ok_shape = match s.len() {
        10 => s.as_bytes()[4] == b'-' && s.as_bytes()[7] == b'-',
        8 => digits.len() == 8,
        7 => s.as_bytes()[4] == b'-',
        _ => false,
    };
    if !ok_shape || digits.len() != s.len() - s.matches('-').count() {
        return None;
    }
    let year: i64 = digits.get(0..4)?.parse().ok()?;
    let month: u32 = digits.get(4..6)?.parse().ok()?;
    let day: u32 = digits.get(6..8).map_or(Some(1), |d| d.parse().ok())?;
    if !(1990..2100).contains(&year) || !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    Some(days_from_civil(year, month, day) * 86_400_000)
}

/// A date somewhere in a file name (`GeoLite2-ASN_20211005`, `ip2asn-v4-2021-10-01.tsv`).
fn date_in_name(name: &str) -> Option<i64> {
    let bytes = name.as_bytes();
    for start in 0..bytes.len() {
        if start > 0 && bytes[start - 1].is_ascii_digit() {
            continue;
        }
        for len in [10, 8, 7] {
            if let Some(candidate) = name.get(start..start + len) {
                let next_is_digit = bytes.get(start + len).is_some_and(u8::is_ascii_digit);
                if !next_is_digit {
                    if let Some(d) = parse_date(candidate) {
                        return Some(d);
                    }
                }
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_in_names() {
        let day = |y, m, d| days_from_civil(y, m, d) * 86_400_000;
        assert_eq!(
            date_in_name("GeoLite2-ASN_20211005.mmdb"),
            Some(day(2021, 10, 5))
        );
        assert_eq!(
            date_in_name("ip2asn-v4-2021-10-01.tsv"),
            Some(day(2021, 10, 1))
        );
        assert_eq!(
            date_in_name("dbip-asn-lite-2020-03.mmdb"),
            Some(day(2020, 3, 1))
        );
        assert_eq!(date_in_name("ip2asn-v4.tsv"), None);
        assert_eq!(date_in_name("geoip"), None);
    }

    #[test]
    fn tsv_and_geoip_ranges_resolve_and_nearest_snapshot_wins() {
        let dir = tempfile::tempdir().unwrap();
        let old = dir.path().join("ip2asn-v4-2019-01-01.tsv");
        std::fs::write(
            &old,
            "1.0.0.0\t1.0.0.255\t13335\tUS\tCLOUDFLARENET\n5.0.0.0\t5.0.0.255\t0\tNone\tNot routed\n",
        )
        .unwrap();
        let new = dir.path().join("ip2asn-v4.tsv");
        std::fs::write(&new, "1.0.0.0\t1.0.0.255\t64500\tDE\tEXAMPLE-NET\n").unwrap();
        let geoip = dir.path().join("geoip");
        std::fs::write(&geoip, "# tor geoip\n16777216,16777471,AU\n").unwrap();
        let enricher = Enricher::load(
            &[
                old.display().to_string(),
                format!("{}@2021-06-01", new.display()),
            ],
            &[geoip.display().to_string()],
        )
        .unwrap();
        let at_2019 = days_from_civil(2019, 3, 1) * 86_400_000;
        let at_2021 = days_from_civil(2021, 7, 1) * 86_400_000;
        let info = enricher.lookup("1.0.0.7", at_2019);
        assert_eq!(info.asn, Some(13335));
        assert_eq!(info.as_name.as_deref(), Some("CLOUDFLARENET"));
        assert_eq!(
            info.country.as_deref(),
            Some("AU"),
            "geoip gives the country"
        );
        assert_eq!(enricher.lookup("1.0.0.7", at_2021).asn, Some(64500));
        assert_eq!(
            enricher.lookup("5.0.0.1", at_2019).asn,
            None,
            "AS 0 = not routed"
        );
        assert_eq!(enricher.lookup("9.9.9.9", at_2019), IpInfo::default());
        assert_eq!(enricher.lookup("not-an-ip", at_2019), IpInfo::default());
    }

    #[test]
    fn a_malformed_row_names_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("asn.tsv");
        std::fs::write(
            &bad,
            "1.0.0.0\t1.0.0.255\t13335\tUS\tX\n1.0.1.0\tnope\t1\tUS\tY\n",
        )
        .unwrap();
        let err = Enricher::load(&[bad.display().to_string()], &[])
            .err()
            .unwrap();
        let text = format!("{err:#}");
        assert!(text.contains("asn.tsv: line 2: bad last address"), "{text}");
    }
}
