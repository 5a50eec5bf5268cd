//! Saving and loading models: `U`, `V` and `W` as `.npy` files that numpy loads as they are
//! (`numpy.load("U.npy")`), and the vocabulary as text, one `word count` line each.
//!
//! Word vectors (any [`VectorKind`](crate::VectorKind)) can also be exchanged with other
//! tools: word2vec's text and binary formats ([`write_word2vec_text`],
//! [`write_word2vec_binary`], [`read_word2vec`]), which gensim and most embedding tools
//! read, and, with the `finalfusion` cargo feature, finalfusion files with the training
//! configuration in their metadata (`write_finalfusion`, `read_finalfusion`,
//! `read_finalfusion_metadata`). Every round trip returns the vectors bit for bit, except
//! finalfusion's normalised layout, which finalfusion's own queries need (see
//! `FinalfusionVectors`).
//!
//! Every file is written to a temporary file in the same folder, flushed to disk and then
//! renamed over its destination, so an interrupted save never leaves a half-written file
//! under the final name.

#[cfg(feature = "finalfusion")]
mod finalfusion;
mod folder;
mod lines;
mod npy;
mod offsets;
mod subwords;
mod trained;
mod word2vec;
pub(crate) use word2vec::truncate;

#[cfg(feature = "finalfusion")]
pub(crate) use self::finalfusion::write_finalfusion_parts;
#[cfg(feature = "finalfusion")]
pub use self::finalfusion::{
    FinalfusionVectors, read_finalfusion, read_finalfusion_metadata, write_finalfusion,
};
pub(crate) use folder::process_alive;
pub use folder::{
    MANIFEST_FILE, Manifest, ManifestEntry, check_output_dir, check_output_file, replace_dir,
};

pub use lines::{LineReader, MAX_LINE_BYTES};
pub(crate) use npy::read_matrix_listed;
pub use npy::{read_matrix, write_matrix};
pub use offsets::{OFFSETS_FILE, OFFSETS_INFO_FILE};
pub use subwords::{SUBWORDS_FILE, SUBWORDS_INFO_FILE};
pub use trained::{CONFIG_FILE, HELDOUT_FILE, REPORT_FILE, write_trained};
pub use word2vec::{Word2vecFormat, read_word2vec, write_word2vec_binary, write_word2vec_text};

use std::fs::{self, File};
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use ndarray::Array2;

use crate::error::{Error, Result};
use crate::model::Model;
use crate::vocab::{OovPolicy, Vocab};

/// File name of `U` in a model folder.
pub const FOCUS_FILE: &str = "U.npy";
/// File name of `V` in a model folder.
pub const CONTEXT_FILE: &str = "V.npy";
/// File name of `W` in a model folder.
pub const INTERACTION_FILE: &str = "W.npy";
/// File name of the vocabulary in a model folder.
pub const VOCAB_FILE: &str = "vocab.txt";

/// What a file is, if its first bytes show that it holds no word2vec vectors.
fn not_word2vec(magic: &[u8]) -> Option<&'static str> {
    if magic.starts_with(b"FiFu") {
        Some("a finalfusion file (it starts with \"FiFu\")")
    } else if magic.starts_with(b"\x93NUMPY") {
        Some("an .npy matrix without words (it starts with \"\\x93NUMPY\")")
    } else if magic.starts_with(b"BSGCKPT") {
        Some("a bilinear-skipgram checkpoint")
    } else {
        None
    }
}

