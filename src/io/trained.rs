//! Whole-model folders: a [`Trained`] model with everything that made it, saved with
//! [`Trained::save`] and read back with [`Trained::load`].
//!
//! Besides the files of a plain model folder ([`save_model`](super::save_model): `U.npy`,
//! `V.npy`, `W.npy`, `vocab.txt` with the counts, `D.npy` and `D.txt` for per-offset
//! interactions), such a folder holds three text files:
//!
//! - [`CONFIG_FILE`]: the configuration, as [`TrainConfig::to_text`] writes it. Its `oov`
//!   line is the vocabulary's OOV policy.
//! - [`REPORT_FILE`]: the [`TrainReport`], one `key = value` line per field after the line
//!   `# bilinear-skipgram training report 1`:
//!
//!   ```text
//!   # bilinear-skipgram training report 1
//!   words = 812734
//!   pairs = 3901623
//!   seconds = 1.25
//!   long_tokens_skipped = 0
//!   stopped_early = false
//!   epoch_losses = 2.31 2.05
//!   epoch_heldout_losses = 2.4 2.2
//!   epoch_interactions = 0.5/3.25 -
//!   recovered = diverged in epoch 1 …
//!   ```
//!
//!   Numbers are written so that they read back bit for bit (`NaN` and `inf` included); a
//!   missing held-out loss or diagnostic is `-`; a diagnostic is
//!   `distance_from_identity/condition_number`; each recovered divergence is a
//!   `recovered` line, in order, with `\` and line breaks written as `\\`, `\n`, `\r`.
//! - [`HELDOUT_FILE`], if the run had a held-out sample ([`HeldOut`]): after the line
//!   `# bilinear-skipgram held-out sample 1`, the lines `tokens = T`, `sentences = S`,
//!   `pairs = N` and `width = K`, then the `S` sentence indices one per line, then one line
//!   per pair: the focus id, the offset and the `K` context ids (the context word, then its
//!   negatives), separated by spaces.
//!
//! The folder is replaced as a whole ([`replace_dir`]) and every file is listed in its
//! [`MANIFEST_FILE`](super::MANIFEST_FILE) with its size and CRC-32, which
//! [`Trained::load`] checks.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

use ndarray::Array2;

use super::folder::check_crc;
use super::{Manifest, read_model, replace_dir, write_atomic, write_model};
use crate::config::TrainConfig;
use crate::embeddings::Embeddings;
use crate::error::{ConfigError, Error, Result};
use crate::model::VectorKind;
use crate::sgd::{
    HeldOut, InteractionDiagnostics, TrainReport, Trained, check_offsets, check_subwords,
};

/// File name of the configuration in a whole-model folder.
pub const CONFIG_FILE: &str = "config.txt";
/// File name of the training report in a whole-model folder.
pub const REPORT_FILE: &str = "report.txt";
/// File name of the held-out sample in a whole-model folder (when the run had one).
pub const HELDOUT_FILE: &str = "heldout.txt";

const REPORT_FORMAT: &str = "# bilinear-skipgram training report 1";
const HELDOUT_FORMAT: &str = "# bilinear-skipgram held-out sample 1";

impl Trained {
    /// Saves the whole model as the folder `dir`, replaced as a whole
    /// ([`replace_dir`]): the model files of [`save_model`](crate::save_model), the
    /// configuration, the report and the held-out sample (see [`write_trained`] for the
    /// files), with a manifest of their sizes and CRC-32s. A reader sees the old folder
    /// or the new one, never a mix.
    ///
    /// An existing `dir` must hold only what such a folder holds (see [`replace_dir`]); it
    /// is replaced as a whole.
    ///
    /// ```
    /// use bilinear_skipgram::{Corpus, NoProgress, TrainConfig, Trained, train};
    ///
    /// let sentences = ["the king and the queen", "the man and the woman"];
    /// let dir = tempfile::tempdir()?;
    /// let corpus_path = dir.path().join("corpus.txt");
    /// std::fs::write(&corpus_path, sentences.repeat(50).join("\n"))?;
    /// let config = TrainConfig::builder().dim(8).epochs(1).min_count(1).threads(1).build()?;
    /// let trained = train(&config, &[corpus_path], &mut NoProgress)?;
    ///
    /// trained.save(dir.path().join("model"))?;
    /// let loaded = Trained::load(dir.path().join("model"))?;
    /// assert_eq!(loaded.model, trained.model);
    /// assert_eq!(loaded.config, trained.config);
    /// assert_eq!(loaded.report, trained.report);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`write_trained`], and [`Error::File`] when `dir` cannot be replaced (it is not a
    /// folder, or holds files that are not a model's).
    pub fn save(&self, dir: impl AsRef<Path>) -> Result<()> {
        replace_dir(dir, |staging| write_trained(staging, self))
    }

