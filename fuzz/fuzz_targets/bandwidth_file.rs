//! Fuzz target: a bandwidth file (`descriptor::bandwidth_file::parse`), and its
//! `bandwidth_files` and `bandwidth_file_entries` rows.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| relaytrail_fuzz::bandwidth_file(data));
