//! TorDNSEL exit lists (`tordnsel`, CollecTor's `exit-list` archives and
//! check.torproject.org's `exit-addresses`): one `ExitNode` block per exit relay.

use super::error::{ErrorKind, ParseError, Parsed};
use super::tokenizer::{Item, Tokenizer};
use super::values::{normalise_hex_fingerprint, parse_ipv4, parse_timestamp, text, timestamp_arg};

/// A parsed exit list.
#[derive(Debug)]
pub struct ExitList {
    /// `Downloaded` header (CollecTor's fetch time); absent in check.torproject.org copies.
    pub downloaded: Option<i64>,
    pub nodes: Vec<ExitNode>,
}

/// One `ExitNode` block.
#[derive(Debug, Clone)]
pub struct ExitNode {
    pub line: u32,
    pub fingerprint: String,
    pub published: Option<i64>,
    pub last_status: Option<i64>,
    /// (address, time of the test that observed it).
    pub addresses: Vec<(String, i64)>,
}

/// Parses an exit list. A block with a bad `ExitNode` line is skipped with a warning, as is
/// a bad `ExitAddress` line; the rest of the list is kept.
pub fn parse(data: &[u8], first_line: u32) -> Result<Parsed<ExitList>, ParseError> {
    let mut warnings = Vec::new();
    let mut list = ExitList {
        downloaded: None,
        nodes: Vec::new(),
    };
    let mut current: Option<ExitNode> = None;
    let mut in_bad_block = false;
    for item in Tokenizer::new(data, first_line) {
        let item = item?;
        let result = match item.keyword {
            b"Downloaded" => timestamp_arg(&item).map(|t| list.downloaded = Some(t)),
            b"ExitNode" => {
                list.nodes.extend(current.take());
                match item.fields().next().and_then(normalise_hex_fingerprint) {
                    Some(fingerprint) => {
                        in_bad_block = false;
                        current = Some(ExitNode {
                            line: item.line,
                            fingerprint,
                            published: None,
                            last_status: None,
                            addresses: Vec::new(),
                        });
                        Ok(())
                    }
                    None => {
                        in_bad_block = true;
                        Err(item.error(
                            ErrorKind::BadValue,
                            format!("bad ExitNode fingerprint '{}'", item.args_text()),
                        ))
                    }
                }
            }
            b"Published" | b"LastStatus" | b"ExitAddress" => match current.as_mut() {
                Some(node) => apply_node_line(node, &item),
                None if in_bad_block => Ok(()),
                None => Err(item.error(
                    ErrorKind::Malformed,
                    format!("{} before any ExitNode", text(item.keyword)),
                )),
            },
            _ => Ok(()),
        };
        if let Err(e) = result {
            warnings.push(e);
        }
    }
    list.nodes.extend(current.take());
    Ok(Parsed {
        doc: list,
        warnings,
    })
}

fn apply_node_line(node: &mut ExitNode, item: &Item) -> Result<(), ParseError> {
    match item.keyword {
        b"Published" => node.published = Some(timestamp_arg(item)?),
        b"LastStatus" => node.last_status = Some(timestamp_arg(item)?),
        _ => {
            let f: Vec<&[u8]> = item.fields().collect();
            if f.len() < 3 {
                return Err(item.error(
                    ErrorKind::MissingField,
                    "ExitAddress needs an address, a date and a time",
                ));
            }
            let address = parse_ipv4(f[0]).ok_or_else(|| {
                item.error(
                    ErrorKind::BadValue,
                    format!("bad ExitAddress '{}'", text(f[0])),
                )
            })?;
            let time = parse_timestamp(f[1], f[2]).ok_or_else(|| {
                item.error(
                    ErrorKind::BadTimestamp,
                    format!("bad ExitAddress time '{}'", item.args_text()),
                )
            })?;
            node.addresses.push((address, time));
        }
    }
    Ok(())
}
