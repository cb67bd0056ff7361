//! Fuzz target: one server descriptor (`descriptor::server_descriptor::parse`) and its
//! `server_descriptors` row.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| relaytrail_fuzz::server_descriptor(data));
