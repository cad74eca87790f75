//! cargo-fuzz target `authorization`: see `particle_auth_mock::fuzzing::authorization`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    particle_auth_mock::fuzzing::authorization(data);
});
