//! Saving and loading models: `U`, `V` and `W` as `.npy` files that numpy loads as they are
//! (`numpy.load("U.npy")`), and the vocabulary as text, one `word count` line each.
//!
//! Word vectors (any [`VectorKind`](crate::VectorKind)) can also be exchanged with other
//! tools: word2vec's text and binary formats ([`write_word2vec_text`],
//! [`write_word2vec_binary`], [`read_word2vec`]), which gensim and most embedding tools
//! read, and, with the `finalfusion` cargo feature (on by default), finalfusion files with
//! the training configuration in their metadata (`write_finalfusion`, `read_finalfusion`,
//! `read_finalfusion_metadata`). Every round trip returns the vectors bit for bit.
//!
//! Every file is written to a temporary file in the same folder, flushed to disk and then
//! renamed over its destination, so an interrupted save never leaves a half-written file
//! under the final name.

#[cfg(feature = "finalfusion")]
mod finalfusion;
mod word2vec;

#[cfg(feature = "finalfusion")]
pub use self::finalfusion::{read_finalfusion, read_finalfusion_metadata, write_finalfusion};
pub use word2vec::{read_word2vec, write_word2vec_binary, write_word2vec_text};

use std::fs::{self, File};
use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use ndarray::Array2;
use ndarray_npy::{ReadNpyExt, WriteNpyExt};

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
/// # Errors
///
/// [`Error::File`] when the file cannot be created, written, synced or renamed, or
/// whatever `write` returns.
pub fn write_atomic(
    path: &Path,
    write: impl FnOnce(&mut BufWriter<&File>) -> Result<()>,
) -> Result<()> {
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
            write(&mut writer)?;
            writer.flush().map_err(file_error(&tmp))?;
        }
        file.sync_all().map_err(file_error(&tmp))?;
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

/// Writes a matrix as a `.npy` file (little-endian `f32`, C order), atomically.
///
/// # Errors
///
/// [`Error::File`] when the file cannot be written.
pub fn write_matrix(path: &Path, matrix: &Array2<f32>) -> Result<()> {
    write_atomic(path, |writer| {
        matrix.write_npy(writer).map_err(|e| Error::Format {
            path: path.to_path_buf(),
            message: e.to_string(),
        })
    })
}

/// Reads a 2-D `f32` `.npy` file.
///
/// # Errors
///
/// [`Error::File`] when the file cannot be opened, [`Error::Format`] when it is not a 2-D
/// `f32` `.npy` array or is truncated.
pub fn read_matrix(path: &Path) -> Result<Array2<f32>> {
    let file = File::open(path).map_err(file_error(path))?;
    Array2::<f32>::read_npy(BufReader::new(file)).map_err(|e| Error::Format {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

/// Writes a vocabulary as text (`word count` per line), atomically.
///
/// # Errors
///
/// [`Error::File`] when the file cannot be written.
pub fn write_vocab(path: &Path, vocab: &Vocab) -> Result<()> {
    write_atomic(path, |writer| vocab.write_text(writer))
}

/// Reads a vocabulary written by [`write_vocab`].
///
/// # Errors
///
/// [`Error::File`] when the file cannot be opened, [`Error::Corpus`] naming the line of a
/// malformed entry.
pub fn read_vocab(path: &Path, oov: OovPolicy) -> Result<Vocab> {
    let file = File::open(path).map_err(file_error(path))?;
    Vocab::read_text(BufReader::new(file), path, oov)
}

/// Saves `U`, `V`, `W` and the vocabulary into `dir` (created if missing) as
/// [`FOCUS_FILE`], [`CONTEXT_FILE`], [`INTERACTION_FILE`] and [`VOCAB_FILE`].
///
/// # Errors
///
/// [`Error::ShapeMismatch`] when the model does not have one row per vocabulary entry,
/// [`Error::File`] when a file cannot be written.
pub fn save_model(dir: &Path, model: &Model, vocab: &Vocab) -> Result<()> {
    if model.n_words() != vocab.len() {
        return Err(Error::ShapeMismatch {
            what: "model rows (one per vocabulary entry)",
            expected: vec![vocab.len(), model.dim()],
            found: vec![model.n_words(), model.dim()],
        });
    }
    fs::create_dir_all(dir).map_err(file_error(dir))?;
    write_matrix(&dir.join(FOCUS_FILE), &model.focus_embeddings().to_owned())?;
    write_matrix(
        &dir.join(CONTEXT_FILE),
        &model.context_embeddings().to_owned(),
    )?;
    write_matrix(&dir.join(INTERACTION_FILE), &model.interaction().to_owned())?;
    write_vocab(&dir.join(VOCAB_FILE), vocab)
}

/// Loads a model and vocabulary saved by [`save_model`].
///
/// # Errors
///
/// [`Error::File`], [`Error::Format`] or [`Error::Corpus`] when a file is missing or
/// malformed, [`Error::ShapeMismatch`] when the matrices do not fit each other or the
/// vocabulary.
pub fn load_model(dir: &Path, oov: OovPolicy) -> Result<(Model, Vocab)> {
    let vocab = read_vocab(&dir.join(VOCAB_FILE), oov)?;
    let focus = read_matrix(&dir.join(FOCUS_FILE))?;
    let context = read_matrix(&dir.join(CONTEXT_FILE))?;
    let interaction = read_matrix(&dir.join(INTERACTION_FILE))?;
    if focus.nrows() != vocab.len() {
        return Err(Error::ShapeMismatch {
            what: "U (one row per vocabulary entry)",
            expected: vec![vocab.len(), focus.ncols()],
            found: focus.shape().to_vec(),
        });
    }
    Ok((Model::from_parts(focus, context, interaction)?, vocab))
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
        // Only the four final files remain: no temporary file is left behind.
        let mut names: Vec<String> = fs::read_dir(&out)
            .expect("list")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["U.npy", "V.npy", "W.npy", "vocab.txt"]);
    }

    #[test]
    fn npy_header_is_what_numpy_expects() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("m.npy");
        write_matrix(&path, &Array2::from_elem((2, 3), 1.5_f32)).expect("writes");
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
        write_matrix(&truncated, &Array2::from_elem((4, 4), 1.0_f32)).expect("writes");
        let bytes = fs::read(&truncated).expect("read");
        fs::write(&truncated, &bytes[..bytes.len() - 5]).expect("truncate");
        assert!(matches!(read_matrix(&truncated), Err(Error::Format { .. })));
        let f64_file = dir.path().join("d.npy");
        Array2::from_elem((2, 2), 1.0_f64)
            .write_npy(File::create(&f64_file).expect("create"))
            .expect("writes");
        let err = read_matrix(&f64_file).expect_err("wrong dtype");
        assert!(err.to_string().contains("d.npy"), "{err}");
        assert!(matches!(
            read_matrix(&dir.path().join("missing.npy")),
            Err(Error::File { .. })
        ));
        // W of the wrong shape for U.
        let vocab = Vocab::from_counts([("a".to_string(), 1)], OovPolicy::Drop).expect("vocab");
        let model_dir = dir.path().join("m");
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(1);
        save_model(&model_dir, &Model::course(1, 3, &mut rng), &vocab).expect("saves");
        write_matrix(&model_dir.join(INTERACTION_FILE), &Array2::zeros((2, 2))).expect("w");
        assert!(matches!(
            load_model(&model_dir, OovPolicy::Drop),
            Err(Error::ShapeMismatch { .. })
        ));
    }
}
