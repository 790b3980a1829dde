//! libFuzzer target `frame`: see `confab_fuzz::frame`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| confab_fuzz::frame(data));
