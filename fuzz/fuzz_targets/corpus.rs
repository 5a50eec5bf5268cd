//! The corpus reader and tokenizer on arbitrary bytes: compression detection (plain, gzip,
//! xz), line splitting, strict and lossy UTF-8, markers, lowercasing.
#![no_main]

use bilinear_skipgram::{CorpusOptions, corpus::SentenceStream, Utf8Policy, corpus::for_each_token};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The first byte picks the options; the rest is the file.
    let Some((&flags, text)) = data.split_first() else {
        return;
    };
    let options = CorpusOptions::default()
        .with_utf8(if flags & 1 == 0 {
            Utf8Policy::Strict
        } else {
            Utf8Policy::Lossy
        })
        .with_markers(flags & 2 != 0)
        .with_lowercase(flags & 4 != 0);
    let mut stream =
        SentenceStream::from_reader(std::io::Cursor::new(text.to_vec()), "fuzz", options);
    // Errors skip a line or a source; the stream must still end.
    for _ in 0..100_000 {
        match stream.next_sentence(|token| assert!(!token.is_empty())) {
            Ok(true) | Err(_) => {}
            Ok(false) => break,
        }
    }
    let mut buffer = String::new();
    for_each_token(
        &String::from_utf8_lossy(text),
        flags & 4 != 0,
        &mut buffer,
        |token| {
            assert!(!token.is_empty());
        },
    );
});
