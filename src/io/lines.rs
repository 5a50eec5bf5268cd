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
/// of the first line. A line longer than the limit is an error as soon as the limit is
/// passed, so input without line breaks (`/dev/zero`) is an error at once rather than read
/// for ever. The next call skips the rest of that line and goes on with the line after;
/// if no line break comes within 1 GiB it gives up, with an error, and reads nothing more.
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
    state: State,
    /// The most bytes the next call reads to find the end of a line that was too long.
    skip_limit: u64,
}

/// The most bytes a [`LineReader`] reads to find the end of a line longer than its limit
/// before it gives up: 1 GiB, no line of a text file.
const SKIP_LIMIT: u64 = 1 << 30;

/// Where a [`LineReader`] is in its input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// At the start of a line.
    LineStart,
    /// Within the line last returned as too long: its rest is skipped on the next call.
    InLongLine,
    /// No line break came within the skip limit: nothing more is read.
    GaveUp,
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
            state: State::LineStart,
            skip_limit: SKIP_LIMIT,
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
    /// - [`Error::Parse`] naming the source and the line when it is longer than the limit,
    ///   returned once the limit is passed, without reading the rest of the line. The next
    ///   call skips that rest and reads the line after; if no line break comes within 1 GiB,
    ///   it is an [`Error::Parse`] naming the long line again, as is every later call, and
    ///   nothing more is read.
    /// - [`Error::File`] naming the source when reading fails.
    pub fn next_bytes(&mut self) -> Result<Option<&[u8]>> {
        self.buffer.clear();
        if self.state != State::LineStart {
            self.skip_rest_of_line()?;
        }
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
                self.state = State::InLongLine;
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

    /// Discards input up to and including the next line break, reading at most the skip
    /// limit; past it, an error naming the long line, now and on every later call.
    fn skip_rest_of_line(&mut self) -> Result<()> {
        let mut skipped: u64 = 0;
        while self.state == State::InLongLine {
            if skipped >= self.skip_limit {
                self.state = State::GaveUp;
                break;
            }
            let buf = self.reader.fill_buf().map_err(|source| Error::File {
                path: self.name.clone(),
                source,
            })?;
            let room = usize::try_from(self.skip_limit - skipped).unwrap_or(usize::MAX);
            let buf = &buf[..buf.len().min(room)];
            if buf.is_empty() {
                self.state = State::LineStart;
                return Ok(());
            }
            let n = match buf.iter().position(|&b| b == b'\n') {
                Some(at) => {
                    self.state = State::LineStart;
                    at + 1
                }
                None => buf.len(),
            };
            self.reader.consume(n);
            skipped += n as u64;
        }
        if self.state == State::GaveUp {
            let message = format!(
                "the line is longer than {} bytes, and no line break follows within {} bytes; \
                 nothing after it is read",
                self.limit, self.skip_limit
            );
            return Err(Error::parse(&self.name, self.line, message));
        }
        Ok(())
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

    /// Zero bytes without end, counted; reading more than 16 MiB panics, so that a reader
    /// that looks for a line break in them fails the test instead of hanging it.
    struct Endless {
        read: u64,
    }

    impl Read for Endless {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            self.read += buf.len() as u64;
            assert!(
                self.read <= 16 << 20,
                "read {} bytes of endless input",
                self.read
            );
            buf.fill(0);
            Ok(buf.len())
        }
    }

    #[test]
    fn endless_input_is_an_error_at_once() {
        let zeros = std::io::BufReader::new(Endless { read: 0 });
        let mut lines = LineReader::new(zeros, "/dev/zero", MAX_LINE_BYTES);
        let error = lines.next_bytes().unwrap_err();
        assert_eq!(
            error.to_string(),
            "/dev/zero:1: the line is longer than 65536 bytes"
        );
        assert!(lines.buffer.capacity() <= 4 * MAX_LINE_BYTES);
        assert!(lines.reader.get_ref().read <= 2 * MAX_LINE_BYTES as u64);
        // Going on skips the rest of the line, up to the skip limit, then stops for good.
        lines.skip_limit = 1 << 20;
        let message = "/dev/zero:1: the line is longer than 65536 bytes, and no line break \
                       follows within 1048576 bytes; nothing after it is read";
        assert_eq!(lines.next_bytes().unwrap_err().to_string(), message);
        let read = lines.reader.get_ref().read;
        assert!(read <= (1 << 20) + 2 * MAX_LINE_BYTES as u64, "{read}");
        assert_eq!(lines.next_bytes().unwrap_err().to_string(), message);
        assert_eq!(lines.reader.get_ref().read, read);
    }

    #[test]
    fn the_rest_of_a_long_line_is_skipped_within_the_skip_limit() {
        // The first call reads 10 bytes (the limit, 3 for a byte-order mark, 3 more); 991
        // more end the line.
        let mut text = vec![b'y'; 1000];
        text.extend_from_slice(b"\nnext\n");
        for (skip_limit, second) in [(991, Ok("next".to_owned())), (990, Err(()))] {
            let mut lines = LineReader::new(&text[..], "t.txt", 4);
            lines.skip_limit = skip_limit;
            assert!(lines.next_bytes().is_err());
            let found = lines
                .next_bytes()
                .map(|line| String::from_utf8_lossy(line.unwrap()).into_owned())
                .map_err(drop);
            assert_eq!(found, second, "skip limit {skip_limit}");
        }
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
