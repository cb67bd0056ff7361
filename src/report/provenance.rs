//! The "Data provenance" section: the imported files and the import errors.

use std::fmt::Write as _;

use anyhow::Result;
use polars::prelude::*;

use super::tables::html_table;

/// The imports and their errors.
pub(super) fn section(imports: Option<&DataFrame>, errors: Option<&DataFrame>) -> Result<String> {
    let mut html = String::new();
    html.push_str("<h2 id=\"provenance\">Data provenance</h2>");
    if let Some(i) = imports {
        html.push_str(&html_table(
            i,
            &[
                "file_name",
                "format",
                "status",
                "members",
                "documents_imported",
                "documents_rejected",
                "errors",
                "finished",
            ],
            None,
        )?);
    }
    match errors {
        Some(e) if e.height() > 0 => {
            let _ = write!(html, "<p>{} import error(s):</p>", e.height());
            html.push_str(&html_table(
                e,
                &["source_file", "source_member", "line", "kind", "message"],
                None,
            )?);
        }
        _ => html.push_str("<p>No import errors.</p>"),
    }
    Ok(html)
}
