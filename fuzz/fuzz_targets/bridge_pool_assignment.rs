//! Fuzz target: a bridge pool assignment list (`descriptor::bridge_pool_assignment::parse`),
//! and its `bridge_pool_assignments` rows.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| relaytrail_fuzz::bridge_pool_assignment(data));
