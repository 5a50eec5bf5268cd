//! Error types: one crate [`Error`], plus [`ConfigError`] and [`SamplingError`] for the
//! checks that happen before any data is touched, and [`report`], which writes an error
//! with its causes for a person to read.

use std::path::PathBuf;

/// Convenience alias used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in this crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An I/O error that is not tied to a file the crate knows the name of.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),

    /// An I/O error while reading or writing a named file.
    #[error("I/O error on {path}: {source}")]
    File {
        /// The file involved.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },

    /// A corpus line that could not be read, for example invalid UTF-8 in strict mode.
    /// Only corpus files give this error; the other text files give [`Error::Parse`].
    #[error("{path}:{line}: {message}")]
    Corpus {
        /// The corpus file.
        path: PathBuf,
        /// One-based line number.
        line: u64,
        /// What was wrong.
        message: String,
    },

    /// A line of a text file that is not a corpus (a vocabulary, an evaluation set, word2vec
    /// text, queries on standard input) that could not be read: malformed, not UTF-8, or
    /// longer than the reader's limit.
    #[error("{path}:{line}: {message}")]
    Parse {
        /// The file (or a name such as `standard input`).
        path: PathBuf,
        /// One-based line number.
        line: u64,
        /// What was wrong.
        message: String,
    },

    /// A file that exists but whose contents are not what the crate expects (a bad header,
    /// the wrong element type, a truncated array).
    #[error("{path}: {message}")]
    Format {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        message: String,
    },

    /// An array had a different shape from the one required.
    #[error("shape mismatch for {what}: expected {expected:?}, found {found:?}")]
    ShapeMismatch {
        /// Which argument or matrix.
        what: &'static str,
        /// The required shape.
        expected: Vec<usize>,
        /// The shape that was given.
        found: Vec<usize>,
    },

    /// An index (usually a word id) outside its table.
    #[error("{what} index {index} is out of range (length {len})")]
    IndexOutOfRange {
        /// Which table.
        what: &'static str,
        /// The bad index.
        index: usize,
        /// The table length.
        len: usize,
    },

    /// A word that is not in the vocabulary of the vectors being queried (after the lookup
    /// rule of [`Vocab::id`](crate::Vocab::id): exact, then lowercased).
    #[error("unknown word {word:?}")]
    UnknownWord {
        /// The word as it was given.
        word: String,
    },

    /// An argument that no result can be computed for, for example an empty list of query
    /// words; the message says which argument and why.
    #[error("invalid {what}: {message}")]
    InvalidArgument {
        /// Which argument.
        what: &'static str,
        /// What is wrong with it.
        message: String,
    },

    /// The vocabulary came out empty (for example every word is below `min_count`).
    #[error("the vocabulary is empty: {0}")]
    EmptyVocabulary(String),

    /// A configuration value was rejected.
    #[error(transparent)]
    Config(#[from] ConfigError),

    /// A negative sampler could not be built.
    #[error(transparent)]
    Sampling(#[from] SamplingError),

    /// Training would train, or trained, no (focus, context) pair: the vocabulary has a
    /// single word, no line of the corpus holds two words, subsampling keeps nothing, or a
    /// finished run counted no pair. Nothing is worth writing after it.
    #[error("nothing to train: {reason}")]
    NothingToTrain {
        /// Why, with the numbers that show it.
        reason: String,
    },

    /// A checkpoint written by an earlier version of the crate, in a format this version
    /// cannot resume.
    #[error(
        "{}: a checkpoint in the older format {found}, which this version (format {expected}) \
         cannot resume: finish the run with the version that wrote it, or remove the \
         checkpoint to start again",
        path.display()
    )]
    CheckpointVersion {
        /// The checkpoint file.
        path: PathBuf,
        /// Its format (magic bytes).
        found: String,
        /// The format this version reads.
        expected: String,
    },

    /// A run was to be resumed with training options other than its checkpoint's. Every
    /// differing option is listed, by its [`TrainConfig::to_text`](crate::TrainConfig::to_text)
    /// name.
    #[error(
        "{}: the options given differ from the checkpoint's: {}; resume with the checkpoint's \
         options, or remove the checkpoint to start a new run (only the number of threads, \
         the subwords' read-out weight, the checkpoint interval and the retries may change \
         on resume)",
        path.display(),
        list_differences(differences)
    )]
    OptionsMismatch {
        /// The checkpoint file.
        path: PathBuf,
        /// Every option that differs.
        differences: Vec<OptionDifference>,
    },

    /// A run was to be resumed on a corpus other than the one it started on: a file's
    /// name, size or content (its fingerprint) differs, or there are more or fewer files.
    #[error(
        "{}: the run cannot resume on this corpus: {}: {message}",
        path.display(),
        file.display()
    )]
    CorpusMismatch {
        /// The checkpoint file.
        path: PathBuf,
        /// The corpus file that differs (as given, or as the checkpoint names it).
        file: PathBuf,
        /// What differs, with both values.
        message: String,
    },

    /// Training needs more memory than is available: refused before the matrices are
    /// allocated.
    #[error(
        "not enough memory: training would allocate about {} ({breakdown}), but only {} \
         {source_of_limit}; lower the dimension, the vocabulary size, the threads or the \
         course's batch size, or raise the limit",
        Bytes(*needed),
        Bytes(*available)
    )]
    OutOfMemory {
        /// Bytes the run still has to allocate (an estimate).
        needed: u64,
        /// Bytes available.
        available: u64,
        /// What the estimate is made of.
        breakdown: String,
        /// Where `available` comes from, as the end of "only … are available (…)".
        source_of_limit: String,
    },

    /// Training produced a non-finite loss or parameter.
    #[error(
        "training diverged in epoch {epoch} after {words} words at learning rates {}: {what}",
        rates_in_force(*learning_rate, *interaction_learning_rate, *offset_learning_rate)
    )]
    Diverged {
        /// Zero-based epoch.
        epoch: usize,
        /// Words processed so far (all threads).
        words: u64,
        /// Learning rate of `U` and `V` in force.
        learning_rate: f32,
        /// Learning rate of `W` in force (0 while `W` is frozen).
        interaction_learning_rate: f32,
        /// Learning rate of the per-offset interactions `D_p` in force; `None` when the
        /// model has none.
        offset_learning_rate: Option<f32>,
        /// What was found non-finite.
        what: String,
    },
}

