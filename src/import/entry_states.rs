//! Consensus entries staged as (valid-after, state) rows. Hour after hour a relay's entry is
//! mostly the same text byte for byte, so each distinct entry (a *state*) is parsed and
//! stored once: the consensus parser offers every entry's text to [`EntryStates::known`]
//! first and passes over the ones that repeat the relay's previous entry
//! ([`consensus::parse_reusing`]). At the end each partition's rows are sorted into the
//! dataset's order (fingerprint, then valid-after), rows with the same key resolved as the
//! merge resolves them, and handed out as a [`Run::States`] that builds its batches as it is
//! written.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::sync::Arc;

use rustc_hash::FxHashMap;

use anyhow::Result;

use crate::descriptor::consensus::{self, Consensus, KnownEntry};
use crate::descriptor::tokenizer::fields;
use crate::descriptor::{ParseError, Parsed};
use crate::warehouse::schema::{millis, BatchBuilder, ConsensusEntriesBuilder};
use crate::warehouse::store::{RowOrder, Run};
use crate::warehouse::{DatasetId, PartitionKey};

/// Budget of one input's staged entries: past either limit the runs are spilled to disk and
/// the states start over. A month of hourly consensuses at 7000 relays is about 6 M rows
/// (16 bytes each) and 1.2 M states (about 400 bytes each) when a fifth of the entries change
/// from hour to hour; the limits keep the import under 1 GiB when more of them change.
const MAX_ROWS: usize = 16_000_000;
const MAX_STATES: usize = 1_500_000;

/// A relay's latest reusable entry: where its text is in `member`, its line ends, its state.
#[derive(Clone, Copy)]
struct Slot {
    start: usize,
    len: usize,
    lines: u32,
    state: u32,
    generation: u32,
}

/// The distinct entries of one input and the rows that use them.
pub struct EntryStates {
    /// One row per state; its `valid_after` is that of the first row using it (each row's
    /// own time replaces it on output).
    states: ConsensusEntriesBuilder,
    /// The relay (index into `identities`) of each state.
    state_relay: Vec<u32>,
    identities: Vec<[u8; 20]>,
    relay_index: FxHashMap<[u8; 20], u32>,
    /// Per relay seen, by the identity field of its `r` line: its [`Slot`].
    slot_of: FxHashMap<Box<[u8]>, u32>,
    slots: Vec<Slot>,
    /// The archive member holding the latest consensus added: the current slots point
    /// into it (kept instead of copying the texts out).
    member: Option<Arc<Vec<u8>>>,
    /// Number of consensuses added; a slot is current when it was filled by the latest one.
    generation: u32,
    /// Rows per partition: (valid-after in seconds, state).
    rows: BTreeMap<PartitionKey, Vec<(i64, u32)>>,
    total_rows: usize,
    max_rows: usize,
}

impl EntryStates {
    /// `max_rows` overrides the row budget (tests use a small one to force spills).
    pub fn new(max_rows: Option<usize>) -> Self {
        EntryStates {
            states: ConsensusEntriesBuilder::default(),
            state_relay: Vec::new(),
            identities: Vec::new(),
            relay_index: FxHashMap::default(),
            slot_of: FxHashMap::default(),
            slots: Vec::new(),
            member: None,
            generation: 0,
            rows: BTreeMap::new(),
            total_rows: 0,
            max_rows: max_rows.unwrap_or(MAX_ROWS).max(1),
        }
    }

