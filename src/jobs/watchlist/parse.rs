//! Reading a list as researchers publish it: one fingerprint a line (with comments and
//! free text), CSV/TSV with a `fingerprint` column, the pipe-drawn tables of `mysql`/`psql`,
//! or Onionoo details JSON, with every line that is not a listed relay accounted for as a
//! note, and what a reader of the file should hear about them.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use anyhow::{bail, Context, Result};

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
}
