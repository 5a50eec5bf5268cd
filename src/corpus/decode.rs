//! Recognising and decompressing gzip and xz input.

use super::*;

/// The format of the source being read, for error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Compression {
    Plain,
    Gzip,
    Xz,
}

impl Compression {
    fn sniff(magic: &[u8]) -> Self {
        if magic.starts_with(XZ_MAGIC) {
            Self::Xz
        } else if magic.starts_with(GZIP_MAGIC) {
            Self::Gzip
        } else {
            Self::Plain
        }
    }

    /// The format's name in messages (`gzip`, `xz`); `None` for plain text.
    pub(crate) fn name(self) -> Option<&'static str> {
        match self {
            Self::Plain => None,
            Self::Gzip => Some("gzip"),
            Self::Xz => Some("xz"),
        }
    }
}

/// Reads the first bytes of `raw` to recognise its format and returns a buffered reader
/// over the decompressed text.
pub(crate) fn open_decoded(
    raw: Box<dyn Read + Send>,
) -> io::Result<(Box<dyn BufRead + Send>, Compression)> {
    let mut raw = BufReader::with_capacity(READ_BUFFER_BYTES, raw);
    let mut magic = [0_u8; XZ_MAGIC.len()];
    let mut n_magic = 0;
    while n_magic < magic.len() {
        match raw.read(&mut magic[n_magic..]) {
            Ok(0) => break,
            Ok(n) => n_magic += n,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    let magic = &magic[..n_magic];
    let compression = Compression::sniff(magic);
    let whole = Cursor::new(magic.to_vec()).chain(raw);
    let reader: Box<dyn BufRead + Send> = match compression {
        Compression::Plain => Box::new(whole),
        Compression::Gzip => Box::new(BufReader::with_capacity(
            READ_BUFFER_BYTES,
            CutShort::new(gzip_decoder(whole)?, Compression::Gzip),
        )),
        Compression::Xz => Box::new(BufReader::with_capacity(
            READ_BUFFER_BYTES,
            CutShort::new(xz_decoder(whole)?, Compression::Xz),
        )),
    };
    Ok((reader, compression))
}

/// A decoder whose error for compressed data that ends too soon says so. The decoders
/// report it as an unexpected end of input in their own words (xz: `failed to fill whole
/// buffer`, gzip: `incomplete deflate stream`), which never say that the file was cut
/// short, as by an interrupted download or copy.
struct CutShort<R> {
    inner: R,
    format: &'static str,
}

impl<R> CutShort<R> {
    fn new(inner: R, compression: Compression) -> Self {
        let format = compression.name().unwrap_or("compressed");
        CutShort { inner, format }
    }
}

impl<R: Read> Read for CutShort<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf).map_err(|error| {
            if error.kind() == io::ErrorKind::UnexpectedEof {
                io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!(
                        "the file ends before its {}-compressed data does: it is truncated",
                        self.format
                    ),
                )
            } else {
                error
            }
        })
    }
}

/// The error for a compressed input that this build cannot read.
#[cfg(not(all(feature = "gzip", feature = "xz")))]
pub(super) fn feature_off(format: &str, feature: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::Unsupported,
        format!(
            "the input is {format}-compressed, but this build reads {format} only with the cargo feature `{feature}`"
        ),
    )
}

/// A decoder of every gzip member of `compressed`, one after the other.
#[cfg(feature = "gzip")]
pub(super) fn gzip_decoder(
    compressed: impl BufRead + Send + 'static,
) -> io::Result<impl Read + Send> {
    Ok(flate2::bufread::MultiGzDecoder::new(compressed))
}

#[cfg(not(feature = "gzip"))]
pub(super) fn gzip_decoder(_: impl BufRead + Send + 'static) -> io::Result<io::Empty> {
    Err(feature_off("gzip", "gzip"))
}

/// A decoder of every xz stream of `compressed`, one after the other (stream padding
/// allowed), as `xz -d` reads concatenated files.
#[cfg(feature = "xz")]
pub(super) fn xz_decoder(
    compressed: impl BufRead + Send + 'static,
) -> io::Result<impl Read + Send> {
    Ok(lzma_rust2::XzReader::new(compressed, true))
}

#[cfg(not(feature = "xz"))]
pub(super) fn xz_decoder(_: impl BufRead + Send + 'static) -> io::Result<io::Empty> {
    Err(feature_off("xz", "xz"))
}
