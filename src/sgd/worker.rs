//! The worker threads: blocks of focus words, their pairs, and the merges of each
//! thread's copy of `W` (see the [module documentation](super)); and the benches' hook
//! that times one worker on one sentence.

use std::sync::Mutex;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, SyncSender};
use std::time::{Duration, Instant};

use ndarray::linalg::general_mat_mul;
use ndarray::{ArrayView2, ArrayViewMut2};
use rand::RngExt;
use rand::rngs::Xoshiro256PlusPlus;

use super::dense::{
    Dense, DenseCopy, SharedDense, decay_towards_identity, matrix, matrix_mut, optimizer_step,
};
use super::offsets::OffsetBlock;
use super::reader::{Chunk, Event, Job, Report, chunk_rng};
use super::{Shared, check_model, diverged, learning_rate_at, lock};
use crate::config::{InteractionOptimizer, TrainConfig, WindowMode};
use crate::error::{Error, Result};
use crate::kernels::{axpy, dot};
use crate::model::Model;
use crate::sampling::NegativeSampler;

/// How many pairs ahead the trainer prefetches the context rows (`V`).
const PREFETCH_PAIRS: usize = 2;

pub(crate) fn run_worker(
    thread: usize,
    shared: &Shared<'_>,
    jobs: &Mutex<Receiver<Job>>,
    events: SyncSender<Event>,
) -> Result<()> {
    let mut worker = Worker::new(thread, shared);
    let result = (|| {
        loop {
            if shared.abort.load(Ordering::Relaxed) {
                return Ok(());
            }
            let next = lock(jobs).recv();
            match next {
                Err(_) => return Ok(()),
                Ok(Job::Pause) => worker.pause(),
                Ok(Job::Chunk(chunk)) => {
                    let report = worker.train_chunk(&chunk)?;
                    if events.send(Event::Chunk(report)).is_err() {
                        return Ok(());
                    }
                }
            }
        }
    })();
    if result.is_err() {
        shared.abort.store(true, Ordering::Relaxed);
    }
    if shared.abort.load(Ordering::Relaxed) {
        // The reader may be blocked on a full queue; it checks the abort flag before every
        // send, so emptying the queue once lets it finish.
        while lock(jobs).try_recv().is_ok() {}
    }
    result
}

/// One thread's state; all buffers are allocated once.
///
/// Focus words are processed in blocks of at most `merge_interval` consecutive positions
/// of a sentence, cut early where a focus word would occur twice in one block. For a block
/// of `B` focus words with rows `U_B` (taken before any of their updates):
///
/// ```text
/// H  = U_B Wᵀ              one GEMM instead of B matrix–vector products
/// (the pairs of every focus word, in order: V updates, E row k += Ṽᵀ g)
/// U_B -= α E W             one GEMM, then one row update per focus word
/// W  -= α_W Eᵀ U_B         one GEMM on the thread's copy of W
/// ```
///
/// Within a block a focus row is read once and written once, and `U` rows are read only as
/// focus words, so this equals processing the focus words one by one with `W` held fixed
/// for the block. The copy is merged into the shared `W` every `merge_interval` focus
/// words and when the worker is dropped (see the module documentation).
///
/// With per-offset interactions a pair at offset `p` uses `h_p = D_p h` instead of `h`,
/// its error `e_p = Ṽᵀ g` reaches its focus word's row of `E` as `D_pᵀ e_p`, and `D_p`'s
/// gradient collects `e_p hᵀ` (see [`OffsetBlock`]); `D` is stepped once per block on the
/// thread's copy and merged with `W`, so the block still equals sequential steps with `W`
/// and every `D_p` held fixed.
struct Worker<'s, 'a> {
    shared: &'s Shared<'a>,
    rng: Xoshiro256PlusPlus,
    /// Epoch and words done (all threads) at the start of the current sentence.
    position: (usize, u64),
    dim: usize,
    /// Largest block.
    capacity: usize,
    /// This thread's copy of `W` (with its AdaGrad squares) when `W` is trained: the
    /// shared `W` as of the last merge, plus this thread's steps since. `None` when `W` is
    /// frozen: then every thread reads the one shared `W`.
    interaction: Option<DenseCopy>,
    /// The block's gradient of `W` (`M×M`) for AdaGrad; empty otherwise.
    interaction_gradient: Vec<f32>,
    /// The per-offset interactions' block state and copy, when the model has them.
    offsets: Option<OffsetBlock>,
    /// Focus words whose `W` (or `D`) update is in the copy but not yet in the shared one.
    unmerged_words: usize,
    /// `U_B`, `H`, `E` and `E W`, `capacity × dim` each, row-major.
    block_focus: Vec<f32>,
    block_hidden: Vec<f32>,
    block_error: Vec<f32>,
    block_update: Vec<f32>,
    /// Sentence positions and window reaches of the block's focus words.
    block: Vec<(usize, usize)>,
    /// The rows of every pair of the block, `n + 1` per pair (the context row, then the
    /// negatives), in training order.
    pair_rows: Vec<u32>,
    /// `g` of one pair, `n + 1` long.
    gains: Vec<f32>,
    sentence: Vec<u32>,
}

