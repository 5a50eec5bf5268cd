//! The course's exact minibatch SGD.

use std::time::Instant;

use ndarray::{Array2, Array3, ArrayView2, Axis, s};
use rand::distr::Distribution;
use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};

use super::{Observer, Progress, REPORT_EVERY, TrainReport, check_model, learning_rate_at};
use crate::config::{TrainConfig, WindowMode};
use crate::corpus::Corpus;
use crate::error::{Error, Result};
use crate::loss::loss_and_gradient_batched;
use crate::model::{Model, OffsetInteractionKind};
use crate::preflight::{check_course_memory, no_pair_trained};
use crate::sampling::NegativeSampler;
use crate::vocab::Vocab;

/// One step of the course's minibatch SGD (`stochasticGradientDescend`): the gradients of
/// the batch's mean loss ([`loss_and_gradient_batched`]),
/// then `U[w_k] -= α ∂J/∂u[k]` and `V[c_kj] -= α ∂J/∂Ṽ[k, j]` for every observation `k` and
/// row `j` (rows that occur several times receive every update), and `W -= α ∂J/∂W` once.
/// Returns the batch's mean loss.
///
/// `focus_ids[k]` is observation `k`'s focus word; `context_ids` is `S×(n+1)`, row `k`
/// holding its observed context first and then its negatives.
///
/// # Errors
///
/// [`Error::ShapeMismatch`] when `context_ids` does not have one row per focus word or the
/// batch is empty, [`Error::IndexOutOfRange`] when an id is not a row of the model,
/// [`Error::InvalidArgument`] for a model with subwords (the course steps free rows).
pub fn course_minibatch_step(
    model: &mut Model,
    focus_ids: &[usize],
    context_ids: ArrayView2<'_, usize>,
    learning_rate: f32,
) -> Result<f32> {
    if model.subwords().is_some() {
        return Err(no_subwords());
    }
    let n_obs = focus_ids.len();
    let (rows, n_rows) = context_ids.dim();
    if rows != n_obs {
        return Err(Error::ShapeMismatch {
            what: "context ids (one row per focus word)",
            expected: vec![n_obs, n_rows],
            found: vec![rows, n_rows],
        });
    }
    let n_words = model.n_words();
    for &id in focus_ids.iter().chain(context_ids.iter()) {
        if id >= n_words {
            return Err(Error::IndexOutOfRange {
                what: "word",
                index: id,
                len: n_words,
            });
        }
    }
    let focus = model.focus_embeddings().select(Axis(0), focus_ids);
    let dim = model.dim();
    let context = model.context_embeddings();
    let contexts = Array3::from_shape_fn((n_obs, n_rows, dim), |(k, j, m)| {
        context[[context_ids[[k, j]], m]]
    });
    let grads =
        loss_and_gradient_batched(focus.view(), contexts.view(), model.interaction(), None)?;
    let (mut u, mut v, mut w) = model.parts_mut();
    for (k, &id) in focus_ids.iter().enumerate() {
        u.row_mut(id)
            .scaled_add(-learning_rate, &grads.focus.row(k));
    }
    for ((k, j), &id) in context_ids.indexed_iter() {
        v.row_mut(id)
            .scaled_add(-learning_rate, &grads.contexts.slice(s![k, j, ..]));
    }
    w.scaled_add(-learning_rate, &grads.interaction);
    Ok(grads.loss)
}