impl Error {
    /// [`Error::Parse`] at `line` (one-based) of `path`.
    pub(crate) fn parse(path: &std::path::Path, line: u64, message: String) -> Error {
        Error::Parse {
            path: path.to_path_buf(),
            line,
            message,
        }
    }

    /// Whether this is a write to a closed pipe (`EPIPE`), as when the reader of a
    /// program's standard output goes away (`program | head`). Command-line programs
    /// usually end quietly then, as the examples do.
    pub fn is_broken_pipe(&self) -> bool {
        match self {
            Error::Io(error) | Error::File { source: error, .. } => {
                error.kind() == std::io::ErrorKind::BrokenPipe
            }
            _ => false,
        }
    }
}

/// What a command-line program's `main` returns for the outcome of its work: success for
/// `Ok`; success too for a write to a closed standard output ([`Error::is_broken_pipe`],
/// `program | head`), since the reader has what it wanted; otherwise the error's
/// [`report`] on standard error after `error: `, and failure. Every example's `main` is
/// `exit_code(run())`.
///
/// ```
/// use bilinear_skipgram::error::{Error, exit_code};
/// use std::process::ExitCode;
///
/// fn run() -> Result<(), Error> {
///     Ok(())
/// }
/// assert_eq!(exit_code(run()), ExitCode::SUCCESS);
/// let closed = Error::Io(std::io::ErrorKind::BrokenPipe.into());
/// assert_eq!(exit_code(Err(closed)), ExitCode::SUCCESS);
/// assert_eq!(exit_code(Err(Error::EmptyVocabulary("no words".into()))), ExitCode::FAILURE);
/// ```
pub fn exit_code(result: Result<()>) -> std::process::ExitCode {
    use std::io::Write;
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) if error.is_broken_pipe() => std::process::ExitCode::SUCCESS,
        Err(error) => {
            // Standard error may be closed too; there is nobody left to tell then.
            let _ = writeln!(std::io::stderr(), "error: {}", report(&error));
            std::process::ExitCode::FAILURE
        }
    }
}

