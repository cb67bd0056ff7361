//! HTML tables of the report: cells formatted for people (`12.3 %`, `9.6 k`, dates to the
//! minute), sortable by a click on a column header (a few lines of inline script), long ones
//! folded into `<details>`.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use anyhow::Result;
use polars::prelude::*;

use super::svg::escape;
use crate::util::display::{format_count, format_share, format_time};

/// Rows shown per table (the Parquet copies next to the page have all).
pub const TABLE_ROWS: usize = 50;
/// Tables longer than this are folded.
const FOLD_ROWS: usize = 12;

/// Whether a column holds shares (0–1) to show as percentages.
fn is_share(column: &str) -> bool {
    column.contains("probability")
        || column.contains("fraction")
        || column.ends_with("_share")
        || matches!(column, "precision" | "recall" | "f1" | "confidence")
}

/// A cell's text in a column.
pub fn column_cell(column: &str, value: &AnyValue) -> String {
    match value {
        AnyValue::Float64(v) if is_share(column) && column != "confidence" => format_share(*v),
        AnyValue::Float32(v) if is_share(column) => format_share(f64::from(*v)),
        // The strongest piece of evidence only; all of it is in the Parquet table.
        AnyValue::List(series) if column == "evidence" => {
            series.get(0).map(|v| cell(&v)).unwrap_or_default()
        }
        _ => cell(value),
    }
}

/// A cell's text.
pub fn cell(value: &AnyValue) -> String {
    match value {
        AnyValue::Null => String::new(),
        AnyValue::String(s) => s.to_string(),
        AnyValue::StringOwned(s) => s.to_string(),
        AnyValue::Boolean(b) => if *b { "yes" } else { "no" }.to_string(),
        AnyValue::Datetime(ms, _, _) | AnyValue::DatetimeOwned(ms, _, _) => format_time(*ms),
        AnyValue::Float64(v) => {
            if v.fract() == 0.0 && v.abs() < 1e15 {
                format_count(*v)
            } else if v.abs() < 1.0 {
                format!("{v:.3}")
            } else {
                format!("{v:.1}")
            }
        }
        AnyValue::Float32(v) => format!("{v:.3}"),
        AnyValue::List(series) => {
            let items: Vec<String> = series.iter().map(|v| cell(&v)).collect();
            items.join("; ")
        }
        other => other.to_string(),
    }
}

/// A column header for people (`peak_guard_probability` → `peak guard probability`).
fn header(column: &str) -> String {
    column.replace('_', " ")
}

/// Cells of one column that link to `#<value>`, for the values that have such a section.
pub type Links<'a> = Option<(&'a str, &'a BTreeSet<String>)>;

/// An HTML table of some columns of a frame (the first [`TABLE_ROWS`] rows), sortable, folded
/// into `<details>` when long.
pub fn html_table(frame: &DataFrame, columns: &[&str], link: Links) -> Result<String> {
    html_table_of(frame, columns, link, TABLE_ROWS)
}

/// An HTML table of every row of `frame` (the first ones shown, the rest folded): for the
/// tables whose every row someone may need (events, in rank order).
pub fn html_table_all(frame: &DataFrame, columns: &[&str], link: Links) -> Result<String> {
    html_table_of(frame, columns, link, frame.height())
}

fn html_table_of(frame: &DataFrame, columns: &[&str], link: Links, limit: usize) -> Result<String> {
    let rows: Vec<Vec<(String, String)>> = (0..frame.height().min(limit))
        .map(|row| {
            columns
                .iter()
                .filter_map(|c| frame.column(c).ok().map(|col| (c, col)))
                .map(|(c, col)| {
                    let value = col.get(row).unwrap_or(AnyValue::Null);
                    (c.to_string(), column_cell(c, &value))
                })
                .collect()
        })
        .collect();
    let present: Vec<&str> = columns
        .iter()
        .copied()
        .filter(|c| frame.column(c).is_ok())
        .collect();
    Ok(table_html(&present, &rows, frame.height(), link))
}

