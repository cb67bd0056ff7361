//! The warehouse's files as the jobs read and write them: a dataset's monthly partitions,
//! lazy scans, month-by-month reductions ([`fold_months`], the newest descriptor per relay)
//! and atomic Parquet writes with the settings every job dataset shares.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use polars::prelude::*;

/// The partition files of a monthly dataset, as (`year=YYYY/month=MM`, path), in time order.
pub fn partition_files(root: &Path, dataset: &str) -> Result<Vec<(String, PathBuf)>> {
    let base = root.join(dataset);
    let mut found = Vec::new();
    if !base.exists() {
        return Ok(found);
    }
    for year in sorted_dirs(&base)? {
        for month in sorted_dirs(&year)? {
            let file = month.join("part-0.parquet");
            if file.is_file() {
                let key = format!(
                    "{}/{}",
                    year.file_name().unwrap().to_string_lossy(),
                    month.file_name().unwrap().to_string_lossy()
                );
                found.push((key, file));
            }
        }
    }
    Ok(found)
}

fn sorted_dirs(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut dirs: Vec<PathBuf> = fs::read_dir(dir)
        .with_context(|| format!("cannot list {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.is_dir()
                && p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.contains('='))
        })
        .collect();
    dirs.sort();
    Ok(dirs)
}

/// Removes partitions of a derived monthly dataset whose source month no longer exists.
pub fn remove_stale_partitions(root: &Path, dataset: &str, months: &[&str]) -> Result<()> {
    for (key, file) in partition_files(root, dataset)? {
        if !months.contains(&key.as_str()) {
            fs::remove_file(&file).with_context(|| format!("cannot remove {}", file.display()))?;
        }
    }
    Ok(())
}

/// Scans every Parquet file of a dataset (hive partitions included) lazily.
pub fn scan_dataset(root: &Path, dataset: &str) -> Result<Option<LazyFrame>> {
    let base = root.join(dataset);
    let single = base.join("part-0.parquet");
    let pattern = if single.is_file() {
        single
    } else if partition_files(root, dataset)?.is_empty() {
        return Ok(None);
    } else {
        base.join("**/*.parquet")
    };
    let args = ScanArgsParquet {
        hive_options: HiveOptions::new_enabled(),
        ..Default::default()
    };
    let frame = LazyFrame::scan_parquet(PlRefPath::new(pattern.to_string_lossy().as_ref()), args)
        .map_err(anyhow::Error::from)
        .with_context(|| format!("cannot scan {}", pattern.display()))?;
    Ok(Some(frame))
}

/// A lazy scan of one Parquet file (one month's partition).
pub fn scan_file(file: &Path) -> Result<LazyFrame> {
    LazyFrame::scan_parquet(
        PlRefPath::new(file.to_string_lossy().as_ref()),
        ScanArgsParquet::default(),
    )
    .map_err(anyhow::Error::from)
    .with_context(|| format!("cannot scan {}", file.display()))
}

/// The newest server descriptor of each fingerprint (its `published` and the given
/// columns), reduced month by month ([`fold_months`]).
pub fn newest_descriptors(root: &Path, columns: &[&str]) -> Result<Option<DataFrame>> {
    let mut select = vec![col("fingerprint"), col("published")];
    select.extend(columns.iter().map(|c| col(*c)));
    fold_months(root, "server_descriptors", &select, |frame| {
        newest_per_fingerprint(frame, columns)
    })
}

/// Each fingerprint's row of the latest `published` (of equal ones, the last), with `published`
/// and the given columns: a reduction [`fold_months`] can apply again to its own output.
fn newest_per_fingerprint(frame: LazyFrame, columns: &[&str]) -> LazyFrame {
    let mut agg = vec![col("published").last()];
    agg.extend(columns.iter().map(|c| col(*c).last()));
    frame
        .sort(
            ["fingerprint", "published"],
            SortMultipleOptions::default().with_maintain_order(true),
        )
        .group_by_stable([col("fingerprint")])
        .agg(agg)
}

