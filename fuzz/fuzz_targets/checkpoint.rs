//! `Checkpoint::read` on arbitrary bytes, and on bytes whose last four are made the CRC-32
//! of the rest, so that mutations get past the checksum into the parser.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let read = |bytes: &[u8]| {
        let path = common::scratch_file(bytes);
        if let Ok(checkpoint) = bilinear_skipgram::Checkpoint::read(&path) {
            assert_eq!(checkpoint.model.n_words(), checkpoint.vocab.len());
            assert_eq!(
                checkpoint.state.epoch_losses.len(),
                checkpoint.config.epochs()
            );
        }
    };
    read(data);
    if data.len() >= 4 {
        let mut fixed = data.to_vec();
        let body = fixed.len() - 4;
        let crc = crc32fast::hash(&fixed[..body]);
        fixed[body..].copy_from_slice(&crc.to_le_bytes());
        read(&fixed);
    }
});
