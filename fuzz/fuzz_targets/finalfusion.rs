//! `read_finalfusion` and `read_finalfusion_metadata` on arbitrary bytes.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = common::scratch_file(data);
    if let Ok((words, vectors)) = bilinear_skipgram::read_finalfusion(&path) {
        assert_eq!(words.len(), vectors.nrows());
    }
    let _ = bilinear_skipgram::read_finalfusion_metadata(&path);
});
