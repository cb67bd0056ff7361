//! Fuzz target: a sanitized bridge network status (`descriptor::bridge_status::parse`), and its
//! `bridge_network_statuses` and `bridge_status_entries` rows.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| relaytrail_fuzz::bridge_status(data));