    /// Loads a whole model saved by [`Trained::save`] (or written by [`write_trained`]
    /// into a [`replace_dir`]): it can be queried
    /// ([`Embeddings::from_model`](crate::Embeddings::from_model)), exported, evaluated
    /// ([`HeldOut::loss`]) or trained further ([`train_model`](crate::train_model) with
    /// its configuration and vocabulary).
    ///
    /// If the folder has a manifest, every file read must be listed with the size and
    /// CRC-32 it has, as for [`load_model`](crate::load_model); the held-out sample is
    /// read if the folder has [`HELDOUT_FILE`] (or the manifest lists it).
    ///
    /// # Errors
    ///
    /// - [`Error::Format`] naming [`CONFIG_FILE`] when the folder has none: it is a plain
    ///   model folder ([`save_model`](crate::save_model), or the `train` example before
    ///   it saved whole models), which [`load_model`](crate::load_model) reads.
    /// - [`Error::File`] naming a file that is missing or cannot be read, or is not a
    ///   regular file (a folder, a pipe, a device).
    /// - [`Error::Format`] naming the file and what differs when it does not match the
    ///   manifest (size, CRC-32, not listed), or is not UTF-8.
    /// - [`Error::Parse`] naming the file and line of a malformed line of the
    ///   configuration, the report, the held-out sample, the vocabulary or the manifest;
    ///   [`Error::Format`] naming [`CONFIG_FILE`] for a configuration that parses but is
    ///   not valid.
    /// - [`Error::ShapeMismatch`] when the matrices do not fit each other, the vocabulary
    ///   or the configuration (its dimension and per-offset interactions);
    ///   [`Error::IndexOutOfRange`] or [`Error::ShapeMismatch`] for a held-out sample that
    ///   does not fit the vocabulary and window.
    pub fn load(dir: impl AsRef<Path>) -> Result<Trained> {
        read_trained(dir.as_ref())
    }

    /// The model's default word vectors ([`VectorKind::default`]) as [`Embeddings`], to
    /// query by word: `trained.embeddings()?.most_similar(&["king"], &[], 10)`.
    ///
    /// # Errors
    ///
    /// As [`embeddings_with`](Self::embeddings_with).
    pub fn embeddings(&self) -> Result<Embeddings> {
        self.embeddings_with(VectorKind::default())
    }

    /// The model's `kind` word vectors as [`Embeddings`]
    /// ([`Embeddings::from_model`] with this model and vocabulary).
    ///
    /// # Errors
    ///
    /// [`Error::ShapeMismatch`] when the model does not have one row per vocabulary entry
    /// (a `Trained` put together by hand).
    pub fn embeddings_with(&self, kind: VectorKind) -> Result<Embeddings> {
        Embeddings::from_model(&self.model, &self.vocab, kind)
    }
}

