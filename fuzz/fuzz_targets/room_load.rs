//! libFuzzer target `room_load`: see `confab_fuzz::room_load`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| confab_fuzz::room_load(data));
