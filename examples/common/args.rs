//! Command-line value parsers the examples share (`nearest` and `throughput` include this
//! file alone, and each uses some of them).
#![allow(dead_code)]

/// A count of at least 1.
pub fn at_least_one(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(0) => Err("must be at least 1".to_owned()),
        Ok(n) => Ok(n),
        Err(e) => Err(e.to_string()),
    }
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
    /// With --subwords: keep the n-grams that at least this many vocabulary words have.
    #[arg(long, default_value_t = 2)]
    subword_min_words: usize,
    /// With --subwords: the weight of a word's own row against 1 for each of its n-grams in
    /// the focus vector the scores and training use (1: fastText's plain mean).
    #[arg(long, default_value_t = bilinear_skipgram::subwords::DEFAULT_WORD_WEIGHT)]
    subword_word_weight: f32,
    /// With --subwords: the same weight in the focus vectors the word vectors are read
    /// from (equal to --subword-word-weight: the vectors the scores use).
    #[arg(long, default_value_t = bilinear_skipgram::subwords::DEFAULT_READOUT_WEIGHT)]
    subword_readout_weight: f32,
}

impl SubwordArgs {
    /// `--subwords` if given, else `default`, with the other options applied.
    pub fn config(
        &self,
        default: Option<bilinear_skipgram::subwords::SubwordConfig>,
    ) -> Result<Option<bilinear_skipgram::subwords::SubwordConfig>, bilinear_skipgram::ConfigError>
    {
        self.subwords
            .map_or(default, |s| s.0)
            .map(|s| {
                s.with_min_words(self.subword_min_words)?
                    .with_word_weight(self.subword_word_weight)?
                    .with_readout_weight(self.subword_readout_weight)
            })
            .transpose()
    }
}
