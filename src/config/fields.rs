//! The configuration as named fields: how a model folder's `config.txt` and a checkpoint
//! write it and read it back.

use super::*;

/// One configuration value in [`TrainConfig::fields`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum FieldValue<'a> {
    /// An integer.
    Int(u64),
    /// An `f32` (printed with its shortest decimal).
    F32(f32),
    /// An `f64`.
    F64(f64),
    /// A switch.
    Bool(bool),
    /// One of a few names (an enum).
    Name(&'a str),
}

impl std::fmt::Display for FieldValue<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FieldValue::Int(n) => write!(f, "{n}"),
            // `{:?}` prints the shortest decimal that reads back to the same bits, always
            // with a decimal point (`1.0`, `0.025`), as TOML floats need.
            FieldValue::F32(x) => write!(f, "{x:?}"),
            FieldValue::F64(x) => write!(f, "{x:?}"),
            FieldValue::Bool(b) => write!(f, "{b}"),
            FieldValue::Name(name) => write!(f, "\"{name}\""),
        }
    }
}

pub(crate) fn window_mode_name(mode: WindowMode) -> &'static str {
    match mode {
        WindowMode::Shrink => "shrink",
        WindowMode::Fixed => "fixed",
    }
}

fn schedule_name(schedule: LearningRateSchedule) -> &'static str {
    match schedule {
        LearningRateSchedule::Linear => "linear",
        LearningRateSchedule::Constant => "constant",
    }
}

fn embedding_init_name(init: EmbeddingInit) -> &'static str {
    match init {
        EmbeddingInit::Word2vec => "word2vec",
        EmbeddingInit::Uniform => "uniform",
    }
}

fn interaction_init_name(init: InteractionInit) -> &'static str {
    match init {
        InteractionInit::Identity => "identity",
        InteractionInit::Uniform => "uniform",
    }
}

fn utf8_name(utf8: Utf8Policy) -> &'static str {
    match utf8 {
        Utf8Policy::Strict => "strict",
        Utf8Policy::Lossy => "lossy",
    }
}

/// The name an out-of-vocabulary policy is written and read as: `drop` or `unk`.
pub(crate) fn oov_name(oov: OovPolicy) -> &'static str {
    match oov {
        OovPolicy::Drop => "drop",
        OovPolicy::Unk => "unk",
    }
}

impl TrainConfig {
    /// Every field with its value, in a fixed order; `max_vocab` only when set.
    pub(crate) fn fields(&self) -> Vec<(&'static str, FieldValue<'static>)> {
        use FieldValue::{Bool, F32, F64, Int, Name};
        let mut fields = vec![
            ("dim", Int(self.dim as u64)),
            ("window", Int(self.window as u64)),
            ("window_mode", Name(window_mode_name(self.window_mode))),
            ("negatives", Int(self.negatives as u64)),
            ("negative_power", F64(self.negative_power)),
            ("epochs", Int(self.epochs as u64)),
            ("learning_rate", F32(self.learning_rate)),
            (
                "interaction_learning_rate",
                F32(self.interaction_learning_rate),
            ),
            (
                "interaction_optimizer",
                Name(self.interaction_optimizer.name()),
            ),
            ("interaction_decay", F32(self.interaction_decay)),
            ("offset_interactions", Name(self.offset_interactions.name())),
            ("offset_learning_rate", F32(self.offset_learning_rate)),
            ("learning_rate_schedule", Name(schedule_name(self.schedule))),
            ("min_count", Int(self.min_count)),
        ];
        if let Some(max_vocab) = self.max_vocab {
            fields.push(("max_vocab", Int(max_vocab as u64)));
        }
        fields.extend([
            ("subsample", F64(self.subsample)),
            ("threads", Int(self.threads as u64)),
            ("seed", Int(self.seed)),
            (
                "embedding_init",
                Name(embedding_init_name(self.embedding_init)),
            ),
            (
                "interaction_init",
                Name(interaction_init_name(self.interaction_init)),
            ),
            ("merge_interval", Int(self.merge_interval as u64)),
            ("heldout_pairs", Int(self.heldout_pairs as u64)),
            ("subword_min_n", Int(self.subword_min_n as u64)),
            ("subword_max_n", Int(self.subword_max_n as u64)),
            ("subword_min_words", Int(self.subword_min_words as u64)),
            ("subword_word_weight", F32(self.subword_word_weight)),
            ("subword_readout_weight", F32(self.subword_readout_weight)),
            ("lowercase", Bool(self.corpus.lowercase)),
            ("markers", Bool(self.corpus.markers)),
            ("utf8", Name(utf8_name(self.corpus.utf8))),
            ("oov", Name(oov_name(self.oov))),
        ]);
        fields
    }

