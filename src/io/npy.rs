//! The header of an `.npy` file: written for C-order 2-D arrays, read for what numpy writes.
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