impl<'s, 'a> Worker<'s, 'a> {
    fn new(thread: usize, shared: &'s Shared<'a>) -> Self {
        let config = shared.config;
        let dim = config.dim();
        let interaction = DenseCopy::new(&shared.interaction, config.threads());
        let adagrad = interaction.is_some()
            && config.interaction_optimizer() == InteractionOptimizer::AdaGrad;
        let capacity = config.merge_interval();
        let block_len = capacity * dim;
        let offsets = OffsetBlock::new(
            shared.offsets.as_ref(),
            config.offset_interactions(),
            (config.window(), dim),
            (capacity, config.threads()),
        );
        Worker {
            shared,
            // Replaced at every chunk ([`chunk_rng`]); this one serves the benches' hook.
            rng: chunk_rng(config.seed(), 0, thread as u64),
            position: (0, 0),
            dim,
            capacity,
            unmerged_words: 0,
            offsets,
            interaction,
            interaction_gradient: if adagrad {
                vec![0.0; dim * dim]
            } else {
                Vec::new()
            },
            block_focus: vec![0.0; block_len],
            block_hidden: vec![0.0; block_len],
            block_error: vec![0.0; block_len],
            block_update: vec![0.0; block_len],
            block: Vec::with_capacity(capacity),
            pair_rows: Vec::new(),
            gains: vec![0.0; config.negatives() + 1],
            sentence: Vec::new(),
        }
    }

    /// Stops for the calling thread: merges its `W` updates, waits at the gate, and takes
    /// the merged `W`. With one thread a pause changes nothing: the merge is an assignment,
    /// and the next chunk's random stream comes from its position, not from this one's.
    fn pause(&mut self) {
        // The checkpoint needs this thread's W updates in the shared W.
        if self.unmerged_words > 0 {
            self.merge_interaction();
        }
        self.shared.gate.arrive_and_wait(&self.shared.abort);
        // Continue from the W the checkpoint holds (with every thread's updates), as a run
        // resumed from it does.
        if let Some(copy) = &mut self.interaction {
            copy.refresh(&self.shared.interaction);
        }
        if let (Some(copy), Some(shared)) = (
            self.offsets.as_mut().and_then(|o| o.copy.as_mut()),
            &self.shared.offsets,
        ) {
            copy.refresh(shared);
        }
    }

