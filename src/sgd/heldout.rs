//! The held-out sample: sentences picked during the vocabulary pass, left out of training,
//! and turned into a fixed set of pairs whose mean loss the trainer reports (see
//! [`HeldOut`]).

use std::collections::BTreeMap;

use crate::corpus::SourceFingerprint;
use ndarray::{Array2, ArrayView2};
use rand::distr::Distribution;
use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};

use super::SharedSubwords;
use crate::config::{TrainConfig, WindowMode};
use crate::corpus::Corpus;
use crate::error::{Error, Result};
use crate::hogwild::SharedRows;
use crate::loss::softplus;
use crate::model::{Model, OffsetInteractionKind, OffsetInteractions};
use crate::preflight::SentenceCounts;
use crate::sampling::NegativeSampler;
use crate::vocab::{Vocab, VocabBuilder};

/// Raw tokens the vocabulary pass keeps per requested held-out pair. A token gives about
/// `keep × (window + 1)` pairs on average (`keep` the share subsampling keeps); 8 tokens
/// per pair leave room for a window of 1 and heavy subsampling.
pub const TOKENS_PER_PAIR: usize = 8;

/// At most one sentence in this many is held out.
pub const SENTENCES_PER_HELDOUT: u64 = 100;

/// Mixed into the seed for the held-out keys and the held-out generator, so that they do
/// not repeat the model's or the threads' random streams.
const SALT: u64 = 0x6865_6c64_6f75_7421; // "heldout!"

/// A fixed sample of held-out pairs (focus word, context word at an offset, `n` negatives)
/// from sentences that training leaves out.
///
/// # Which sentences
///
/// Sentence `i` of the corpus (counted as the trainer counts them, from 0 in every epoch)
/// gets a key, a 64-bit hash of `i` and the configuration's seed. The vocabulary pass keeps
/// the tokens of the sentences with the smallest keys, as many as reach
/// [`TOKENS_PER_PAIR`] tokens per requested pair (bottom-k sampling: the kept sentences are
/// a uniform random sample, and only a few thousand sentences are ever copied). Once the
/// vocabulary is built, the kept sentences are taken in key order, at most one in a
/// hundred of the corpus's sentences, and turned into pairs until there are
/// [`heldout_pairs`](crate::TrainConfig::heldout_pairs) of them; the sentences taken are
/// the held-out sentences, which the trainer skips in every epoch.
///
/// # Which pairs
///
/// Exactly as the trainer forms them: tokens mapped through the vocabulary, subsampled,
/// a window reach per focus word (drawn, or fixed), every context in reach with
/// `n` negatives from the trainer's sampler; all drawn once from a generator seeded with
/// the configuration's seed. A corpus with fewer than 100 sentences, or whose picked
/// sentences give no pair, has no held-out sample.
///
/// # The loss
///
/// [`HeldOut::loss`] is the mean over the pairs of the exact loss
/// `J = softplus(−s_0) + Σ_j softplus(s_j)`, `s_k = v_kᵀ W u_w` (`v_kᵀ D_p W u_w` for a
/// pair at offset `p` of a model with per-offset interactions), in `f64` (the same value as
/// [`loss_and_gradient`](crate::loss::loss_and_gradient) and
/// [`offset_loss_and_gradient`](crate::loss::offset_loss_and_gradient) give pair by pair),
/// with `h = W u_w` computed once per focus word.
#[derive(Debug, Clone, PartialEq)]
pub struct HeldOut {
    sentences: Vec<u64>,
    n_tokens: u64,
    focus: Vec<usize>,
    offsets: Vec<i32>,
    rows: Array2<usize>,
}

