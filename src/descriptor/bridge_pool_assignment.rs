//! BridgeDB pool assignments (`bridge-pool-assignment` 1.0, 2010-09..2014-12;
//! collector-formats.md §11): a `bridge-pool-assignment <date> <time>` line, then one line per
//! bridge: the SHA-1 of its fingerprint (hex), the distribution pool (`unallocated`, `email`,
//! `https`) and `key=value` details (`ring=`, `port=`, `flag=`, `bucket=`).

use super::error::{ErrorKind, ParseError, Parsed};
use super::tokenizer::Tokenizer;
use super::values::{normalise_hex_fingerprint, text, timestamp_arg};

/// One bridge's assignment.
#[derive(Debug, Clone)]
pub struct Assignment<'a> {
    pub line: u32,
    /// The assignment list's time (its `bridge-pool-assignment` line).
    pub published: i64,
    /// Hashed bridge fingerprint, 40 upper-case hex.
    pub fingerprint: String,
    pub pool: &'a [u8],
    /// `key=value` details as written.
    pub details: Vec<&'a [u8]>,
}

/// Parses an assignment list (several lists, each after its header line, parse alike). No
/// header line before the first bridge, or a bad header time, rejects the document; a bad
/// bridge line is skipped with a warning.
pub fn parse(data: &[u8], first_line: u32) -> Result<Parsed<Vec<Assignment<'_>>>, ParseError> {
    let mut warnings = Vec::new();
    let mut assignments = Vec::new();
    let mut published = None;
    for item in Tokenizer::new(data, first_line) {
        let item = item?;
        if item.keyword == b"bridge-pool-assignment" {
            published = Some(timestamp_arg(&item)?);
            continue;
        }
        let Some(published) = published else {
            return Err(item.error(
                ErrorKind::MissingLine,
                "bridge pool assignment does not start with a bridge-pool-assignment line",
            ));
        };
        let Some(fingerprint) = normalise_hex_fingerprint(item.keyword) else {
            warnings.push(item.error(
                ErrorKind::BadValue,
                format!("bad hashed fingerprint '{}'", text(item.keyword)),
            ));
            continue;
        };
        let mut f = item.fields();
        let Some(pool) = f.next() else {
            warnings.push(item.error(ErrorKind::MissingField, "bridge line has no pool"));
            continue;
        };
        assignments.push(Assignment {
            line: item.line,
            published,
            fingerprint,
            pool,
            details: f.collect(),
        });
    }
    if published.is_none() {
        return Err(ParseError::new(
            ErrorKind::MissingLine,
            first_line,
            "bridge pool assignment has no bridge-pool-assignment line",
        ));
    }
    Ok(Parsed {
        doc: assignments,
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The excerpt of the 2011-03-13 list that CollecTor's format page quotes, and a broken
    /// line.
    #[test]
    fn collector_page_excerpt() {
        let doc = b"bridge-pool-assignment 2011-03-13 14:38:03
00b834117566035736fc6bd4ece950eace8e057a unallocated
00e923e7a8d87d28954fee7503e480f3a03ce4ee email port=443 flag=stable
0103bb5b00ad3102b2dbafe9ce709a0a7c1060e4 https ring=2 port=443 flag=stable
0103bb5b00ad3102 https
";
        let parsed = parse(doc, 2).unwrap();
        assert_eq!(parsed.warnings.len(), 1);
        assert_eq!(parsed.warnings[0].line, 6);
        let a = parsed.doc;
        assert_eq!(a.len(), 3);
        assert_eq!(a[0].fingerprint, "00B834117566035736FC6BD4ECE950EACE8E057A");
        assert_eq!(a[0].pool, b"unallocated");
        assert!(a[0].details.is_empty());
        assert_eq!(
            a[2].details,
            vec![&b"ring=2"[..], b"port=443", b"flag=stable"]
        );
        assert_eq!(
            crate::descriptor::values::format_timestamp(a[2].published),
            "2011-03-13 14:38:03"
        );
        assert_eq!(
            parse(b"00b834117566035736fc6bd4ece950eace8e057a email\n", 1)
                .err()
                .unwrap()
                .kind,
            ErrorKind::MissingLine
        );
    }
}
