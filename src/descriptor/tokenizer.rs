//! The one line tokenizer every document parser shares (dir-spec §1.2 meta-format).
//!
//! Splits a document on `\n`, strips a trailing `\r`, drops the historic `opt ` prefix,
//! separates the keyword from its arguments (any run of spaces or tabs), folds a following
//! `-----BEGIN …-----` / `-----END …-----` object into the item, skips blank lines and
//! keeps 1-based line numbers relative to the archive member, so errors can name the line.
//! Bytes are never required to be UTF-8.

use super::error::{ErrorKind, ParseError};

/// One keyword line, with the object that follows it, if any.
#[derive(Debug, Clone, Copy)]
pub struct Item<'a> {
    /// Keyword bytes (`opt ` already removed).
    pub keyword: &'a [u8],
    /// Everything after the keyword and its separating whitespace, without trailing `\r`.
    pub args: &'a [u8],
    /// 1-based line number of the keyword line within the member.
    pub line: u32,
    /// Byte offset of the keyword line's first byte within the tokenized slice.
    pub offset: usize,
    /// The object (`-----BEGIN X-----` … `-----END X-----`) following the line, if any.
    pub object: Option<Object<'a>>,
}

/// A PEM-like object: its label (`RSA PUBLIC KEY`, `SIGNATURE`, …) and the base64 body lines.
#[derive(Debug, Clone, Copy)]
pub struct Object<'a> {
    pub label: &'a [u8],
    pub body: &'a [u8],
}

impl<'a> Item<'a> {
    /// The arguments split on runs of whitespace.
    pub fn fields(&self) -> Fields<'a> {
        fields(self.args)
    }

    /// An error about this line.
    pub fn error(&self, kind: ErrorKind, message: impl Into<String>) -> ParseError {
        ParseError::new(kind, self.line, message)
    }

    /// The arguments as (lossily decoded) text, for messages and free-text columns.
    pub fn args_text(&self) -> String {
        String::from_utf8_lossy(self.args).into_owned()
    }
}

/// Iterator over whitespace-separated fields of a line.
#[derive(Debug, Clone)]
pub struct Fields<'a> {
    rest: &'a [u8],
}

/// Splits `args` on runs of spaces and tabs.
pub fn fields(args: &[u8]) -> Fields<'_> {
    Fields { rest: args }
}

impl<'a> Iterator for Fields<'a> {
    type Item = &'a [u8];
    fn next(&mut self) -> Option<&'a [u8]> {
        let start = self.rest.iter().position(|b| !is_space(*b))?;
        let rest = &self.rest[start..];
        let end = rest.iter().position(|b| is_space(*b)).unwrap_or(rest.len());
        self.rest = &rest[end..];
        Some(&rest[..end])
    }
}

fn is_space(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// Tokenizes a document into [`Item`]s.
pub struct Tokenizer<'a> {
    data: &'a [u8],
    pos: usize,
    /// Line number of the line starting at `pos`.
    line: u32,
}

impl<'a> Tokenizer<'a> {
    /// `first_line` is the member line number of `data`'s first line.
    pub fn new(data: &'a [u8], first_line: u32) -> Self {
        Tokenizer {
            data,
            pos: 0,
            line: first_line,
        }
    }

    /// Continues at byte `offset` (a line start after the current position), numbered `line`:
    /// for a caller that recognised the lines in between without tokenizing them.
    pub fn resume_at(&mut self, offset: usize, line: u32) {
        debug_assert!(offset >= self.pos);
        self.pos = offset.min(self.data.len());
        self.line = line;
    }

    /// Returns the next raw line (without `\n` and trailing `\r`), its number and offset.
    fn next_line(&mut self) -> Option<(&'a [u8], u32, usize)> {
        if self.pos >= self.data.len() {
            return None;
        }
        let start = self.pos;
        let rest = &self.data[start..];
        let (mut line, advance) = match memchr::memchr(b'\n', rest) {
            Some(i) => (&rest[..i], i + 1),
            None => (rest, rest.len()),
        };
        if let Some(stripped) = line.strip_suffix(b"\r") {
            line = stripped;
        }
        self.pos += advance;
        let number = self.line;
        self.line += 1;
        Some((line, number, start))
    }
}

