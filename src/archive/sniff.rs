//! Splitting a member into documents and deciding each one's type: the `@type` annotation
//! first, then the document's first keyword, then the file or member name
//! (collector-formats.md §1.4 and §12). Leading `@` annotation lines are dropped; CollecTor's
//! mislabelled exit lists (`@type torperf`, 2016-10..2017-01) are recognised by content.

use crate::descriptor::tokenizer::fields;
use crate::descriptor::{DocType, ErrorKind, ParseError};

/// One document inside a member: its bytes (annotations removed), where it starts, and
/// its type or why none could be given.
#[derive(Debug)]
pub struct RawDocument<'a> {
    pub doc_type: Result<DocType, ParseError>,
    pub bytes: &'a [u8],
    /// Member line number of the document's first line.
    pub first_line: u32,
}

/// Splits `data` into documents. `name` is the member path or file name, used only when
/// neither `@type` nor the first keyword says what a document is.
pub fn split_documents<'a>(data: &'a [u8], name: &str) -> Vec<RawDocument<'a>> {
    // Chunks start at every `@type` line (and at the start of the member).
    let mut starts: Vec<(usize, u32)> = vec![(0, 1)];
    let mut line_no = 1u32;
    let mut pos = 0usize;
    while pos < data.len() {
        if pos > 0 && data[pos..].starts_with(b"@type ") {
            starts.push((pos, line_no));
        }
        match memchr::memchr(b'\n', &data[pos..]) {
            Some(i) => pos += i + 1,
            None => pos = data.len(),
        }
        line_no += 1;
    }
    let mut documents = Vec::new();
    for (i, &(start, first_line)) in starts.iter().enumerate() {
        let end = starts.get(i + 1).map_or(data.len(), |s| s.0);
        split_chunk(&data[start..end], first_line, name, &mut documents);
    }
    documents
}

/// Handles one `@type`-delimited chunk: strips annotations, types it, and splits it further
/// when several documents of a type are concatenated without their own `@type` lines.
fn split_chunk<'a>(chunk: &'a [u8], first_line: u32, name: &str, out: &mut Vec<RawDocument<'a>>) {
    let mut pos = 0;
    let mut line = first_line;
    let mut annotation: Option<(&[u8], u32)> = None;
    // Skip blank lines and `@` annotations, remembering `@type`.
    while pos < chunk.len() {
        let end = memchr::memchr(b'\n', &chunk[pos..]).map_or(chunk.len(), |i| pos + i + 1);
        let text = trim_line(&chunk[pos..end]);
        if text.is_empty() || text[0] == b'@' {
            if let Some(rest) = text.strip_prefix(b"@type ") {
                annotation = Some((rest, line));
            }
            pos = end;
            line += 1;
        } else {
            break;
        }
    }
    let body = &chunk[pos..];
    if body.is_empty() {
        if annotation.is_some() {
            out.push(RawDocument {
                doc_type: Err(ParseError::new(
                    ErrorKind::Truncated,
                    first_line,
                    "@type line without a document",
                )),
                bytes: body,
                first_line: line,
            });
        }
        return;
    }
    let doc_type = match annotation {
        Some((value, at)) => from_annotation(value, at, body),
        None => from_keyword(body)
            .or_else(|| from_name(name))
            .ok_or_else(|| {
                ParseError::new(
                    ErrorKind::Unrecognised,
                    line,
                    format!(
                        "cannot tell the document type (no @type line; first line '{}')",
                        String::from_utf8_lossy(&trim_line(body)[..trim_line(body).len().min(60)])
                    ),
                )
            }),
    };
    match doc_type.as_ref().ok().and_then(|t| t.start_keyword()) {
        Some(keyword) => {
            split_on_keyword(body, line, keyword, doc_type.as_ref().ok().copied(), out)
        }
        None => out.push(RawDocument {
            doc_type,
            bytes: body,
            first_line: line,
        }),
    }
}

/// Splits a body into documents at every line starting with `keyword`.
fn split_on_keyword<'a>(
    body: &'a [u8],
    first_line: u32,
    keyword: &[u8],
    doc_type: Option<DocType>,
    out: &mut Vec<RawDocument<'a>>,
) {
    let doc_type = doc_type.expect("only typed documents are split");
    let mut start = 0;
    let mut start_line = first_line;
    let mut pos = 0;
    let mut line = first_line;
    while pos < body.len() {
        let end = memchr::memchr(b'\n', &body[pos..]).map_or(body.len(), |i| pos + i + 1);
        let is_start = body[pos..].starts_with(keyword)
            || body[pos..].starts_with(&[b"opt ", keyword].concat()[..]);
        if is_start && pos > start {
            out.push(RawDocument {
                doc_type: Ok(doc_type),
                bytes: &body[start..pos],
                first_line: start_line,
            });
            start = pos;
            start_line = line;
        }
        pos = end;
        line += 1;
    }
    out.push(RawDocument {
        doc_type: Ok(doc_type),
        bytes: &body[start..],
        first_line: start_line,
    });
}

fn trim_line(line: &[u8]) -> &[u8] {
    let mut end = line.len();
    while end > 0 && matches!(line[end - 1], b'\n' | b'\r' | b' ' | b'\t') {
        end -= 1;
    }
    &line[..end]
}

