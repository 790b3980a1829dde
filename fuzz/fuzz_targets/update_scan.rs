//! libFuzzer target `update_scan`: see `confab_fuzz::update_scan`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| confab_fuzz::update_scan(data));