/// Word vectors from a file in any format the crate reads, with a vocabulary in file
/// order: a finalfusion file (recognised by its first bytes; with the `finalfusion`
/// feature), or word2vec's binary format if the file name ends in `.bin` (also
/// `.bin.gz`, `.bin.xz`, any case) and its text format otherwise, either one possibly
/// gzip- or xz-compressed ([`read_word2vec`]).
///
/// The vocabulary's ids follow the file's order, and the counts `n, n − 1, …, 1` stand for
/// the ranks: word2vec and gensim write the most frequent words first, and analogy
/// searches ([`AnalogySearch`](crate::eval::AnalogySearch)) restrict answers to the first words.
///
/// # Errors
///
/// [`Error::File`] naming the path when it cannot be read or is a folder (a model folder
/// is read with [`load_model`]); everything [`read_word2vec`] and `read_finalfusion`
/// return; [`Error::Format`] for a finalfusion file without the `finalfusion` feature;
/// [`Error::EmptyVocabulary`] for a file of no word.
pub fn read_word_vectors(path: impl AsRef<Path>) -> Result<(Vocab, Array2<f32>)> {
    let path = path.as_ref();
    // A pipe (`<(zcat …)`, `/dev/stdin`) can be read once only: its first bytes cannot be
    // looked at and then read again, so it is read as word2vec, the format of streams.
    if std::fs::metadata(path).is_ok_and(|m| !m.is_file() && !m.is_dir()) {
        let (words, vectors) = read_word2vec(path, Word2vecFormat::from_file_name(path))?;
        return Ok((vocab_of_ranked_words(words)?, vectors));
    }
    let mut magic = [0_u8; 8];
    let n_magic = {
        let mut file = File::open(path).map_err(file_error(path))?;
        if file.metadata().is_ok_and(|m| m.is_dir()) {
            return Err(Error::File {
                path: path.to_path_buf(),
                source: std::io::Error::new(
                    std::io::ErrorKind::IsADirectory,
                    "is a folder, not a file of word vectors (a model folder is read with \
                     load_model)",
                ),
            });
        }
        read_up_to(&mut file, &mut magic).map_err(file_error(path))?
    };
    let (words, vectors) = if magic[..n_magic].starts_with(b"FiFu") {
        #[cfg(feature = "finalfusion")]
        {
            read_finalfusion(path)?
        }
        #[cfg(not(feature = "finalfusion"))]
        return Err(Error::Format {
            path: path.to_path_buf(),
            message: "a finalfusion file (it starts with \"FiFu\"), and this build of \
                      bilinear-skipgram has no `finalfusion` feature to read it"
                .to_owned(),
        });
    } else {
        read_word2vec(path, Word2vecFormat::from_file_name(path))?
    };
    Ok((vocab_of_ranked_words(words)?, vectors))
}

/// The vocabulary of words listed most frequent first: counts `n, n − 1, …, 1` stand for
/// the ranks.
pub(crate) fn vocab_of_ranked_words(words: Vec<String>) -> Result<Vocab> {
    let n = words.len() as u64;
    Vocab::from_counts(
        words
            .into_iter()
            .enumerate()
            .map(|(i, word)| (word, n - i as u64)),
        OovPolicy::Drop,
    )
}

/// Reads until `buf` is full or the input ends; returns the bytes read.
fn read_up_to(reader: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match reader.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// What a file that is neither a regular file nor a folder is, in words: `a pipe (FIFO)`,
/// `a character device`, …
pub(crate) fn file_type_name(file_type: &fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_fifo() {
            return "a pipe (FIFO)";
        }
        if file_type.is_char_device() {
            return "a character device";
        }
        if file_type.is_block_device() {
            return "a block device";
        }
        if file_type.is_socket() {
            return "a socket";
        }
    }
    let _ = file_type;
    "a special file"
}

/// Checks that `path` is a regular file (after following symbolic links), before it is
/// opened: a pipe (FIFO) opened for reading waits for a writer that may never come, and a
/// device such as `/dev/zero` never ends. For files that are part of a whole, such as the
/// files of a model folder or the evaluation sets of a folder, where a stream has no place;
/// a file named on its own may well be a pipe (`<(zcat vocab.txt.gz)`), and the readers
/// of such files ([`read_vocab`], [`read_matrix`], the word-vector readers, the
/// evaluation sets) read one as it comes.
///
/// # Errors
///
/// [`Error::File`] naming `path`: a failed `stat` keeps its error (`NotFound` for a missing
/// file); a folder is `IsADirectory` and anything else `InvalidInput`, with a message
/// saying what it is: `is a pipe (FIFO), not a regular file`.
pub fn check_regular_file(path: impl AsRef<Path>) -> Result<()> {
    let path = path.as_ref();
    regular_file(path).map_err(file_error(path))
}

/// [`check_regular_file`] as an I/O error.
fn regular_file(path: &Path) -> std::io::Result<()> {
    not_a_regular_file(&fs::metadata(path)?).map_or(Ok(()), Err)
}

