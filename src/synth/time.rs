//! Calendar arithmetic for the generator: UTC civil dates <-> Unix seconds, month stepping and
//! the `YYYY-MM-DD HH:MM:SS` format used by every Tor document and the ground truth.

use anyhow::{bail, Context};

/// Unix seconds (UTC).
pub type Ts = i64;

pub const HOUR: Ts = 3600;
pub const DAY: Ts = 86_400;

/// Civil-date arithmetic shared with the parsers.
pub use crate::descriptor::values::{civil_from_days, days_from_civil};

/// Broken-down UTC time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Civil {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
}

pub fn civil(ts: Ts) -> Civil {
    let days = ts.div_euclid(DAY);
    let secs = ts.rem_euclid(DAY);
    let (year, month, day) = civil_from_days(days);
    Civil {
        year,
        month,
        day,
        hour: (secs / 3600) as u32,
        minute: ((secs / 60) % 60) as u32,
        second: (secs % 60) as u32,
    }
}

pub fn ts_from_civil(y: i64, m: u32, d: u32, hh: u32, mm: u32, ss: u32) -> Ts {
    days_from_civil(y, m, d) * DAY + (hh * 3600 + mm * 60 + ss) as i64
}

/// `YYYY-MM-DD HH:MM:SS`.
pub fn fmt_ts(ts: Ts) -> String {
    let c = civil(ts);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        c.year, c.month, c.day, c.hour, c.minute, c.second
    )
}

/// Appends `YYYY-MM-DD HH:MM:SS` to `out` (hot path of the renderers).
pub fn push_ts(out: &mut String, ts: Ts) {
    use std::fmt::Write;
    let c = civil(ts);
    let _ = write!(
        out,
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        c.year, c.month, c.day, c.hour, c.minute, c.second
    );
}

/// A calendar month.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month {
    pub year: i64,
    pub month: u32,
}

impl Month {
    /// Parses `YYYY-MM`.
    pub fn parse(s: &str) -> anyhow::Result<Month> {
        let (y, m) = s
            .trim()
            .split_once('-')
            .with_context(|| format!("month {s:?} is not YYYY-MM"))?;
        let year: i64 = y.parse().with_context(|| format!("bad year in {s:?}"))?;
        let month: u32 = m.parse().with_context(|| format!("bad month in {s:?}"))?;
        if !(1..=12).contains(&month) || !(1970..=2100).contains(&year) {
            bail!("month {s:?} out of range");
        }
        Ok(Month { year, month })
    }

    pub fn of(ts: Ts) -> Month {
        let c = civil(ts);
        Month {
            year: c.year,
            month: c.month,
        }
    }

    pub fn start(self) -> Ts {
        ts_from_civil(self.year, self.month, 1, 0, 0, 0)
    }

    pub fn offset(self, n: i64) -> Month {
        let idx = self.year * 12 + (self.month as i64 - 1) + n;
        Month {
            year: idx.div_euclid(12),
            month: (idx.rem_euclid(12) + 1) as u32,
        }
    }

    pub fn end(self) -> Ts {
        self.offset(1).start()
    }

    /// `YYYY-MM`.
    pub fn label(self) -> String {
        format!("{:04}-{:02}", self.year, self.month)
    }
}

/// Parses `YYYY-MM-DD` or `YYYY-MM-DD HH:MM[:SS]` as UTC.
pub fn parse_datetime(s: &str) -> anyhow::Result<Ts> {
    let s = s.trim();
    let (date, time) = match s.split_once([' ', 'T']) {
        Some((d, t)) => (d, Some(t)),
        None => (s, None),
    };
    let parts: Vec<&str> = date.split('-').collect();
    if parts.len() != 3 {
        bail!("date {s:?} is not YYYY-MM-DD");
    }
    let y: i64 = parts[0].parse()?;
    let m: u32 = parts[1].parse()?;
    let d: u32 = parts[2].parse()?;
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        bail!("date {s:?} out of range");
    }
    let (mut hh, mut mm, mut ss) = (0, 0, 0);
    if let Some(t) = time {
        let tp: Vec<&str> = t.trim_end_matches('Z').split(':').collect();
        hh = tp[0].parse()?;
        if tp.len() > 1 {
            mm = tp[1].parse()?;
        }
        if tp.len() > 2 {
            ss = tp[2].parse()?;
        }
    }
    Ok(ts_from_civil(y, m, d, hh, mm, ss))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_and_format() {
        let t = ts_from_civil(2021, 8, 31, 23, 5, 9);
        assert_eq!(fmt_ts(t), "2021-08-31 23:05:09");
        assert_eq!(t, 1_630_451_109);
        assert_eq!(parse_datetime("2021-08-31 23:05:09").unwrap(), t);
        let m = Month::parse("2021-11").unwrap();
        assert_eq!(m.offset(2).label(), "2022-01");
        assert_eq!(m.offset(-11).label(), "2020-12");
        assert_eq!((m.end() - m.start()) / HOUR, 720);
        assert_eq!(Month::of(t).label(), "2021-08");
    }
}
