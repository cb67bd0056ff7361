//! Finding inputs and streaming their members: directories (scanned recursively, symlink
//! loops detected), `.tar.xz`, `.tar.gz`, plain `.tar`, single `.xz`/`.gz` files, and plain
//! descriptor files. Formats are recognised by their magic bytes, not their names. Members
//! are handed out one at a time, so memory stays bounded by the largest member.

pub mod sniff;

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::descriptor::ErrorKind;

/// Largest member (or plain file) the importer reads into memory; real documents are at most
/// a few MB (a vote is ~4 MB).
pub const MAX_MEMBER_BYTES: u64 = 1 << 30;

/// File extensions a directory scan passes over: metadata that lives next to archives.
const NON_DOCUMENT_EXTENSIONS: [&str; 14] = [
    "json", "tsv", "csv", "parquet", "md", "toml", "html", "txt.asc", "asc", "sig", "sha256",
    "mmdb", "py", "ipynb",
];

/// Container format of an input, from its magic bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Xz,
    Gzip,
    Tar,
    Plain,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Xz => "xz",
            Format::Gzip => "gzip",
            Format::Tar => "tar",
            Format::Plain => "plain",
        }
    }
}

/// A problem with an input as a whole (unreadable file, symlink loop) found while scanning.
#[derive(Debug, Clone)]
pub struct ScanProblem {
    pub path: PathBuf,
    pub kind: ErrorKind,
    pub message: String,
}

/// The files named on the command line, with directories expanded, in a stable order.
pub struct Inputs {
    pub files: Vec<PathBuf>,
    pub problems: Vec<ScanProblem>,
    /// Files a directory scan passed over because of their extension.
    pub passed_over: usize,
}

/// Expands `paths` into files. Directories are walked recursively (following symlinks, with
/// loop detection); hidden entries and metadata files (`*.json`, `*.tsv`, …) inside them are
/// passed over. Files named explicitly are always taken.
pub fn discover(paths: &[PathBuf]) -> Inputs {
    let mut inputs = Inputs {
        files: Vec::new(),
        problems: Vec::new(),
        passed_over: 0,
    };
    for path in paths {
        match std::fs::metadata(path) {
            Ok(meta) if meta.is_dir() => walk(path, &mut inputs),
            Ok(meta) if meta.is_file() => inputs.files.push(path.clone()),
            Ok(meta) => inputs.problems.push(not_a_file(path, meta.file_type())),
            Err(e) => inputs.problems.push(ScanProblem {
                path: path.clone(),
                kind: ErrorKind::Io,
                message: format!("cannot read: {e}"),
            }),
        }
    }
    inputs.files.sort();
    inputs.files.dedup();
    // A path named on the command line and found in a scanned folder is reported once.
    inputs.problems.sort_by(|a, b| a.path.cmp(&b.path));
    inputs
        .problems
        .dedup_by(|a, b| a.path == b.path && a.message == b.message);
    inputs
}

fn walk(root: &Path, inputs: &mut Inputs) {
    let walker = walkdir::WalkDir::new(root)
        .follow_links(true)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| {
            e.depth() == 0 || !e.file_name().to_string_lossy().starts_with(['.', '_'])
        });
    for entry in walker {
        match entry {
            Ok(e) if e.file_type().is_file() => {
                let name = e.file_name().to_string_lossy().to_lowercase();
                if NON_DOCUMENT_EXTENSIONS
                    .iter()
                    .any(|ext| name.ends_with(&format!(".{ext}")))
                {
                    inputs.passed_over += 1;
                } else {
                    inputs.files.push(e.into_path());
                }
            }
            Ok(e) if e.file_type().is_dir() => {}
            Ok(e) => inputs.problems.push(not_a_file(e.path(), e.file_type())),
            Err(e) => {
                let path = e
                    .path()
                    .map(Path::to_path_buf)
                    .unwrap_or_else(|| root.to_path_buf());
                let message = match (e.loop_ancestor(), e.io_error()) {
                    (Some(ancestor), _) => format!(
                        "symbolic link loop (leads back to {}); not followed",
                        ancestor.display()
                    ),
                    (None, Some(io)) if io.kind() == io::ErrorKind::NotFound => {
                        match std::fs::read_link(&path) {
                            Ok(target) => format!(
                                "broken symbolic link to {} (no such file)",
                                target.display()
                            ),
                            Err(_) => format!("cannot read: {io}"),
                        }
                    }
                    (None, Some(io)) => format!("cannot read: {io}"),
                    (None, None) => format!("cannot read: {e}"),
                };
                inputs.problems.push(ScanProblem {
                    path,
                    kind: ErrorKind::Io,
                    message,
                });
            }
        }
    }
}

