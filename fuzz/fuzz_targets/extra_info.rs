//! Fuzz target: one extra-info descriptor, relay or bridge (`descriptor::extra_info::parse`),
//! and its `extra_infos` row.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| relaytrail_fuzz::extra_info(data));
