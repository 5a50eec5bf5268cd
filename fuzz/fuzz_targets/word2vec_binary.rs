//! `read_word2vec` in binary mode on arbitrary bytes.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = common::scratch_file(data);
    if let Ok((words, vectors)) = bilinear_skipgram::read_word2vec(&path, bilinear_skipgram::Word2vecFormat::Binary) {
        assert_eq!(words.len(), vectors.nrows());
        assert!(vectors.len() * 4 <= data.len());
    }
});
