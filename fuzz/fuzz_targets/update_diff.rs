//! libFuzzer target `update_diff`: see `confab_fuzz::update_diff`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| confab_fuzz::update_diff(data));
