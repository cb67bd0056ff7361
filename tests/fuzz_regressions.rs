//! Regression tests for the inputs the fuzz targets (`fuzz/`, `scripts/fuzz.sh`) found
//! crashing. Each input is kept as `tests/fixtures/fuzz/<target>-<name>`. It goes through the
//! same path as in its target: parse, then stage the rows into the warehouse's builders. Each
//! test asserts the result the fixed code gives.

use relaytrail::descriptor::{bandwidth_file, ErrorKind};
use relaytrail::warehouse::schema::{
    BandwidthFileEntriesBuilder, BandwidthFilesBuilder, BatchBuilder, Source,
};

fn fuzz_input(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/fuzz/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

const SOURCE: Source<'static> = Source {
    file: "fuzz-input",
    member: None,
};

/// Found by `bandwidth_file`. The relay line's `updated_at=15578076974762402` was taken as a
/// Unix time. Storing it in milliseconds overflowed i64: a panic with overflow checks, a
/// wrapped time without them. Relay times are now held to 1990..2100 like every other time,
/// and a line with a bad time is skipped with a warning.
#[test]
fn bandwidth_file_relay_time_out_of_range_is_a_warning() {
    let data = fuzz_input("bandwidth_file-updated-at-overflow");
    let parsed = bandwidth_file::parse(&data, 1).expect("the first line is a valid Unix time");
    assert_eq!(parsed.warnings.len(), 1, "{:?}", parsed.warnings);
    assert_eq!(parsed.warnings[0].kind, ErrorKind::BadTimestamp);
    assert_eq!(parsed.warnings[0].line, 2);
    let file = parsed.doc;
    assert_eq!(file.timestamp, 957_837_295);
    assert!(
        file.relays.is_empty(),
        "the relay line with the bad time is skipped"
    );

    let mut files = BandwidthFilesBuilder::default();
    files.push(&file, SOURCE);
    assert_eq!(files.finish().num_rows(), 1);
    let mut entries = BandwidthFileEntriesBuilder::default();
    for relay in &file.relays {
        entries.push(&file, relay);
    }
    assert!(entries.is_empty());

    // The same line with a time in range is kept.
    let good = String::from_utf8(data)
        .unwrap()
        .replace("15578076974762402", "1557807697");
    let parsed = bandwidth_file::parse(good.as_bytes(), 1).unwrap();
    assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
    assert_eq!(parsed.doc.relays[0].updated_at, Some(1_557_807_697));
    let mut entries = BandwidthFileEntriesBuilder::default();
    entries.push(&parsed.doc, &parsed.doc.relays[0]);
    assert_eq!(entries.finish().num_rows(), 1);
}
