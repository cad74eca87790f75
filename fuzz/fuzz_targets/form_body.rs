//! cargo-fuzz target `form_body`: see `particle_auth_mock::fuzzing::form_body`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    particle_auth_mock::fuzzing::form_body(data);
});
