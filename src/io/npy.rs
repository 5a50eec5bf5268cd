//! Matrices as `.npy` files ([`write_matrix`], [`read_matrix`]), and their header:
//! written for C-order 2-D arrays, read for what numpy writes.
//!
//! The format (numpy's `numpy/lib/format.py`): the magic string `\x93NUMPY`, a major and a
//! minor version byte, the header's length (2 bytes little-endian in version 1, 4 bytes in
//! versions 2 and 3), then the header: a Python dict literal such as
//! `{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }`, padded with spaces and a
//! final newline so that the data starts at a multiple of 64 bytes.
//!
//! A few dozen lines, instead of a Python-literal parser (and the parser generator, big
//! integers and stack-growing C code it brought in); only these three keys, strings, the
//! two booleans and tuples of integers are accepted.

use std::fs::File;
use std::io::{BufReader, Read, Write};
use std::path::Path;

use ndarray::{Array2, ArrayView2, ShapeBuilder};

use super::folder::{CrcReader, ManifestEntry, check_crc};
use super::{file_error, open_regular_file, write_atomic};
use crate::error::{Error, Result};

/// The fields of an `.npy` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NpyHeader {
    /// The dtype, as written between its quotes (`<f4`).
    pub(crate) descr: String,
    /// Whether the data is in column-major order.
    pub(crate) fortran_order: bool,
    /// The shape.
    pub(crate) shape: Vec<usize>,
}

/// The preamble and version 1.0 header of a C-order array of `descr` values (`<f4`) and
/// shape `(n_rows, n_cols)`, byte for byte as numpy writes it.
pub(crate) fn header(descr: &str, n_rows: usize, n_cols: usize) -> Vec<u8> {
    let dict =
        format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': ({n_rows}, {n_cols}), }}");
    let mut text = dict.into_bytes();
    while (10 + text.len() + 1) % 64 != 0 {
        text.push(b' ');
    }
    text.push(b'\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    // Two numbers of at most 20 digits: far below 65 535 bytes.
    bytes.extend((text.len() as u16).to_le_bytes());
    bytes.extend(text);
    bytes
}

/// Parses the header text (after the preamble and length). Keys may come in any order,
/// with either quote, and with or without a trailing comma; integers may carry Python 2's
/// `L` suffix.
pub(crate) fn parse_header(text: &[u8]) -> Result<NpyHeader, String> {
    let text = std::str::from_utf8(text).map_err(|e| format!("not UTF-8: {e}"))?;
    let body = text.trim_matches(|c: char| c.is_ascii_whitespace() || c == '\0');
    let inner = body
        .strip_prefix('{')
        .and_then(|b| b.strip_suffix('}'))
        .ok_or_else(|| format!("not a dict: {:?}", shorten(body)))?;
    let mut parser = Parser { rest: inner };
    let (mut descr, mut fortran_order, mut shape) = (None, None, None);
    loop {
        parser.skip_space();
        if parser.rest.is_empty() {
            break;
        }
        let key = parser.string()?;
        parser.skip_space();
        parser.expect(':')?;
        parser.skip_space();
        let repeated = match key {
            "descr" => descr.replace(parser.string()?.to_owned()).is_some(),
            "fortran_order" => fortran_order.replace(parser.boolean()?).is_some(),
            "shape" => shape.replace(parser.tuple()?).is_some(),
            other => return Err(format!("unexpected key {other:?}")),
        };
        if repeated {
            return Err(format!("key {key:?} appears twice"));
        }
        parser.skip_space();
        if !parser.eat(',') {
            parser.skip_space();
            if !parser.rest.is_empty() {
                return Err(format!("expected `,` before {:?}", shorten(parser.rest)));
            }
            break;
        }
    }
    Ok(NpyHeader {
        descr: descr.ok_or("no 'descr'")?,
        fortran_order: fortran_order.ok_or("no 'fortran_order'")?,
        shape: shape.ok_or("no 'shape'")?,
    })
}

/// At most 40 characters of `text`, for messages.
fn shorten(text: &str) -> String {
    text.chars().take(40).collect()
}

struct Parser<'t> {
    rest: &'t str,
}

