//! Reading the lines of a text file that is not a corpus (a vocabulary, an evaluation set,
//! queries typed on standard input) with a limit on their length, so that a file without
//! line breaks (`/dev/zero`, a binary file given by mistake) is an error naming the line
//! rather than an allocation of everything it holds.

use std::io::{BufRead, Read};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The longest line, in bytes without its line ending, that the readers of vocabulary
/// files, evaluation sets and queries accept: 64 KiB, hundreds of times what such a line
/// holds. A longer line is an [`Error::Parse`] naming the file and the line.
pub const MAX_LINE_BYTES: usize = 1 << 16;

/// The byte-order mark U+FEFF as UTF-8, which some editors put at the start of a file.
const BYTE_ORDER_MARK: &[u8] = "\u{feff}".as_bytes();

/// Lines of a text, numbered from 1, each at most a given number of bytes.
///
/// A trailing `"\n"` or `"\r\n"` is removed, and so is a UTF-8 byte-order mark at the start
/// of the first line. A line longer than the limit is an error; the reader then goes on
/// with the next line, having kept no more of the long one than the limit.
///
/// ```
/// use bilinear_skipgram::{Error, io::LineReader};
///
/// let text = "\u{feff}first\r\n\nthird is too long\n\u{ff}\n";
/// let mut lines = LineReader::new(text.as_bytes(), "queries.txt", 12);
/// assert_eq!(lines.next_line()?, Some("first"));
/// assert_eq!(lines.next_line()?, Some(""));
/// let error = lines.next_line().unwrap_err();
/// assert_eq!(error.to_string(), "queries.txt:3: the line is longer than 12 bytes");
/// assert_eq!(lines.next_line()?, Some("\u{ff}"));
/// assert_eq!(lines.next_line()?, None);
/// # Ok::<(), Error>(())
/// ```
#[derive(Debug)]
pub struct LineReader<R> {
    reader: R,
    name: PathBuf,
    limit: usize,
    line: u64,
    buffer: Vec<u8>,
}

impl<R: BufRead> LineReader<R> {
    /// Reads lines of at most `limit` bytes (without the line ending) from `reader`;
    /// `name` stands for the source in errors.
    pub fn new(reader: R, name: impl Into<PathBuf>, limit: usize) -> Self {
        LineReader {
            reader,
            name: name.into(),
            limit,
            line: 0,
            buffer: Vec::new(),
        }
    }

    /// The name given for the source.
    pub fn name(&self) -> &Path {
        &self.name
    }

    /// One-based number of the last line read; 0 before the first.
    pub fn line_number(&self) -> u64 {
        self.line
    }

    /// The next line as bytes, without its line ending; `None` at the end of the input.
    ///
    /// # Errors
    ///
    /// - [`Error::Parse`] naming the source and the line when it is longer than the limit
    ///   (the rest of it is skipped, so the next call reads the line after).
    /// - [`Error::File`] naming the source when reading fails.
    pub fn next_bytes(&mut self) -> Result<Option<&[u8]>> {
        self.buffer.clear();
        // The limit, plus room for a byte-order mark and "\r\n", plus one byte to tell a
        // line that is too long.
        let take = (self.limit + BYTE_ORDER_MARK.len() + 3) as u64;
        let n = self
            .reader
            .by_ref()
            .take(take)
            .read_until(b'\n', &mut self.buffer)
            .map_err(|source| self.io_error(source))?;
        if n == 0 {
            return Ok(None);
        }
        self.line += 1;
        let mut end = self.buffer.len();
        let complete = self.buffer.last() == Some(&b'\n');
        if complete {
            end -= 1;
            if self.buffer[..end].last() == Some(&b'\r') {
                end -= 1;
            }
        }
        let mut start = 0;
        if self.line == 1 && self.buffer.starts_with(BYTE_ORDER_MARK) {
            start = BYTE_ORDER_MARK.len();
        }
        if end - start > self.limit || (!complete && n as u64 == take) {
            if !complete {
                self.skip_rest_of_line()?;
            }
            let message = format!("the line is longer than {} bytes", self.limit);
            return Err(Error::parse(&self.name, self.line, message));
        }
        Ok(Some(&self.buffer[start..end]))
    }