/// The distinct rows, each where it first appears: a reduction for [`fold_months`].
pub fn distinct_rows(frame: LazyFrame) -> LazyFrame {
    frame.unique_stable_generic(None, UniqueKeepStrategy::First)
}

/// Reduces a month-partitioned dataset a month at a time: `reduce` is applied to each
/// month's `columns`, and again to reduced runs of consecutive months appended in time order
/// (the reduction must give the same result when applied again to its own output: the newest
/// row per key, the distinct rows, ...). Runs merge like a binary counter, two runs of equal
/// length at a time, so each row is reduced about log2(months) times and memory holds a few
/// runs; merging the whole result so far into each month instead re-reduced every relay of
/// the history once a month (quadratic: most of `attribute`'s profile load at ten years).
/// None without partitions.
pub fn fold_months(
    root: &Path,
    dataset: &str,
    columns: &[Expr],
    reduce: impl Fn(LazyFrame) -> LazyFrame,
) -> Result<Option<DataFrame>> {
    let merge = |mut older: DataFrame, newer: &DataFrame| -> Result<DataFrame> {
        older.vstack_mut(newer)?;
        Ok(reduce(older.lazy()).collect()?)
    };
    // (months in the run, its reduction), oldest first, lengths strictly decreasing.
    let mut runs: Vec<(usize, DataFrame)> = Vec::new();
    for (_, file) in partition_files(root, dataset)? {
        let month = reduce(scan_file(&file)?.select(columns))
            .collect()
            .map_err(anyhow::Error::from)
            .with_context(|| format!("cannot read {}", file.display()))?;
        runs.push((1, month));
        while let [.., (older_months, _), (newer_months, _)] = runs[..] {
            if older_months != newer_months {
                break;
            }
            let (_, newer) = runs.pop().expect("two runs");
            let (_, older) = runs.pop().expect("two runs");
            runs.push((older_months + newer_months, merge(older, &newer)?));
        }
    }
    let mut runs = runs.into_iter().map(|(_, frame)| frame);
    let Some(mut so_far) = runs.next() else {
        return Ok(None);
    };
    for newer in runs {
        so_far = merge(so_far, &newer)?;
    }
    Ok(Some(so_far))
}

