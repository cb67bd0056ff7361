//! Fuzz target: a network-status consensus, ns or microdesc flavour
//! (`descriptor::consensus::parse`), and its `consensuses` and `consensus_entries` rows (or
//! `microdesc_consensus_entries`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| relaytrail_fuzz::consensus(data));