/// Writes a whole model into the existing folder `dir`: the model files
/// ([`write_model`]), [`CONFIG_FILE`], [`REPORT_FILE`] and, when the run had a held-out
/// sample, [`HELDOUT_FILE`]; each file atomically but not the folder as a whole. This is
/// for the `fill` of a [`replace_dir`] that writes more files next to the model (word
/// vectors, pictures); to save a model on its own, use [`Trained::save`].
///
/// # Errors
///
/// - [`Error::InvalidArgument`] when the vocabulary's OOV policy is not the
///   configuration's (the folder keeps one), or the model's dimension is 0 (which
///   [`Trained::load`] would refuse), before anything is written.
/// - [`Error::ShapeMismatch`] when the model does not have one row per vocabulary entry,
///   [`Error::InvalidArgument`] when its subwords were indexed from other words.
/// - [`Error::File`] naming a file that cannot be written.
pub fn write_trained(dir: impl AsRef<Path>, trained: &Trained) -> Result<()> {
    let dir = dir.as_ref();
    if trained.vocab.oov_policy() != trained.config.oov() {
        return Err(Error::InvalidArgument {
            what: "trained model",
            message: format!(
                "the vocabulary's OOV policy is {:?} but the configuration's is {:?}; a saved \
                 model keeps one, in {CONFIG_FILE}",
                trained.vocab.oov_policy(),
                trained.config.oov()
            ),
        });
    }
    write_model(dir, &trained.model, &trained.vocab)?;
    write_text(&dir.join(CONFIG_FILE), &trained.config.to_text())?;
    write_text(&dir.join(REPORT_FILE), &report_text(&trained.report))?;
    let heldout = dir.join(HELDOUT_FILE);
    match &trained.heldout {
        Some(sample) => write_text(&heldout, &heldout_text(sample)),
        None => super::remove_if_present(&heldout),
    }
}

fn write_text(path: &Path, text: &str) -> Result<()> {
    write_atomic(path, |writer| {
        writer.write_all(text.as_bytes()).map_err(Error::Io)
    })
}

fn read_trained(dir: &Path) -> Result<Trained> {
    let manifest = Manifest::read(dir)?;
    if let Some(manifest) = &manifest {
        manifest.check_sizes(dir)?;
    }
    let manifest = manifest.as_ref();
    let config_path = dir.join(CONFIG_FILE);
    let listed = manifest.is_some_and(|m| m.get(CONFIG_FILE).is_some());
    if !listed && !config_path.exists() {
        return Err(Error::Format {
            path: config_path,
            message: "missing: the folder holds no training configuration, so it is not a \
                      whole model saved by Trained::save; a plain model folder (save_model, \
                      or the train example of earlier versions) is read with load_model"
                .to_owned(),
        });
    }
    let config_text = read_text(dir, CONFIG_FILE, manifest)?;
    let config = TrainConfig::from_text(&config_text).map_err(|error| match error {
        ConfigError::Parse { line, message } => Error::parse(&config_path, line as u64, message),
        other => Error::Format {
            path: config_path.clone(),
            message: format!("not a valid configuration: {other}"),
        },
    })?;
    let (model, vocab) = read_model(dir, config.oov(), manifest)?;
    if model.dim() != config.dim() {
        return Err(Error::ShapeMismatch {
            what: "U.npy (the dimension of config.txt)",
            expected: vec![vocab.len(), config.dim()],
            found: vec![model.n_words(), model.dim()],
        });
    }
    check_offsets(&config, &model)?;
    check_subwords(&config, &model)?;
    let report_path = dir.join(REPORT_FILE);
    let report = parse_report(&read_text(dir, REPORT_FILE, manifest)?, &report_path)?;
    let heldout_listed = manifest.is_some_and(|m| m.get(HELDOUT_FILE).is_some());
    let heldout = if heldout_listed || dir.join(HELDOUT_FILE).exists() {
        let text = read_text(dir, HELDOUT_FILE, manifest)?;
        Some(parse_heldout(
            &text,
            &dir.join(HELDOUT_FILE),
            (vocab.len(), config.window()),
        )?)
    } else {
        None
    };
    Ok(Trained {
        vocab,
        model,
        report,
        config,
        heldout,
    })
}

