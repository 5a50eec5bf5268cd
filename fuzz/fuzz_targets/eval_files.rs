//! The line-based readers: similarity, analogy and BATS files under both malformed-line
//! policies, and `vocab.txt`.
#![no_main]

use std::path::Path;

use bilinear_skipgram::{
    eval::AnalogyDataset, eval::BatsDataset, eval::MalformedPolicy, OovPolicy, eval::SimilarityDataset, Vocab,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = Path::new("fuzz.txt");
    for policy in [MalformedPolicy::Strict, MalformedPolicy::Skip] {
        let _ = SimilarityDataset::from_reader(data, path, policy);
        let _ = AnalogyDataset::from_reader(data, path, policy);
        let _ = BatsDataset::from_reader(data, path, policy);
    }
    for oov in [OovPolicy::Drop, OovPolicy::Unk] {
        let _ = Vocab::read_text(data, path, oov);
    }
});
