//! The manifest tables: `imports` (one row per input, [`ImportRecord`]) and
//! `import_errors` (one row per rejected document, line or unreadable input,
//! [`ImportError`]).

use std::sync::Arc;

use arrow::array::{
    ArrayBuilder, ArrayRef, Int64Builder, ListBuilder, StringBuilder, TimestampMillisecondBuilder,
    UInt32Builder,
};
use arrow::datatypes::{DataType, SchemaRef};
use arrow::record_batch::RecordBatch;

use super::builder::{cached_schema, field, finish, push_str_list, str_list, ts, BatchBuilder};

// ---------------------------------------------------------------------------------------
// imports (the manifest) and import_errors

pub fn imports_schema() -> SchemaRef {
    cached_schema!(vec![
        field("sha256", DataType::Utf8, false),
        field("path", DataType::Utf8, false),
        field("file_name", DataType::Utf8, false),
        field("size", DataType::Int64, false),
        field("format", DataType::Utf8, false),
        field("status", DataType::Utf8, false),
        field("duplicate_of", DataType::Utf8, true),
        field("members", DataType::Int64, false),
        field("documents_imported", DataType::Int64, false),
        field("documents_skipped", DataType::Int64, false),
        field("documents_rejected", DataType::Int64, false),
        field("document_counts", str_list(), false),
        field("rows", str_list(), false),
        field("errors", DataType::Int64, false),
        field("tool_version", DataType::Utf8, false),
        field("started", ts(), false),
        field("finished", ts(), false),
    ])
}

/// One manifest row.
#[derive(Debug, Clone, Default)]
pub struct ImportRecord {
    pub sha256: String,
    pub path: String,
    pub file_name: String,
    pub size: i64,
    pub format: String,
    /// `ok`, `errors` (imported, some documents or lines rejected), `failed` (the input
    /// could not be read to its end) or `duplicate` (same content as `duplicate_of`).
    pub status: String,
    pub duplicate_of: Option<String>,
    pub members: i64,
    pub documents_imported: i64,
    pub documents_skipped: i64,
    pub documents_rejected: i64,
    /// `type=imported/skipped/rejected` per document type seen, e.g.
    /// `network-status-consensus-3=720/0/0`.
    pub document_counts: Vec<String>,
    /// `dataset=rows` written per dataset.
    pub rows: Vec<String>,
    pub errors: i64,
    pub tool_version: String,
    /// Milliseconds since the epoch.
    pub started_ms: i64,
    pub finished_ms: i64,
}

#[derive(Default)]
pub struct ImportsBuilder {
    rows: Vec<ImportRecord>,
}

impl ImportsBuilder {
    pub fn push(&mut self, record: ImportRecord) {
        self.rows.push(record);
    }
}

impl BatchBuilder for ImportsBuilder {
    fn len(&self) -> usize {
        self.rows.len()
    }
    fn finish(&mut self) -> RecordBatch {
        let rows = std::mem::take(&mut self.rows);
        let strings = |f: &dyn Fn(&ImportRecord) -> Option<&str>| -> ArrayRef {
            let mut b = StringBuilder::new();
            rows.iter().for_each(|r| b.append_option(f(r)));
            Arc::new(b.finish())
        };
        let ints = |f: &dyn Fn(&ImportRecord) -> i64| -> ArrayRef {
            let mut b = Int64Builder::new();
            rows.iter().for_each(|r| b.append_value(f(r)));
            Arc::new(b.finish())
        };
        let lists = |f: &dyn Fn(&ImportRecord) -> &Vec<String>| -> ArrayRef {
            let mut b = ListBuilder::new(StringBuilder::new());
            rows.iter()
                .for_each(|r| push_str_list(&mut b, f(r).iter().map(String::as_str)));
            Arc::new(b.finish())
        };
        let times = |f: &dyn Fn(&ImportRecord) -> i64| -> ArrayRef {
            let mut b = TimestampMillisecondBuilder::new();
            rows.iter().for_each(|r| b.append_value(f(r)));
            Arc::new(b.finish().with_timezone("UTC"))
        };
        finish(
            &imports_schema(),
            vec![
                strings(&|r| Some(&r.sha256)),
                strings(&|r| Some(&r.path)),
                strings(&|r| Some(&r.file_name)),
                ints(&|r| r.size),
                strings(&|r| Some(&r.format)),
                strings(&|r| Some(&r.status)),
                strings(&|r| r.duplicate_of.as_deref()),
                ints(&|r| r.members),
                ints(&|r| r.documents_imported),
                ints(&|r| r.documents_skipped),
                ints(&|r| r.documents_rejected),
                lists(&|r| &r.document_counts),
                lists(&|r| &r.rows),
                ints(&|r| r.errors),
                strings(&|r| Some(&r.tool_version)),
                times(&|r| r.started_ms),
                times(&|r| r.finished_ms),
            ],
        )
    }
}

pub fn import_errors_schema() -> SchemaRef {
    cached_schema!(vec![
        field("source_sha256", DataType::Utf8, false),
        field("source_file", DataType::Utf8, false),
        field("source_member", DataType::Utf8, true),
        field("line", DataType::UInt32, false),
        field("document_type", DataType::Utf8, true),
        field("kind", DataType::Utf8, false),
        field("message", DataType::Utf8, false),
    ])
}

/// One rejected document, line or unreadable piece of input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportError {
    pub source_sha256: String,
    /// The input path as given (messages must name the file).
    pub source_file: String,
    pub source_member: Option<String>,
    /// 1-based line within the member (or plain file); 0 when no line applies.
    pub line: u32,
    pub document_type: Option<String>,
    pub kind: String,
    pub message: String,
}

impl std::fmt::Display for ImportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.source_file)?;
        if let Some(member) = &self.source_member {
            write!(f, ": member {member}")?;
        }
        if self.line > 0 {
            write!(f, ": line {}", self.line)?;
        }
        if let Some(t) = &self.document_type {
            write!(f, ": {t}")?;
        }
        write!(f, ": {} [{}]", self.message, self.kind)
    }
}

#[derive(Default)]
pub struct ImportErrorsBuilder {
    source_sha256: StringBuilder,
    source_file: StringBuilder,
    source_member: StringBuilder,
    line: UInt32Builder,
    document_type: StringBuilder,
    kind: StringBuilder,
    message: StringBuilder,
}

impl ImportErrorsBuilder {
    pub fn push(&mut self, e: &ImportError) {
        self.source_sha256.append_value(&e.source_sha256);
        self.source_file.append_value(&e.source_file);
        self.source_member.append_option(e.source_member.as_deref());
        self.line.append_value(e.line);
        self.document_type.append_option(e.document_type.as_deref());
        self.kind.append_value(&e.kind);
        self.message.append_value(&e.message);
    }
}

impl BatchBuilder for ImportErrorsBuilder {
    fn len(&self) -> usize {
        self.line.len()
    }
    fn finish(&mut self) -> RecordBatch {
        finish(
            &import_errors_schema(),
            vec![
                Arc::new(self.source_sha256.finish()),
                Arc::new(self.source_file.finish()),
                Arc::new(self.source_member.finish()),
                Arc::new(self.line.finish()),
                Arc::new(self.document_type.finish()),
                Arc::new(self.kind.finish()),
                Arc::new(self.message.finish()),
            ],
        )
    }
}