/// A named pipe, socket or device: reading one could block forever or never end.
fn not_a_file(path: &Path, file_type: std::fs::FileType) -> ScanProblem {
    use std::os::unix::fs::FileTypeExt;
    let what = if file_type.is_fifo() {
        "a named pipe"
    } else if file_type.is_socket() {
        "a socket"
    } else if file_type.is_char_device() || file_type.is_block_device() {
        "a device"
    } else {
        "something"
    };
    ScanProblem {
        path: path.to_path_buf(),
        kind: ErrorKind::Io,
        message: format!("{what}, not a regular file; not read"),
    }
}

/// One document-bearing unit: a tar member, or a whole plain file.
#[derive(Debug)]
pub struct Member {
    /// Tar member path; `None` for a plain (or singly compressed) file.
    pub name: Option<String>,
    pub data: Vec<u8>,
}

/// Why reading an input stopped early.
#[derive(Debug, Clone)]
pub struct ReadProblem {
    /// The member being read when it happened, if any.
    pub member: Option<String>,
    pub kind: ErrorKind,
    pub message: String,
}

/// Counts bytes read from the underlying file (for progress bars).
pub struct CountingReader<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Sniffs the container format from the first bytes of a file.
pub fn sniff_format(head: &[u8]) -> Format {
    if head.starts_with(&[0xFD, b'7', b'z', b'X', b'Z', 0x00]) {
        Format::Xz
    } else if head.starts_with(&[0x1F, 0x8B]) {
        Format::Gzip
    } else if is_tar_header(head) {
        Format::Tar
    } else {
        Format::Plain
    }
}

fn is_tar_header(head: &[u8]) -> bool {
    head.len() >= 262 && &head[257..262] == b"ustar"
}

/// Reads the container format of `path`.
pub fn format_of(path: &Path) -> io::Result<Format> {
    let mut head = Vec::with_capacity(512);
    File::open(path)?.take(512).read_to_end(&mut head)?;
    Ok(sniff_format(&head))
}

/// Streams the members of `path` to `on_member`, in archive order. `bytes_read` counts the
/// bytes read from the file. Returns the problem that ended reading early, if any; members
/// delivered before it stay valid. `on_member` returning `false` stops reading.
pub fn read_members(
    path: &Path,
    bytes_read: Arc<AtomicU64>,
    on_member: impl FnMut(Member) -> bool,
) -> Result<(), ReadProblem> {
    let file = File::open(path).map_err(|e| ReadProblem {
        member: None,
        kind: ErrorKind::Io,
        message: format!("cannot open: {e}"),
    })?;
    let counted = CountingReader {
        inner: file,
        count: bytes_read,
    };
    read_members_from(counted, on_member)
}

/// [`read_members`] over any reader (an open file, bytes in memory): sniffs the container
/// format from the first bytes, decompresses, and streams the tar members or the whole
/// decoded input to `on_member`.
pub fn read_members_from<R: Read + Send>(
    input: R,
    mut on_member: impl FnMut(Member) -> bool,
) -> Result<(), ReadProblem> {
    let problem =
        |kind: ErrorKind, member: Option<String>, e: &dyn std::fmt::Display| ReadProblem {
            member,
            kind,
            message: e.to_string(),
        };
    let (head, reader) = read_head(BufReader::with_capacity(1 << 20, input))
        .map_err(|e| problem(ErrorKind::Io, None, &format!("cannot read: {e}")))?;
    let decoded = decoder(sniff_format(&head), reader);
    let (inner_head, mut decoded) =
        read_head(decoded).map_err(|e| problem(ErrorKind::Archive, None, &decode_error(&e)))?;
    if is_tar_header(&inner_head) {
        read_tar(BufReader::with_capacity(1 << 18, decoded), &mut on_member)
    } else {
        let mut data = Vec::new();
        (&mut decoded)
            .take(MAX_MEMBER_BYTES + 1)
            .read_to_end(&mut data)
            .map_err(|e| problem(ErrorKind::Archive, None, &decode_error(&e)))?;
        if data.len() as u64 > MAX_MEMBER_BYTES {
            return Err(problem(
                ErrorKind::TooLarge,
                None,
                &format!("file is larger than {MAX_MEMBER_BYTES} bytes"),
            ));
        }
        on_member(Member { name: None, data });
        Ok(())
    }
}