impl HeldOut {
    /// Checks and assembles a held-out sample (for checkpoints).
    ///
    /// # Errors
    ///
    /// [`Error::ShapeMismatch`] unless there is one focus id and one offset per row of
    /// `rows`, at least one pair and sentence, and sentences in strictly increasing order;
    /// [`Error::IndexOutOfRange`] for an id that is not below `n_words`, or an offset that
    /// is 0 or beyond `window`.
    pub(crate) fn from_parts(
        sentences: Vec<u64>,
        n_tokens: u64,
        focus: Vec<usize>,
        offsets: Vec<i32>,
        rows: Array2<usize>,
        (n_words, window): (usize, usize),
    ) -> Result<HeldOut> {
        let n_pairs = rows.nrows();
        if focus.len() != n_pairs || offsets.len() != n_pairs || n_pairs == 0 {
            return Err(Error::ShapeMismatch {
                what: "held-out pairs (focus ids, offsets, rows)",
                expected: vec![n_pairs.max(1); 3],
                found: vec![focus.len(), offsets.len(), n_pairs],
            });
        }
        if sentences.is_empty() || sentences.windows(2).any(|w| w[0] >= w[1]) {
            return Err(Error::ShapeMismatch {
                what: "held-out sentences (at least one, strictly increasing)",
                expected: vec![sentences.len().max(1)],
                found: vec![sentences.len()],
            });
        }
        if let Some(&id) = focus.iter().chain(rows.iter()).find(|&&id| id >= n_words) {
            return Err(Error::IndexOutOfRange {
                what: "held-out word",
                index: id,
                len: n_words,
            });
        }
        if let Some(&offset) = offsets
            .iter()
            .find(|&&p| p == 0 || p.unsigned_abs() as usize > window)
        {
            return Err(Error::IndexOutOfRange {
                what: "held-out offset (|p| in 1..=window)",
                index: offset.unsigned_abs() as usize,
                len: window + 1,
            });
        }
        Ok(HeldOut {
            sentences,
            n_tokens,
            focus,
            offsets,
            rows,
        })
    }

    /// The held-out sentences' indices (0-based, in corpus order within an epoch),
    /// ascending. Training skips them.
    pub fn sentences(&self) -> &[u64] {
        &self.sentences
    }

    /// Vocabulary tokens in the held-out sentences: the words per epoch that training does
    /// not see.
    pub fn n_tokens(&self) -> u64 {
        self.n_tokens
    }

    /// Number of pairs.
    pub fn n_pairs(&self) -> usize {
        self.focus.len()
    }

    /// Each pair's focus word id.
    pub fn focus_ids(&self) -> &[usize] {
        &self.focus
    }

    /// Each pair's window offset `p`: the context's position minus the focus word's, after
    /// subsampling (`±1 … ±window`).
    pub fn offsets(&self) -> &[i32] {
        &self.offsets
    }

    /// `pairs × (n + 1)`: each pair's context word id, then its negatives.
    pub fn context_ids(&self) -> ArrayView2<'_, usize> {
        self.rows.view()
    }

    /// Mean loss per pair of `model` on the sample, in `f64` (see [`HeldOut`]).
    ///
    /// # Errors
    ///
    /// [`Error::IndexOutOfRange`] when an id is not a row of the model.
    pub fn loss(&self, model: &Model) -> Result<f64> {
        let n_words = model.n_words();
        if let Some(&id) = self
            .focus
            .iter()
            .chain(self.rows.iter())
            .find(|&&id| id >= n_words)
        {
            return Err(Error::IndexOutOfRange {
                what: "held-out word",
                index: id,
                len: n_words,
            });
        }
        let (focus, context) = (model.focus_vectors(), model.context_embeddings());
        let offsets = model.offset_interactions();
        let offsets = (offsets.kind() != OffsetInteractionKind::None).then_some(offsets);
        if let Some(offsets) = offsets
            && let Some(&bad) = self
                .offsets
                .iter()
                .find(|&&o| offsets.index_of(o as isize).is_none())
        {
            return Err(Error::IndexOutOfRange {
                what: "held-out offset (beyond the model's window)",
                index: bad.unsigned_abs() as usize,
                len: offsets.window() + 1,
            });
        }
        Ok(self.mean_loss(
            model.interaction(),
            offsets,
            |id, out| copy_f64(focus.row(id).iter().copied(), out),
            |id, out| copy_f64(context.row(id).iter().copied(), out),
        ))
    }

    /// [`HeldOut::loss`] on rows the workers share (a Hogwild snapshot while they train).
    pub(crate) fn shared_loss(
        &self,
        (focus, subwords): (&SharedRows<'_>, Option<&SharedSubwords<'_>>),
        context: &SharedRows<'_>,
        interaction: ArrayView2<'_, f32>,
        offsets: Option<&OffsetInteractions>,
    ) -> f64 {
        let dim = interaction.nrows();
        self.mean_loss(
            interaction,
            offsets,
            |id, out| match subwords {
                None => focus.with_row(id, |row| copy_f64(row.iter().copied(), out)),
                Some(subwords) => {
                    let mut u = vec![0.0_f32; dim];
                    subwords.focus_vector(focus, id, &mut u);
                    copy_f64(u.into_iter(), out);
                }
            },
            |id, out| context.with_row(id, |row| copy_f64(row.iter().copied(), out)),
        )
    }

    /// The mean loss with rows read by `focus_row` and `context_row` (which write row `id`
    /// into `out` as `f64`), and the per-offset interactions `offsets` if any (every
    /// pair's offset within their window: checked when the sample is made or read). Pairs
    /// are sorted by focus word, so `h = W u_w` is computed once per focus word; a pair at
    /// offset `p` is scored with `h_p = D_p h`.
    fn mean_loss(
        &self,
        interaction: ArrayView2<'_, f32>,
        offsets: Option<&OffsetInteractions>,
        focus_row: impl Fn(usize, &mut [f64]),
        context_row: impl Fn(usize, &mut [f64]),
    ) -> f64 {
        let dim = interaction.nrows();
        let interaction = interaction.mapv(f64::from);
        let diagonal = offsets
            .and_then(|o| o.diagonal())
            .map(|d| d.mapv(f64::from));
        let full = offsets.and_then(|o| o.full()).map(|d| d.mapv(f64::from));
        let (mut focus, mut hidden, mut row) = (vec![0.0; dim], vec![0.0; dim], vec![0.0; dim]);
        let mut hidden_p = vec![0.0; dim];
        let mut total = 0.0_f64;
        let mut current = None;
        for (k, &word) in self.focus.iter().enumerate() {
            if current != Some(word) {
                current = Some(word);
                focus_row(word, &mut focus);
                for (h, w) in hidden.iter_mut().zip(interaction.rows()) {
                    *h = w.iter().zip(&focus).map(|(w, u)| w * u).sum();
                }
            }
            let p = offsets.and_then(|o| o.index_of(self.offsets[k] as isize));
            let h_p: &[f64] = match (p, &diagonal, &full) {
                (Some(p), Some(d), _) => {
                    for ((out, &d), &h) in hidden_p.iter_mut().zip(d.row(p)).zip(&hidden) {
                        *out = d * h;
                    }
                    &hidden_p
                }
                (Some(p), _, Some(d)) => {
                    let d_p = d.index_axis(ndarray::Axis(0), p);
                    for (out, d_row) in hidden_p.iter_mut().zip(d_p.rows()) {
                        *out = d_row.iter().zip(&hidden).map(|(d, h)| d * h).sum();
                    }
                    &hidden_p
                }
                _ => &hidden,
            };
            for (j, &id) in self.rows.row(k).iter().enumerate() {
                context_row(id, &mut row);
                let score: f64 = row.iter().zip(h_p).map(|(v, h)| v * h).sum();
                total += if j == 0 {
                    softplus(-score)
                } else {
                    softplus(score)
                };
            }
        }
        total / self.focus.len().max(1) as f64
    }
}

