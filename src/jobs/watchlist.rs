//! Watchlists: relay lists as researchers publish them (one fingerprint a line, CSV/TSV with a
//! `fingerprint` column, the pipe-drawn tables of `mysql`/`psql`, Onionoo details JSON), read
//! into the `watchlists` dataset with every line accounted for (`watchlist_notes`), and the
//! derived `watchlist_presence` (per list and consensus: relays present and their
//! probabilities) and `watchlist_relays` (per listed relay: when it was seen, the removal
//! events it left in, the actor holding it).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use polars::prelude::*;

use super::columns::{datetime_column, string_list_column};
use super::columns::{strings, times};
use super::io::{scan_dataset, write_parquet};

/// One listed relay.
#[derive(Debug, Clone, PartialEq)]
pub struct Listed {
    pub fingerprint: String,
    /// 1-based line of the file (0 for JSON).
    pub line: u32,
    /// The list's own columns for this relay (`name`, value), NULL and empty cells left out.
    pub columns: Vec<(String, String)>,
}

/// A line that is not a listed relay, and what it is.
#[derive(Debug, Clone, PartialEq)]
pub struct Note {
    pub line: u32,
    /// `description` (free text before the data, kept as the description), `text` (free text
    /// after it, also kept), `comment`, `not_a_fingerprint`, `duplicate`.
    pub kind: &'static str,
    pub text: String,
}

/// A parsed list.
#[derive(Debug, Clone, Default)]
pub struct Parsed {
    pub relays: Vec<Listed>,
    pub description: Vec<String>,
    pub notes: Vec<Note>,
}

/// A fingerprint as lists write it: `$` prefix, lower case, spaces between groups of four,
/// `=nickname` / `~nickname` suffixes. Upper-case hex, or None.
pub fn normalise_fingerprint(text: &str) -> Option<String> {
    let text = text.trim().trim_matches('"').trim();
    let text = text.strip_prefix('$').unwrap_or(text);
    let text = text.split(['=', '~']).next().unwrap_or("");
    let hex: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    (hex.len() == 40 && hex.chars().all(|c| c.is_ascii_hexdigit()))
        .then(|| hex.to_ascii_uppercase())
}

/// A table border or header separator (`+----+----+`, `-----+-----`, `|---|---|`).
fn is_rule(line: &str) -> bool {
    let t = line.trim();
    t.len() >= 3
        && t.contains('-')
        && t.chars()
            .all(|c| matches!(c, '-' | '+' | '|' | '=' | ':' | ' '))
}

/// The cells of a pipe-drawn row.
fn pipe_cells(line: &str) -> Vec<String> {
    let t = line.trim();
    let t = t.strip_prefix('|').unwrap_or(t);
    let t = t.strip_suffix('|').unwrap_or(t);
    t.split('|').map(|c| c.trim().to_string()).collect()
}

/// The cells of a delimited row (double quotes around a cell allowed, `""` inside).
fn delimited_cells(line: &str, delimiter: char) -> Vec<String> {
    let mut cells = Vec::new();
    let mut cell = String::new();
    let mut quoted = false;
    let mut chars = line.trim_end_matches(['\r', '\n']).chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                cell.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            c if c == delimiter && !quoted => {
                cells.push(std::mem::take(&mut cell).trim().to_string())
            }
            c => cell.push(c),
        }
    }
    cells.push(cell.trim().to_string());
    cells
}

/// Whether a header cell names the fingerprint column.
fn names_fingerprint(cell: &str) -> bool {
    let c = cell.to_ascii_lowercase();
    c.contains("fingerprint") || matches!(c.trim(), "fpr" | "fp" | "id" | "relay")
}

/// A table being read: its header and which column holds the fingerprint.
struct Table {
    header: Vec<String>,
    fingerprint: Option<usize>,
}

/// Reads a list. A file with no fingerprint at all is an error.
pub fn parse(bytes: &[u8], file: &str) -> Result<Parsed> {
    let text = String::from_utf8_lossy(bytes);
    let parsed = if text.trim_start().starts_with('{') {
        parse_json(&text, file)?
    } else {
        parse_text(&text)
    };
    if parsed.relays.is_empty() {
        bail!(
            "{file}: no relay fingerprint found (expected 40 hex characters a line, a CSV/TSV \
             or pipe-drawn table with a fingerprint column, or Onionoo details JSON)"
        );
    }
    Ok(parsed)
}

