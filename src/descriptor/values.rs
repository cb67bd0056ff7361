//! Value decoders shared by the parsers: timestamps, numbers, ports, addresses, and the
//! base64/hex encodings of fingerprints and digests (collector-formats.md §3).

use super::error::{ErrorKind, ParseError};
use super::tokenizer::Item;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine;

/// Base64 as Tor writes it: padding usually stripped, sometimes present.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Seconds since the Unix epoch of `YYYY-MM-DD` `HH:MM:SS` (UTC), validated field by field
/// and restricted to 1990..2100 so corrupt values cannot pass as times.
pub fn parse_timestamp(date: &[u8], time: &[u8]) -> Option<i64> {
    if date.len() != 10
        || time.len() != 8
        || date[4] != b'-'
        || date[7] != b'-'
        || time[2] != b':'
        || time[5] != b':'
    {
        return None;
    }
    let year = digits(&date[0..4])? as i64;
    let month = digits(&date[5..7])?;
    let day = digits(&date[8..10])?;
    let hour = digits(&time[0..2])?;
    let minute = digits(&time[3..5])?;
    let second = digits(&time[6..8])?;
    if !(1990..2100).contains(&year)
        || !(1..=12).contains(&month)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    if day < 1 || day > days_in_month(year, month) {
        return None;
    }
    Some(days_from_civil(year, month, day) * 86_400 + (hour * 3600 + minute * 60 + second) as i64)
}

fn digits(bytes: &[u8]) -> Option<u32> {
    let mut value = 0u32;
    for &b in bytes {
        if !b.is_ascii_digit() {
            return None;
        }
        value = value * 10 + (b - b'0') as u32;
    }
    Some(value)
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 (Howard Hinnant's algorithm).
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = month as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + day as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// (year, month) of a Unix timestamp, for partitioning.
pub fn year_month(seconds: i64) -> (i32, u32) {
    let (y, m, _) = civil_from_days(seconds.div_euclid(86_400));
    (y as i32, m)
}

/// Inverse of [`days_from_civil`].
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + if month <= 2 { 1 } else { 0 };
    (year, month, day)
}

/// Formats a Unix timestamp as `YYYY-MM-DD HH:MM:SS`.
pub fn format_timestamp(seconds: i64) -> String {
    let (y, m, d) = civil_from_days(seconds.div_euclid(86_400));
    let s = seconds.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        s / 3600,
        s / 60 % 60,
        s % 60
    )
}

/// Parses the two timestamp fields at the start of `item`'s arguments.
pub fn timestamp_arg(item: &Item) -> Result<i64, ParseError> {
    let mut f = item.fields();
    let (date, time) = (f.next(), f.next());
    match (date, time) {
        (Some(d), Some(t)) => parse_timestamp(d, t).ok_or_else(|| {
            item.error(
                ErrorKind::BadTimestamp,
                format!(
                    "bad timestamp '{}' in {}",
                    item.args_text(),
                    text(item.keyword)
                ),
            )
        }),
        _ => Err(item.error(
            ErrorKind::MissingField,
            format!("{} needs a date and a time", text(item.keyword)),
        )),
    }
}

/// Decodes a base64 (padding optional) value of exactly `N` bytes.
pub fn base64_exact<const N: usize>(value: &[u8]) -> Option<[u8; N]> {
    // Decoding into a buffer larger than N detects values that are too long.
    let mut buffer = [0u8; 64];
    if N > 60 || value.len() > 80 {
        return None;
    }
    let n = BASE64.decode_slice(value, &mut buffer).ok()?;
    if n != N {
        return None;
    }
    let mut out = [0u8; N];
    out.copy_from_slice(&buffer[..N]);
    Some(out)
}

/// Decodes arbitrary base64 (padding optional, whitespace and line breaks ignored), as found
/// in object bodies.
pub fn base64_object(body: &[u8]) -> Option<Vec<u8>> {
    let compact: Vec<u8> = body
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    BASE64.decode(compact).ok()
}

/// 40 upper-case hex characters of a 20-byte identity.
pub fn fingerprint_hex(bytes: &[u8]) -> String {
    hex::encode_upper(bytes)
}

