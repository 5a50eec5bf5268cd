//! `read_word2vec` in text mode on arbitrary bytes.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = common::scratch_file(data);
    if let Ok((words, vectors)) = bilinear_skipgram::read_word2vec(&path, bilinear_skipgram::Word2vecFormat::Text) {
        assert_eq!(words.len(), vectors.nrows());
    }
});