impl<'t> Parser<'t> {
    fn skip_space(&mut self) {
        self.rest = self.rest.trim_start();
    }

    fn eat(&mut self, c: char) -> bool {
        match self.rest.strip_prefix(c) {
            Some(rest) => {
                self.rest = rest;
                true
            }
            None => false,
        }
    }

    fn expect(&mut self, c: char) -> Result<(), String> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(format!("expected `{c}` at {:?}", shorten(self.rest)))
        }
    }

    /// A string in single or double quotes, without escapes.
    fn string(&mut self) -> Result<&'t str, String> {
        let quote = match self.rest.chars().next() {
            Some(q @ ('\'' | '"')) => q,
            _ => return Err(format!("expected a string at {:?}", shorten(self.rest))),
        };
        let after = &self.rest[1..];
        let end = after
            .find(quote)
            .ok_or_else(|| format!("unterminated string at {:?}", shorten(self.rest)))?;
        self.rest = &after[end + 1..];
        Ok(&after[..end])
    }

    fn boolean(&mut self) -> Result<bool, String> {
        for (word, value) in [("True", true), ("False", false)] {
            if let Some(rest) = self.rest.strip_prefix(word) {
                self.rest = rest;
                return Ok(value);
            }
        }
        Err(format!(
            "expected True or False at {:?}",
            shorten(self.rest)
        ))
    }

    /// `(a, b, …)`, `(a,)` or `()` of non-negative integers.
    fn tuple(&mut self) -> Result<Vec<usize>, String> {
        self.expect('(')?;
        let mut values = Vec::new();
        loop {
            self.skip_space();
            if self.eat(')') {
                return Ok(values);
            }
            let digits = self.rest.len()
                - self
                    .rest
                    .trim_start_matches(|c: char| c.is_ascii_digit())
                    .len();
            let number = &self.rest[..digits];
            let value = number
                .parse::<usize>()
                .map_err(|_| format!("expected a dimension at {:?}", shorten(self.rest)))?;
            values.push(value);
            self.rest = &self.rest[digits..];
            self.eat('L');
            self.skip_space();
            if !self.eat(',') {
                self.skip_space();
                self.expect(')')?;
                return Ok(values);
            }
        }
    }
}

/// Writes a matrix as a `.npy` file (little-endian `f32`, C order), atomically. Takes a
/// view, so saving a model copies none of its matrices.
///
/// # Errors
///
/// [`Error::File`] when the file cannot be written.
pub fn write_matrix(path: impl AsRef<Path>, matrix: ArrayView2<'_, f32>) -> Result<()> {
    let path = path.as_ref();
    write_atomic(path, |writer| {
        let io = |source| Error::File {
            path: path.to_path_buf(),
            source,
        };
        writer
            .write_all(&header("<f4", matrix.nrows(), matrix.ncols()))
            .map_err(io)?;
        let mut bytes = Vec::with_capacity(4 * matrix.ncols());
        for row in matrix.rows() {
            bytes.clear();
            bytes.extend(row.iter().flat_map(|x| x.to_le_bytes()));
            writer.write_all(&bytes).map_err(io)?;
        }
        Ok(())
    })
}

/// The longest `.npy` header accepted, in bytes. numpy itself refuses headers above 10 000
/// bytes by default (`max_header_size`); ours are 118.
const MAX_NPY_HEADER_LEN: usize = 1 << 16;

/// Bytes of data converted per read in [`read_matrix`].
const NPY_READ_CHUNK: usize = 1 << 16;