/// Interprets `@type <name> <major>.<minor>`.
fn from_annotation(value: &[u8], line: u32, body: &[u8]) -> Result<DocType, ParseError> {
    let mut f = fields(value);
    let name = f.next().unwrap_or_default();
    let version = f.next().unwrap_or_default();
    let shown = String::from_utf8_lossy(value);
    let Some(doc_type) = DocType::from_type_name(name) else {
        return Err(ParseError::new(
            ErrorKind::UnknownType,
            line,
            format!("unknown document type '@type {shown}'"),
        ));
    };
    let major = version
        .split(|&b| b == b'.')
        .next()
        .and_then(crate::descriptor::values::parse_u64)
        .ok_or_else(|| {
            ParseError::new(
                ErrorKind::BadValue,
                line,
                format!("bad @type version in '@type {shown}'"),
            )
        })?;
    if major > doc_type.supported_major() as u64 {
        return Err(ParseError::new(
            ErrorKind::UnsupportedVersion,
            line,
            format!(
                "'@type {shown}' has major version {major}; relaytrail reads {}.x",
                doc_type.supported_major()
            ),
        ));
    }
    // CollecTor published exit lists of 2016-10..2017-01 as `@type torperf 1.0`.
    if doc_type == DocType::Torperf && from_keyword(body) == Some(DocType::ExitList) {
        return Ok(DocType::ExitList);
    }
    // A consensus file can hold a vote or a microdesc consensus whatever its label says;
    // the content decides.
    if matches!(
        doc_type,
        DocType::Consensus | DocType::Vote | DocType::MicrodescConsensus
    ) {
        if let Some(t @ (DocType::Consensus | DocType::Vote | DocType::MicrodescConsensus)) =
            from_keyword(body)
        {
            return Ok(t);
        }
    }
    Ok(doc_type)
}

/// The type implied by the first keyword (and, for status documents, the header).
pub fn from_keyword(body: &[u8]) -> Option<DocType> {
    let first = trim_line(&body[..memchr::memchr(b'\n', body).map_or(body.len(), |i| i + 1)]);
    let first = first.strip_prefix(b"opt ").unwrap_or(first);
    let mut f = fields(first);
    let keyword = f.next()?;
    Some(match keyword {
        b"network-status-version" => match (f.next(), f.next()) {
            (Some(b"3"), flavour) => {
                let head = &body[..body.len().min(4096)];
                let is_vote = memchr::memmem::find(head, b"\nvote-status vote").is_some();
                match (is_vote, flavour) {
                    (true, _) => DocType::Vote,
                    (false, Some(b"microdesc")) => DocType::MicrodescConsensus,
                    _ => DocType::Consensus,
                }
            }
            (Some(b"2"), _) => DocType::NetworkStatusV2,
            _ => return None,
        },
        b"router" => DocType::ServerDescriptor,
        b"extra-info" => DocType::ExtraInfo,
        b"onion-key" => DocType::Microdescriptor,
        b"Downloaded" | b"ExitNode" => DocType::ExitList,
        b"dir-key-certificate-version" => DocType::KeyCertificate,
        b"consensus-digest" => DocType::DetachedSignature,
        b"signed-directory" => DocType::DirectoryV1,
        b"bridge-pool-assignment" => DocType::BridgePoolAssignment,
        b"bandwidth-file-version" => DocType::BandwidthFile,
        b"r" => DocType::StatusEntry,
        _ => return None,
    })
}

/// The type implied by a CollecTor file or member name.
fn from_name(name: &str) -> Option<DocType> {
    let name = name.to_ascii_lowercase();
    let has = |s: &str| name.contains(s);
    Some(
        if has("consensus-microdesc") || has("microdesc-consensus") {
            DocType::MicrodescConsensus
        } else if has("vote") {
            DocType::Vote
        } else if has("consensus") {
            DocType::Consensus
        } else if has("bridge") && has("server-descriptor") {
            DocType::BridgeServerDescriptor
        } else if has("bridge") && has("extra-info") {
            DocType::BridgeExtraInfo
        } else if has("server-descriptor") {
            DocType::ServerDescriptor
        } else if has("extra-info") {
            DocType::ExtraInfo
        } else if has("exit-list") || has("exit-addresses") {
            DocType::ExitList
        } else if has("micro") {
            DocType::Microdescriptor
        } else {
            return None;
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_on_type_lines_and_keeps_line_numbers() {
        let data = b"@type server-descriptor 1.0\nrouter a 1.1.1.1 1 0 0\nx\n@type server-descriptor 1.0\nrouter b 1.1.1.1 1 0 0\n";
        let docs = split_documents(data, "f");
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[1].first_line, 5);
        assert!(docs[1].bytes.starts_with(b"router b"));
        assert_eq!(
            docs[0].doc_type.as_ref().unwrap(),
            &DocType::ServerDescriptor
        );
    }

    #[test]
    fn concatenated_descriptors_without_type_lines_are_split() {
        let data = b"router a 1.1.1.1 1 0 0\nx\nrouter b 1.1.1.1 1 0 0\ny\n";
        let docs = split_documents(data, "cached-descriptors");
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[1].first_line, 3);
    }

    #[test]
    fn higher_major_and_unknown_types_are_errors() {
        let docs = split_documents(
            b"@type server-descriptor 2.0\nrouter a 1.1.1.1 1 0 0\n",
            "f",
        );
        assert_eq!(
            docs[0].doc_type.as_ref().unwrap_err().kind,
            ErrorKind::UnsupportedVersion
        );
        let docs = split_documents(b"@type frobnicator 1.0\nfoo\n", "f");
        assert_eq!(
            docs[0].doc_type.as_ref().unwrap_err().kind,
            ErrorKind::UnknownType
        );
    }

    #[test]
    fn mislabelled_exit_lists_are_recognised() {
        let docs = split_documents(b"@type torperf 1.0\nDownloaded 2016-10-01 00:02:01\n", "f");
        assert_eq!(docs[0].doc_type.as_ref().unwrap(), &DocType::ExitList);
    }
}