fn copy_f64(row: impl Iterator<Item = f32>, out: &mut [f64]) {
    for (o, x) in out.iter_mut().zip(row) {
        *o = f64::from(x);
    }
}

/// The key of sentence `index`: a 64-bit hash of it and the seed (SplitMix64's finaliser,
/// a bijection, so distinct sentences have distinct keys).
fn sentence_key(seed: u64, index: u64) -> u64 {
    super::reader::mix64(index ^ seed.wrapping_mul(super::reader::GOLDEN) ^ SALT)
}

/// What the vocabulary pass keeps for the held-out sample: the sentences with the smallest
/// keys, enough to reach a token budget.
#[derive(Debug, Default)]
pub(crate) struct Candidates {
    /// `(key, sentence index)` → the sentence's tokens.
    kept: BTreeMap<(u64, u64), Vec<String>>,
    /// Tokens in `kept`.
    tokens: usize,
    /// Sentences in the corpus.
    n_sentences: u64,
    /// Tokens of the longest sentence.
    longest: u64,
}

/// The vocabulary pass: counts every token of `corpus` and, unless `config` asks for no
/// held-out pairs, keeps the candidate held-out sentences.
///
/// # Errors
///
/// As [`SentenceStream::next_sentence`](crate::corpus::SentenceStream::next_sentence).
pub(crate) fn count_corpus(
    corpus: &Corpus,
    config: &TrainConfig,
) -> Result<(VocabBuilder, Candidates, Vec<SourceFingerprint>)> {
    let mut builder = VocabBuilder::new();
    let mut candidates = Candidates::default();
    let budget = config.heldout_pairs().saturating_mul(TOKENS_PER_PAIR);
    let mut stream = corpus.sentences()?;
    let mut sentence = Vec::new();
    loop {
        let index = candidates.n_sentences;
        let key = sentence_key(config.seed(), index);
        let wanted = budget > 0
            && (candidates.tokens < budget
                || candidates
                    .kept
                    .last_key_value()
                    .is_some_and(|(&(largest, _), _)| key < largest));
        sentence.clear();
        let mut tokens = 0_u64;
        let more = if wanted {
            stream.next_sentence(|token| {
                builder.add(token);
                tokens += 1;
                sentence.push(token.to_owned());
            })?
        } else {
            stream.next_sentence(|token| {
                builder.add(token);
                tokens += 1;
            })?
        };
        if !more {
            break;
        }
        candidates.n_sentences += 1;
        candidates.longest = candidates.longest.max(tokens);
        if wanted {
            candidates.tokens += sentence.len();
            candidates
                .kept
                .insert((key, index), std::mem::take(&mut sentence));
            // Drop the largest keys while the others still reach the budget.
            while let Some((_, last)) = candidates.kept.last_key_value() {
                if candidates.tokens - last.len() < budget {
                    break;
                }
                candidates.tokens -= last.len();
                candidates.kept.pop_last();
            }
        }
    }
    Ok((builder, candidates, stream.fingerprints().to_vec()))
}