fn parse_json(text: &str, file: &str) -> Result<Parsed> {
    let json: serde_json::Value =
        serde_json::from_str(text).with_context(|| format!("{file}: not valid JSON"))?;
    let relays = json
        .get("relays")
        .and_then(|r| r.as_array())
        .with_context(|| format!("{file}: JSON without a `relays` array (Onionoo details)"))?;
    let mut parsed = Parsed::default();
    for key in ["relays_published", "version", "build_revision"] {
        if let Some(v) = json.get(key).and_then(|v| v.as_str()) {
            parsed.description.push(format!("{key}: {v}"));
        }
    }
    let mut seen = BTreeSet::new();
    for (k, relay) in relays.iter().enumerate() {
        let raw = relay
            .get("fingerprint")
            .and_then(|f| f.as_str())
            .unwrap_or("");
        let Some(fingerprint) = normalise_fingerprint(raw) else {
            parsed.notes.push(Note {
                line: 0,
                kind: "not_a_fingerprint",
                text: format!(
                    "relays[{k}]: {}",
                    relay
                        .get("fingerprint")
                        .map_or("missing".into(), |f| f.to_string())
                ),
            });
            continue;
        };
        if !seen.insert(fingerprint.clone()) {
            parsed.notes.push(Note {
                line: 0,
                kind: "duplicate",
                text: format!("relays[{k}]: {fingerprint}"),
            });
            continue;
        }
        let mut columns = Vec::new();
        if let Some(object) = relay.as_object() {
            for (key, value) in object {
                let text = match value {
                    serde_json::Value::String(s) => s.clone(),
                    serde_json::Value::Number(n) => n.to_string(),
                    serde_json::Value::Bool(b) => b.to_string(),
                    serde_json::Value::Array(items) => items
                        .iter()
                        .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_string))
                        .collect::<Vec<_>>()
                        .join(" "),
                    _ => continue,
                };
                if key != "fingerprint" && !text.is_empty() {
                    columns.push((key.clone(), text));
                }
            }
        }
        parsed.relays.push(Listed {
            fingerprint,
            line: 0,
            columns,
        });
    }
    Ok(parsed)
}