/// Why a file of `metadata` is not a regular file, as an I/O error (`IsADirectory` for a
/// folder, `InvalidInput` naming what it is otherwise); `None` for a regular file.
pub(crate) fn not_a_regular_file(metadata: &fs::Metadata) -> Option<std::io::Error> {
    if metadata.is_dir() {
        return Some(std::io::Error::new(
            std::io::ErrorKind::IsADirectory,
            "is a folder, not a regular file",
        ));
    }
    (!metadata.is_file()).then(|| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!(
                "is {}, not a regular file",
                file_type_name(&metadata.file_type())
            ),
        )
    })
}

/// Opens `path` for reading once [`check_regular_file`] accepts it: the files of a model
/// folder, checkpoints and corpus files.
///
/// The check runs twice. The path is inspected before it is opened, so that a device is
/// never opened at all; then the opened file itself is inspected, so that a path swapped
/// for a pipe in between is refused too. On unix the file is opened non-blocking, which
/// makes opening a pipe return at once instead of waiting for a writer; the flag is
/// cleared once the file is known to be a regular file.
pub(crate) fn open_regular_file(path: &Path) -> std::io::Result<File> {
    regular_file(path)?;
    open_checked(path)
}

/// Opens `path` for reading without waiting for a pipe's writer (non-blocking on unix) and
/// keeps the file if it is a regular file: the second half of [`open_regular_file`].
fn open_checked(path: &Path) -> std::io::Result<File> {
    #[cfg(unix)]
    let file = {
        use std::os::unix::fs::OpenOptionsExt;
        match fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(path)
        {
            // A regular file under another process's lease (a pipe never says this):
            // wait for it as a plain open does.
            Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => {
                regular_file(path)?;
                File::open(path)?
            }
            opened => opened?,
        }
    };
    #[cfg(not(unix))]
    let file = File::open(path)?;
    if let Some(error) = not_a_regular_file(&file.metadata()?) {
        return Err(error);
    }
    #[cfg(unix)]
    {
        use std::os::unix::io::AsRawFd;
        let fd = file.as_raw_fd();
        // SAFETY: fcntl on a descriptor `file` owns and keeps open; no memory is passed.
        let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
        // SAFETY: as above.
        if flags < 0 || unsafe { libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK) } < 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(file)
}

/// The bytes of the regular file `path`, checked as [`open_regular_file`] checks it.
pub(crate) fn read_regular_file(path: &Path) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    open_regular_file(path)?.read_to_end(&mut bytes)?;
    Ok(bytes)
}

fn file_error(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::File {
        path: path.to_path_buf(),
        source,
    }
}

/// Writes a file atomically: `write` fills a temporary file next to `path`, which is
/// flushed, synced and renamed to `path`. On error the temporary file is removed and any
/// earlier file at `path` is left as it was.
///
/// A `path` that is a symbolic link is refused before anything is written: the rename
/// would replace the link itself and leave the file it points to as it was (what
/// [`check_output_file`] checks before a long run).
///
/// # Errors
///
/// [`Error::File`] when `path` is a symbolic link or the file cannot be created, written,
/// synced or renamed, or whatever `write` returns (an [`Error::Io`] of `write` becomes an
/// [`Error::File`] naming `path`).
pub fn write_atomic(
    path: impl AsRef<Path>,
    write: impl FnOnce(&mut BufWriter<&File>) -> Result<()>,
) -> Result<()> {
    let path = path.as_ref();
    if fs::symlink_metadata(path).is_ok_and(|metadata| metadata.file_type().is_symlink()) {
        return Err(folder::link_refused(path));
    }
    let file_name = path.file_name().map_or_else(
        || std::ffi::OsString::from("output"),
        std::ffi::OsStr::to_os_string,
    );
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(&file_name);
    tmp_name.push(format!(".tmp{}", std::process::id()));
    let tmp: PathBuf = path.with_file_name(tmp_name);
    let result = (|| {
        let file = File::create(&tmp).map_err(file_error(&tmp))?;
        {
            let mut writer = BufWriter::new(&file);
            // An I/O error of `write` (a full disk) is an error on this file.
            write(&mut writer).map_err(|error| match error {
                Error::Io(source) => Error::File {
                    path: path.to_path_buf(),
                    source,
                },
                other => other,
            })?;
            writer.flush().map_err(file_error(path))?;
        }
        file.sync_all().map_err(file_error(path))?;
        fs::rename(&tmp, path).map_err(file_error(path))?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            // Make the rename itself durable where the platform allows it.
            if let Ok(dir) = File::open(dir) {
                let _ = dir.sync_all();
            }
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Writes a vocabulary as text (`word count` per line), atomically.
///
/// # Errors
///
/// [`Error::File`] when the file cannot be written.
pub fn write_vocab(path: impl AsRef<Path>, vocab: &Vocab) -> Result<()> {
    let path = path.as_ref();
    write_atomic(path, |writer| vocab.write_text(writer))
}

/// Reads a vocabulary written by [`write_vocab`]. A pipe is read as it comes (a named
/// pipe waits for its writer); a model folder's `vocab.txt` must be a regular file
/// ([`load_model`]).
///
/// # Errors
///
/// [`Error::File`] when the file cannot be opened or read, [`Error::Parse`] naming the line
/// of a malformed entry (or one longer than [`MAX_LINE_BYTES`]).
pub fn read_vocab(path: impl AsRef<Path>, oov: OovPolicy) -> Result<Vocab> {
    let path = path.as_ref();
    let file = File::open(path).map_err(file_error(path))?;
    read_vocab_from(file, path, oov, None)
}

/// A model folder's vocabulary: [`read_vocab`] of a regular file, checking the bytes read
/// against `entry` of a manifest.
fn read_vocab_listed(path: &Path, oov: OovPolicy, entry: Option<&ManifestEntry>) -> Result<Vocab> {
    let file = open_regular_file(path).map_err(file_error(path))?;
    read_vocab_from(file, path, oov, entry)
}

/// Removes the file `path` if it is there.
pub(crate) fn remove_if_present(path: &Path) -> Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::File {
            path: path.to_path_buf(),
            source: e,
        }),
        _ => Ok(()),
    }
}

