//! Command-line value parsers and options the examples share (`evaluate`, `nearest` and
//! `throughput` include this file alone, and each uses some of them).
#![allow(dead_code)]

/// A count of at least 1.
pub fn at_least_one(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(0) => Err("must be at least 1".to_owned()),
        Ok(n) => Ok(n),
        Err(e) => Err(e.to_string()),
    }
}

/// A 32-bit float option, refused as typed when `f32` cannot hold it: `1e308` was checked
/// after rounding to infinity ("must be finite, got inf"), `1e-300` after rounding to 0.
pub fn f32_value(text: &str) -> Result<f32, String> {
    let wide: f64 = text.trim().parse().map_err(|e| format!("{e}"))?;
    let narrow = wide as f32;
    if wide.is_finite() && narrow.is_infinite() {
        return Err(format!(
            "{text} is beyond the range of a 32-bit float (±{:e})",
            f32::MAX
        ));
    }
    if wide != 0.0 && narrow == 0.0 {
        return Err(format!(
            "{text} is closer to 0 than the smallest 32-bit float ({:e})",
            f32::from_bits(1)
        ));
    }
    Ok(narrow)
}

/// `--subwords`: none, or character n-gram lengths.
#[derive(Debug, Clone, Copy)]
pub struct SubwordsArg(pub Option<bilinear_skipgram::subwords::SubwordConfig>);

/// `--subwords`: `none`, or n-gram lengths `MIN-MAX` (as `3-6`) or `N`.
pub fn parse_subwords(text: &str) -> Result<SubwordsArg, String> {
    if text == "none" {
        return Ok(SubwordsArg(None));
    }
    text.parse()
        .map(|s| SubwordsArg(Some(s)))
        .map_err(|e| format!("{e}"))
}

/// The subword options of the training examples.
#[derive(Debug, Clone, clap::Args)]
pub struct SubwordArgs {
    /// Subword focus vectors: each word's focus vector is the weighted mean of its own row
    /// and the rows of its character n-grams of MIN to MAX characters (as `4-6`), or `none`
    /// (every word a free row). Default: the library's, 4-6 (none in throughput's frozen
    /// mode).
    #[arg(long, value_parser = parse_subwords)]
    subwords: Option<SubwordsArg>,
    /// With subwords: keep the n-grams that at least this many vocabulary words have
    /// [default: 2].
    #[arg(long)]
    subword_min_words: Option<usize>,
    /// With subwords: the weight of a word's own row against 1 for each of its n-grams in
    /// the focus vector the scores and training use (1: fastText's plain mean) [default: 2].
    #[arg(long, value_parser = f32_value)]
    subword_word_weight: Option<f32>,
    /// With subwords: the same weight in the focus vectors the word vectors are read from
    /// (equal to --subword-word-weight: the vectors the scores use) [default: 0.25].
    #[arg(long, value_parser = f32_value)]
    subword_readout_weight: Option<f32>,
}

impl SubwordArgs {
    /// `--subwords` if given, else `default`, with the other options applied; an error
    /// when they are given without subwords (they would do nothing).
    pub fn config(
        &self,
        default: Option<bilinear_skipgram::subwords::SubwordConfig>,
    ) -> bilinear_skipgram::Result<Option<bilinear_skipgram::subwords::SubwordConfig>> {
        let Some(config) = self.subwords.map_or(default, |s| s.0) else {
            let given = [
                ("--subword-min-words", self.subword_min_words.is_some()),
                ("--subword-word-weight", self.subword_word_weight.is_some()),
                (
                    "--subword-readout-weight",
                    self.subword_readout_weight.is_some(),
                ),
            ];
            return match given.iter().find(|(_, given)| *given) {
                Some(&(what, _)) => Err(bilinear_skipgram::Error::InvalidArgument {
                    what,
                    message: "given, but the model has no subwords (--subwords none): \
                              drop it or give --subwords"
                        .to_owned(),
                }),
                None => Ok(None),
            };
        };
        let defaults = bilinear_skipgram::subwords::SubwordConfig::default();
        Ok(Some(
            config
                .with_min_words(self.subword_min_words.unwrap_or(defaults.min_words()))?
                .with_word_weight(self.subword_word_weight.unwrap_or(defaults.word_weight()))?
                .with_readout_weight(
                    self.subword_readout_weight
                        .unwrap_or(defaults.readout_weight()),
                )?,
        ))
    }
}

/// `--subword-readout-weight` of the reading examples: reads a model folder's subword
/// vectors at `weight` instead of the weight it was saved with (`None`: as saved).
pub fn read_subwords_at(
    model: Option<&mut bilinear_skipgram::Model>,
    weight: Option<f32>,
) -> bilinear_skipgram::Result<()> {
    let Some(weight) = weight else {
        return Ok(());
    };
    let refuse = |message: &str| bilinear_skipgram::Error::InvalidArgument {
        what: "--subword-readout-weight",
        message: message.to_owned(),
    };
    match model {
        None => Err(refuse(
            "a file of word vectors holds one read-out; give a model folder",
        )),
        Some(model) => match model.subwords_mut() {
            None => Err(refuse("the model has no subwords")),
            Some(subwords) => Ok(subwords.set_readout_weight(weight)?),
        },
    }
}