/// Reads a 2-D `f32` `.npy` file (little- or big-endian, C or Fortran order; the result is
/// always in standard, row-major layout).
///
/// The header is checked before any memory is reserved for the data: its length must be at
/// most 64 KiB, the element type `f32`, the array 2-D, and, for a regular file, the data
/// exactly as long as the shape says. A header claiming 10¹⁵ rows is therefore an error,
/// not an allocation; from a pipe, memory grows only as data arrives.
///
/// # Errors
///
/// - [`Error::File`] when the file cannot be opened or read.
/// - [`Error::Format`] naming the file when it is not an `.npy` file, its header is
///   malformed or too long, its element type is not `f32` (the message quotes it, for
///   example `'<f8'`), it is not 2-D (the message gives the shape), or its data is shorter
///   or longer than the shape needs (the message gives both sizes).
pub fn read_matrix(path: impl AsRef<Path>) -> Result<Array2<f32>> {
    let path = path.as_ref();
    let file = File::open(path).map_err(file_error(path))?;
    read_matrix_from(path, file, None)
}

/// [`read_matrix`] for a file of a model folder, which must be a regular file (a pipe or a
/// device there is refused before it is opened), checking the bytes read against `entry`
/// of a manifest.
pub(crate) fn read_matrix_listed(
    path: &Path,
    entry: Option<&ManifestEntry>,
) -> Result<Array2<f32>> {
    let file = open_regular_file(path).map_err(file_error(path))?;
    read_matrix_from(path, file, entry)
}

/// [`read_matrix`] of the opened `file`.
fn read_matrix_from(path: &Path, file: File, entry: Option<&ManifestEntry>) -> Result<Array2<f32>> {
    let file_len = file
        .metadata()
        .ok()
        .filter(std::fs::Metadata::is_file)
        .map(|m| m.len());
    let mut crc = CrcReader::new(file);
    let matrix = NpyReader {
        path,
        inner: BufReader::new(&mut crc),
        offset: 0,
    }
    .read(file_len)?;
    if let Some(entry) = entry {
        let (crc32, size) = crc.finish().map_err(file_error(path))?;
        check_crc(path, entry, crc32, size)?;
    }
    Ok(matrix)
}

/// A `.npy` file being read, with the bytes consumed so far.
struct NpyReader<'a, R> {
    path: &'a Path,
    inner: R,
    offset: u64,
}