/// The text file `name` of `dir`, checked against its manifest entry if there is a
/// manifest.
fn read_text(dir: &Path, name: &str, manifest: Option<&Manifest>) -> Result<String> {
    let path = dir.join(name);
    let entry = manifest.map(|m| m.check_size(dir, name)).transpose()?;
    let bytes = super::read_regular_file(&path).map_err(|source| Error::File {
        path: path.clone(),
        source,
    })?;
    if let Some(entry) = entry {
        check_crc(&path, entry, crc32fast::hash(&bytes), bytes.len() as u64)?;
    }
    String::from_utf8(bytes).map_err(|e| Error::Format {
        path,
        message: format!("not UTF-8 (at byte {})", e.utf8_error().valid_up_to()),
    })
}

/// `{:?}` of an `f64` reads back bit for bit (`NaN`, `inf` and `-inf` included).
fn float(x: f64) -> String {
    format!("{x:?}")
}

fn report_text(report: &TrainReport) -> String {
    let join = |items: Vec<String>| items.join(" ");
    let optional = |x: &Option<f64>| x.map_or_else(|| "-".to_owned(), float);
    let mut text = format!("{REPORT_FORMAT}\n");
    let _ = writeln!(text, "words = {}", report.words);
    let _ = writeln!(text, "pairs = {}", report.pairs);
    let _ = writeln!(text, "seconds = {}", float(report.seconds));
    let _ = writeln!(text, "long_tokens_skipped = {}", report.long_tokens_skipped);
    let _ = writeln!(text, "stopped_early = {}", report.stopped_early);
    let _ = writeln!(
        text,
        "epoch_losses = {}",
        join(report.epoch_losses.iter().copied().map(float).collect())
    );
    let _ = writeln!(
        text,
        "epoch_heldout_losses = {}",
        join(report.epoch_heldout_losses.iter().map(optional).collect())
    );
    let _ = writeln!(
        text,
        "epoch_interactions = {}",
        join(
            report
                .epoch_interactions
                .iter()
                .map(|d| d.map_or_else(
                    || "-".to_owned(),
                    |d| format!(
                        "{}/{}",
                        float(d.distance_from_identity),
                        float(d.condition_number)
                    )
                ))
                .collect()
        )
    );
    for message in &report.recovered {
        let _ = writeln!(text, "recovered = {}", escape(message));
    }
    text
}

fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => escaped.push_str("\\\\"),
            '\n' => escaped.push_str("\\n"),
            '\r' => escaped.push_str("\\r"),
            c => escaped.push(c),
        }
    }
    escaped
}

fn unescape(text: &str) -> Option<String> {
    let mut plain = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        plain.push(if c == '\\' {
            match chars.next()? {
                '\\' => '\\',
                'n' => '\n',
                'r' => '\r',
                _ => return None,
            }
        } else {
            c
        });
    }
    Some(plain)
}

/// The `key = value` lines of a text after its format line, with their one-based line
/// numbers; the value is what follows `=` and one space.
fn key_values<'t>(
    text: &'t str,
    format_line: &str,
    path: &Path,
) -> Result<Vec<(u64, &'t str, &'t str)>> {
    let bad = |line: u64, message: String| Error::parse(path, line, message);
    let mut lines = text.lines();
    match lines.next() {
        Some(first) if first == format_line => {}
        first => {
            return Err(bad(
                1,
                format!(
                    "expected {format_line:?}, found {:?}",
                    first.unwrap_or_default()
                ),
            ));
        }
    }
    lines
        .enumerate()
        .map(|(index, line)| {
            let number = index as u64 + 2;
            let (key, value) = line
                .split_once(" =")
                .ok_or_else(|| bad(number, format!("expected `key = value`, found {line:?}")))?;
            let value = value.strip_prefix(' ').unwrap_or(value);
            Ok((number, key, value))
        })
        .collect()
}