    /// When `rest` starts with the text of its relay's entry in the latest consensus: that
    /// text, with the relay's slot as its id.
    pub fn known<'a>(&self, rest: &'a [u8]) -> Option<KnownEntry<'a>> {
        let slot_index = *self.slot_of.get(identity_field(rest)?)?;
        let slot = &self.slots[slot_index as usize];
        if slot.generation != self.generation {
            return None; // its text went with an older consensus
        }
        let member = self.member.as_ref()?;
        let text = &member[slot.start..slot.start + slot.len];
        rest.starts_with(text).then(|| KnownEntry {
            text: &rest[..text.len()],
            id: slot_index,
            lines: slot.lines,
        })
    }

    /// Adds the rows of one consensus, `document` (a slice of `member`): its parsed entries
    /// (new states) and the entries the parser passed over (their slots and offsets).
    /// Returns the number of rows added.
    pub fn add(
        &mut self,
        key: PartitionKey,
        member: &Arc<Vec<u8>>,
        document: &[u8],
        consensus: &Consensus,
    ) -> usize {
        let offset_in_member = |bytes: &[u8]| bytes.as_ptr() as usize - member.as_ptr() as usize;
        let base = offset_in_member(document);
        let valid_after = consensus.valid_after;
        let generation = self.generation + 1;
        let rows = self.rows.entry(key).or_default();
        for &(slot_index, offset) in &consensus.known_entries {
            let slot = &mut self.slots[slot_index as usize];
            slot.start = base + offset;
            slot.generation = generation;
            rows.push((valid_after, slot.state));
        }
        for entry in &consensus.entries {
            let state = self.states.len() as u32;
            self.states.push(valid_after, entry);
            let next = self.identities.len() as u32;
            let relay = *self.relay_index.entry(entry.identity).or_insert(next);
            if relay == next {
                self.identities.push(entry.identity);
            }
            self.state_relay.push(relay);
            if let Some((text, field)) = entry
                .reusable_text
                .and_then(|text| Some((text, identity_field(text)?)))
            {
                let slot = Slot {
                    start: offset_in_member(text),
                    len: text.len(),
                    lines: memchr::memchr_iter(b'\n', text).count() as u32,
                    state,
                    generation,
                };
                match self.slot_of.get(field) {
                    Some(&index) => self.slots[index as usize] = slot,
                    None => {
                        self.slot_of.insert(field.into(), self.slots.len() as u32);
                        self.slots.push(slot);
                    }
                }
            }
            rows.push((valid_after, state));
        }
        self.member = Some(member.clone());
        self.generation = generation;
        let added = consensus.entries.len() + consensus.known_entries.len();
        self.total_rows += added;
        added
    }

    /// Whether the staged rows or states have reached their budget.
    pub fn full(&self) -> bool {
        self.total_rows >= self.max_rows || self.states.len() >= MAX_STATES
    }

    /// Hands out every partition's rows as a sorted run without duplicate keys and starts
    /// over with no states.
    pub fn take_runs(&mut self) -> Result<Vec<(PartitionKey, Run)>> {
        let max_rows = self.max_rows;
        let mut taken = std::mem::replace(self, EntryStates::new(Some(max_rows)));
        if taken.total_rows == 0 {
            return Ok(Vec::new());
        }
        let states = taken.states.finish();
        let dataset = DatasetId::ConsensusEntries.dataset();
        let order = RowOrder::new(&dataset)?;
        let time_column = states.schema().index_of("valid_after")?;
        // Fingerprints sort as their identity bytes do (upper-case hex keeps byte order).
        let mut by_identity: Vec<u32> = (0..taken.identities.len() as u32).collect();
        by_identity.sort_unstable_by_key(|&r| taken.identities[r as usize]);
        let mut relay_rank = vec![0u32; by_identity.len()];
        for (rank, &relay) in by_identity.iter().enumerate() {
            relay_rank[relay as usize] = rank as u32;
        }
        let state_rank: Vec<u32> = taken
            .state_relay
            .iter()
            .map(|&r| relay_rank[r as usize])
            .collect();
        let mut runs = Vec::new();
        for (key, rows) in std::mem::take(&mut taken.rows) {
            let (mut times, mut states_of_rows) =
                sort_by_relay(rows, &state_rank, by_identity.len());
            // The same relay twice in one consensus (or one consensus twice): the merge keeps
            // the row that sorts first on the other columns.
            let mut kept = 0;
            for i in 0..times.len() {
                let (time, state) = (times[i], states_of_rows[i]);
                if kept > 0
                    && times[kept - 1] == time
                    && state_rank[states_of_rows[kept - 1] as usize] == state_rank[state as usize]
                {
                    let previous = states_of_rows[kept - 1] as usize;
                    if order.tie(&states, state as usize, &states, previous) == Ordering::Less {
                        states_of_rows[kept - 1] = state;
                    }
                    continue;
                }
                times[kept] = time;
                states_of_rows[kept] = state;
                kept += 1;
            }
            times.truncate(kept);
            states_of_rows.truncate(kept);
            for time in &mut times {
                *time = millis(*time);
            }
            runs.push((
                key,
                Run::States {
                    states: states.clone(),
                    time_column,
                    times,
                    rows: states_of_rows,
                },
            ));
        }
        Ok(runs)
    }
}

/// Orders rows by relay rank, then time, then state, as separate time and state columns: a
/// counting sort by rank (rows arrive in consensus order, so each relay's rows are mostly in
/// time order already), then a sort of the relays whose rows are not.
fn sort_by_relay(rows: Vec<(i64, u32)>, state_rank: &[u32], relays: usize) -> (Vec<i64>, Vec<u32>) {
    let mut starts = vec![0usize; relays + 1];
    for &(_, state) in &rows {
        starts[state_rank[state as usize] as usize + 1] += 1;
    }
    for i in 1..starts.len() {
        starts[i] += starts[i - 1];
    }
    let mut next = starts.clone();
    let mut times = vec![0i64; rows.len()];
    let mut states = vec![0u32; rows.len()];
    for (time, state) in rows {
        let slot = &mut next[state_rank[state as usize] as usize];
        times[*slot] = time;
        states[*slot] = state;
        *slot += 1;
    }
    for window in starts.windows(2) {
        let range = window[0]..window[1];
        let in_order = (range.start + 1..range.end)
            .all(|i| (times[i - 1], states[i - 1]) <= (times[i], states[i]));
        if !in_order {
            let mut group: Vec<(i64, u32)> = range.clone().map(|i| (times[i], states[i])).collect();
            group.sort_unstable();
            for (i, (time, state)) in range.zip(group) {
                times[i] = time;
                states[i] = state;
            }
        }
    }
    (times, states)
}

/// The identity field (second argument) of an entry text's `r` line.
fn identity_field(text: &[u8]) -> Option<&[u8]> {
    let line = text.strip_prefix(b"r ")?;
    let line = &line[..memchr::memchr(b'\n', line).unwrap_or(line.len())];
    fields(line).nth(1)
}

/// Parses a consensus, passing over the entries `states` already holds (their states are
/// the consensus's `known_entries`).
pub fn parse_consensus<'a>(
    states: &EntryStates,
    data: &'a [u8],
    first_line: u32,
) -> Result<Parsed<Consensus<'a>>, ParseError> {
    consensus::parse_reusing(data, first_line, |rest| states.known(rest))
}