/// Writes a file atomically: `write` fills a hidden temporary file in the same folder, which
/// is synced and renamed over `path`; on failure the temporary file is removed.
fn write_file_atomically(path: &Path, write: impl FnOnce(&fs::File) -> Result<()>) -> Result<()> {
    let dir = path.parent().context("output path has no folder")?;
    fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        path.file_name().unwrap().to_string_lossy(),
        std::process::id()
    ));
    let result = (|| -> Result<()> {
        let file = fs::File::create(&tmp)?;
        write(&file)?;
        file.sync_all()?;
        fs::rename(&tmp, path)?;
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.with_context(|| format!("cannot write {}", path.display()))
}

/// Rows per Parquet row group of the job datasets.
pub const ROW_GROUP_ROWS: usize = 128 * 1024;

/// The Parquet settings of every job dataset: zstd 3, [`ROW_GROUP_ROWS`]-row groups, statistics.
fn parquet_writer(file: &fs::File) -> Result<ParquetWriter<&fs::File>> {
    Ok(ParquetWriter::new(file)
        .with_compression(ParquetCompression::Zstd(Some(
            polars::polars_utils::compression::ZstdLevel::try_new(3)?,
        )))
        .with_row_group_size(Some(ROW_GROUP_ROWS))
        .with_statistics(StatisticsOptions::full()))
}

/// Writes a data frame as one Parquet file, atomically.
pub fn write_parquet(frame: &mut DataFrame, path: &Path) -> Result<()> {
    write_file_atomically(path, |file| {
        parquet_writer(file)?.finish(frame)?;
        Ok(())
    })
}

/// Writes frames made one after another as one Parquet file, atomically, without holding
/// them all: each frame (at most [`ROW_GROUP_ROWS`] rows, all with the first frame's columns)
/// becomes one row group, as [`write_parquet`] would cut their concatenation.
pub fn write_parquet_parts(
    path: &Path,
    mut parts: impl Iterator<Item = Result<DataFrame>>,
) -> Result<()> {
    write_file_atomically(path, |file| {
        let first = parts.next().context("no rows and no columns to write")??;
        let mut writer = parquet_writer(file)?.batched(first.schema())?;
        for part in std::iter::once(Ok(first)).chain(parts) {
            let mut part = part?;
            debug_assert!(part.height() <= ROW_GROUP_ROWS);
            part.rechunk_mut();
            writer.write_batch(&part)?;
        }
        writer.finish()?;
        Ok(())
    })
}

/// Writes a small file atomically.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    write_file_atomically(path, |mut file| Ok(file.write_all(bytes)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Seven months of descriptors (an odd number: runs of four, two and one month are left
    /// to merge at the end) give, folded a month at a time, what one reduction of all the
    /// months gives: each fingerprint's newest row wherever it is (a tie in `published` goes
    /// to the later month, an older descriptor in a later month does not win), and the
    /// distinct rows in the order they first appear.
    #[test]
    fn month_folds_give_what_one_reduction_of_all_months_gives() {
        let dir = tempfile::tempdir().unwrap();
        let rows: [(u32, &str, i64, &str); 9] = [
            (1, "A", 10, "a1"),
            (1, "D", 2, "d1"),
            (2, "B", 20, "b2"),
            (3, "A", 30, "a3"),
            (4, "C", 40, "c4"),
            (5, "B", 20, "b5"),
            (6, "B", 5, "b6"),
            (6, "D", 1, "d1"),
            (7, "A", 70, "a7"),
        ];
        let frame = |rows: &[(u32, &str, i64, &str)]| {
            df!(
                "fingerprint" => rows.iter().map(|r| r.1).collect::<Vec<_>>(),
                "published" => rows.iter().map(|r| r.2).collect::<Vec<_>>(),
                "contact" => rows.iter().map(|r| r.3).collect::<Vec<_>>(),
            )
            .unwrap()
        };
        for month in 1..=7 {
            let of_month: Vec<_> = rows.iter().copied().filter(|r| r.0 == month).collect();
            let path = dir.path().join(format!(
                "server_descriptors/year=2021/month={month:02}/part-0.parquet"
            ));
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            write_parquet(&mut frame(&of_month), &path).unwrap();
        }
        let all = frame(&rows);

        let newest = newest_descriptors(dir.path(), &["contact"])
            .unwrap()
            .unwrap();
        let newest_of = |fp: &str| -> String {
            let row = newest
                .clone()
                .lazy()
                .filter(col("fingerprint").eq(lit(fp)))
                .collect()
                .unwrap();
            assert_eq!(row.height(), 1, "{fp}");
            row.column("contact")
                .unwrap()
                .str()
                .unwrap()
                .get(0)
                .unwrap()
                .to_string()
        };
        assert_eq!(
            ["A", "B", "C", "D"].map(newest_of),
            ["a7", "b5", "c4", "d1"].map(String::from)
        );
        let at_once = newest_per_fingerprint(all.clone().lazy(), &["contact"])
            .collect()
            .unwrap();
        assert!(newest.equals(&at_once), "{newest}\n{at_once}");

        let columns = [col("fingerprint"), col("contact")];
        let folded = fold_months(dir.path(), "server_descriptors", &columns, distinct_rows)
            .unwrap()
            .unwrap();
        let at_once = distinct_rows(all.lazy().select(columns)).collect().unwrap();
        assert_eq!(folded.height(), 8, "{folded}");
        assert!(folded.equals(&at_once), "{folded}\n{at_once}");
    }
}