fn parse_report(text: &str, path: &Path) -> Result<TrainReport> {
    let bad = |line: u64, message: String| Error::parse(path, line, message);
    let number = |line: u64, key: &str, value: &str| {
        value
            .parse::<f64>()
            .map_err(|_| bad(line, format!("`{key}`: {value:?} is not a number")))
    };
    let optional = |line: u64, key: &str, value: &str| {
        if value == "-" {
            Ok(None)
        } else {
            number(line, key, value).map(Some)
        }
    };
    let count = |line: u64, key: &str, value: &str| {
        value
            .parse::<u64>()
            .map_err(|_| bad(line, format!("`{key}`: {value:?} is not a count")))
    };
    const KEYS: [&str; 8] = [
        "words",
        "pairs",
        "seconds",
        "long_tokens_skipped",
        "stopped_early",
        "epoch_losses",
        "epoch_heldout_losses",
        "epoch_interactions",
    ];
    let mut seen = [false; KEYS.len()];
    let mut report = TrainReport {
        epoch_losses: Vec::new(),
        epoch_heldout_losses: Vec::new(),
        epoch_interactions: Vec::new(),
        words: 0,
        pairs: 0,
        seconds: 0.0,
        recovered: Vec::new(),
        long_tokens_skipped: 0,
        stopped_early: false,
    };
    let lines = key_values(text, REPORT_FORMAT, path)?;
    let n_lines = lines.len() as u64 + 1;
    for (line, key, value) in lines {
        if key == "recovered" {
            let message = unescape(value).ok_or_else(|| {
                bad(
                    line,
                    format!("`recovered`: a `\\` not followed by `\\`, `n` or `r` in {value:?}"),
                )
            })?;
            report.recovered.push(message);
            continue;
        }
        let index = KEYS
            .iter()
            .position(|&k| k == key)
            .ok_or_else(|| bad(line, format!("unknown key `{key}`")))?;
        if std::mem::replace(&mut seen[index], true) {
            return Err(bad(line, format!("`{key}` is given twice")));
        }
        let items = value.split_whitespace();
        match key {
            "words" => report.words = count(line, key, value)?,
            "pairs" => report.pairs = count(line, key, value)?,
            "long_tokens_skipped" => report.long_tokens_skipped = count(line, key, value)?,
            "stopped_early" => {
                report.stopped_early = match value {
                    "true" => true,
                    "false" => false,
                    _ => {
                        return Err(bad(
                            line,
                            format!("`{key}`: expected true or false, got {value:?}"),
                        ));
                    }
                };
            }
            "seconds" => report.seconds = number(line, key, value)?,
            "epoch_losses" => {
                report.epoch_losses = items.map(|v| number(line, key, v)).collect::<Result<_>>()?;
            }
            "epoch_heldout_losses" => {
                report.epoch_heldout_losses = items
                    .map(|v| optional(line, key, v))
                    .collect::<Result<_>>()?;
            }
            _ => {
                report.epoch_interactions = items
                    .map(|v| {
                        if v == "-" {
                            return Ok(None);
                        }
                        let (distance, condition) = v.split_once('/').ok_or_else(|| {
                            bad(
                                line,
                                format!(
                                    "`{key}`: expected `-` or `distance/condition`, found {v:?}"
                                ),
                            )
                        })?;
                        Ok(Some(InteractionDiagnostics {
                            distance_from_identity: number(line, key, distance)?,
                            condition_number: number(line, key, condition)?,
                        }))
                    })
                    .collect::<Result<_>>()?;
            }
        }
    }
    if let Some(index) = seen.iter().position(|&s| !s) {
        return Err(bad(n_lines + 1, format!("`{}` is missing", KEYS[index])));
    }
    Ok(report)
}

fn heldout_text(sample: &HeldOut) -> String {
    let rows = sample.context_ids();
    let mut text = format!("{HELDOUT_FORMAT}\n");
    let _ = writeln!(text, "tokens = {}", sample.n_tokens());
    let _ = writeln!(text, "sentences = {}", sample.sentences().len());
    let _ = writeln!(text, "pairs = {}", sample.n_pairs());
    let _ = writeln!(text, "width = {}", rows.ncols());
    for sentence in sample.sentences() {
        let _ = writeln!(text, "{sentence}");
    }
    for ((focus, offset), row) in sample
        .focus_ids()
        .iter()
        .zip(sample.offsets())
        .zip(rows.rows())
    {
        let _ = write!(text, "{focus} {offset}");
        for id in row {
            let _ = write!(text, " {id}");
        }
        text.push('\n');
    }
    text
}