    fn train_chunk(&mut self, chunk: &Chunk) -> Result<Report> {
        let shared = self.shared;
        let config = shared.config;
        let base = shared.words_done.load(Ordering::Relaxed);
        self.rng = chunk_rng(config.seed(), chunk.epoch, chunk.first_sentence);
        let mut loss = 0.0_f64;
        let mut pairs = 0_u64;
        let mut start = 0;
        let mut local_words = 0_u64;
        for &end in &chunk.ends {
            let done = base + local_words;
            let rate = learning_rate_at(config.learning_rate(), config, done, shared.words_total);
            let interaction_rate = learning_rate_at(
                config.interaction_learning_rate(),
                config,
                done,
                shared.words_total,
            );
            let offset_rate = learning_rate_at(
                config.offset_learning_rate(),
                config,
                done,
                shared.words_total,
            );
            let words = chunk.ids.get(start..end).unwrap_or(&[]);
            self.position = (chunk.epoch, done);
            local_words += words.len() as u64;
            start = end;
            self.subsample(words);
            let (l, p) = self.train_sentence(Rates {
                rows: rate,
                interaction: interaction_rate,
                offsets: offset_rate,
            })?;
            loss += l;
            pairs += p;
        }
        shared.words_done.fetch_add(local_words, Ordering::Relaxed);
        Ok(Report {
            epoch: chunk.epoch,
            words: local_words,
            loss,
            pairs,
        })
    }

    fn subsample(&mut self, words: &[u32]) {
        self.sentence.clear();
        for &w in words {
            let keep = self.shared.keep.get(w as usize).copied().unwrap_or(1.0);
            if keep >= 1.0 || self.rng.random::<f32>() < keep {
                self.sentence.push(w);
            }
        }
    }

    /// Trains on `self.sentence`, block by block; returns the summed loss and the number of
    /// pairs.
    fn train_sentence(&mut self, rates: Rates) -> Result<(f64, u64)> {
        let len = self.sentence.len();
        let mut loss = 0.0_f64;
        let mut pairs = 0_u64;
        let mut next = 0;
        while next < len {
            next = self.fill_block(next);
            if !self.block.is_empty() {
                let (l, p) = self.train_block(rates)?;
                loss += l;
                pairs += p;
            }
        }
        Ok((loss, pairs))
    }

    /// Collects the next block of focus positions from `start` (those with at least one
    /// context), drawing their window reaches; returns the first position not taken.
    fn fill_block(&mut self, start: usize) -> usize {
        let config = self.shared.config;
        let window = config.window();
        let len = self.sentence.len();
        self.block.clear();
        let mut i = start;
        while i < len && self.block.len() < self.capacity {
            let word = self.sentence[i];
            if self.block.iter().any(|&(p, _)| self.sentence[p] == word) {
                break;
            }
            let reach = match config.window_mode() {
                WindowMode::Fixed => window,
                WindowMode::Shrink => window - self.rng.random_range(0..window),
            };
            if len > 1 && reach > 0 {
                self.block.push((i, reach));
            }
            i += 1;
        }
        i
    }

