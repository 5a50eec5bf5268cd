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

/// `--subwords` if given, else `default`, with `--subword-min-words`,
/// `--subword-word-weight` and `--subword-readout-weight` applied.
pub fn subword_config(
    subwords: Option<SubwordsArg>,
    default: Option<bilinear_skipgram::subwords::SubwordConfig>,
    min_words: usize,
    (word_weight, readout_weight): (f32, f32),
) -> Result<Option<bilinear_skipgram::subwords::SubwordConfig>, bilinear_skipgram::ConfigError> {
    subwords
        .map_or(default, |s| s.0)
        .map(|s| {
            s.with_min_words(min_words)?
                .with_word_weight(word_weight)?
                .with_readout_weight(readout_weight)
        })
        .transpose()
}
