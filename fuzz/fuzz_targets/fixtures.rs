//! cargo-fuzz target `fixtures`: see `particle_auth_mock::fuzzing::fixtures`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    particle_auth_mock::fuzzing::fixtures(data);
});