    fn train_block(&mut self, rates: Rates) -> Result<(f64, u64)> {
        let (rate, interaction_rate) = (rates.rows, rates.interaction);
        let shared = self.shared;
        let dim = self.dim;
        let n = self.block.len();
        let used = n * dim;
        let len = self.sentence.len();
        for &(position, _) in &self.block {
            let word = self.sentence[position] as usize;
            shared.focus.prefetch(word);
            if let Some(subwords) = &shared.subwords {
                subwords.prefetch(word);
            }
        }
        for (k, &(position, _)) in self.block.iter().enumerate() {
            let word = self.sentence[position] as usize;
            let u = &mut self.block_focus[k * dim..(k + 1) * dim];
            match &shared.subwords {
                None => shared.focus.with_row(word, |x| u.copy_from_slice(x)),
                Some(subwords) => subwords.focus_vector(&shared.focus, word, u),
            }
        }
        // H = U_B Wᵀ; with W = I frozen, H is U_B itself.
        if !shared.identity_frozen {
            let focus = block_view(&self.block_focus, n, dim)?;
            let interaction = matrix(
                current(self.interaction.as_ref(), &shared.interaction),
                dim,
                dim,
            )?;
            let mut hidden = block_view_mut(&mut self.block_hidden, n, dim)?;
            general_mat_mul(1.0, &focus, &interaction.t(), 0.0, &mut hidden);
        }
        let hidden_rows = if shared.identity_frozen {
            &self.block_focus
        } else {
            &self.block_hidden
        };
        self.block_error[..used].fill(0.0);
        // Every pair's rows (its context, then its negatives), drawn up front in the order
        // the pairs use them: the random stream is the one of drawing them pair by pair,
        // and the rows of the pairs ahead can be prefetched while a pair is trained.
        let stride = self.gains.len();
        self.pair_rows.clear();
        if let Some(offsets) = &mut self.offsets {
            offsets.clear();
        }
        for (k, &(i, reach)) in self.block.iter().enumerate() {
            for j in i.saturating_sub(reach)..(i + reach + 1).min(len) {
                if j != i {
                    if let Some(offsets) = &mut self.offsets {
                        offsets.push(k, j as isize - i as isize);
                    }
                    self.pair_rows.push(self.sentence[j]);
                    for _ in 1..stride {
                        self.pair_rows
                            .push(shared.sampler.sample_index(&mut self.rng));
                    }
                }
            }
        }
        for &row in self.pair_rows.iter().take(PREFETCH_PAIRS * stride) {
            shared.context.prefetch(row as usize);
        }
        let mut loss = 0.0_f64;
        let mut pair_rows = self.pair_rows.chunks_exact(stride);
        let mut ahead = self.pair_rows.chunks_exact(stride).skip(PREFETCH_PAIRS);
        if let (Some(offsets), Some(shared_offsets)) = (&mut self.offsets, &shared.offsets) {
            // Each pair with its own h_p and e_p, then E += D_pᵀ e_p.
            offsets.forward(hidden_rows, shared_offsets)?;
            let OffsetBlock { hidden, error, .. } = offsets;
            for (q, rows) in pair_rows.enumerate() {
                for &row in ahead.next().unwrap_or(&[]) {
                    shared.context.prefetch(row as usize);
                }
                let pair = q * dim..(q + 1) * dim;
                loss += train_pair(
                    shared,
                    rows,
                    &mut self.gains,
                    &hidden[pair.clone()],
                    &mut error[pair],
                    rate,
                );
            }
            offsets.backward(hidden_rows, &mut self.block_error, shared_offsets)?;
        } else {
            for (k, &(i, reach)) in self.block.iter().enumerate() {
                let hidden = &hidden_rows[k * dim..(k + 1) * dim];
                let error = &mut self.block_error[k * dim..(k + 1) * dim];
                let n_pairs = (i + reach + 1).min(len) - i.saturating_sub(reach) - 1;
                for rows in pair_rows.by_ref().take(n_pairs) {
                    for &row in ahead.next().unwrap_or(&[]) {
                        shared.context.prefetch(row as usize);
                    }
                    loss += train_pair(shared, rows, &mut self.gains, hidden, error, rate);
                }
            }
        }
        let pairs = (self.pair_rows.len() / stride) as u64;
        // U_B -= α E W
        let update = if shared.identity_frozen {
            &self.block_error[..used]
        } else {
            let error = block_view(&self.block_error, n, dim)?;
            let interaction = matrix(
                current(self.interaction.as_ref(), &shared.interaction),
                dim,
                dim,
            )?;
            let mut update = block_view_mut(&mut self.block_update, n, dim)?;
            general_mat_mul(1.0, &error, &interaction, 0.0, &mut update);
            &self.block_update[..used]
        };
        // Divergence check, once per block: a non-finite score, row of `U`, `V` or `W`
        // makes the loss or the focus update non-finite.
        if !loss.is_finite() || !update.iter().all(|x| x.is_finite()) {
            let what = if loss.is_finite() {
                "an update of U".to_owned()
            } else {
                format!("the loss over {pairs} pairs is {loss}")
            };
            return Err(diverged(
                shared.config,
                self.position,
                shared.words_total,
                what,
            ));
        }
        for (k, &(position, _)) in self.block.iter().enumerate() {
            let word = self.sentence[position] as usize;
            let update = &update[k * dim..(k + 1) * dim];
            shared.focus.with_row_mut(word, |x| axpy(-rate, update, x));
            if let Some(subwords) = &shared.subwords {
                subwords.step(word, rate, update);
            }
        }
        // W -= η (g + λ (W − I)) on this thread's copy (g = Eᵀ U_B under SGD, its AdaGrad
        // step otherwise), then merged into the shared W.
        if let Some(copy) = &mut self.interaction {
            let error = block_view(&self.block_error, n, dim)?;
            let focus = block_view(&self.block_focus, n, dim)?;
            let decay = interaction_rate * shared.config.interaction_decay();
            if decay > 0.0 {
                // Decay first: the gradient step does not depend on W, so this is the
                // simultaneous step from the W the block used.
                decay_towards_identity(&mut copy.current.values, dim, decay);
            }
            if self.interaction_gradient.is_empty() {
                let mut interaction = matrix_mut(&mut copy.current.values, dim, dim)?;
                general_mat_mul(-interaction_rate, &error.t(), &focus, 1.0, &mut interaction);
            } else {
                let mut gradient = matrix_mut(&mut self.interaction_gradient, dim, dim)?;
                general_mat_mul(1.0, &error.t(), &focus, 0.0, &mut gradient);
                optimizer_step(
                    &mut copy.current,
                    &self.interaction_gradient,
                    interaction_rate,
                );
            }
        }
        // D -= η_D (g_D + λ (D − I)) on this thread's copy, merged with W.
        if let Some(offsets) = &mut self.offsets {
            offsets.step(rates.offsets, shared.config.interaction_decay());
        }
        if shared.trains_dense {
            self.unmerged_words += n;
            if self.unmerged_words >= self.capacity {
                self.merge_interaction();
            }
        }
        Ok((loss, pairs))
    }

