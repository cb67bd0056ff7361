//! An input file and what the manifest and the error table record about it: its identity
//! (path, SHA-256, size, format: [`InputFile`], [`identify`]), the `imports` row an input
//! starts from ([`base_record`]) and error messages as they are stored ([`clean_message`]).

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};

use crate::archive;
use crate::descriptor::ErrorKind;
use crate::warehouse::schema::{ImportError, ImportRecord};

/// Longest error message kept (a bad value is quoted in the message, and may be megabytes).
const MESSAGE_CHARS: usize = 300;

pub const TOOL_VERSION: &str = concat!("relaytrail ", env!("CARGO_PKG_VERSION"));

/// An input file with its identity.
#[derive(Debug, Clone)]
pub(super) struct InputFile {
    pub(super) path: PathBuf,
    pub(super) display: String,
    pub(super) file_name: String,
    pub(super) sha256: String,
    pub(super) size: u64,
    pub(super) format: archive::Format,
}

/// Hashes an input and sniffs its format.
pub(super) fn identify(path: &Path) -> Result<InputFile, Box<ImportError>> {
    let display = path.display().to_string();
    let fail = |e: std::io::Error| {
        Box::new(ImportError {
            source_sha256: String::new(),
            source_file: display.clone(),
            source_member: None,
            line: 0,
            document_type: None,
            kind: ErrorKind::Io.as_str().to_string(),
            message: clean_message(&format!("cannot read: {e}")),
        })
    };
    let mut file = File::open(path).map_err(fail)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut size = 0u64;
    loop {
        let n = file.read(&mut buf).map_err(fail)?;
        if n == 0 {
            break;
        }
        size += n as u64;
        hasher.update(&buf[..n]);
    }
    let format = archive::format_of(path).map_err(fail)?;
    Ok(InputFile {
        path: path.to_path_buf(),
        file_name: path
            .file_name()
            .map_or_else(|| display.clone(), |n| n.to_string_lossy().into_owned()),
        display,
        sha256: hex::encode(hasher.finalize()),
        size,
        format,
    })
}

/// An error message as stored and printed: control characters (a NUL, a bare CR) escaped,
/// and cut to [`MESSAGE_CHARS`] characters (a quoted value can be a 10 MB line).
pub(super) fn clean_message(message: &str) -> String {
    let mut out = String::new();
    let mut shown = 0;
    for (at, c) in message.char_indices() {
        let escaped = c.escape_default();
        let width = if c.is_control() && c != '\t' {
            escaped.len()
        } else {
            1
        };
        if shown + width > MESSAGE_CHARS {
            out.push_str(&format!("… ({} more bytes)", message.len() - at));
            break;
        }
        if width > 1 {
            out.extend(escaped);
        } else {
            out.push(c);
        }
        shown += width;
    }
    out
}

pub(super) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

pub(super) fn base_record(input: &InputFile, started_ms: i64) -> ImportRecord {
    ImportRecord {
        sha256: input.sha256.clone(),
        path: input.display.clone(),
        file_name: input.file_name.clone(),
        size: input.size as i64,
        format: input.format.as_str().to_string(),
        status: "ok".into(),
        tool_version: TOOL_VERSION.to_string(),
        started_ms,
        finished_ms: started_ms,
        ..ImportRecord::default()
    }
}