/// An HTML table from already formatted cells (`total` rows exist; `rows` are shown). The
/// first [`FOLD_ROWS`] rows are visible; the rest fold into `<details>` below them.
pub fn table_html(
    columns: &[&str],
    rows: &[Vec<(String, String)>],
    total: usize,
    link: Links,
) -> String {
    let table = |rows: &[Vec<(String, String)>]| {
        // Wide tables scroll inside the page instead of widening it.
        let mut html = String::from("<div class=\"scroll\"><table class=\"sortable\"><thead><tr>");
        for c in columns {
            let _ = write!(html, "<th title=\"sort\">{}</th>", escape(&header(c)));
        }
        html.push_str("</tr></thead><tbody>");
        for row in rows {
            html.push_str("<tr>");
            for (column, text) in row {
                let linked = link.is_some_and(|(c, targets)| c == column && targets.contains(text));
                if linked {
                    let _ = write!(
                        html,
                        "<td><a href=\"#{}\">{}</a></td>",
                        escape(text),
                        escape(text)
                    );
                } else {
                    let _ = write!(html, "<td>{}</td>", escape(text));
                }
            }
            html.push_str("</tr>");
        }
        html.push_str("</tbody></table></div>");
        html
    };
    let mut html = table(&rows[..rows.len().min(FOLD_ROWS)]);
    if rows.len() > FOLD_ROWS {
        let _ = write!(
            html,
            "<details><summary>{} more rows</summary>{}</details>",
            rows.len() - FOLD_ROWS,
            table(&rows[FOLD_ROWS..])
        );
    }
    if total > rows.len() {
        let _ = write!(
            html,
            "<p class=\"note\">{} of {total} rows shown; all of them in the Parquet tables next to this page.</p>",
            rows.len()
        );
    }
    html
}

/// The page's only script: sorts a table by the clicked column (numbers by value, the rest
/// as text; a second click reverses).
pub const SORT_SCRIPT: &str = r#"<script>
document.querySelectorAll('table.sortable th').forEach(function (th) {
  th.addEventListener('click', function () {
    var table = th.closest('table'), body = table.tBodies[0];
    var index = Array.prototype.indexOf.call(th.parentNode.children, th);
    var down = th.getAttribute('data-order') !== 'asc';
    th.parentNode.querySelectorAll('th').forEach(function (h) { h.removeAttribute('data-order'); });
    th.setAttribute('data-order', down ? 'asc' : 'desc');
    var number = function (text) {
      var m = text.replace(/\s/g, '').match(/^-?[0-9.]+(k|M)?%?$/);
      if (!m) return null;
      var v = parseFloat(text.replace(/\s/g, ''));
      return m[1] === 'k' ? v * 1e3 : m[1] === 'M' ? v * 1e6 : v;
    };
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = a.cells[index].textContent, y = b.cells[index].textContent;
      var nx = number(x), ny = number(y), order;
      if (nx !== null && ny !== null) order = nx - ny; else order = x.localeCompare(y);
      return down ? order : -order;
    });
    rows.forEach(function (r) { body.appendChild(r); });
  });
});
</script>"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_for_people() {
        assert_eq!(format_share(0.3689), "36.9 %");
        assert_eq!(format_share(0.0045), "0.45 %");
        assert_eq!(format_share(0.00012), "0.012 %");
        assert_eq!(format_share(0.0), "0 %");
        assert_eq!(format_count(9625.0), "9625");
        assert_eq!(format_count(12_345.0), "12.3 k");
        assert_eq!(format_count(1_250_000.0), "1.2 M");
        assert_eq!(format_time(1_630_004_400_000), "2021-08-26 19:00");
    }

    #[test]
    fn long_tables_fold_and_link() {
        let rows: Vec<Vec<(String, String)>> = (0..20)
            .map(|i| vec![("actor_id".to_string(), format!("actor-{i:04}"))])
            .collect();
        let targets: BTreeSet<String> = (0..20)
            .map(|i| format!("actor-{i:04}"))
            .filter(|a| a != "actor-0005")
            .collect();
        let html = table_html(&["actor_id"], &rows, 20, Some(("actor_id", &targets)));
        assert!(html.contains("<td>actor-0005</td>"), "no section, no link");
        let (visible, folded) = html.split_once("<details>").unwrap();
        assert!(visible.contains("<a href=\"#actor-0011\">actor-0011</a>"));
        assert!(folded.starts_with("<summary>8 more rows</summary>"));
        assert!(folded.contains("actor-0019"));
        assert!(!table_html(&["actor_id"], &rows[..3], 3, None).contains("<details>"));
    }
}