    /// The next line, without its line ending; `None` at the end of the input.
    ///
    /// # Errors
    ///
    /// As [`next_bytes`](Self::next_bytes), and [`Error::Parse`] naming the source, the
    /// line and the byte offset when the line is not valid UTF-8.
    pub fn next_line(&mut self) -> Result<Option<&str>> {
        let line = self.line + 1;
        let name = self.name.clone();
        match self.next_bytes()? {
            None => Ok(None),
            Some(bytes) => std::str::from_utf8(bytes)
                .map(Some)
                .map_err(|error| Error::Parse {
                    path: name,
                    line,
                    message: format!(
                        "invalid UTF-8 at byte offset {} of the line (0-based)",
                        error.valid_up_to()
                    ),
                }),
        }
    }

    /// Discards input up to and including the next line break.
    fn skip_rest_of_line(&mut self) -> Result<()> {
        loop {
            let buf = self.reader.fill_buf().map_err(|source| Error::File {
                path: self.name.clone(),
                source,
            })?;
            if buf.is_empty() {
                return Ok(());
            }
            match buf.iter().position(|&b| b == b'\n') {
                Some(at) => {
                    self.reader.consume(at + 1);
                    return Ok(());
                }
                None => {
                    let n = buf.len();
                    self.reader.consume(n);
                }
            }
        }
    }

    fn io_error(&self, source: std::io::Error) -> Error {
        Error::File {
            path: self.name.clone(),
            source,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(text: &[u8], limit: usize) -> Vec<std::result::Result<String, String>> {
        let mut lines = LineReader::new(text, "t.txt", limit);
        let mut out = Vec::new();
        loop {
            match lines.next_bytes() {
                Ok(None) => return out,
                Ok(Some(bytes)) => out.push(Ok(String::from_utf8_lossy(bytes).into_owned())),
                Err(error) => out.push(Err(error.to_string())),
            }
        }
    }

    #[test]
    fn lines_at_and_over_the_limit() {
        let ok = |s: &str| Ok(s.to_owned());
        let too_long = |line: u64| Err(format!("t.txt:{line}: the line is longer than 4 bytes"));
        assert_eq!(
            all(b"abcd\nabcd\r\nabcde\nabcdef\r\nab\n\nx", 4),
            [
                ok("abcd"),
                ok("abcd"),
                too_long(3),
                too_long(4),
                ok("ab"),
                ok(""),
                ok("x")
            ]
        );
        // A long line without an end, and one that is very long.
        assert_eq!(all(b"abcdefgh", 4), [too_long(1)]);
        let mut long = vec![b'y'; 100_000];
        long.extend_from_slice(b"\nnext\n");
        assert_eq!(all(&long, 4), [too_long(1), ok("next")]);
    }

    #[test]
    fn the_byte_order_mark_is_removed_from_the_first_line_only() {
        let text = "\u{feff}abcd\n\u{feff}x\n";
        assert_eq!(
            all(text.as_bytes(), 4),
            [Ok("abcd".to_owned()), Ok("\u{feff}x".to_owned())]
        );
    }

    #[test]
    fn endless_input_is_an_error_in_bounded_memory() {
        let zeros = std::io::BufReader::new(std::io::repeat(0).take(1 << 30));
        let mut lines = LineReader::new(zeros, "/dev/zero", MAX_LINE_BYTES);
        let error = lines.next_bytes().unwrap_err();
        assert!(matches!(error, Error::Parse { line: 1, .. }), "{error:?}");
        assert!(lines.buffer.capacity() <= 4 * MAX_LINE_BYTES);
        assert_eq!(lines.next_bytes().unwrap(), None);
    }

    #[test]
    fn invalid_utf8_names_the_line_and_offset() {
        let mut lines = LineReader::new(&b"ok\nab\xffc\n"[..], "q", 10);
        assert_eq!(lines.next_line().unwrap(), Some("ok"));
        assert_eq!(
            lines.next_line().unwrap_err().to_string(),
            "q:2: invalid UTF-8 at byte offset 2 of the line (0-based)"
        );
        assert_eq!(lines.line_number(), 2);
    }
}
