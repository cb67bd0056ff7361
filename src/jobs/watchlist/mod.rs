//! Watchlists: relay lists as researchers publish them (one fingerprint a line, CSV/TSV with a
//! `fingerprint` column, the pipe-drawn tables of `mysql`/`psql`, Onionoo details JSON), read
//! into the `watchlists` dataset with every line accounted for (`watchlist_notes`), and the
//! derived `watchlist_presence` (per list and consensus: relays present and their
//! probabilities) and `watchlist_relays` (per listed relay: when it was seen, the removal
//! events it left in, the actor holding it).
//!
//! The rooms: `parse` (reading a list file), `store` (the stored lists and their notes),
//! `presence` (the `watchlist_presence` accumulator) and `relays` (the `watchlist_relays`
//! table). This file only re-exports them.

mod parse;
mod presence;
mod relays;
mod store;

pub use parse::{normalise_fingerprint, parse, Listed, Note, Parsed};
pub use presence::PresenceAccumulator;
pub use relays::{relays_table, write_relays, DescriptorCoverage};
pub use store::{add, default_name, load, note_counts, Added, StoredList};
