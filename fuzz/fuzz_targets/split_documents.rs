//! Fuzz target: a member split into documents and typed (`archive::sniff::split_documents`:
//! `@type`, first keyword, member name), each imported document parsed into rows.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| relaytrail_fuzz::member(data));