impl Candidates {
    /// What the vocabulary pass saw of the sentences.
    pub(crate) fn sentence_counts(&self) -> SentenceCounts {
        SentenceCounts {
            sentences: self.n_sentences,
            longest: self.longest,
        }
    }

    /// Turns the candidate sentences into the held-out sample for `vocab` (see
    /// [`HeldOut`]); `None` when it would be empty.
    ///
    /// # Errors
    ///
    /// [`Error::Sampling`] when no vocabulary word has a positive count.
    pub(crate) fn into_heldout(
        self,
        config: &TrainConfig,
        vocab: &Vocab,
    ) -> Result<Option<HeldOut>> {
        let max_sentences = self.n_sentences / SENTENCES_PER_HELDOUT;
        let wanted = config.heldout_pairs();
        if wanted == 0 || max_sentences == 0 || self.kept.is_empty() {
            return Ok(None);
        }
        let sampler = NegativeSampler::new(vocab.counts(), config.negative_power())?;
        let keep = vocab.keep_probabilities(config.subsample());
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(config.seed() ^ SALT);
        let window = config.window();
        let n_rows = config.negatives() + 1;
        let mut sentences = Vec::new();
        let mut n_tokens = 0_u64;
        let mut pairs: Vec<(usize, i32, Vec<usize>)> = Vec::new();
        let mut ids = Vec::new();
        for ((_, index), tokens) in self.kept.into_iter().take(max_sentences as usize) {
            if pairs.len() >= wanted {
                break;
            }
            sentences.push(index);
            ids.clear();
            ids.extend(
                tokens
                    .iter()
                    .filter_map(|t| vocab.token_id_u32(t).map(|id| id as usize)),
            );
            n_tokens += ids.len() as u64;
            ids.retain(|&id| {
                let p = keep.get(id).copied().unwrap_or(1.0);
                p >= 1.0 || rng.random::<f32>() < p
            });
            let len = ids.len();
            if len < 2 {
                continue;
            }
            for i in 0..len {
                let reach = match config.window_mode() {
                    WindowMode::Fixed => window,
                    WindowMode::Shrink => window - rng.random_range(0..window),
                };
                for j in i.saturating_sub(reach)..(i + reach + 1).min(len) {
                    if j != i {
                        let mut rows = Vec::with_capacity(n_rows);
                        rows.push(ids[j]);
                        rows.extend((1..n_rows).map(|_| sampler.sample(&mut rng)));
                        pairs.push((ids[i], j as i32 - i as i32, rows));
                    }
                }
            }
        }
        pairs.truncate(wanted);
        if pairs.is_empty() {
            return Ok(None);
        }
        // Grouped by focus word (stable, so a seed fixes the order), for `h = W u_w` once
        // per focus word.
        pairs.sort_by_key(|&(focus, _, _)| focus);
        sentences.sort_unstable();
        let rows = Array2::from_shape_fn((pairs.len(), n_rows), |(k, j)| pairs[k].2[j]);
        let (focus, offsets) = pairs.iter().map(|&(f, p, _)| (f, p)).unzip();
        HeldOut::from_parts(
            sentences,
            n_tokens,
            focus,
            offsets,
            rows,
            (vocab.len(), window),
        )
        .map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_seeded_and_distinct() {
        let keys: Vec<u64> = (0..1000).map(|i| sentence_key(1, i)).collect();
        let mut sorted = keys.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), 1000);
        assert_ne!(sentence_key(1, 5), sentence_key(2, 5));
        // The smallest keys are spread over the indices, not the first sentences.
        let mut order: Vec<u64> = (0..1000).collect();
        order.sort_by_key(|&i| sentence_key(1, i));
        let mean = order[..50].iter().sum::<u64>() as f64 / 50.0;
        assert!((300.0..700.0).contains(&mean), "{mean}");
    }
}
