//! What every schema file shares: where a row came from ([`Source`]), the column types and
//! fields, appending document bytes as text, hex or lists, finishing a batch against its
//! schema, the [`BatchBuilder`] trait and the `cached_schema!` macro.

use std::sync::Arc;

use arrow::array::{ArrayRef, ListBuilder, StringBuilder};
use arrow::datatypes::{DataType, Field, SchemaRef, TimeUnit};
use arrow::record_batch::RecordBatch;

/// Where a row came from.
#[derive(Debug, Clone, Copy)]
pub struct Source<'a> {
    pub file: &'a str,
    pub member: Option<&'a str>,
}

pub(super) fn ts() -> DataType {
    DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into()))
}

pub(super) fn str_list() -> DataType {
    DataType::List(Arc::new(Field::new("item", DataType::Utf8, true)))
}

pub(super) fn field(name: &str, data_type: DataType, nullable: bool) -> Field {
    Field::new(name, data_type, nullable)
}

/// Seconds since the epoch as the milliseconds of the timestamp columns.
pub fn millis(seconds: i64) -> i64 {
    seconds * 1000
}

/// Appends document bytes as text, decoding lossily only when they are not UTF-8.
pub(super) fn append_text(builder: &mut StringBuilder, bytes: &[u8]) {
    match std::str::from_utf8(bytes) {
        Ok(s) => builder.append_value(s),
        Err(_) => builder.append_value(String::from_utf8_lossy(bytes)),
    }
}

pub(super) fn append_text_opt(builder: &mut StringBuilder, bytes: Option<&[u8]>) {
    match bytes {
        Some(b) => append_text(builder, b),
        None => builder.append_null(),
    }
}

/// Appends 20 bytes as 40 hex characters (upper or lower case) without allocating.
pub(super) fn append_hex(builder: &mut StringBuilder, bytes: &[u8; 20], upper: bool) {
    let mut buf = [0u8; 40];
    hex::encode_to_slice(bytes, &mut buf).expect("40 hex characters");
    if upper {
        buf.make_ascii_uppercase();
    }
    builder.append_value(std::str::from_utf8(&buf).expect("hex is ASCII"));
}

pub(super) fn push_list<'x>(
    builder: &mut ListBuilder<StringBuilder>,
    values: impl IntoIterator<Item = &'x [u8]>,
) {
    for v in values {
        append_text(builder.values(), v);
    }
    builder.append(true);
}

pub(super) fn push_str_list<'x>(
    builder: &mut ListBuilder<StringBuilder>,
    values: impl IntoIterator<Item = &'x str>,
) {
    for v in values {
        builder.values().append_value(v);
    }
    builder.append(true);
}

pub(super) fn finish(schema: &SchemaRef, columns: Vec<ArrayRef>) -> RecordBatch {
    RecordBatch::try_new(schema.clone(), columns)
        .expect("builder columns match the declared schema")
}

/// Something that accumulates rows of one dataset and hands them out as a batch.
pub trait BatchBuilder: Default + Send {
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    fn finish(&mut self) -> RecordBatch;
}

/// A schema function's body: builds the schema once and hands out clones of it.
macro_rules! cached_schema {
    ($fields:expr) => {{
        static SCHEMA: std::sync::OnceLock<arrow::datatypes::SchemaRef> =
            std::sync::OnceLock::new();
        SCHEMA
            .get_or_init(|| std::sync::Arc::new(arrow::datatypes::Schema::new($fields)))
            .clone()
    }};
}
pub(super) use cached_schema;
