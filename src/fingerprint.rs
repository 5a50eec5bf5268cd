//! Content fingerprints of corpus sources: a fast 64-bit hash of the bytes the corpus
//! reader reads, after decompression, so that a checkpoint can refuse to resume on a
//! corpus whose files have the same names and sizes but other text.
//!
//! The hash takes the bytes as 8-byte little-endian words (the last one padded with
//! zeros), folds each into the state with a multiply and an xor-shift, and finishes with
//! the length, so it does not depend on how the input is split into reads. It is not a
//! cryptographic hash: it tells an accidental change from the same text, not a forgery.

use std::io::{self, BufRead, Read};
use std::path::PathBuf;

/// What a checkpoint records of one corpus source to recognise it on resume.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SourceFingerprint {
    /// The source's name: a corpus file's path as given, `<text>` for text in memory,
    /// `<sentences>` for pre-tokenised sentences, a reader function's name.
    pub name: PathBuf,
    /// Its size in bytes on disk (compressed, for a compressed file); `None` for a source
    /// that is not a file.
    pub size: Option<u64>,
    /// The bytes read from it after decompression (for pre-tokenised sentences, the bytes
    /// of their words joined by a space, with a line feed after each sentence).
    pub bytes: u64,
    /// The 64-bit hash of those bytes: taken as 8-byte little-endian words (the last one
    /// padded with zeros), each folded into the state with a multiply and an xor-shift,
    /// then the length; independent of how the bytes were split into reads. Not
    /// cryptographic: it tells an accidental change from the same text, not a forgery.
    pub hash: u64,
}

/// The running hash of a byte stream (see the [module documentation](self)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Hasher {
    state: u64,
    /// Bytes of the word being filled, in its low bytes.
    pending: u64,
    /// Total bytes seen.
    len: u64,
}

const MULTIPLIER: u64 = 0x9E37_79B9_7F4A_7C15;

impl Default for Hasher {
    fn default() -> Self {
        Hasher {
            state: 0x243F_6A88_85A3_08D3,
            pending: 0,
            len: 0,
        }
    }
}

impl Hasher {
    #[inline]
    fn word(&mut self, word: u64) {
        self.state = (self.state ^ word).wrapping_mul(MULTIPLIER);
        self.state ^= self.state >> 29;
    }

    /// Adds `bytes` to the stream.
    pub(crate) fn update(&mut self, mut bytes: &[u8]) {
        let filled = (self.len % 8) as usize;
        self.len += bytes.len() as u64;
        if filled > 0 {
            let take = (8 - filled).min(bytes.len());
            for (i, &b) in bytes[..take].iter().enumerate() {
                self.pending |= u64::from(b) << (8 * (filled + i));
            }
            bytes = &bytes[take..];
            if filled + take < 8 {
                return;
            }
            let word = std::mem::take(&mut self.pending);
            self.word(word);
        }
        let mut words = bytes.chunks_exact(8);
        for word in words.by_ref() {
            let mut b = [0_u8; 8];
            b.copy_from_slice(word);
            self.word(u64::from_le_bytes(b));
        }
        for (i, &b) in words.remainder().iter().enumerate() {
            self.pending |= u64::from(b) << (8 * i);
        }
    }

    /// The bytes seen so far.
    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    /// The hash of the bytes seen so far.
    pub(crate) fn finish(&self) -> u64 {
        let mut last = *self;
        if !last.len.is_multiple_of(8) {
            let word = last.pending;
            last.word(word);
        }
        last.word(last.len);
        let mut z = last.state;
        z = (z ^ (z >> 31)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z ^ (z >> 29)
    }
}

/// A reader that hashes every byte its consumer takes (through `read` or `consume`).
pub(crate) struct HashingReader<R> {
    inner: R,
    hasher: Hasher,
}

impl<R> HashingReader<R> {
    pub(crate) fn new(inner: R) -> Self {
        HashingReader {
            inner,
            hasher: Hasher::default(),
        }
    }

    pub(crate) fn hasher(&self) -> &Hasher {
        &self.hasher
    }
}

impl<R: BufRead> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for HashingReader<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        self.inner.fill_buf()
    }

    fn consume(&mut self, amount: usize) {
        if amount > 0 {
            // The bytes being consumed are those the last `fill_buf` returned, still in
            // the buffer, so this second call does no I/O.
            if let Ok(buf) = self.inner.fill_buf() {
                self.hasher.update(&buf[..amount.min(buf.len())]);
            }
        }
        self.inner.consume(amount);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash(bytes: &[u8]) -> u64 {
        let mut hasher = Hasher::default();
        hasher.update(bytes);
        hasher.finish()
    }

    #[test]
    fn the_hash_does_not_depend_on_how_the_bytes_are_split() {
        let text: Vec<u8> = (0..200_u32).map(|i| (i * 37 % 251) as u8).collect();
        let whole = hash(&text);
        for split in [1, 3, 7, 8, 9, 15, 64] {
            let mut hasher = Hasher::default();
            for piece in text.chunks(split) {
                hasher.update(piece);
            }
            assert_eq!(hasher.finish(), whole, "pieces of {split}");
            assert_eq!(hasher.len(), 200);
        }
    }

    #[test]
    fn small_changes_change_the_hash() {
        let base = b"in the beginning god created the heaven and the earth".to_vec();
        let shifted: Vec<u8> = base
            .iter()
            .map(|&b| if b.is_ascii_lowercase() { b + 1 } else { b })
            .collect();
        let mut one_bit = base.clone();
        one_bit[20] ^= 1;
        let mut padded = base.clone();
        padded.push(0);
        let hashes = [hash(&base), hash(&shifted), hash(&one_bit), hash(&padded)];
        for i in 0..hashes.len() {
            for j in 0..i {
                assert_ne!(hashes[i], hashes[j], "{i} and {j}");
            }
        }
        assert_ne!(hash(b""), hash(b"\0"));
    }

    #[test]
    fn the_reader_hashes_what_is_consumed_either_way() {
        let text = b"one two three\nfour five\n".repeat(100);
        let mut by_lines = HashingReader::new(std::io::BufReader::with_capacity(7, &text[..]));
        let mut line = Vec::new();
        while by_lines.read_until(b'\n', &mut line).unwrap_or(0) > 0 {}
        let mut by_reads = HashingReader::new(&text[..]);
        std::io::copy(&mut by_reads, &mut std::io::sink()).unwrap();
        assert_eq!(by_lines.hasher().finish(), hash(&text));
        assert_eq!(by_reads.hasher().finish(), hash(&text));
    }
}