/// Normalises a hex fingerprint (upper/lower case, optionally in space-separated groups as in
/// a descriptor's `fingerprint` line) to 40 upper-case hex characters.
pub fn normalise_hex_fingerprint(args: &[u8]) -> Option<String> {
    let compact: Vec<u8> = args
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    if compact.len() != 40 || !compact.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    Some(String::from_utf8(compact).ok()?.to_ascii_uppercase())
}

/// Parses a non-negative decimal integer.
pub fn parse_u64(value: &[u8]) -> Option<u64> {
    if value.is_empty() || value.len() > 20 {
        return None;
    }
    let mut n: u64 = 0;
    for &b in value {
        if !b.is_ascii_digit() {
            return None;
        }
        n = n.checked_mul(10)?.checked_add((b - b'0') as u64)?;
    }
    Some(n)
}

/// Parses a signed decimal integer.
pub fn parse_i64(value: &[u8]) -> Option<i64> {
    match value.strip_prefix(b"-") {
        Some(rest) => parse_u64(rest)
            .and_then(|n| i64::try_from(n).ok())
            .map(|n| -n),
        None => parse_u64(value).and_then(|n| i64::try_from(n).ok()),
    }
}

/// Parses a TCP port (0 allowed: "none").
pub fn parse_port(value: &[u8]) -> Option<u16> {
    parse_u64(value).and_then(|n| u16::try_from(n).ok())
}

/// Validates a dotted-quad IPv4 address and returns it as text.
pub fn parse_ipv4(value: &[u8]) -> Option<String> {
    is_ipv4(value).then(|| text(value))
}

/// Whether `value` is a dotted-quad IPv4 address (no allocation).
pub fn is_ipv4(value: &[u8]) -> bool {
    let mut parts = 0;
    for part in value.split(|&b| b == b'.') {
        parts += 1;
        let valid = !part.is_empty()
            && part.len() <= 3
            && part.iter().all(u8::is_ascii_digit)
            && (part.len() == 1 || part[0] != b'0')
            && digits(part).is_some_and(|n| n <= 255);
        if !valid || parts > 4 {
            return false;
        }
    }
    parts == 4
}

/// Lossy UTF-8 text of a byte slice (free-text fields may hold Latin-1 or garbage).
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_round_trip_and_reject_nonsense() {
        let t = parse_timestamp(b"2016-09-20", b"13:00:00").unwrap();
        assert_eq!(t, 1_474_376_400);
        assert_eq!(format_timestamp(t), "2016-09-20 13:00:00");
        assert_eq!(year_month(t), (2016, 9));
        assert!(parse_timestamp(b"2016-02-30", b"13:00:00").is_none());
        assert!(parse_timestamp(b"2016-09-20", b"24:00:00").is_none());
        assert!(parse_timestamp(b"9999-09-20", b"13:00:00").is_none());
        assert!(parse_timestamp(b"2016-9-20", b"13:00:00").is_none());
        assert_eq!(
            parse_timestamp(b"2000-02-29", b"00:00:00").unwrap(),
            951_782_400
        );
    }

    #[test]
    fn base64_identities_decode_with_or_without_padding() {
        // From the 2017-04-15 consensus: r seele AAoQ1DAR6kkoo19hBAX5K0QztNw …
        let id: [u8; 20] = base64_exact(b"AAoQ1DAR6kkoo19hBAX5K0QztNw").unwrap();
        assert_eq!(
            fingerprint_hex(&id),
            "000A10D43011EA4928A35F610405F92B4433B4DC"
        );
        assert_eq!(
            base64_exact::<20>(b"AAoQ1DAR6kkoo19hBAX5K0QztNw=").unwrap(),
            id
        );
        assert!(base64_exact::<20>(b"AAoQ1DAR6kkoo19hBAX5K0QztNwAAAA").is_none());
        assert!(base64_exact::<20>(b"AAoQ1DAR6kkoo19hBAX5K0Qzt!w").is_none());
    }

    #[test]
    fn numbers_and_addresses() {
        assert_eq!(parse_i64(b"-31081285"), Some(-31_081_285));
        assert_eq!(parse_port(b"65536"), None);
        assert_eq!(parse_port(b"9001"), Some(9001));
        assert_eq!(parse_ipv4(b"10.0.0.256"), None);
        assert_eq!(
            normalise_hex_fingerprint(b"3e2f 63E2 356F 5231 8B53 6A12 B644 5373 808A 5D6C")
                .unwrap(),
            "3E2F63E2356F52318B536A12B6445373808A5D6C"
        );
    }
}
