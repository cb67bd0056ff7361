//! Departures: a session's end, seen at the first consensus without the relay, with the time
//! until the relay was listed again. Sessions that end at a gap of the data or in its last
//! consensus have none (nobody saw the relay leave).

use crate::jobs::presence::Presence;

/// A session's end, seen at the first consensus without the relay.
#[derive(Debug, Clone)]
pub struct Departure {
    /// Index into `presence.sessions` (sorted).
    pub session: usize,
    /// Consensus number of the first consensus without the relay.
    pub at: u32,
    /// Time until the relay was listed again, if it was.
    pub back_after_ms: Option<i64>,
}

/// Every departure, in session order (sessions that end at a gap of the data or in its last
/// consensus have none).
pub fn departures(presence: &Presence, next_starts: &[Option<u32>]) -> Vec<Departure> {
    let n = presence.times.len() as u32;
    presence
        .sessions
        .iter()
        .zip(next_starts)
        .enumerate()
        .filter(|(_, (s, _))| s.end + 1 < n && !presence.ends_at_gap(s))
        .map(|(i, (s, next))| {
            let at = s.end + 1;
            Departure {
                session: i,
                at,
                back_after_ms: next
                    .map(|c| presence.times[c as usize] - presence.times[at as usize]),
            }
        })
        .collect()
}

/// Whether a departure's relay was not back within `ms` (or never).
pub(super) fn not_back_within(d: &Departure, ms: i64) -> bool {
    d.back_after_ms.is_none_or(|back| back > ms)
}