fn parse_text(text: &str) -> Parsed {
    let mut parsed = Parsed::default();
    let mut seen: HashMap<String, u32> = HashMap::new();
    let mut table: Option<Table> = None;
    // A CSV/TSV header: its delimiter and table.
    let mut delimited: Option<(char, Table)> = None;
    let mut data_started = false;
    for (index, raw) in text.lines().enumerate() {
        let line = index as u32 + 1;
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            table = None;
            continue;
        }
        if is_rule(trimmed) {
            continue;
        }
        // Pipe-drawn tables.
        if trimmed.contains('|') {
            let cells = pipe_cells(trimmed);
            if table.is_none() {
                let fingerprint_cell = cells
                    .iter()
                    .position(|c| normalise_fingerprint(c).is_some());
                if let Some(k) = fingerprint_cell {
                    // A table without a header row.
                    table = Some(Table {
                        header: (1..=cells.len()).map(|i| format!("column_{i}")).collect(),
                        fingerprint: Some(k),
                    });
                } else {
                    let fingerprint = cells.iter().position(|c| names_fingerprint(c));
                    if let Some(k) = fingerprint {
                        if cells.len() == 1 || cells[k].contains(' ') {
                            // A header that is a sentence says what the list is.
                            parsed.description.push(cells[k].clone());
                        }
                    }
                    table = Some(Table {
                        header: cells,
                        fingerprint,
                    });
                    continue;
                }
            }
            let t = table.as_mut().expect("table");
            let k = match t.fingerprint {
                Some(k) => k,
                None => {
                    // No column is named after fingerprints: the first holding one.
                    match cells
                        .iter()
                        .position(|c| normalise_fingerprint(c).is_some())
                    {
                        Some(k) => {
                            t.fingerprint = Some(k);
                            k
                        }
                        None => {
                            parsed.notes.push(Note {
                                line,
                                kind: "not_a_fingerprint",
                                text: trimmed.to_string(),
                            });
                            continue;
                        }
                    }
                }
            };
            data_started = true;
            add_row(&mut parsed, &mut seen, &t.header, &cells, k, line, trimmed);
            continue;
        }
        // CSV / TSV: a header row naming a fingerprint column, then rows.
        if delimited.is_none() {
            for delimiter in ['\t', ',', ';'] {
                if trimmed.contains(delimiter) {
                    let cells = delimited_cells(trimmed, delimiter);
                    if let Some(k) = cells.iter().position(|c| names_fingerprint(c)) {
                        delimited = Some((
                            delimiter,
                            Table {
                                header: cells,
                                fingerprint: Some(k),
                            },
                        ));
                        break;
                    }
                }
            }
            if delimited.is_some() {
                continue;
            }
        } else if let Some((delimiter, t)) = &delimited {
            if trimmed.contains(*delimiter) || normalise_fingerprint(trimmed).is_some() {
                let cells = delimited_cells(trimmed, *delimiter);
                let k = t.fingerprint.expect("header names it");
                data_started = true;
                add_row(&mut parsed, &mut seen, &t.header, &cells, k, line, trimmed);
                continue;
            }
        }
        // One fingerprint a line, with comments.
        let (content, comment) = match trimmed.split_once('#') {
            Some((c, rest)) => (c.trim(), Some(rest.trim())),
            None => (trimmed, None),
        };
        if content.is_empty() {
            let text = comment.unwrap_or("").to_string();
            if data_started {
                parsed.notes.push(Note {
                    line,
                    kind: "comment",
                    text,
                });
            } else if !text.is_empty() {
                parsed.description.push(text.clone());
                parsed.notes.push(Note {
                    line,
                    kind: "description",
                    text,
                });
            }
            continue;
        }
        // The first word, or the whole line (fingerprints written in groups of four).
        let first = content.split_whitespace().next().unwrap_or("");
        let fingerprint = normalise_fingerprint(content).or_else(|| normalise_fingerprint(first));
        match fingerprint {
            Some(fp) => {
                data_started = true;
                let rest = content[first.len()..].trim();
                let mut columns = Vec::new();
                if normalise_fingerprint(first).is_some() && !rest.is_empty() {
                    columns.push(("text".to_string(), rest.to_string()));
                }
                if let Some(c) = comment.filter(|c| !c.is_empty()) {
                    columns.push(("comment".to_string(), c.to_string()));
                }
                add_listed(&mut parsed, &mut seen, fp, line, columns);
            }
            None if !data_started && looks_like_prose(content) => {
                parsed.description.push(trimmed.to_string());
                parsed.notes.push(Note {
                    line,
                    kind: "description",
                    text: trimmed.to_string(),
                });
            }
            None if looks_like_prose(content) => {
                parsed.description.push(trimmed.to_string());
                parsed.notes.push(Note {
                    line,
                    kind: "text",
                    text: trimmed.to_string(),
                });
            }
            None => parsed.notes.push(Note {
                line,
                kind: "not_a_fingerprint",
                text: trimmed.to_string(),
            }),
        }
    }
    parsed
}

/// Adds a listed relay, or a `duplicate` note when the list named it before.
fn add_listed(
    parsed: &mut Parsed,
    seen: &mut HashMap<String, u32>,
    fingerprint: String,
    line: u32,
    columns: Vec<(String, String)>,
) {
    match seen.get(&fingerprint) {
        Some(first) => parsed.notes.push(Note {
            line,
            kind: "duplicate",
            text: format!("{fingerprint} (first listed at line {first})"),
        }),
        None => {
            seen.insert(fingerprint.clone(), line);
            parsed.relays.push(Listed {
                fingerprint,
                line,
                columns,
            });
        }
    }
}

/// A table row: its fingerprint cell (column `k`) with the other cells as the list's own
/// columns (NULL and empty cells left out), or a note when that cell is no fingerprint.
fn add_row(
    parsed: &mut Parsed,
    seen: &mut HashMap<String, u32>,
    header: &[String],
    cells: &[String],
    k: usize,
    line: u32,
    text: &str,
) {
    match cells.get(k).and_then(|c| normalise_fingerprint(c)) {
        Some(fp) => {
            let columns = header
                .iter()
                .zip(cells)
                .enumerate()
                .filter(|(i, (_, v))| *i != k && !v.is_empty() && !v.eq_ignore_ascii_case("null"))
                .map(|(_, (h, v))| (h.clone(), v.clone()))
                .collect();
            add_listed(parsed, seen, fp, line, columns);
        }
        None => parsed.notes.push(Note {
            line,
            kind: "not_a_fingerprint",
            text: text.to_string(),
        }),
    }
}

/// Free text (a sentence), as opposed to a mangled fingerprint: several words, not one token
/// of hex-like characters.
fn looks_like_prose(text: &str) -> bool {
    let words = text.split_whitespace().count();
    let hexish = text
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '$')
        .all(|c| c.is_ascii_hexdigit());
    words >= 3 && !hexish
}