fn parse_heldout(text: &str, path: &Path, fits: (usize, usize)) -> Result<HeldOut> {
    let bad = |line: u64, message: String| Error::parse(path, line, message);
    let mut lines = text.lines().zip(1_u64..);
    match lines.next() {
        Some((HELDOUT_FORMAT, _)) => {}
        first => {
            return Err(bad(
                1,
                format!(
                    "expected {HELDOUT_FORMAT:?}, found {:?}",
                    first.map_or("", |(l, _)| l)
                ),
            ));
        }
    }
    let mut header = [0_u64; 4];
    for (key, value) in ["tokens", "sentences", "pairs", "width"]
        .into_iter()
        .zip(&mut header)
    {
        let (line, number) = lines.next().ok_or_else(|| {
            bad(
                text.lines().count() as u64 + 1,
                format!("the file ends before `{key} = …`"),
            )
        })?;
        *value = line
            .strip_prefix(key)
            .and_then(|rest| rest.strip_prefix(" = "))
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| bad(number, format!("expected `{key} = COUNT`, found {line:?}")))?;
    }
    let [n_tokens, n_sentences, n_pairs, width] = header;
    // Every sentence takes a line and every context id at least two bytes (` 0`): counts
    // beyond that are refused before anything is allocated for them.
    let n_lines = text.lines().count() as u64;
    if n_sentences.saturating_add(n_pairs) > n_lines {
        return Err(bad(
            3,
            format!(
                "{n_sentences} sentences and {n_pairs} pairs, but the file has {n_lines} lines"
            ),
        ));
    }
    if width == 0 || n_pairs.saturating_mul(width).saturating_mul(2) > text.len() as u64 {
        return Err(bad(
            5,
            format!("width {width} is not a number of context ids the file can hold"),
        ));
    }
    let mut sentences = Vec::with_capacity(n_sentences as usize);
    for _ in 0..n_sentences {
        let (line, number) = lines
            .next()
            .ok_or_else(|| bad(n_lines + 1, "the file ends inside the sentences".to_owned()))?;
        sentences.push(
            line.parse::<u64>()
                .map_err(|_| bad(number, format!("expected a sentence index, found {line:?}")))?,
        );
    }
    let width = width as usize;
    let mut focus = Vec::with_capacity(n_pairs as usize);
    let mut offsets = Vec::with_capacity(n_pairs as usize);
    let mut rows = Vec::with_capacity(n_pairs as usize * width);
    for _ in 0..n_pairs {
        let (line, number) = lines
            .next()
            .ok_or_else(|| bad(n_lines + 1, "the file ends inside the pairs".to_owned()))?;
        let pair_error = || {
            bad(
                number,
                format!("expected a focus id, an offset and {width} context ids, found {line:?}"),
            )
        };
        let mut fields = line.split(' ');
        let parsed_focus = fields.next().and_then(|f| f.parse::<usize>().ok());
        let parsed_offset = fields.next().and_then(|f| f.parse::<i32>().ok());
        let (Some(f), Some(p)) = (parsed_focus, parsed_offset) else {
            return Err(pair_error());
        };
        focus.push(f);
        offsets.push(p);
        let before = rows.len();
        for field in fields {
            rows.push(field.parse::<usize>().map_err(|_| pair_error())?);
        }
        if rows.len() - before != width {
            return Err(pair_error());
        }
    }
    if let Some((line, number)) = lines.next() {
        return Err(bad(
            number,
            format!("more lines than the sentences and pairs the header counts: {line:?}"),
        ));
    }
    let rows = Array2::from_shape_vec((n_pairs as usize, width), rows).map_err(|_| {
        Error::ShapeMismatch {
            what: "held-out context ids",
            expected: vec![n_pairs as usize, width],
            found: vec![focus.len()],
        }
    })?;
    HeldOut::from_parts(sentences, n_tokens, focus, offsets, rows, fits)
}
