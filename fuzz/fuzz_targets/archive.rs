//! Fuzz target: an input file's container framing (`archive::read_members_from`: xz / gzip /
//! tar / plain), every member then imported.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| relaytrail_fuzz::archive(data));