    /// Merges this thread's `W` and `D` steps since the last merge into the shared ones (see
    /// [`DenseCopy::merge`]).
    fn merge_interaction(&mut self) {
        self.unmerged_words = 0;
        if let Some(copy) = &mut self.interaction {
            copy.merge(&self.shared.interaction);
        }
        if let (Some(copy), Some(shared)) = (
            self.offsets.as_mut().and_then(|o| o.copy.as_mut()),
            &self.shared.offsets,
        ) {
            copy.merge(shared);
        }
    }
}

impl Drop for Worker<'_, '_> {
    /// Merges the `W` updates of the last blocks, which may not have reached
    /// `merge_interval` focus words.
    fn drop(&mut self) {
        if self.unmerged_words > 0 {
            self.merge_interaction();
        }
    }
}

/// The learning rates in force for a sentence.
#[derive(Debug, Clone, Copy)]
struct Rates {
    /// `U` and `V`.
    rows: f32,
    /// `W`.
    interaction: f32,
    /// The per-offset interactions.
    offsets: f32,
}

/// The `W` a worker computes with: its copy when `W` is trained, the shared one when it is
/// frozen (empty, which the shape checks reject, if a trained `W` had no copy).
fn current<'c>(copy: Option<&'c DenseCopy>, shared: &'c SharedDense) -> &'c [f32] {
    match (copy, shared) {
        (Some(copy), _) => &copy.current.values,
        (None, SharedDense::Frozen(dense)) => &dense.values,
        (None, SharedDense::Trained(_)) => &[],
    }
}

/// The first `n` rows of a block buffer as a matrix.
fn block_view(buffer: &[f32], n: usize, dim: usize) -> Result<ArrayView2<'_, f32>> {
    ArrayView2::from_shape((n, dim), &buffer[..n * dim]).map_err(|_| block_error(n, dim))
}

/// The first `n` rows of a block buffer as a mutable matrix.
fn block_view_mut(buffer: &mut [f32], n: usize, dim: usize) -> Result<ArrayViewMut2<'_, f32>> {
    ArrayViewMut2::from_shape((n, dim), &mut buffer[..n * dim]).map_err(|_| block_error(n, dim))
}

