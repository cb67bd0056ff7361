//! Zero-copy parsers for Tor directory documents, one file per document type, all built on
//! the shared [`tokenizer`]. Parsers take `&[u8]` (never requiring UTF-8), return structs
//! that borrow from the input, and report problems as [`ParseError`]s carrying the line.
//!
//! The types every parser shares live in files of their own below the parsers: the document
//! types in `doc_type.rs`, the result and error types in `error.rs`. They are re-exported
//! here, so `crate::descriptor::{DocType, ErrorKind, ParseError, Parsed}` stay the paths
//! other modules use.

pub mod bandwidth_file;
pub mod bridge_pool_assignment;
pub mod bridge_status;
pub mod consensus;
pub mod exit_list;
pub mod extra_info;
pub mod microdescriptor;
pub mod server_descriptor;
pub mod status;
pub mod tokenizer;
pub mod values;
pub mod vote;

mod doc_type;
mod error;

pub use doc_type::DocType;
pub use error::{ErrorKind, ParseError, Parsed};