/// [`read_vocab`] of the opened `file`.
fn read_vocab_from(
    file: File,
    path: &Path,
    oov: OovPolicy,
    entry: Option<&ManifestEntry>,
) -> Result<Vocab> {
    let mut crc = folder::CrcReader::new(file);
    let vocab = Vocab::read_text(BufReader::new(&mut crc), path, oov)?;
    if let Some(entry) = entry {
        let (crc32, size) = crc.finish().map_err(file_error(path))?;
        folder::check_crc(path, entry, crc32, size)?;
    }
    Ok(vocab)
}

/// Writes `U`, `V`, `W` and the vocabulary as [`FOCUS_FILE`], [`CONTEXT_FILE`],
/// [`INTERACTION_FILE`] and [`VOCAB_FILE`] (and the per-offset interactions as
/// [`OFFSETS_FILE`] and [`OFFSETS_INFO_FILE`]) into the existing folder `dir`, each file
/// atomically but the four not as a whole: this is for the `fill` of a [`replace_dir`]
/// that writes more files next to the model (as the `train` example does). To save a
/// model on its own, use [`save_model`].
///
/// # Errors
///
/// Before anything is written: [`Error::ShapeMismatch`] when the model does not have one
/// row per vocabulary entry, [`Error::InvalidArgument`] when its dimension is 0 (which
/// [`load_model`] refuses) or its subwords were indexed from other words.
/// [`Error::File`] naming a file that cannot be written.
pub fn write_model(dir: impl AsRef<Path>, model: &Model, vocab: &Vocab) -> Result<()> {
    let dir = dir.as_ref();
    if model.dim() == 0 {
        return Err(Error::InvalidArgument {
            what: "model",
            message: format!(
                "its word vectors ({} rows) have dimension 0: a model of dimension 0 cannot \
                 be saved (it would not load back)",
                model.n_words()
            ),
        });
    }
    if model.n_words() != vocab.len() {
        return Err(Error::ShapeMismatch {
            what: "model rows (one per vocabulary entry)",
            expected: vec![vocab.len(), model.dim()],
            found: vec![model.n_words(), model.dim()],
        });
    }
    crate::subwords::check_words(model.subwords(), vocab.words())?;
    write_matrix(dir.join(FOCUS_FILE), model.focus_embeddings())?;
    write_matrix(dir.join(CONTEXT_FILE), model.context_embeddings())?;
    write_matrix(dir.join(INTERACTION_FILE), model.interaction())?;
    offsets::write_offsets(dir, model.offset_interactions())?;
    subwords::write_subwords(dir, model.subwords())?;
    write_vocab(dir.join(VOCAB_FILE), vocab)
}