impl Parsed {
    /// What a reader of the file should hear: each line that is not a listed relay (up to
    /// `shown`, then counts), and one summary line.
    pub fn report(&self, file: &str, name: &str, shown: usize) -> Vec<String> {
        let mut lines = Vec::new();
        // Duplicates (a list that repeats a table) are summed up in one line.
        let noteworthy: Vec<&Note> = self
            .notes
            .iter()
            .filter(|n| n.kind != "description" && n.kind != "duplicate")
            .collect();
        let duplicates: Vec<u32> = self
            .notes
            .iter()
            .filter(|n| n.kind == "duplicate")
            .map(|n| n.line)
            .collect();
        if let (Some(first), Some(last)) = (duplicates.first(), duplicates.last()) {
            lines.push(format!(
                "{file}:{first}: {} fingerprint(s) listed again (lines {first}-{last}), each kept once",
                duplicates.len()
            ));
        }
        for n in noteworthy.iter().take(shown) {
            let line = if n.line > 0 {
                format!(":{}", n.line)
            } else {
                String::new()
            };
            lines.push(format!(
                "{file}{line}: {}: {}",
                n.kind.replace('_', " "),
                n.text
            ));
        }
        if noteworthy.len() > shown {
            lines.push(format!(
                "{file}: … and {} more such lines (all in the watchlist_notes dataset)",
                noteworthy.len() - shown
            ));
        }
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for n in &self.notes {
            *counts.entry(n.kind).or_default() += 1;
        }
        let counted: Vec<String> = counts
            .iter()
            .map(|(k, c)| format!("{c} {}", k.replace('_', " ")))
            .collect();
        lines.push(format!(
            "watchlist {name}: {} relays from {file}{}",
            self.relays.len(),
            if counted.is_empty() {
                String::new()
            } else {
                format!(" (other lines: {})", counted.join(", "))
            }
        ));
        lines
    }
}

/// One list as stored.
#[derive(Debug, Clone)]
pub struct StoredList {
    pub name: String,
    pub sha256: String,
    pub source_file: String,
    pub added_at: i64,
    pub fingerprints: Vec<String>,
    pub description: String,
}

/// What `add` did.
#[derive(Debug)]
pub enum Added {
    New,
    Replaced,
    Unchanged,
}

/// The default name of a list: its file name without the extension.
pub fn default_name(file: &Path) -> String {
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() && ext.len() <= 4 => stem.to_string(),
        _ => name,
    }
}

fn lists_path(root: &Path) -> PathBuf {
    root.join("watchlists").join("part-0.parquet")
}

fn notes_path(root: &Path) -> PathBuf {
    root.join("watchlist_notes").join("part-0.parquet")
}

fn read_optional(path: &Path) -> Result<Option<DataFrame>> {
    if !path.is_file() {
        return Ok(None);
    }
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    Ok(Some(
        ParquetReader::new(file)
            .finish()
            .map_err(anyhow::Error::from)
            .with_context(|| format!("cannot read {}", path.display()))?,
    ))
}

