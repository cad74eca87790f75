//! cargo-fuzz target `forwarded`: see `particle_auth_mock::fuzzing::forwarded`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    particle_auth_mock::fuzzing::forwarded(data);
});