/// Trains with the course's minibatch SGD: observations (focus word, context word, `n`
/// negatives) are generated in corpus order with the configured window, collected into
/// batches of `batch_size` (the course uses 1000) and applied by [`course_minibatch_step`]
/// with the configured learning rate and schedule (the course uses a constant rate of 1).
/// Single-threaded; `W` uses the same rate as `U` and `V`, as in the course. The corpus
/// and the observer are as for [`train_model`]: when the observer stops training, the
/// batch being collected is not applied.
///
/// # Errors
///
/// As [`train_model`]; [`Error::NothingToTrain`] for a vocabulary of one word (its own
/// negative, which made the course's loss NaN); [`Error::InvalidArgument`] for
/// `batch_size` 0 or a configuration with per-offset interactions (the
/// default's diagonal ones included: set them to
/// [`OffsetInteractionKind::None`]) or subwords (in it or in the model).
///
/// [`train_model`]: super::train_model
pub fn train_course(
    config: &TrainConfig,
    vocab: &Vocab,
    model: &mut Model,
    corpus: impl Into<Corpus>,
    batch_size: usize,
    mut observer: impl Observer,
) -> Result<TrainReport> {
    let corpus = corpus.into().with_options(config.corpus_options().clone());
    check_model(
        config,
        vocab.len(),
        model,
        "model (vocabulary size × configured dimension)",
    )?;
    if batch_size == 0 {
        return Err(Error::InvalidArgument {
            what: "batch size",
            message: "must be at least 1 observation, got 0".to_owned(),
        });
    }
    // One word would be its own negative: the course's loss turned NaN.
    crate::preflight::check_two_words(config, vocab)?;
    if config.offset_interactions() != OffsetInteractionKind::None {
        return Err(Error::InvalidArgument {
            what: "offset_interactions",
            message: format!(
                "the course's minibatch trainer has one W and no per-offset interactions, \
                 but the configuration asks for {} ones; set offset_interactions to none",
                config.offset_interactions().name()
            ),
        });
    }
    if config.subwords().is_some() || model.subwords().is_some() {
        return Err(no_subwords());
    }
    check_course_memory(config, vocab.len(), batch_size)?;
    let sampler = NegativeSampler::new(vocab.counts(), config.negative_power())?;
    let keep = vocab.keep_probabilities(config.subsample());
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(config.seed().wrapping_add(1));
    let n_rows = config.negatives() + 1;
    let words_total = vocab.n_tokens().saturating_mul(config.epochs() as u64);
    let start = Instant::now();
    let mut focus_ids = Vec::with_capacity(batch_size);
    let mut context_ids = Array2::<usize>::zeros((batch_size, n_rows));
    let mut epoch_losses = Vec::with_capacity(config.epochs());
    let (mut words, mut pairs) = (0_u64, 0_u64);
    let mut sentence = Vec::new();
    let mut last_call = Instant::now();
    let mut interval = (0.0_f64, 0_u64);
    let mut long_tokens_skipped = 0;
    let mut stopped_early = false;

    for epoch in 0..config.epochs() {
        let (mut epoch_loss, mut epoch_pairs) = (0.0_f64, 0_u64);
        let mut stream = corpus.sentences()?;
        loop {
            sentence.clear();
            let mut raw = 0_u64;
            let more = stream.next_sentence(|token| {
                if let Some(id) = vocab.token_id_u32(token) {
                    let id = id as usize;
                    raw += 1;
                    let p = keep.get(id).copied().unwrap_or(1.0);
                    if p >= 1.0 || rng.random::<f32>() < p {
                        sentence.push(id);
                    }
                }
            })?;
            words += raw;
            let rate = learning_rate_at(config.learning_rate(), config, words, words_total);
            let len = sentence.len();
            for i in 0..len {
                let reach = match config.window_mode() {
                    WindowMode::Fixed => config.window(),
                    WindowMode::Shrink => config.window() - rng.random_range(0..config.window()),
                };
                for j in i.saturating_sub(reach)..(i + reach + 1).min(len) {
                    if j == i {
                        continue;
                    }
                    let k = focus_ids.len();
                    focus_ids.push(sentence[i]);
                    context_ids[[k, 0]] = sentence[j];
                    for r in 1..n_rows {
                        context_ids[[k, r]] = sampler.sample(&mut rng);
                    }
                    if focus_ids.len() == batch_size {
                        let mean =
                            course_minibatch_step(model, &focus_ids, context_ids.view(), rate)?;
                        let total = f64::from(mean) * batch_size as f64;
                        if !total.is_finite() {
                            return Err(Error::Diverged {
                                epoch,
                                words,
                                learning_rate: rate,
                                interaction_learning_rate: rate,
                                offset_learning_rate: None,
                                what: format!("the mean loss of a batch is {mean}"),
                            });
                        }
                        epoch_loss += total;
                        epoch_pairs += batch_size as u64;
                        interval.0 += total;
                        interval.1 += batch_size as u64;
                        focus_ids.clear();
                    }
                }
            }
            let at_end = !more;
            if at_end || last_call.elapsed() >= REPORT_EVERY {
                let flow = observer.on_progress(&Progress::new(
                    epoch,
                    words,
                    words_total,
                    rate,
                    interval,
                    start.elapsed(),
                ));
                interval = (0.0, 0);
                last_call = Instant::now();
                let last = at_end && epoch + 1 == config.epochs();
                if flow.is_break() && !last {
                    stopped_early = true;
                    break;
                }
            }
            if at_end {
                break;
            }
        }
        // The epoch's loss and overlong tokens (so far, if the observer stopped the run: a
        // later epoch read in part has met no more of them than a whole one).
        pairs += epoch_pairs;
        epoch_losses.push(epoch_loss / epoch_pairs.max(1) as f64);
        long_tokens_skipped = long_tokens_skipped.max(stream.long_tokens_skipped());
        if stopped_early {
            // The batch being collected is dropped.
            focus_ids.clear();
            break;
        }
    }
    // A last partial batch is applied too, as a smaller batch.
    if !focus_ids.is_empty() {
        let n = focus_ids.len();
        let rate = learning_rate_at(config.learning_rate(), config, words, words_total);
        course_minibatch_step(model, &focus_ids, context_ids.slice(s![..n, ..]), rate)?;
        pairs += n as u64;
    }
    if pairs == 0 && !stopped_early {
        return Err(no_pair_trained(words));
    }
    Ok(TrainReport {
        epoch_heldout_losses: vec![None; epoch_losses.len()],
        epoch_interactions: vec![None; epoch_losses.len()],
        epoch_losses,
        words,
        pairs,
        seconds: start.elapsed().as_secs_f64(),
        recovered: Vec::new(),
        long_tokens_skipped,
        stopped_early,
    })
}

/// The course's trainers step free rows of `U`: a model or configuration with subwords is
/// refused.
fn no_subwords() -> Error {
    Error::InvalidArgument {
        what: "subwords",
        message: "the course's minibatch trainer steps free rows of U and has no subwords; \
                  train it without them"
            .to_owned(),
    }
}