/// Adds (or replaces) the list `name` read from `file`. Returns what happened and the parse.
pub fn add(root: &Path, file: &Path, name: Option<&str>) -> Result<(Added, String, Parsed)> {
    use sha2::Digest;
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let name = name.map_or_else(|| default_name(file), str::to_string);
    if name.is_empty() {
        bail!("{}: give the list a --name", file.display());
    }
    let parsed = parse(&bytes, &file.display().to_string())?;
    let sha256 = hex::encode(sha2::Sha256::digest(&bytes));
    let existing = read_optional(&lists_path(root))?;
    let mut replaced = false;
    let mut kept = None;
    if let Some(frame) = &existing {
        let names = strings(frame, "name")?;
        let hashes = strings(frame, "sha256")?;
        if names
            .iter()
            .zip(&hashes)
            .any(|(n, h)| n.as_deref() == Some(&name) && h.as_deref() == Some(&sha256))
        {
            return Ok((Added::Unchanged, name, parsed));
        }
        replaced = names.iter().any(|n| n.as_deref() == Some(&name));
        let mask: BooleanChunked = names.iter().map(|n| n.as_deref() != Some(&name)).collect();
        kept = Some(frame.filter(&mask)?);
    }
    let added_at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    let n = parsed.relays.len();
    let description = parsed.description.join("\n");
    let mut frame = DataFrame::new_infer_height(vec![
        Column::new("name".into(), vec![name.clone(); n]),
        Column::new(
            "fingerprint".into(),
            parsed
                .relays
                .iter()
                .map(|r| r.fingerprint.clone())
                .collect::<Vec<_>>(),
        ),
        Column::new(
            "line".into(),
            parsed.relays.iter().map(|r| r.line).collect::<Vec<_>>(),
        ),
        string_list_column(
            "columns",
            &parsed
                .relays
                .iter()
                .map(|r| {
                    r.columns
                        .iter()
                        .map(|(k, v)| format!("{k}={v}"))
                        .collect::<Vec<_>>()
                })
                .collect::<Vec<_>>(),
        ),
        Column::new("description".into(), vec![description; n]),
        Column::new("source_file".into(), vec![file.display().to_string(); n]),
        Column::new("sha256".into(), vec![sha256.clone(); n]),
        datetime_column("added_at", vec![Some(added_at); n])?,
    ])?;
    if let Some(kept) = kept {
        frame = kept.vstack(&frame)?;
    }
    let mut frame = frame.sort(["name", "fingerprint"], SortMultipleOptions::default())?;

    // The notes of every list, this one's replaced.
    let notes = &parsed.notes;
    let mut note_frame = DataFrame::new_infer_height(vec![
        Column::new("name".into(), vec![name.clone(); notes.len()]),
        Column::new(
            "line".into(),
            notes.iter().map(|n| n.line).collect::<Vec<_>>(),
        ),
        Column::new(
            "kind".into(),
            notes.iter().map(|n| n.kind).collect::<Vec<_>>(),
        ),
        Column::new(
            "text".into(),
            notes.iter().map(|n| n.text.clone()).collect::<Vec<_>>(),
        ),
    ])?;
    if let Some(old) = read_optional(&notes_path(root))? {
        let names = strings(&old, "name")?;
        let mask: BooleanChunked = names.iter().map(|n| n.as_deref() != Some(&name)).collect();
        note_frame = old.filter(&mask)?.vstack(&note_frame)?;
    }
    let mut note_frame = note_frame.sort(
        ["name", "line"],
        SortMultipleOptions::default().with_maintain_order(true),
    )?;
    write_parquet(&mut note_frame, &notes_path(root))?;
    write_parquet(&mut frame, &lists_path(root))?;
    Ok((
        if replaced {
            Added::Replaced
        } else {
            Added::New
        },
        name,
        parsed,
    ))
}

/// Every stored list, by name.
pub fn load(root: &Path) -> Result<Vec<StoredList>> {
    let Some(frame) = read_optional(&lists_path(root))? else {
        return Ok(Vec::new());
    };
    let names = strings(&frame, "name")?;
    let fps = strings(&frame, "fingerprint")?;
    let shas = strings(&frame, "sha256")?;
    let files = strings(&frame, "source_file")?;
    let descriptions = strings(&frame, "description")?;
    let added = times(&frame, "added_at")?;
    let mut lists: BTreeMap<String, StoredList> = BTreeMap::new();
    for i in 0..frame.height() {
        let name = names[i].clone().unwrap_or_default();
        let list = lists.entry(name.clone()).or_insert_with(|| StoredList {
            name,
            sha256: shas[i].clone().unwrap_or_default(),
            source_file: files[i].clone().unwrap_or_default(),
            added_at: added[i].unwrap_or(0),
            fingerprints: Vec::new(),
            description: descriptions[i].clone().unwrap_or_default(),
        });
        list.fingerprints.push(fps[i].clone().unwrap_or_default());
    }
    Ok(lists.into_values().collect())
}

/// Counts of each note kind of a list.
pub fn note_counts(root: &Path, name: &str) -> Result<BTreeMap<String, usize>> {
    let mut counts = BTreeMap::new();
    if let Some(frame) = read_optional(&notes_path(root))? {
        let names = strings(&frame, "name")?;
        let kinds = strings(&frame, "kind")?;
        for (n, k) in names.iter().zip(kinds) {
            if n.as_deref() == Some(name) {
                *counts.entry(k.unwrap_or_default()).or_default() += 1;
            }
        }
    }
    Ok(counts)
}

/// Per list and consensus: the listed relays present and their summed shares. Fed month by
/// month by the presence pass.
pub struct PresenceAccumulator {
    names: Vec<String>,
    listed: Vec<u32>,
    lists_of: HashMap<String, Vec<usize>>,
    /// [list][cidx] → (relays, cw, guard, middle, exit).
    sums: Vec<Vec<(u32, [f64; 4])>>,
}

