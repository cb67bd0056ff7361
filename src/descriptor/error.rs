//! What every parser returns: a [`Parsed`] document with its warnings, or a [`ParseError`]
//! of an [`ErrorKind`] carrying the line it refers to.

use std::fmt;

/// What went wrong, as stored in `import_errors.kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ErrorKind {
    /// A required line is absent.
    MissingLine,
    /// A line has too few fields.
    MissingField,
    /// A field has a value that does not parse (number, address, port, hex, base64).
    BadValue,
    /// A timestamp that does not parse or lies outside 1990..2100.
    BadTimestamp,
    /// The document or object ends early.
    Truncated,
    /// Lines that do not follow the meta-format.
    Malformed,
    /// `@type` names a document type relaytrail does not know.
    UnknownType,
    /// `@type` has a higher major version than relaytrail understands.
    UnsupportedVersion,
    /// A document whose type could not be determined at all.
    Unrecognised,
    /// Compression or tar framing is broken.
    Archive,
    /// Reading the input failed.
    Io,
    /// A member or file larger than the importer accepts.
    TooLarge,
}

impl ErrorKind {
    pub fn as_str(self) -> &'static str {
        use ErrorKind::*;
        match self {
            MissingLine => "missing_line",
            MissingField => "missing_field",
            BadValue => "bad_value",
            BadTimestamp => "bad_timestamp",
            Truncated => "truncated",
            Malformed => "malformed",
            UnknownType => "unknown_type",
            UnsupportedVersion => "unsupported_version",
            Unrecognised => "unrecognised",
            Archive => "archive",
            Io => "io",
            TooLarge => "too_large",
        }
    }
}

/// A problem found while parsing, with the member line it refers to (0 = whole input).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub kind: ErrorKind,
    pub line: u32,
    pub message: String,
}

impl ParseError {
    pub fn new(kind: ErrorKind, line: u32, message: impl Into<String>) -> Self {
        ParseError {
            kind,
            line,
            message: message.into(),
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {}: {} ({})",
            self.line,
            self.message,
            self.kind.as_str()
        )
    }
}

impl std::error::Error for ParseError {}

/// Result of parsing one document: the document, plus problems with single lines or
/// entries that were skipped while the rest of the document was kept.
pub struct Parsed<T> {
    pub doc: T,
    pub warnings: Vec<ParseError>,
}