impl<R: Read> NpyReader<'_, R> {
    fn error(&self, message: String) -> Error {
        Error::Format {
            path: self.path.to_path_buf(),
            message,
        }
    }

    /// Fills `buf`; a file that ends first is a format error saying what was being read.
    fn read_exact(&mut self, buf: &mut [u8], what: &str) -> Result<()> {
        match self.inner.read_exact(buf) {
            Ok(()) => {
                self.offset += buf.len() as u64;
                Ok(())
            }
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Err(self.error(format!(
                "the file ends inside the {what} (after byte {})",
                self.offset
            ))),
            Err(source) => Err(Error::File {
                path: self.path.to_path_buf(),
                source,
            }),
        }
    }

    fn read(mut self, file_len: Option<u64>) -> Result<Array2<f32>> {
        // Magic string, version, header length: 2 bytes in version 1, 4 in versions 2 and 3.
        let mut preamble = vec![0_u8; 8];
        self.read_exact(&mut preamble, "npy preamble")?;
        if &preamble[..6] != b"\x93NUMPY" {
            return Err(
                self.error("not an .npy file (it does not start with \"\\x93NUMPY\")".to_owned())
            );
        }
        let n_len_bytes = match preamble[6] {
            1 => 2,
            2 | 3 => 4,
            major => {
                return Err(self.error(format!("unsupported .npy version {major}.{}", preamble[7])));
            }
        };
        let mut len_bytes = [0_u8; 4];
        self.read_exact(&mut len_bytes[..n_len_bytes], "npy header length")?;
        preamble.extend_from_slice(&len_bytes[..n_len_bytes]);
        let header_len = u32::from_le_bytes(len_bytes) as usize;
        let fits_file = file_len.is_none_or(|len| self.offset + header_len as u64 <= len);
        if header_len > MAX_NPY_HEADER_LEN || !fits_file {
            return Err(self.error(format!(
                "the header claims to be {header_len} bytes long (at most \
                 {MAX_NPY_HEADER_LEN}, and no longer than the file)"
            )));
        }
        let mut header_bytes = preamble;
        let start = header_bytes.len();
        header_bytes.resize(start + header_len, 0);
        self.read_exact(&mut header_bytes[start..], "npy header")?;
        // Only the shape of a plain array's header is parsed: one dict, one shape tuple, no
        // list (a structured dtype). (A Python-literal parser used earlier took time
        // exponential in the nesting of brackets.)
        let count = |c: u8| header_bytes[start..].iter().filter(|&&b| b == c).count();
        let (n_dicts, n_tuples, n_lists) = (count(b'{'), count(b'('), count(b'['));
        if n_dicts > 1 || n_tuples > 1 || n_lists > 0 {
            return Err(self.error(format!(
                "the header has {n_dicts} `{{`, {n_tuples} `(` and {n_lists} `[`; the header \
                 of a plain array has one dict and one shape tuple"
            )));
        }
        let header = parse_header(&header_bytes[start..])
            .map_err(|e| self.error(format!("malformed header: {e}")))?;
        let descriptor = format!("'{}'", header.descr);
        let little_endian = match descriptor.as_str() {
            "'<f4'" => true,
            "'>f4'" => false,
            _ => {
                return Err(self.error(format!(
                    "the element type is {descriptor}, expected 32-bit floats ('<f4')"
                )));
            }
        };
        let [n_rows, n_cols] = header.shape[..] else {
            return Err(self.error(format!(
                "expected a 2-D array, found shape {:?}",
                header.shape
            )));
        };
        let n_values = n_rows.checked_mul(n_cols);
        let n_bytes = n_values.and_then(|n| n.checked_mul(4)).map(|n| n as u64);
        let remaining = file_len.map(|len| len.saturating_sub(self.offset));
        let (Some(n_values), Some(n_bytes)) = (n_values, n_bytes) else {
            return Err(self.error(format!(
                "the shape ({n_rows}, {n_cols}) has more values than fit in memory"
            )));
        };
        if let Some(remaining) = remaining.filter(|&r| r != n_bytes) {
            return Err(self.error(format!(
                "the shape ({n_rows}, {n_cols}) needs {n_bytes} bytes of data, but the file \
                 holds {remaining} after the header"
            )));
        }
        // From a regular file the size was just checked; from a pipe, reserve a little and
        // grow as data arrives.
        let reserve = if remaining.is_some() {
            n_values
        } else {
            n_values.min(NPY_READ_CHUNK)
        };
        let mut values: Vec<f32> = Vec::with_capacity(reserve);
        let mut chunk = vec![0_u8; NPY_READ_CHUNK];
        let mut left = n_bytes;
        while left > 0 {
            let take = left.min(NPY_READ_CHUNK as u64) as usize;
            let buf = &mut chunk[..take];
            if let Err(error) = self.inner.read_exact(buf) {
                return Err(if error.kind() == std::io::ErrorKind::UnexpectedEof {
                    self.error(format!(
                        "the file ends inside the data: the shape ({n_rows}, {n_cols}) needs \
                         {n_bytes} bytes"
                    ))
                } else {
                    Error::File {
                        path: self.path.to_path_buf(),
                        source: error,
                    }
                });
            }
            self.offset += take as u64;
            left -= take as u64;
            values.extend(buf.chunks_exact(4).map(|b| {
                let bytes = [b[0], b[1], b[2], b[3]];
                if little_endian {
                    f32::from_le_bytes(bytes)
                } else {
                    f32::from_be_bytes(bytes)
                }
            }));
        }
        if remaining.is_none() {
            let mut extra = [0_u8; 1];
            match self.inner.read(&mut extra) {
                Ok(0) => {}
                Ok(_) => {
                    return Err(self.error(format!(
                        "more data after the {n_bytes} bytes the shape ({n_rows}, {n_cols}) \
                         needs"
                    )));
                }
                Err(source) => {
                    return Err(Error::File {
                        path: self.path.to_path_buf(),
                        source,
                    });
                }
            }
        }
        let shape = (n_rows, n_cols);
        let matrix = if header.fortran_order {
            Array2::from_shape_vec(shape.f(), values).map(|m| m.as_standard_layout().into_owned())
        } else {
            Array2::from_shape_vec(shape, values)
        };
        matrix.map_err(|e| self.error(format!("shape ({n_rows}, {n_cols}): {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_round_trip_and_are_aligned() {
        let bytes = header("<f4", 3, 100);
        assert_eq!(bytes.len() % 64, 0);
        assert_eq!(&bytes[..8], b"\x93NUMPY\x01\x00");
        let len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
        assert_eq!(len, bytes.len() - 10);
        assert_eq!(*bytes.last().expect("newline"), b'\n');
        let parsed = parse_header(&bytes[10..]).expect("parses");
        assert_eq!(
            parsed,
            NpyHeader {
                descr: "<f4".into(),
                fortran_order: false,
                shape: vec![3, 100]
            }
        );
    }

    #[test]
    fn what_numpy_writes_is_read() {
        let cases: [(&str, &str, bool, &[usize]); 5] = [
            (
                "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }   \n",
                "<f4",
                false,
                &[2, 3],
            ),
            (
                "{\"shape\": (4,), \"descr\": \">f8\", \"fortran_order\": True}\n",
                ">f8",
                true,
                &[4],
            ),
            (
                "{'descr': '<f4', 'fortran_order': False, 'shape': (), }",
                "<f4",
                false,
                &[],
            ),
            (
                "{'descr': '<f4', 'fortran_order': False, 'shape': (2L, 3L), }",
                "<f4",
                false,
                &[2, 3],
            ),
            (
                "{'descr':'|u1','fortran_order':False,'shape':(1,2,3)}",
                "|u1",
                false,
                &[1, 2, 3],
            ),
        ];
        for (text, descr, fortran_order, shape) in cases {
            let parsed = parse_header(text.as_bytes()).expect(text);
            assert_eq!(parsed.descr, descr);
            assert_eq!(parsed.fortran_order, fortran_order);
            assert_eq!(parsed.shape, shape);
        }
    }

    #[test]
    fn malformed_headers_say_why() {
        let cases = [
            ("<'descr': '<f4'}", "not a dict"),
            ("{'descr': '<f4', 'fortran_order': False}", "no 'shape'"),
            (
                "{'descr': '<f4', 'fortran_order': Maybe, 'shape': (1,)}",
                "True or False",
            ),
            (
                "{'descr': '<f4', 'fortran_order': False, 'shape': (1, -2)}",
                "dimension",
            ),
            (
                "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999999,)}",
                "dimension",
            ),
            (
                "{'descr': '<f4', 'descr': '<f8', 'fortran_order': False, 'shape': ()}",
                "twice",
            ),
            (
                "{'descr': '<f4' 'fortran_order': False, 'shape': ()}",
                "expected `,`",
            ),
            (
                "{'descr': '<f4, 'fortran_order': False, 'shape': ()}",
                "expected `,` before",
            ),
            ("{'descr' '<f4'}", "expected `:`"),
            ("{'kind': '<f4'}", "unexpected key \"kind\""),
            (
                "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2}",
                "expected `)`",
            ),
        ];
        for (text, needle) in cases {
            let error = parse_header(text.as_bytes()).expect_err(text);
            assert!(error.contains(needle), "{text}: {error}");
        }
        assert!(parse_header(b"{'descr': '\xff'}").is_err());
    }
}
