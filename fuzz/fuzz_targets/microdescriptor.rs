//! Fuzz target: one microdescriptor (`descriptor::microdescriptor::parse`), and its
//! `microdescriptors` row.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| relaytrail_fuzz::microdescriptor(data));