/// An error's message followed by its causes ([`source`](std::error::Error::source)), one
/// per line, for a person to read; for example, what a `main` prints before it exits with
/// a failure status.
///
/// A cause whose message already ends the line before it is not repeated: the messages of
/// [`Error::File`], for example, end with their I/O error.
///
/// ```
/// use bilinear_skipgram::{Error, error::report};
///
/// let error = Error::File {
///     path: "corpus.txt".into(),
///     source: std::io::Error::from(std::io::ErrorKind::NotFound),
/// };
/// assert_eq!(report(&error), "I/O error on corpus.txt: entity not found");
///
/// #[derive(Debug, thiserror::Error)]
/// #[error("could not load the model")]
/// struct Outer(#[source] Error);
/// assert_eq!(
///     report(&Outer(error)),
///     "could not load the model\nI/O error on corpus.txt: entity not found"
/// );
/// ```
pub fn report(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut last = text.clone();
    let mut cause = error.source();
    while let Some(error) = cause {
        let message = error.to_string();
        if !last.ends_with(&message) {
            text.push('\n');
            text.push_str(&message);
        }
        last = message;
        cause = error.source();
    }
    text
}

/// One training option that differs between a checkpoint and the configuration given to
/// resume it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct OptionDifference {
    /// The option's name, as in [`TrainConfig::to_text`](crate::TrainConfig::to_text).
    pub name: &'static str,
    /// Its value in the checkpoint.
    pub checkpoint: String,
    /// Its value as given.
    pub given: String,
}

