//! `read_matrix` (the `.npy` reader behind `load_model`) on arbitrary bytes.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = common::scratch_file(data);
    if let Ok(matrix) = bilinear_skipgram::read_matrix(&path) {
        // Whatever is accepted holds exactly the values the file's data section has.
        assert!(matrix.len() * 4 <= data.len());
    }
});
