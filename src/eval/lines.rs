//! Reading evaluation files line by line, with a policy for malformed lines, and looking up
//! their words.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

use crate::corpus::{END_MARKER, START_MARKER};
use crate::error::{Error, Result};
use crate::io::{LineReader, MAX_LINE_BYTES};
use crate::vocab::{UNK_TOKEN, Vocab};

/// What a reader of an evaluation file does with a malformed line (a wrong number of
/// fields, a score that is not a number, invalid UTF-8).
///
/// Blank lines are never malformed; they are skipped under either policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MalformedPolicy {
    /// Stop at the first malformed line with [`Error::Parse`], whose message reads
    /// `FILE:LINE: what was wrong` and quotes the bad text.
    #[default]
    Strict,
    /// Skip malformed lines; the reader keeps their line numbers so that the caller can
    /// report how many were skipped.
    Skip,
}

/// Why a line was rejected.
pub(crate) enum Rejection {
    /// The line is malformed: an error or a skip, depending on the policy.
    Malformed(String),
    /// The file cannot be what the reader expects (for example a missing header): an
    /// error under either policy.
    Fatal(String),
}

/// Reads `reader` line by line and hands every non-blank line, without its line ending
/// and surrounding whitespace, to `parse`, with its one-based number. Returns the numbers
/// of the lines skipped as malformed (always empty under [`MalformedPolicy::Strict`]).
/// A byte-order mark at the start of the file is dropped; a line longer than
/// [`MAX_LINE_BYTES`] is an error under either policy.
pub(crate) fn read_lines(
    reader: impl BufRead,
    path: &Path,
    policy: MalformedPolicy,
    mut parse: impl FnMut(u64, &str) -> Result<(), Rejection>,
) -> Result<Vec<u64>> {
    let mut malformed = Vec::new();
    let mut lines = LineReader::new(reader, path, MAX_LINE_BYTES);
    loop {
        let line_number = lines.line_number() + 1;
        let Some(buffer) = lines.next_bytes()? else {
            return Ok(malformed);
        };
        let outcome = match std::str::from_utf8(buffer) {
            Ok(text) => {
                let text = text.trim();
                if text.is_empty() {
                    continue;
                }
                parse(line_number, text)
            }
            Err(e) => Err(Rejection::Malformed(format!(
                "invalid UTF-8 ({e}): {:?}",
                String::from_utf8_lossy(buffer).trim_end()
            ))),
        };
        match outcome {
            Ok(()) => {}
            Err(Rejection::Malformed(_)) if policy == MalformedPolicy::Skip => {
                malformed.push(line_number);
            }
            Err(Rejection::Malformed(message) | Rejection::Fatal(message)) => {
                return Err(Error::parse(path, line_number, message));
            }
        }
    }
}

/// Opens `path` for [`read_lines`]. A pipe is read as it comes (`<(zcat set.txt.gz)`; a
/// named pipe waits for its writer), and a line longer than the limit ends the reading at
/// once, so `/dev/zero` is an error, not a hang.
pub(crate) fn open(path: &Path) -> Result<BufReader<File>> {
    File::open(path)
        .map(BufReader::new)
        .map_err(|source| Error::File {
            path: path.to_path_buf(),
            source,
        })
}

/// The fields of a line: split at tabs if it has any (fields may then contain spaces),
/// otherwise at runs of whitespace. Fields are trimmed.
pub(crate) fn fields(line: &str) -> Vec<&str> {
    if line.contains('\t') {
        line.split('\t').map(str::trim).collect()
    } else {
        line.split_whitespace().collect()
    }
}

