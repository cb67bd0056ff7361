//! The stored lists: adding (or replacing) a list in the `watchlists` dataset with its notes
//! in `watchlist_notes`, loading them back, and counting a list's notes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use polars::prelude::*;

use super::parse::{parse, Parsed};
use crate::jobs::columns::{datetime_column, string_list_column};
use crate::jobs::columns::{strings, times};
use crate::jobs::io::write_parquet;

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

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "46304DE6EA27EED7D3D158E02A7C1B7727D64F61";
    const B: &str = "A1938ABF6DF7DF34FBD5A72849A12F27A9B078F4";

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
