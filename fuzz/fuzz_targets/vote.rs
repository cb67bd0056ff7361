//! Fuzz target: an authority vote (`descriptor::vote::parse`), and its `votes` and
//! `vote_entries` rows.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| relaytrail_fuzz::vote(data));
