//! libFuzzer target `rest`: see `confab_fuzz::rest`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| confab_fuzz::rest(data));
