//! Fuzz target: a TorDNSEL exit list (`descriptor::exit_list::parse`) and its `exit_lists`
//! rows.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| relaytrail_fuzz::exit_list(data));