/// A name for a dataset read from `path`: its file name without the extension.
pub(crate) fn dataset_name(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The entries that stand for no word: [`UNK_TOKEN`], [`START_MARKER`] and [`END_MARKER`].
/// They are never looked up and never answers.
const SPECIAL_TOKENS: [&str; 3] = [UNK_TOKEN, START_MARKER, END_MARKER];

/// The ids of the special tokens present in `vocab`, and its unknown entry.
pub(crate) fn special_ids(vocab: &Vocab) -> Vec<usize> {
    let mut ids: Vec<usize> = SPECIAL_TOKENS
        .iter()
        .filter_map(|&t| vocab.id(t).filter(|&id| vocab.word(id) == Some(t)))
        .chain(vocab.unk_id())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// The vocabulary id of a word from an evaluation file: [`Vocab::id`], the crate's one
/// lookup rule (the word as written, then lowercased as the corpus tokenizer lowercases),
/// except that the entries [`UNK_TOKEN`], [`START_MARKER`] and [`END_MARKER`] are never
/// returned: they are not words.
///
/// ```
/// use bilinear_skipgram::{OovPolicy, Vocab, eval::find_word};
///
/// let vocab = Vocab::from_counts([("paris".to_owned(), 3), ("NaN".to_owned(), 1)], OovPolicy::Unk)?;
/// assert_eq!(find_word(&vocab, "Paris"), Some(0));
/// assert_eq!(find_word(&vocab, "NaN"), Some(1));
/// assert_eq!(find_word(&vocab, "london"), None);
/// assert_eq!(find_word(&vocab, "<UNK>"), None);
/// let with_markers = Vocab::from_counts([("<START>".to_owned(), 9), ("a".to_owned(), 1)], OovPolicy::Drop)?;
/// assert_eq!(find_word(&with_markers, "<START>"), None);
/// # Ok::<(), bilinear_skipgram::Error>(())
/// ```
pub fn find_word(vocab: &Vocab, word: &str) -> Option<usize> {
    vocab.id(word).filter(|&id| !is_special(vocab, id))
}

/// Whether entry `id` is [`UNK_TOKEN`], a sentence marker or the vocabulary's unknown
/// entry: not a word.
pub(crate) fn is_special(vocab: &Vocab, id: usize) -> bool {
    vocab.unk_id() == Some(id) || vocab.word(id).is_some_and(|w| SPECIAL_TOKENS.contains(&w))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &[u8], policy: MalformedPolicy) -> (Result<Vec<u64>>, Vec<(u64, String)>) {
        let mut seen = Vec::new();
        let result = read_lines(text, Path::new("t.txt"), policy, |n, line| {
            if line.starts_with('!') {
                return Err(Rejection::Fatal(format!("fatal {line:?}")));
            }
            if line.contains("bad") {
                return Err(Rejection::Malformed(format!("bad line {line:?}")));
            }
            seen.push((n, line.to_owned()));
            Ok(())
        });
        (result, seen)
    }

    #[test]
    fn blank_lines_and_crlf_are_not_malformed() {
        let (result, seen) = run(b"a b\r\n\n  \r\nc d", MalformedPolicy::Strict);
        assert_eq!(result.expect("no error"), Vec::<u64>::new());
        assert_eq!(seen, [(1, "a b".to_owned()), (4, "c d".to_owned())]);
    }

    #[test]
    fn policies() {
        let text = b"ok\nbad one\nok\n\xff\xfe\nbad two\n";
        let (result, seen) = run(text, MalformedPolicy::Skip);
        assert_eq!(result.expect("skips"), [2, 4, 5]);
        assert_eq!(seen.len(), 2);
        let (result, _) = run(text, MalformedPolicy::Strict);
        let err = result.expect_err("strict");
        assert_eq!(err.to_string(), "t.txt:2: bad line \"bad one\"");
        let (result, _) = run(b"\xffx\n", MalformedPolicy::Strict);
        let message = result.expect_err("utf-8").to_string();
        assert!(message.starts_with("t.txt:1: invalid UTF-8"), "{message}");
        // A fatal rejection is an error even when skipping.
        let (result, _) = run(b"bad\n!header\n", MalformedPolicy::Skip);
        assert_eq!(
            result.expect_err("fatal").to_string(),
            "t.txt:2: fatal \"!header\""
        );
    }

    #[test]
    fn fields_split_at_tabs_or_whitespace() {
        assert_eq!(fields("a\tb c\t 3 "), ["a", "b c", "3"]);
        assert_eq!(fields("a  b   3"), ["a", "b", "3"]);
        assert_eq!(fields("a\t\t3"), ["a", "", "3"]);
    }
}