    /// The configuration as text, one `key = value` line per field (valid TOML), which
    /// [`TrainConfig::from_text`] reads back to an equal configuration.
    ///
    /// ```
    /// use bilinear_skipgram::TrainConfig;
    ///
    /// let config = TrainConfig::builder().dim(50).learning_rate(0.05).build()?;
    /// let text = config.to_text();
    /// assert!(text.contains("dim = 50\n"));
    /// assert_eq!(TrainConfig::from_text(&text)?, config);
    /// # Ok::<(), bilinear_skipgram::ConfigError>(())
    /// ```
    pub fn to_text(&self) -> String {
        self.fields()
            .iter()
            .map(|(key, value)| format!("{key} = {value}\n"))
            .collect()
    }

    /// Reads the text [`TrainConfig::to_text`] writes. Every field must be present once
    /// (`max_vocab` is optional, and so are the fields added after the first release, which
    /// take their defaults when missing, so that older checkpoints still read: see
    /// [`ADDED_FIELDS`]) and the values pass the same checks as
    /// [`TrainConfigBuilder::build`]. Empty lines and lines starting with `#` are ignored.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Parse`] naming the one-based line for a malformed line, an unknown,
    /// repeated or missing key or a value of the wrong kind; otherwise whatever
    /// [`TrainConfigBuilder::build`] rejects.
    pub fn from_text(text: &str) -> Result<TrainConfig, ConfigError> {
        let mut values: Vec<(&str, &str, usize)> = Vec::new();
        for (index, line) in text.lines().enumerate() {
            let line_no = index + 1;
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((key, value)) = line.split_once('=') else {
                return Err(parse_error(
                    line_no,
                    format!("expected `key = value`, got {line:?}"),
                ));
            };
            let (key, value) = (key.trim(), value.trim());
            if values.iter().any(|&(k, _, _)| k == key) {
                return Err(parse_error(line_no, format!("`{key}` is given twice")));
            }
            values.push((key, value, line_no));
        }
        let defaults = TrainConfig::default();
        let mut config = defaults.clone();
        config.max_vocab = None;
        for (key, value, line_no) in values {
            let expected = defaults
                .fields()
                .into_iter()
                .chain([("max_vocab", FieldValue::Int(0))])
                .find(|&(k, _)| k == key)
                .map(|(_, v)| v)
                .ok_or_else(|| parse_error(line_no, format!("unknown key `{key}`")))?;
            let parsed = parse_value(value, expected)
                .ok_or_else(|| parse_error(line_no, format!("bad value for `{key}`: {value}")))?;
            set_field(&mut config, key, parsed)
                .ok_or_else(|| parse_error(line_no, format!("bad value for `{key}`: {value}")))?;
        }
        let given: Vec<&str> = text
            .lines()
            .filter_map(|l| l.split_once('=').map(|(k, _)| k.trim()))
            .collect();
        if let Some((missing, _)) = defaults
            .fields()
            .into_iter()
            .find(|(k, _)| !given.contains(k) && !ADDED_FIELDS.contains(k))
        {
            return Err(parse_error(
                text.lines().count() + 1,
                format!("`{missing}` is missing"),
            ));
        }
        if !given.contains(&"subword_min_n") {
            // Written before subwords existed: the model has none, whatever the default.
            config.subword_min_n = 0;
        } else {
            if !given.contains(&"subword_word_weight") {
                // Written before the word weight existed: fastText's plain mean.
                config.subword_word_weight = 1.0;
            }
            if !given.contains(&"subword_readout_weight") {
                // Written before the read-out weight existed: read at the word weight.
                config.subword_readout_weight = config.subword_word_weight;
            }
        }
        TrainConfigBuilder { config }.build()
    }
}

/// Configuration fields added after the first release: [`TrainConfig::from_text`] gives
/// them their default values when they are missing (older checkpoints do not have them).
pub const ADDED_FIELDS: &[&str] = &[
    "interaction_optimizer",
    "interaction_decay",
    "heldout_pairs",
    "offset_interactions",
    "offset_learning_rate",
    "subword_min_n",
    "subword_max_n",
    "subword_min_words",
    "subword_word_weight",
    "subword_readout_weight",
];

