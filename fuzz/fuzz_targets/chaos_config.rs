#![no_main]
// See crates/steady-fuzz: the entry point is shared with the corpus replay tests.
libfuzzer_sys::fuzz_target!(|data: &[u8]| steady_fuzz::chaos_config(data));
