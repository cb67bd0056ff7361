//! Numbers, shares and times written for people (`36.9 %`, `12.3 k`, `2021-08-26 19:00`):
//! the report's cells and the attribution's evidence lines say them the same way.

use crate::descriptor::values::format_timestamp;

/// A share (0–1) as a percentage with the precision it needs: `36.9 %`, `2.6 %`, `0.45 %`,
/// `0.012 %`.
pub fn format_share(v: f64) -> String {
    let p = v * 100.0;
    if p == 0.0 {
        "0 %".into()
    } else if p.abs() >= 1.0 {
        format!("{p:.1} %")
    } else if p.abs() >= 0.1 {
        format!("{p:.2} %")
    } else {
        format!("{p:.3} %")
    }
}

/// A count for people: `950`, `9 625`, `12.3 k`, `1.2 M`.
pub fn format_count(v: f64) -> String {
    if v.abs() >= 1e6 {
        format!("{:.1} M", v / 1e6)
    } else if v.abs() >= 1e4 {
        format!("{:.1} k", v / 1e3)
    } else if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

/// Milliseconds as `YYYY-MM-DD HH:MM` (UTC).
pub fn format_time(ms: i64) -> String {
    format_timestamp(ms.div_euclid(1000))[..16].to_string()
}