fn parse_error(line: usize, message: String) -> ConfigError {
    ConfigError::Parse { line, message }
}

/// `text` read as the same kind of value as `like`.
fn parse_value<'t>(text: &'t str, like: FieldValue<'_>) -> Option<FieldValue<'t>> {
    Some(match like {
        FieldValue::Int(_) => FieldValue::Int(text.parse().ok()?),
        FieldValue::F32(_) => FieldValue::F32(text.parse().ok()?),
        FieldValue::F64(_) => FieldValue::F64(text.parse().ok()?),
        FieldValue::Bool(_) => FieldValue::Bool(text.parse().ok()?),
        FieldValue::Name(_) => FieldValue::Name(text.strip_prefix('"')?.strip_suffix('"')?),
    })
}

/// Sets field `key` of `c`; `None` if the value does not fit the field.
pub(crate) fn set_field(c: &mut TrainConfig, key: &str, value: FieldValue<'_>) -> Option<()> {
    use FieldValue::{Bool, F32, F64, Int, Name};
    let size = |n: u64| usize::try_from(n).ok();
    match (key, value) {
        ("dim", Int(n)) => c.dim = size(n)?,
        ("window", Int(n)) => c.window = size(n)?,
        ("negatives", Int(n)) => c.negatives = size(n)?,
        ("epochs", Int(n)) => c.epochs = size(n)?,
        ("min_count", Int(n)) => c.min_count = n,
        ("max_vocab", Int(n)) => c.max_vocab = Some(size(n)?),
        ("threads", Int(n)) => c.threads = size(n)?,
        ("seed", Int(n)) => c.seed = n,
        ("merge_interval", Int(n)) => c.merge_interval = size(n)?,
        ("heldout_pairs", Int(n)) => c.heldout_pairs = size(n)?,
        ("subword_min_n", Int(n)) => c.subword_min_n = size(n)?,
        ("subword_max_n", Int(n)) => c.subword_max_n = size(n)?,
        ("subword_min_words", Int(n)) => c.subword_min_words = size(n)?,
        ("subword_word_weight", F32(x)) => c.subword_word_weight = x,
        ("subword_readout_weight", F32(x)) => c.subword_readout_weight = x,
        ("negative_power", F64(x)) => c.negative_power = x,
        ("subsample", F64(x)) => c.subsample = x,
        ("learning_rate", F32(x)) => c.learning_rate = x,
        ("interaction_learning_rate", F32(x)) => c.interaction_learning_rate = x,
        ("interaction_decay", F32(x)) => c.interaction_decay = x,
        ("offset_learning_rate", F32(x)) => c.offset_learning_rate = x,
        ("offset_interactions", Name(n)) => {
            c.offset_interactions = OffsetInteractionKind::from_name(n)?;
        }
        ("interaction_optimizer", Name(n)) => {
            c.interaction_optimizer = InteractionOptimizer::ALL
                .into_iter()
                .find(|&m| m.name() == n)?;
        }
        ("lowercase", Bool(b)) => c.corpus.lowercase = b,
        ("markers", Bool(b)) => c.corpus.markers = b,
        ("window_mode", Name(n)) => {
            c.window_mode = [WindowMode::Shrink, WindowMode::Fixed]
                .into_iter()
                .find(|&m| window_mode_name(m) == n)?;
        }
        ("learning_rate_schedule", Name(n)) => {
            c.schedule = [LearningRateSchedule::Linear, LearningRateSchedule::Constant]
                .into_iter()
                .find(|&m| schedule_name(m) == n)?;
        }
        ("embedding_init", Name(n)) => {
            c.embedding_init = [EmbeddingInit::Word2vec, EmbeddingInit::Uniform]
                .into_iter()
                .find(|&m| embedding_init_name(m) == n)?;
        }
        ("interaction_init", Name(n)) => {
            c.interaction_init = [InteractionInit::Identity, InteractionInit::Uniform]
                .into_iter()
                .find(|&m| interaction_init_name(m) == n)?;
        }
        ("utf8", Name(n)) => {
            c.corpus.utf8 = [Utf8Policy::Strict, Utf8Policy::Lossy]
                .into_iter()
                .find(|&m| utf8_name(m) == n)?;
        }
        ("oov", Name(n)) => {
            c.oov = [OovPolicy::Drop, OovPolicy::Unk]
                .into_iter()
                .find(|&m| oov_name(m) == n)?;
        }
        _ => return None,
    }
    Some(())
}
