//! The subwords of a model folder: [`SUBWORDS_FILE`] holds the n-gram table `Z`
//! (`n_ngrams × M`, `f32`, as numpy reads it), [`SUBWORDS_INFO_FILE`] which n-grams
//! (valid TOML):
//!
//! ```text
//! min_n = 3
//! max_n = 6
//! min_words = 2
//! word_weight = 2
//! readout_weight = 0.25
//! ```
//!
//! (The weights may be missing, in a folder written before they existed: a missing
//! `word_weight` is 1, fastText's plain mean, and a missing `readout_weight` is the word
//! weight, which is how such a folder was read.)
//!
//! The rows follow the [`SubwordIndex`] of the folder's vocabulary with these settings,
//! which the reader rebuilds from `vocab.txt` (n-grams in order of first occurrence).

use std::io::Write;
use std::path::Path;

use super::offsets::read_info_file;
use super::{Manifest, read_matrix_listed, remove_if_present, write_atomic, write_matrix};
use crate::error::{Error, Result};
use crate::subwords::{SubwordConfig, SubwordIndex, Subwords};
use crate::vocab::Vocab;

/// File name of the subword n-gram table in a model folder.
pub const SUBWORDS_FILE: &str = "Z.npy";
/// File name of which n-grams the table holds and how they compose (lengths, `min_words`,
/// the weights).
pub const SUBWORDS_INFO_FILE: &str = "Z.txt";

/// Writes `subwords` into `dir` as [`SUBWORDS_FILE`] and [`SUBWORDS_INFO_FILE`]; for a
/// model without subwords removes those files if an earlier save left them.
pub(crate) fn write_subwords(dir: &Path, subwords: Option<&Subwords>) -> Result<()> {
    let (values, info) = (dir.join(SUBWORDS_FILE), dir.join(SUBWORDS_INFO_FILE));
    let Some(subwords) = subwords else {
        remove_if_present(&values)?;
        return remove_if_present(&info);
    };
    write_matrix(&values, subwords.table())?;
    let config = subwords.index().config();
    write_atomic(&info, |writer| {
        write!(
            writer,
            "min_n = {}\nmax_n = {}\nmin_words = {}\nword_weight = {}\nreadout_weight = {}\n",
            config.min_n(),
            config.max_n(),
            config.min_words(),
            config.word_weight(),
            config.readout_weight()
        )
        .map_err(Error::Io)
    })
}

/// Reads the subwords of a model of dimension `dim` with vocabulary `vocab` from `dir`,
/// checking both files against `manifest` when there is one: `None` when the folder has
/// no [`SUBWORDS_INFO_FILE`] (and the manifest lists none).
pub(crate) fn read_subwords(
    dir: &Path,
    vocab: &Vocab,
    dim: usize,
    manifest: Option<&Manifest>,
) -> Result<Option<Subwords>> {
    let Some((info, lines, n_lines)) =
        read_info_file(dir, SUBWORDS_INFO_FILE, SUBWORDS_FILE, manifest)?
    else {
        return Ok(None);
    };
    let bad = |line: usize, message: String| Error::Format {
        path: info.clone(),
        message: format!("line {line}: {message}"),
    };
    let mut values: [Option<(&str, usize)>; 5] = [None; 5];
    const KEYS: [&str; 5] = [
        "min_n",
        "max_n",
        "min_words",
        "word_weight",
        "readout_weight",
    ];
    for (line, key, value) in &lines {
        let Some(slot) = KEYS.iter().position(|k| k == key) else {
            return Err(bad(*line, format!("unknown key `{key}`")));
        };
        if values[slot].replace((value.as_str(), *line)).is_some() {
            return Err(bad(*line, format!("`{key}` is given twice")));
        }
    }
    let [
        Some(min_n),
        Some(max_n),
        Some(min_words),
        word_weight,
        readout_weight,
    ] = values
    else {
        return Err(bad(
            n_lines + 1,
            "`min_n`, `max_n` and `min_words` are all needed".to_owned(),
        ));
    };
    let int = |(value, line): (&str, usize), key: &str| {
        value
            .parse::<usize>()
            .map_err(|_| bad(line, format!("bad value for `{key}`: {value}")))
    };
    let (min, max, words) = (
        int(min_n, "min_n")?,
        int(max_n, "max_n")?,
        int(min_words, "min_words")?,
    );
    let mut config = SubwordConfig::new(min, max)
        .map_err(|e| bad(max_n.1, e.to_string()))?
        .with_min_words(words)
        .map_err(|e| bad(min_words.1, e.to_string()))?;
    // Written before the weights existed: fastText's plain mean.
    let weight = |given: Option<(&str, usize)>, key: &str| {
        let (value, line) = given.unwrap_or(("1", n_lines + 1));
        let weight = value
            .parse::<f32>()
            .map_err(|_| bad(line, format!("bad value for `{key}`: {value}")))?;
        Ok::<_, Error>((weight, line))
    };
    let (word, line) = weight(word_weight, "word_weight")?;
    config = config
        .with_word_weight(word)
        .map_err(|e| bad(line, e.to_string()))?;
    // Written before the read-out weight existed: read at the word weight.
    let (readout, line) = match readout_weight {
        Some(given) => weight(Some(given), "readout_weight")?,
        None => (word, n_lines + 1),
    };
    config = config
        .with_readout_weight(readout)
        .map_err(|e| bad(line, e.to_string()))?;
    let index = SubwordIndex::new(vocab.words(), config)?;
    let path = dir.join(SUBWORDS_FILE);
    let entry = manifest
        .map(|m| m.check_size(dir, SUBWORDS_FILE))
        .transpose()?;
    let table = read_matrix_listed(&path, entry)?;
    if table.dim() != (index.n_ngrams(), dim) {
        return Err(Error::ShapeMismatch {
            what: "Z.npy (one row per n-gram of the vocabulary that Z.txt keeps, M columns)",
            expected: vec![index.n_ngrams(), dim],
            found: table.shape().to_vec(),
        });
    }
    Subwords::new(index, table, dim).map(Some)
}
