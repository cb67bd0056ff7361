//! Durations in milliseconds, the unit of every time the warehouse and the jobs hold.

/// An hour in milliseconds.
pub const HOUR_MS: i64 = 3_600_000;
/// A day in milliseconds.
pub const DAY_MS: i64 = 24 * HOUR_MS;