impl<'a> Iterator for Tokenizer<'a> {
    type Item = Result<Item<'a>, ParseError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let (raw, line, offset) = self.next_line()?;
            if raw.iter().all(|b| is_space(*b)) {
                continue;
            }
            if raw.starts_with(b"-----") {
                return Some(Err(ParseError::new(
                    ErrorKind::Malformed,
                    line,
                    "object without a keyword line before it",
                )));
            }
            let (mut keyword, mut args) = split_keyword(raw);
            if keyword == b"opt" {
                (keyword, args) = split_keyword(args);
            }
            let object = if self.data[self.pos..].starts_with(b"-----BEGIN ") {
                match self.read_object() {
                    Ok(object) => Some(object),
                    Err(e) => return Some(Err(e)),
                }
            } else {
                None
            };
            return Some(Ok(Item {
                keyword,
                args,
                line,
                offset,
                object,
            }));
        }
    }
}

impl<'a> Tokenizer<'a> {
    fn read_object(&mut self) -> Result<Object<'a>, ParseError> {
        let (begin, begin_line, _) = self.next_line().expect("caller checked BEGIN");
        let label = begin
            .strip_prefix(b"-----BEGIN ")
            .and_then(|l| l.strip_suffix(b"-----"))
            .ok_or_else(|| {
                ParseError::new(
                    ErrorKind::Malformed,
                    begin_line,
                    "malformed object BEGIN line",
                )
            })?;
        let body_start = self.pos;
        loop {
            let Some((line, _, offset)) = self.next_line() else {
                return Err(ParseError::new(
                    ErrorKind::Truncated,
                    begin_line,
                    format!(
                        "object '{}' has no END line",
                        String::from_utf8_lossy(label)
                    ),
                ));
            };
            if line.starts_with(b"-----END ") {
                return Ok(Object {
                    label,
                    body: &self.data[body_start..offset],
                });
            }
        }
    }
}

/// Splits a line into keyword and arguments at the first run of whitespace.
fn split_keyword(line: &[u8]) -> (&[u8], &[u8]) {
    let start = line
        .iter()
        .position(|b| !is_space(*b))
        .unwrap_or(line.len());
    let line = &line[start..];
    match line.iter().position(|b| is_space(*b)) {
        Some(i) => {
            let rest = &line[i..];
            let skip = rest
                .iter()
                .position(|b| !is_space(*b))
                .unwrap_or(rest.len());
            (&line[..i], &rest[skip..])
        }
        None => (line, &line[line.len()..]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_opt_cr_and_folds_objects() {
        let doc = b"router a 1.2.3.4 9001 0 0\r\n\nopt  fingerprint AAAA BBBB\nsigning-key\n-----BEGIN RSA PUBLIC KEY-----\nQUJD\n-----END RSA PUBLIC KEY-----\nhidden-service-dir\n";
        let items: Vec<_> = Tokenizer::new(doc, 10).map(|i| i.unwrap()).collect();
        assert_eq!(items.len(), 4);
        assert_eq!(items[0].keyword, b"router");
        assert_eq!(items[0].args, b"a 1.2.3.4 9001 0 0");
        assert_eq!(items[1].keyword, b"fingerprint");
        assert_eq!(items[1].line, 12);
        assert_eq!(items[1].fields().count(), 2);
        let object = items[2].object.unwrap();
        assert_eq!(object.label, b"RSA PUBLIC KEY");
        assert_eq!(object.body, b"QUJD\n");
        assert_eq!(items[3].keyword, b"hidden-service-dir");
        assert_eq!(items[3].line, 17);
        assert!(items[3].args.is_empty());
    }

    #[test]
    fn unterminated_object_is_an_error() {
        let doc = b"signing-key\n-----BEGIN RSA PUBLIC KEY-----\nQUJD\n";
        let err = Tokenizer::new(doc, 1).next().unwrap().unwrap_err();
        assert_eq!(err.kind, ErrorKind::Truncated);
        assert_eq!(err.line, 2);
    }
}