/// Decompresses `path` to nowhere and returns the number of decompressed bytes: the
/// decode-only baseline the import benchmark compares against.
pub fn decode_only(path: &Path) -> io::Result<u64> {
    let (head, reader) = read_head(BufReader::with_capacity(1 << 20, File::open(path)?))?;
    let mut decoded = decoder(sniff_format(&head), reader);
    io::copy(&mut decoded, &mut io::sink())
}

/// The decompressing reader for a container format.
fn decoder<'a, R: Read + Send + 'a>(format: Format, reader: R) -> Box<dyn Read + Send + 'a> {
    match format {
        Format::Xz => Box::new(xz_decoder(BufReader::new(reader))),
        Format::Gzip => Box::new(flate2::read::MultiGzDecoder::new(reader)),
        Format::Tar | Format::Plain => Box::new(reader),
    }
}

/// A single-threaded xz decoder (CollecTor tarballs are single-block; parallelism comes from
/// decoding several inputs at once). Concatenated streams are accepted.
fn xz_decoder<R: io::BufRead>(reader: R) -> liblzma::bufread::XzDecoder<R> {
    let stream =
        liblzma::stream::Stream::new_stream_decoder(u64::MAX, liblzma::stream::CONCATENATED)
            .expect("liblzma decoder initialises");
    liblzma::bufread::XzDecoder::new_stream(reader, stream)
}

fn decode_error(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::UnexpectedEof => "compressed data ends early (truncated file?)".to_string(),
        _ => format!("cannot decompress: {e}"),
    }
}

/// Reads up to 512 bytes for sniffing and gives back a reader that still yields them.
type Rechained<R> = io::Chain<io::Cursor<Vec<u8>>, R>;

fn read_head<R: Read>(mut reader: R) -> io::Result<(Vec<u8>, Rechained<R>)> {
    let mut head = Vec::with_capacity(512);
    (&mut reader).take(512).read_to_end(&mut head)?;
    Ok((head.clone(), io::Cursor::new(head).chain(reader)))
}

fn read_tar<R: Read>(
    reader: R,
    on_member: &mut impl FnMut(Member) -> bool,
) -> Result<(), ReadProblem> {
    let mut archive = tar::Archive::new(reader);
    let entries = archive.entries().map_err(|e| ReadProblem {
        member: None,
        kind: ErrorKind::Archive,
        message: format!("broken tar archive: {}", decode_error(&e)),
    })?;
    let mut last_member: Option<String> = None;
    for entry in entries {
        let mut entry = entry.map_err(|e| ReadProblem {
            member: None,
            kind: ErrorKind::Archive,
            message: match &last_member {
                Some(m) => format!("broken tar header after member {m}: {}", decode_error(&e)),
                None => format!("broken tar header: {}", decode_error(&e)),
            },
        })?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let size = entry.header().size().unwrap_or(0);
        if size > MAX_MEMBER_BYTES {
            return Err(ReadProblem {
                member: Some(name),
                kind: ErrorKind::TooLarge,
                message: format!(
                    "member is {size} bytes, more than the {MAX_MEMBER_BYTES} accepted"
                ),
            });
        }
        let mut data = Vec::with_capacity(size as usize);
        if let Err(e) = entry.read_to_end(&mut data) {
            return Err(ReadProblem {
                member: Some(name),
                kind: ErrorKind::Archive,
                message: format!("member cut short: {}", decode_error(&e)),
            });
        }
        // A plain tar that ends early gives a short member without an error.
        if (data.len() as u64) < size {
            return Err(ReadProblem {
                member: Some(name),
                kind: ErrorKind::Archive,
                message: format!(
                    "member cut short: {} of its {size} bytes (truncated file?)",
                    data.len()
                ),
            });
        }
        last_member = Some(name.clone());
        if !on_member(Member {
            name: Some(name),
            data,
        }) {
            return Ok(());
        }
    }
    // Read the compressed stream to its end, past the tar's end-of-archive blocks: only there
    // do xz and gzip check their checksums, and a file cut after the last member shows.
    io::copy(&mut archive.into_inner(), &mut io::sink()).map_err(|e| ReadProblem {
        member: None,
        kind: ErrorKind::Archive,
        message: match &last_member {
            Some(m) => format!("after the last member ({m}): {}", decode_error(&e)),
            None => format!("after the end of the tar archive: {}", decode_error(&e)),
        },
    })?;
    Ok(())
}