fn block_error(n: usize, dim: usize) -> Error {
    Error::ShapeMismatch {
        what: "training block buffers",
        expected: vec![n, dim],
        found: vec![],
    }
}

/// One observed pair for a focus word with `h = hidden`: `rows` holds the context row and
/// the `n` negatives. Scores them with the rows as they are, returns the loss, adds
/// `Ṽᵀ g` to `error`, then applies the `V` updates.
#[inline]
fn train_pair(
    shared: &Shared<'_>,
    rows: &[u32],
    gains: &mut [f32],
    hidden: &[f32],
    error: &mut [f32],
    rate: f32,
) -> f64 {
    let mut loss = 0.0_f64;
    for (k, (&row, gain)) in rows.iter().zip(gains.iter_mut()).enumerate() {
        let term = shared.context.with_row(row as usize, |v| {
            let score = dot(v, hidden);
            let (g, term) = shared.logistic.gain_and_loss(score, k == 0);
            axpy(g, v, error);
            *gain = g;
            term
        });
        loss += f64::from(term);
    }
    for (&row, &gain) in rows.iter().zip(gains.iter()) {
        shared
            .context
            .with_row_mut(row as usize, |v| axpy(-rate * gain, hidden, v));
    }
    loss
}

/// Trains one worker on `sentence` (word ids, taken as they are: no subsampling) `repeats`
/// times, block by block as [`train_model`] does, with the configuration's initial rates;
/// returns the time the repeats took, the number of pairs of one repeat and the summed
/// loss. Setup (sampler, shared rows, the worker and its buffers) is outside the timing.
/// Only for [`crate::bench_support`].
///
/// [`train_model`]: super::train_model
pub(crate) fn time_sentence(
    config: &TrainConfig,
    counts: &[u64],
    model: &mut Model,
    sentence: &[u32],
    repeats: u64,
) -> Result<(Duration, u64, f64)> {
    check_model(
        config,
        counts.len(),
        model,
        "model (one row per count × configured dimension)",
    )?;
    if let Some(&id) = sentence.iter().find(|&&id| id as usize >= counts.len()) {
        return Err(Error::IndexOutOfRange {
            what: "word",
            index: id as usize,
            len: counts.len(),
        });
    }
    let sampler = NegativeSampler::new(counts, config.negative_power())?;
    let keep = vec![1.0_f32; counts.len()];
    super::check_offsets(config, model)?;
    super::check_subwords(config, model)?;
    let offsets = super::offsets::dense_of(
        model.offset_interactions(),
        None,
        config.interaction_optimizer(),
    );
    let (focus, context, mut interaction, mut model_offsets, subwords) = model.training_parts_mut();
    let shared = Shared::new(
        config,
        (focus, context, subwords),
        (
            Dense::new(
                interaction.iter().copied().collect(),
                None,
                config.interaction_optimizer(),
            ),
            offsets,
        ),
        (&sampler, &keep),
        (0, u64::MAX),
    )?;
    let mut worker = Worker::new(0, &shared);
    let (mut pairs, mut loss) = (0_u64, 0.0_f64);
    let start = Instant::now();
    for _ in 0..repeats {
        worker.sentence.clear();
        worker.sentence.extend_from_slice(sentence);
        let (l, p) = worker.train_sentence(Rates {
            rows: config.learning_rate(),
            interaction: config.interaction_learning_rate(),
            offsets: config.offset_learning_rate(),
        })?;
        loss += l;
        pairs = p;
    }
    let elapsed = start.elapsed();
    drop(worker);
    let (trained, trained_offsets) = shared.into_interaction();
    interaction.assign(&matrix(&trained.values, config.dim(), config.dim())?);
    if let Some(trained_offsets) = trained_offsets {
        super::offsets::assign(&mut model_offsets, &trained_offsets.values)?;
    }
    Ok((elapsed, pairs, loss))
}
