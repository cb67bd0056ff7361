//! A month of the real network's hourly presence (`../shared/fixtures/real-presence/`,
//! February 2026; read in place, see its SOURCES.md): the 2026-02-04 wave (about 4,800 relays
//! joining within two hours and leaving nine hours later) is one removal event, ranked first,
//! and one actor holds at least 90 % of its relays.
#![cfg(feature = "analytics")] // drives the relaytrail binary

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use common::frames::{ms_column, read_frame, str_column, u32_column};
use common::*;

fn at(date: &str, time: &str) -> i64 {
    relaytrail::descriptor::values::parse_timestamp(date.as_bytes(), time.as_bytes()).unwrap()
        * 1000
}

#[test]
fn the_largest_wave_of_the_month_is_one_removal_ranked_first_and_one_actor() {
    let tarball = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/fixtures/real-presence/consensuses-2026-02.tar.xz");
    assert!(
        tarball.is_file(),
        "{} (the shared fixtures beside the clone)",
        tarball.display()
    );
    let dir = tempfile::tempdir().unwrap();
    let warehouse = dir.path().join("wh");
    assert!(import_into(&warehouse, &[tarball], 2).errors.is_empty());
    for stage in ["jobs", "attribute"] {
        relaytrail_ok(&[
            stage.as_ref(),
            "--quiet".as_ref(),
            "--warehouse".as_ref(),
            warehouse.as_os_str(),
        ]);
    }

    // The wave, from the documents: relays first listed 2026-02-04 12:00–14:00 and gone
    // before the day ends.
    let relays = read_frame(&warehouse, "relays");
    let fps = str_column(&relays, "fingerprint");
    let first = ms_column(&relays, "first_seen");
    let last = ms_column(&relays, "last_seen");
    let (from, to, day_end) = (
        at("2026-02-04", "12:00:00"),
        at("2026-02-04", "14:00:00"),
        at("2026-02-05", "00:00:00"),
    );
    let wave: BTreeSet<&str> = (0..fps.len())
        .filter(|&i| (from..=to).contains(&first[i].unwrap()) && last[i].unwrap() < day_end)
        .map(|i| fps[i].as_str())
        .collect();
    assert!(wave.len() > 4000, "{} relays in the wave", wave.len());

    // One removal event holds most of them, of kind removal, ranked first.
    let members = read_frame(&warehouse, "removal_event_relays");
    let mut per_event: BTreeMap<i64, usize> = BTreeMap::new();
    for (fp, t) in str_column(&members, "fingerprint")
        .iter()
        .zip(ms_column(&members, "event_time"))
    {
        if wave.contains(fp.as_str()) {
            *per_event.entry(t.unwrap()).or_default() += 1;
        }
    }
    // (Relays of the wave that left in its first hours, one by one, are ordinary-looking
    // departures of those hours; the event is the mass departure.)
    assert_eq!(per_event.len(), 1, "one event: {per_event:?}");
    let (&event, &held) = per_event.iter().next().unwrap();
    assert!(
        held * 10 >= wave.len() * 8,
        "{held} of {} in the event",
        wave.len()
    );
    let events = read_frame(&warehouse, "removal_events");
    let row = ms_column(&events, "event_time")
        .iter()
        .position(|t| *t == Some(event))
        .unwrap();
    assert_eq!(str_column(&events, "kind")[row], "removal");
    assert_eq!(u32_column(&events, "rank")[row], Some(1));

    // One actor holds at least 90 % of the wave.
    let actors = read_frame(&warehouse, "actor_members");
    let mut per_actor: BTreeMap<String, usize> = BTreeMap::new();
    for (fp, actor) in str_column(&actors, "fingerprint")
        .iter()
        .zip(str_column(&actors, "actor_id"))
    {
        if wave.contains(fp.as_str()) {
            *per_actor.entry(actor).or_default() += 1;
        }
    }
    let best = per_actor.values().max().copied().unwrap_or(0);
    assert!(
        best * 10 >= wave.len() * 9,
        "{best} of {} in one actor",
        wave.len()
    );
}