/// Saves `U`, `V`, `W` and the vocabulary as the folder `dir`, replaced as a whole
/// ([`replace_dir`]): [`FOCUS_FILE`], [`CONTEXT_FILE`], [`INTERACTION_FILE`],
/// [`VOCAB_FILE`], the per-offset interactions if the model has any ([`OFFSETS_FILE`] and
/// [`OFFSETS_INFO_FILE`]; see [`OffsetInteractions`](crate::OffsetInteractions) for the
/// layout: `P×M` for diagonal ones, the `P` matrices stacked as `(P·M)×M` for full ones)
/// and a [`MANIFEST_FILE`] with their sizes and CRC-32s. A reader sees the
/// old folder or the new one, never a mix; an interrupted save leaves the old one, and
/// its leftovers are removed by the next save of the same folder.
///
/// An existing `dir` must hold a model folder's files and nothing else (see
/// [`replace_dir`]); they are all replaced, so files written next to an earlier model
/// (`vectors.txt`, pictures) are gone afterwards. To write more files with the model,
/// call [`replace_dir`] with [`write_model`] and the other writers.
///
/// # Errors
///
/// [`Error::ShapeMismatch`] when the model does not have one row per vocabulary entry,
/// [`Error::InvalidArgument`] when its dimension is 0 (which [`load_model`] refuses),
/// [`Error::File`] when a file cannot be written or `dir` cannot be replaced (it is not
/// a folder, or holds files that are not a model's).
pub fn save_model(dir: impl AsRef<Path>, model: &Model, vocab: &Vocab) -> Result<()> {
    let dir = dir.as_ref();
    replace_dir(dir, |staging| write_model(staging, model, vocab))
}

/// Loads a model and vocabulary saved by [`save_model`] (or written by [`write_model`]
/// into a [`replace_dir`]).
///
/// If the folder has a [`MANIFEST_FILE`], every file it lists that is present must have the
/// listed size, and the four files read must be listed and have the listed CRC-32, so a
/// damaged file, or a folder of files from different saves, is refused. (Removing a file
/// the model does not need, such as `embeddings.fifu`, is fine.) A folder without a manifest (as
/// versions before manifests wrote them) is read as it is, with the shape checks only.
///
/// # Errors
///
/// - [`Error::File`], [`Error::Format`] or [`Error::Parse`] when a file is missing or
///   malformed ([`Error::Format`] naming [`FOCUS_FILE`] when it has no column: a model of
///   dimension 0); [`Error::File`] naming a file that is not a regular file (a folder, a
///   pipe, a device: opening a pipe would wait for a writer).
/// - [`Error::Format`] naming the file and what differs when it does not match the
///   manifest (size, CRC-32, not listed); [`Error::Parse`] for a malformed manifest.
/// - [`Error::ShapeMismatch`] when the matrices do not fit each other or the vocabulary.
pub fn load_model(dir: impl AsRef<Path>, oov: OovPolicy) -> Result<(Model, Vocab)> {
    let dir = dir.as_ref();
    let manifest = Manifest::read(dir)?;
    if let Some(manifest) = &manifest {
        manifest.check_sizes(dir)?;
    }
    read_model(dir, oov, manifest.as_ref())
}

