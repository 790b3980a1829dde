//! libFuzzer target `token`: see `confab_fuzz::token`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| confab_fuzz::token(data));
