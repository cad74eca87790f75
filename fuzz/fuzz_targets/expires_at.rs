//! cargo-fuzz target `expires_at`: see `particle_auth_mock::fuzzing::expires_at`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    particle_auth_mock::fuzzing::expires_at(data);
});