impl PresenceAccumulator {
    pub fn new(lists: &[StoredList], consensuses: usize) -> Self {
        let mut lists_of: HashMap<String, Vec<usize>> = HashMap::new();
        for (k, list) in lists.iter().enumerate() {
            for fp in &list.fingerprints {
                lists_of.entry(fp.clone()).or_default().push(k);
            }
        }
        PresenceAccumulator {
            names: lists.iter().map(|l| l.name.clone()).collect(),
            listed: lists.iter().map(|l| l.fingerprints.len() as u32).collect(),
            lists_of,
            sums: vec![vec![(0, [0.0; 4]); consensuses]; lists.len()],
        }
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// Adds one month frame (columns as `network::month_frame`).
    pub fn add_month(&mut self, frame: &DataFrame) -> Result<()> {
        if self.is_empty() {
            return Ok(());
        }
        let fps = frame.column("fingerprint")?.str()?;
        let cidxs = frame.column("cidx")?.u32()?;
        let shares = [
            frame.column("consensus_weight_fraction")?.f64()?,
            frame.column("guard_probability")?.f64()?,
            frame.column("middle_probability")?.f64()?,
            frame.column("exit_probability")?.f64()?,
        ];
        for (row, fp) in fps.iter().enumerate() {
            let (Some(fp), Some(cidx)) = (fp, cidxs.get(row)) else {
                continue;
            };
            let Some(lists) = self.lists_of.get(fp) else {
                continue;
            };
            for &k in lists {
                let cell = &mut self.sums[k][cidx as usize];
                cell.0 += 1;
                for (sum, column) in cell.1.iter_mut().zip(&shares) {
                    *sum += column.get(row).unwrap_or(0.0);
                }
            }
        }
        Ok(())
    }

    /// `watchlist_presence`: one row per list and consensus.
    pub fn table(&self, times: &[i64]) -> Result<DataFrame> {
        let mut name = Vec::new();
        let mut at = Vec::new();
        let mut present = Vec::new();
        let mut listed = Vec::new();
        let mut shares: [Vec<f64>; 4] = Default::default();
        for (k, list) in self.names.iter().enumerate() {
            for (cidx, (n, sums)) in self.sums[k].iter().enumerate() {
                name.push(list.clone());
                at.push(Some(times[cidx]));
                present.push(*n);
                listed.push(self.listed[k]);
                for (column, value) in shares.iter_mut().zip(sums) {
                    column.push(*value);
                }
            }
        }
        let [cw, guard, middle, exit] = shares;
        Ok(DataFrame::new_infer_height(vec![
            Column::new("name".into(), name),
            datetime_column("valid_after", at)?,
            Column::new("relays_present".into(), present),
            Column::new("relays_listed".into(), listed),
            Column::new("consensus_weight_fraction".into(), cw),
            Column::new("guard_probability".into(), guard),
            Column::new("middle_probability".into(), middle),
            Column::new("exit_probability".into(), exit),
        ])?)
    }
}

/// `watchlist_relays`: every listed relay with when it was seen (from `relays`), the removal
/// events it left in, and the actor holding it (from `actor_members`, once the attribution
/// has run; null before).
pub fn relays_table(root: &Path, lists: &[StoredList]) -> Result<DataFrame> {
    let relays = scan_dataset(root, "relays")?
        .context("no relays dataset (run `relaytrail jobs` first)")?
        .select([
            col("fingerprint"),
            col("first_seen"),
            col("last_seen"),
            col("hours_present"),
            col("sessions"),
        ])
        .collect()?;
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (i, fp) in strings(&relays, "fingerprint")?.into_iter().enumerate() {
        if let Some(fp) = fp {
            seen.insert(fp, i);
        }
    }
    let first = times(&relays, "first_seen")?;
    let last = times(&relays, "last_seen")?;
    let hours: Vec<Option<u32>> = relays
        .column("hours_present")?
        .cast(&DataType::UInt32)?
        .u32()?
        .iter()
        .collect();
    let sessions: Vec<Option<u32>> = relays
        .column("sessions")?
        .cast(&DataType::UInt32)?
        .u32()?
        .iter()
        .collect();
    let mut removed: HashMap<String, Vec<i64>> = HashMap::new();
    if let Some(scan) = scan_dataset(root, "removal_event_relays")? {
        let frame = scan
            .select([col("fingerprint"), col("event_time")])
            .collect()?;
        for (fp, t) in strings(&frame, "fingerprint")?
            .into_iter()
            .zip(times(&frame, "event_time")?)
        {
            if let (Some(fp), Some(t)) = (fp, t) {
                removed.entry(fp).or_default().push(t);
            }
        }
    }
    let mut actor: HashMap<String, String> = HashMap::new();
    if let Some(scan) = scan_dataset(root, "actor_members")? {
        let frame = scan
            .select([col("fingerprint"), col("actor_id")])
            .collect()?;
        for (fp, a) in strings(&frame, "fingerprint")?
            .into_iter()
            .zip(strings(&frame, "actor_id")?)
        {
            if let (Some(fp), Some(a)) = (fp, a) {
                actor.insert(fp, a);
            }
        }
    }
    let mut rows: (Vec<String>, Vec<String>, Vec<bool>) = Default::default();
    let mut first_seen = Vec::new();
    let mut last_seen = Vec::new();
    let mut hours_present = Vec::new();
    let mut session_count = Vec::new();
    let mut events: Vec<Vec<String>> = Vec::new();
    let mut actor_id = Vec::new();
    for list in lists {
        for fp in &list.fingerprints {
            let i = seen.get(fp).copied();
            rows.0.push(list.name.clone());
            rows.1.push(fp.clone());
            rows.2.push(i.is_some());
            first_seen.push(i.and_then(|i| first[i]));
            last_seen.push(i.and_then(|i| last[i]));
            hours_present.push(i.and_then(|i| hours[i]));
            session_count.push(i.and_then(|i| sessions[i]));
            let mut left: Vec<i64> = removed.get(fp).cloned().unwrap_or_default();
            left.sort_unstable();
            events.push(
                left.iter()
                    .map(|t| crate::descriptor::values::format_timestamp(t / 1000))
                    .collect(),
            );
            actor_id.push(actor.get(fp).cloned());
        }
    }
    let frame = DataFrame::new_infer_height(vec![
        Column::new("name".into(), rows.0),
        Column::new("fingerprint".into(), rows.1),
        Column::new("seen".into(), rows.2),
        datetime_column("first_seen", first_seen)?,
        datetime_column("last_seen", last_seen)?,
        Column::new("hours_present".into(), hours_present),
        Column::new("sessions".into(), session_count),
        string_list_column("removal_events", &events),
        Column::new("actor_id".into(), actor_id),
    ])?;
    Ok(frame.sort(["name", "fingerprint"], SortMultipleOptions::default())?)
}

/// Writes `watchlist_relays` for the stored lists (removes it when there are none).
pub fn write_relays(root: &Path) -> Result<Option<PathBuf>> {
    let lists = load(root)?;
    let path = root.join("watchlist_relays").join("part-0.parquet");
    if lists.is_empty() {
        if path.is_file() {
            std::fs::remove_file(&path)?;
        }
        return Ok(None);
    }
    let mut frame = relays_table(root, &lists)?;
    write_parquet(&mut frame, &path)?;
    Ok(Some(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "46304DE6EA27EED7D3D158E02A7C1B7727D64F61";
    const B: &str = "A1938ABF6DF7DF34FBD5A72849A12F27A9B078F4";

    #[test]
    fn fingerprints_are_normalised() {
        assert_eq!(
            normalise_fingerprint(&format!("${}", A.to_lowercase())).as_deref(),
            Some(A)
        );
        let spaced: String = A
            .as_bytes()
            .chunks(4)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect::<Vec<_>>()
            .join(" ");
        assert_eq!(normalise_fingerprint(&spaced).as_deref(), Some(A));
        assert_eq!(
            normalise_fingerprint(&format!("${A}~nick")).as_deref(),
            Some(A)
        );
        assert_eq!(normalise_fingerprint(&A[..39]), None);
        assert_eq!(normalise_fingerprint("not a fingerprint"), None);
    }

    #[test]
    fn one_a_line_with_comments_and_odd_lines() {
        let text = format!(
            "# relays seen in March\nthree relays of one group\n\n${}\n{} # the second\nbogus line\n{A}\n",
            A.to_lowercase(),
            B
        );
        let p = parse(text.as_bytes(), "l.txt").unwrap();
        assert_eq!(
            p.relays
                .iter()
                .map(|r| (r.fingerprint.as_str(), r.line))
                .collect::<Vec<_>>(),
            [(A, 4), (B, 5)]
        );
        assert_eq!(
            p.relays[1].columns,
            [("comment".into(), "the second".into())]
        );
        assert_eq!(
            p.description,
            ["relays seen in March", "three relays of one group"]
        );
        let kinds: Vec<(u32, &str)> = p.notes.iter().map(|n| (n.line, n.kind)).collect();
        assert_eq!(
            kinds,
            [
                (1, "description"),
                (2, "description"),
                (6, "not_a_fingerprint"),
                (7, "duplicate")
            ]
        );
    }

    #[test]
    fn csv_tsv_and_pipe_tables() {
        let csv = format!("nickname,fingerprint,contact\nx,{A},\"a, b\"\ny,{B},\nz,nothex,\n");
        let p = parse(csv.as_bytes(), "l.csv").unwrap();
        assert_eq!(p.relays.len(), 2);
        assert_eq!(
            p.relays[0].columns,
            [
                ("nickname".into(), "x".into()),
                ("contact".into(), "a, b".into())
            ]
        );
        assert_eq!(
            p.notes.iter().map(|n| (n.line, n.kind)).collect::<Vec<_>>(),
            [(4, "not_a_fingerprint")]
        );

        let tsv = format!("fingerprint\tfirst_seen\n{A}\t2020-01-01\n");
        assert_eq!(
            parse(tsv.as_bytes(), "l.tsv").unwrap().relays[0].columns,
            [("first_seen".into(), "2020-01-01".into())]
        );

        let mysql = format!(
            "data as of today\n\n+-----+------+\n| nickname | fingerprint |\n+-----+------+\n| x | {A} |\n| y | NULL |\n+-----+------+\n"
        );
        let p = parse(mysql.as_bytes(), "l").unwrap();
        assert_eq!(p.relays[0].columns, [("nickname".into(), "x".into())]);
        assert_eq!(p.description, ["data as of today"]);
        assert_eq!(
            p.notes.last().map(|n| (n.line, n.kind)),
            Some((7, "not_a_fingerprint"))
        );

        let psql =
            format!(" nickname | fingerprint\n----------+------------\n x        | {B}\n(1 row)\n");
        let p = parse(psql.as_bytes(), "l").unwrap();
        assert_eq!(p.relays[0].fingerprint, B);
        assert_eq!(
            p.notes.iter().map(|n| n.kind).collect::<Vec<_>>(),
            ["not_a_fingerprint"]
        );
    }

    #[test]
    fn onionoo_json_and_empty_lists() {
        let json = format!(
            r#"{{"version":"8.0","relays_published":"2025-05-13 22:00:00","relays":[{{"fingerprint":"{A}","nickname":"n","or_addresses":["1.2.3.4:9001"]}},{{"fingerprint":"x"}}]}}"#
        );
        let p = parse(json.as_bytes(), "d.json").unwrap();
        assert_eq!(p.relays.len(), 1);
        assert!(p.relays[0]
            .columns
            .contains(&("or_addresses".into(), "1.2.3.4:9001".into())));
        assert_eq!(p.notes[0].kind, "not_a_fingerprint");
        let error = parse(b"# nothing here\n\njust words\n", "empty.txt").unwrap_err();
        assert!(
            error
                .to_string()
                .contains("empty.txt: no relay fingerprint"),
            "{error}"
        );
    }

    #[test]
    fn the_same_file_changes_nothing_and_a_changed_one_replaces_the_list() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("wh");
        let file = dir.path().join("group.txt");
        std::fs::write(&file, format!("{A}\n{B}\n")).unwrap();
        let (added, name, _) = add(&root, &file, None).unwrap();
        assert!(matches!(added, Added::New));
        assert_eq!(name, "group");
        let stored = std::fs::read(lists_path(&root)).unwrap();
        let (again, _, _) = add(&root, &file, None).unwrap();
        assert!(matches!(again, Added::Unchanged));
        assert_eq!(
            std::fs::read(lists_path(&root)).unwrap(),
            stored,
            "not rewritten"
        );
        // Another list beside it, then the first one changed.
        let other = dir.path().join("other.csv");
        std::fs::write(&other, format!("fingerprint,nickname\n{A},x\n")).unwrap();
        add(&root, &other, Some("other")).unwrap();
        std::fs::write(&file, format!("{B}\n")).unwrap();
        let (changed, _, _) = add(&root, &file, None).unwrap();
        assert!(matches!(changed, Added::Replaced));
        let lists = load(&root).unwrap();
        let by_name: BTreeMap<&str, &Vec<String>> = lists
            .iter()
            .map(|l| (l.name.as_str(), &l.fingerprints))
            .collect();
        assert_eq!(by_name["group"], &vec![B.to_string()]);
        assert_eq!(by_name["other"], &vec![A.to_string()]);
        assert!(add(&root, &dir.path().join("missing.txt"), None).is_err());
    }
}