/// The model files of `dir`, checked against `manifest` if there is one (whose sizes
/// the caller has checked).
fn read_model(dir: &Path, oov: OovPolicy, manifest: Option<&Manifest>) -> Result<(Model, Vocab)> {
    let listed = |name: &str| manifest.map(|m| m.check_size(dir, name)).transpose();
    let vocab = read_vocab_listed(&dir.join(VOCAB_FILE), oov, listed(VOCAB_FILE)?)?;
    let focus = read_matrix_listed(&dir.join(FOCUS_FILE), listed(FOCUS_FILE)?)?;
    if focus.ncols() == 0 {
        return Err(Error::Format {
            path: dir.join(FOCUS_FILE),
            message: format!(
                "the shape ({}, 0) has no column: a model of dimension 0 has no word vectors \
                 (a word vector needs at least one value)",
                focus.nrows()
            ),
        });
    }
    if focus.nrows() != vocab.len() {
        return Err(Error::ShapeMismatch {
            what: "U.npy (one row per entry of vocab.txt)",
            expected: vec![vocab.len(), focus.ncols()],
            found: focus.shape().to_vec(),
        });
    }
    let context = read_matrix_listed(&dir.join(CONTEXT_FILE), listed(CONTEXT_FILE)?)?;
    if context.dim() != focus.dim() {
        return Err(Error::ShapeMismatch {
            what: "V.npy (the shape of U.npy)",
            expected: focus.shape().to_vec(),
            found: context.shape().to_vec(),
        });
    }
    let interaction = read_matrix_listed(&dir.join(INTERACTION_FILE), listed(INTERACTION_FILE)?)?;
    if interaction.dim() != (focus.ncols(), focus.ncols()) {
        return Err(Error::ShapeMismatch {
            what: "W.npy (M×M for the M columns of U.npy)",
            expected: vec![focus.ncols(), focus.ncols()],
            found: interaction.shape().to_vec(),
        });
    }
    let offsets = offsets::read_offsets(dir, focus.ncols(), manifest)?;
    let subwords = subwords::read_subwords(dir, &vocab, focus.ncols(), manifest)?;
    let mut model =
        Model::from_parts(focus, context, interaction)?.with_offset_interactions(offsets)?;
    if let Some(subwords) = subwords {
        model = model.with_subwords(subwords)?;
    }
    Ok((model, vocab))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{SeedableRng, rngs::Xoshiro256PlusPlus};

    #[test]
    fn save_and_load_round_trip_exactly() {
        let dir = tempfile::tempdir().expect("tempdir");
        let vocab = Vocab::from_counts(
            [
                ("януари".to_string(), 7),
                ("нефт".to_string(), 3),
                ("oil".to_string(), 2),
            ],
            OovPolicy::Drop,
        )
        .expect("vocab");
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(9);
        let model = Model::course(3, 5, &mut rng);
        let out = dir.path().join("nested").join("model");
        save_model(&out, &model, &vocab).expect("saves");
        let (loaded, loaded_vocab) = load_model(&out, OovPolicy::Drop).expect("loads");
        assert_eq!(loaded, model);
        assert_eq!(loaded_vocab, vocab);
        // Only the four final files and the manifest remain: no temporary file is left
        // behind, and no staging folder next to the model.
        let mut names: Vec<String> = fs::read_dir(&out)
            .expect("list")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["MANIFEST", "U.npy", "V.npy", "W.npy", "vocab.txt"]);
        assert_eq!(
            fs::read_dir(dir.path().join("nested"))
                .expect("list")
                .count(),
            1
        );
    }

    #[test]
    fn npy_header_is_what_numpy_expects() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("m.npy");
        write_matrix(&path, Array2::from_elem((2, 3), 1.5_f32).view()).expect("writes");
        let bytes = fs::read(&path).expect("read");
        assert_eq!(&bytes[..6], b"\x93NUMPY");
        let header = String::from_utf8_lossy(&bytes[10..80]);
        assert!(header.contains("'descr': '<f4'"), "{header}");
        assert!(header.contains("'fortran_order': False"), "{header}");
        assert!(header.contains("'shape': (2, 3)"), "{header}");
    }

    #[test]
    fn a_failed_write_keeps_the_old_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("keep.txt");
        fs::write(&path, "old").expect("write");
        let err = write_atomic(&path, |w| {
            w.write_all(b"partial").map_err(Error::Io)?;
            Err(Error::Io(std::io::Error::other("interrupted")))
        });
        assert!(err.is_err());
        assert_eq!(fs::read_to_string(&path).expect("read"), "old");
        assert_eq!(fs::read_dir(dir.path()).expect("list").count(), 1);
    }

    #[test]
    fn bad_files_give_typed_errors() {
        let dir = tempfile::tempdir().expect("tempdir");
        let truncated = dir.path().join("t.npy");
        write_matrix(&truncated, Array2::from_elem((4, 4), 1.0_f32).view()).expect("writes");
        let bytes = fs::read(&truncated).expect("read");
        fs::write(&truncated, &bytes[..bytes.len() - 5]).expect("truncate");
        assert!(matches!(read_matrix(&truncated), Err(Error::Format { .. })));
        let f64_file = dir.path().join("d.npy");
        let mut f64_bytes = npy::header("<f8", 2, 2);
        f64_bytes.extend(1.0_f64.to_le_bytes().repeat(4));
        fs::write(&f64_file, f64_bytes).expect("writes");
        let err = read_matrix(&f64_file).expect_err("wrong dtype");
        assert!(err.to_string().contains("d.npy"), "{err}");
        assert!(matches!(
            read_matrix(dir.path().join("missing.npy")),
            Err(Error::File { .. })
        ));
        // W of the wrong shape for U.
        let vocab = Vocab::from_counts([("a".to_string(), 1)], OovPolicy::Drop).expect("vocab");
        let model_dir = dir.path().join("m");
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(1);
        save_model(&model_dir, &Model::course(1, 3, &mut rng), &vocab).expect("saves");
        write_matrix(
            model_dir.join(INTERACTION_FILE),
            Array2::zeros((2, 2)).view(),
        )
        .expect("w");
        // The manifest tells the new W.npy from the one saved.
        let error = load_model(&model_dir, OovPolicy::Drop).unwrap_err();
        assert!(matches!(&error, Error::Format { .. }), "{error:?}");
        assert!(error.to_string().contains("MANIFEST lists"), "{error}");
        // Without it (a folder of an earlier version), the shapes are checked.
        fs::remove_file(model_dir.join(MANIFEST_FILE)).expect("remove");
        assert!(matches!(
            load_model(&model_dir, OovPolicy::Drop),
            Err(Error::ShapeMismatch { .. })
        ));
    }

    /// Every atomic writer refuses a symbolic link, to a file or to nothing, before it
    /// writes anything: the link, its target and the folder stay as they were.
    #[cfg(unix)]
    #[test]
    fn writing_to_a_symbolic_link_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let target = dir.path().join("vocab.txt");
        std::fs::write(&target, "old 3\n").expect("write");
        let vocab = Vocab::from_counts([("new".to_string(), 2)], OovPolicy::Drop).expect("vocab");
        for (name, to) in [("link.txt", "vocab.txt"), ("dangling.txt", "missing.txt")] {
            let link = dir.path().join(name);
            std::os::unix::fs::symlink(to, &link).expect("symlink");
            let error = write_vocab(&link, &vocab).expect_err("a link");
            assert_eq!(
                error.to_string(),
                format!(
                    "I/O error on {}: exists and is a symbolic link, not a regular file that \
                     can be replaced: links are not followed, as for output folders (writing \
                     would replace the link, not the file it points to); give the file's own \
                     path",
                    link.display()
                )
            );
            let metadata = std::fs::symlink_metadata(&link).expect("kept");
            assert!(metadata.file_type().is_symlink());
        }
        assert_eq!(std::fs::read_to_string(&target).expect("read"), "old 3\n");
        let mut names: Vec<_> = std::fs::read_dir(dir.path())
            .expect("list")
            .map(|entry| entry.expect("entry").file_name())
            .collect();
        names.sort();
        assert_eq!(names, ["dangling.txt", "link.txt", "vocab.txt"]);
    }

    /// A path swapped for a pipe after `open_regular_file` inspected it is refused at once
    /// by the open that follows: it does not wait for a writer, and it inspects the file
    /// it opened.
    #[cfg(unix)]
    #[test]
    fn a_pipe_met_at_the_open_is_refused_without_waiting() {
        use std::os::unix::ffi::OsStrExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let fifo = dir.path().join("swapped.npy");
        let c_path = std::ffi::CString::new(fifo.as_os_str().as_bytes()).expect("no NUL");
        // SAFETY: mkfifo reads the NUL-terminated path it is given.
        let status = unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) };
        assert_eq!(status, 0, "mkfifo: {}", std::io::Error::last_os_error());
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = sender.send(open_checked(&fifo).map(|_| ()));
        });
        let error = receiver
            .recv_timeout(std::time::Duration::from_secs(60))
            .expect("the open waited for a writer")
            .expect_err("a pipe is refused");
        assert_eq!(error.kind(), std::io::ErrorKind::InvalidInput);
        assert_eq!(error.to_string(), "is a pipe (FIFO), not a regular file");
    }

    /// A regular file is kept, and reads as a plain open would: not non-blocking.
    #[cfg(unix)]
    #[test]
    fn a_regular_file_is_opened_blocking() {
        use std::os::unix::io::AsRawFd;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("U.npy");
        std::fs::write(&path, b"bytes").expect("write");
        let file = open_regular_file(&path).expect("opens");
        // SAFETY: fcntl on a descriptor `file` owns; no memory is passed.
        let flags = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_GETFL) };
        assert!(flags >= 0);
        assert_eq!(flags & libc::O_NONBLOCK, 0);
        assert_eq!(read_regular_file(&path).expect("reads"), b"bytes");
    }
}