/// `"dim = 16 in the checkpoint, 32 given; …"`.
fn list_differences(differences: &[OptionDifference]) -> String {
    differences
        .iter()
        .map(|d| {
            format!(
                "{} = {} in the checkpoint, {} given",
                d.name, d.checkpoint, d.given
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// [`Bytes`] as text.
pub(crate) fn bytes_text(bytes: u64) -> String {
    Bytes(bytes).to_string()
}

/// A number of bytes as a person reads it: `512 bytes`, `3.1 MiB`, `745.1 GiB`, `1.2 TiB`.
struct Bytes(u64);

impl std::fmt::Display for Bytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
        if self.0 < 1024 {
            return write!(f, "{} bytes", self.0);
        }
        let mut value = self.0 as f64 / 1024.0;
        let mut unit = 0;
        while value >= 1024.0 && unit + 1 < UNITS.len() {
            value /= 1024.0;
            unit += 1;
        }
        write!(f, "{value:.1} {}", UNITS[unit])
    }
}

/// `"0.025 (U, V), 0 (W, frozen)"` and so on: every learning rate of a divergence.
fn rates_in_force(rows: f32, interaction: f32, offsets: Option<f32>) -> String {
    let named = |rate: f32, name: &str| {
        if rate == 0.0 {
            format!("0 ({name}, frozen)")
        } else {
            format!("{rate} ({name})")
        }
    };
    let mut text = format!("{rows} (U, V), {}", named(interaction, "W"));
    if let Some(offsets) = offsets {
        text.push_str(&format!(", {}", named(offsets, "D_p")));
    }
    text
}

/// A rejected configuration value. Each variant names the field and the value.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// An integer field that must be at least `min`.
    #[error("`{field}` must be at least {min}, got {value}")]
    TooSmall {
        /// Field name.
        field: &'static str,
        /// Smallest accepted value.
        min: u64,
        /// The value given.
        value: u64,
    },
    /// An integer field that must be at most `max`.
    #[error("`{field}` must be at most {max}, got {value}")]
    TooLarge {
        /// Field name.
        field: &'static str,
        /// Largest accepted value.
        max: u64,
        /// The value given.
        value: u64,
    },
    /// A float field that is NaN or infinite.
    #[error("`{field}` must be finite, got {value}")]
    NotFinite {
        /// Field name.
        field: &'static str,
        /// The value given.
        value: f64,
    },
    /// A line of a configuration text ([`TrainConfig::from_text`](crate::TrainConfig::from_text))
    /// that could not be read, or (line 0) a value given alone, as
    /// [`SubwordConfig`](crate::subwords::SubwordConfig) parses one.
    #[error("{}", parse_message(*line, message))]
    Parse {
        /// One-based line number; 0 for a value that is not a line of a text.
        line: usize,
        /// What was wrong.
        message: String,
    },
    /// A float field outside its accepted range.
    #[error("`{field}` must lie in {range}, got {}", Readable(*value))]
    OutOfRange {
        /// Field name.
        field: &'static str,
        /// The accepted range, in words.
        range: &'static str,
        /// The value given.
        value: f64,
    },
}

/// "configuration line N: …", or for line 0 (a value given alone) just the message.
fn parse_message(line: usize, message: &str) -> String {
    if line == 0 {
        message.to_owned()
    } else {
        format!("configuration line {line}: {message}")
    }
}

/// A float as a person reads it: as Rust writes it, but in scientific notation when it
/// would be long (`1e300`, not 301 digits).
struct Readable(f64);

impl std::fmt::Display for Readable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let magnitude = self.0.abs();
        if self.0 == 0.0 || !self.0.is_finite() || (1e-4..1e16).contains(&magnitude) {
            write!(f, "{}", self.0)
        } else {
            write!(f, "{:e}", self.0)
        }
    }
}

/// Why a negative sampler could not be built.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum SamplingError {
    /// No weights at all.
    #[error("cannot sample from an empty distribution")]
    Empty,
    /// A weight below zero.
    #[error("weight {index} is negative: {value}")]
    Negative {
        /// Position of the weight.
        index: usize,
        /// The weight.
        value: f64,
    },
    /// A weight that is NaN or infinite.
    #[error("weight {index} is not finite: {value}")]
    NotFinite {
        /// Position of the weight.
        index: usize,
        /// The weight.
        value: f64,
    },
    /// Every weight is zero.
    #[error("all {n} weights are zero")]
    AllZero {
        /// Number of weights.
        n: usize,
    },
    /// The exponent applied to counts is not finite or not positive.
    #[error("power must be finite and >= 0, got {0}")]
    BadPower(f64),
    /// More entries than the sampler can index.
    #[error("too many weights: {0} (at most 2^32 - 2)")]
    TooMany(usize),
    /// The weights sum to infinity.
    #[error("the weights sum to a non-finite value")]
    Overflow,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_divergence_names_every_rate() {
        let error = Error::Diverged {
            epoch: 2,
            words: 1000,
            learning_rate: 0.025,
            interaction_learning_rate: 0.0,
            offset_learning_rate: None,
            what: "the loss over 3 pairs is NaN".into(),
        };
        assert_eq!(
            error.to_string(),
            "training diverged in epoch 2 after 1000 words at learning rates 0.025 (U, V), \
             0 (W, frozen): the loss over 3 pairs is NaN"
        );
        let error = Error::Diverged {
            epoch: 0,
            words: 5,
            learning_rate: 0.5,
            interaction_learning_rate: 0.01,
            offset_learning_rate: Some(0.002),
            what: "W".into(),
        };
        assert!(
            error
                .to_string()
                .contains("0.5 (U, V), 0.01 (W), 0.002 (D_p): W"),
            "{error}"
        );
    }
}
