//! Checks before a training run starts: that it has something to train (a run that can
//! train no (focus, context) pair would only overwrite earlier results with an untrained
//! model), and that its matrices and buffers fit in the memory available.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::config::{InteractionOptimizer, TrainConfig};
use crate::error::{Error, Result};
use crate::model::OffsetInteractionKind;
use crate::vocab::Vocab;

/// What the vocabulary pass saw of the sentences.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct SentenceCounts {
    /// Sentences (non-empty lines, or pieces of long lines).
    pub(crate) sentences: u64,
    /// Tokens of the longest sentence (markers included).
    pub(crate) longest: u64,
}

/// The expected number of corpus words per epoch that subsampling keeps.
fn expected_kept_words(config: &TrainConfig, vocab: &Vocab) -> f64 {
    vocab
        .keep_probabilities(config.subsample())
        .iter()
        .zip(vocab.counts())
        .map(|(&keep, &count)| f64::from(keep) * count as f64)
        .sum()
}

/// The vocabulary has at least two words: each pair's negatives are drawn from the others.
pub(crate) fn check_two_words(config: &TrainConfig, vocab: &Vocab) -> Result<()> {
    let nothing = |reason: String| Err(Error::NothingToTrain { reason });
    if vocab.len() < 2 {
        let words: Vec<String> = vocab.words().iter().map(|w| format!("{w:?}")).collect();
        return nothing(format!(
            "the vocabulary has {} word ({}), and training needs at least 2: each pair's \
             negatives are drawn from the other words (lower min_count or raise max_vocab; \
             min_count = {}, max_vocab = {})",
            vocab.len(),
            words.join(", "),
            config.min_count(),
            config
                .max_vocab()
                .map_or_else(|| "none".to_owned(), |m| m.to_string()),
        ));
    }
    Ok(())
}

/// Refuses a run on a corpus that cannot train a pair: a vocabulary of fewer than two
/// entries, a corpus without a sentence of two tokens (when `counts` of the vocabulary
/// pass are known), or subsampling that keeps, in expectation, fewer than two words in the
/// whole run. (A model trained with a vocabulary given by the caller, as `train_model`
/// does, may legitimately have one word; only the trained pairs are checked there.)
pub(crate) fn check_trainable(
    config: &TrainConfig,
    vocab: &Vocab,
    counts: Option<SentenceCounts>,
) -> Result<()> {
    check_two_words(config, vocab)?;
    let nothing = |reason: String| Err(Error::NothingToTrain { reason });
    if let Some(counts) = counts
        && counts.longest < 2
    {
        return nothing(format!(
            "no line of the corpus has two words ({} lines with a word, {} tokens), so \
             there is no (focus, context) pair: the corpus must hold sentences, one per line",
            counts.sentences,
            vocab.n_tokens(),
        ));
    }
    let kept = expected_kept_words(config, vocab) * config.epochs() as f64;
    // (A vocabulary of zero counts cannot draw negatives: the sampler says so.)
    if kept < 2.0 && vocab.n_tokens() > 0 {
        let kept = if kept == 0.0 {
            "0".to_owned()
        } else if kept >= 0.01 {
            format!("{kept:.2}")
        } else {
            format!("{kept:.1e}")
        };
        let epochs = match config.epochs() {
            1 => "1 epoch".to_owned(),
            n => format!("{n} epochs"),
        };
        return nothing(format!(
            "subsampling with threshold {:e} keeps, in expectation, {kept} words in \
             {epochs} of {} words each, too few to make a pair (raise subsample, or set it \
             to 0 to keep every word)",
            config.subsample(),
            vocab.n_tokens(),
        ));
    }
    Ok(())
}

/// The error for a run that ended without training a pair.
pub(crate) fn no_pair_trained(words: u64) -> Error {
    Error::NothingToTrain {
        reason: format!(
            "the run read {words} corpus words but trained 0 pairs: subsampling, dropped \
             out-of-vocabulary words or one-word sentences left no (focus, context) pair"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vocab::OovPolicy;

    fn vocab(pairs: &[(&str, u64)]) -> Vocab {
        Vocab::from_counts(
            pairs.iter().map(|&(w, c)| (w.to_owned(), c)),
            OovPolicy::Drop,
        )
        .unwrap()
    }

    fn config(subsample: f64) -> TrainConfig {
        TrainConfig::builder()
            .subsample(subsample)
            .epochs(1)
            .build()
            .unwrap()
    }

    #[test]
    fn each_reason_is_given() {
        let two = SentenceCounts {
            sentences: 10,
            longest: 2,
        };
        let message = |result: Result<()>| match result {
            Err(Error::NothingToTrain { reason }) => reason,
            other => panic!("expected NothingToTrain, got {other:?}"),
        };
        let one = message(check_trainable(
            &config(0.0),
            &vocab(&[("the", 9)]),
            Some(two),
        ));
        assert!(one.contains("1 word (\"the\")"), "{one}");
        let single = SentenceCounts {
            sentences: 7,
            longest: 1,
        };
        let words = vocab(&[("a", 4), ("b", 3)]);
        let lines = message(check_trainable(&config(0.0), &words, Some(single)));
        assert!(
            lines.contains("no line of the corpus has two words (7 lines"),
            "{lines}"
        );
        let sub = message(check_trainable(&config(1e-300), &words, Some(two)));
        assert!(sub.contains("subsampling with threshold 1e-300"), "{sub}");
        // Without subsampling every word is kept; unknown counts skip that check.
        check_trainable(&config(0.0), &words, Some(two)).unwrap();
        check_trainable(&config(0.0), &words, None).unwrap();
        // The expectation is the sum of count × keep probability.
        let kept = expected_kept_words(&config(1e-3), &words);
        let keep = words.keep_probabilities(1e-3);
        assert!((kept - (4.0 * f64::from(keep[0]) + 3.0 * f64::from(keep[1]))).abs() < 1e-9);
    }
}

/// What a memory check counts: before the model exists, its matrices as well.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stage {
    /// After the vocabulary pass, before `U`, `V`, `W` and `D` are allocated.
    BeforeModel,
    /// The model exists; training is about to allocate the rest.
    BeforeTraining,
}

/// The memory a training run of `config` with `n_words` vocabulary entries will still
/// allocate at `stage`, in bytes, part by part. An estimate, meant as an upper bound of
/// what is resident: `V` starts at zero and the rows never drawn stay unresident, and
/// small things (channels, the progress reports) are left out; what threads reserve counts
/// against `ulimit -v` alone ([`Reservation`]). The
/// vocabulary and the held-out sample are not counted: they exist when the check runs, so
/// the available memory already accounts for them.
pub(crate) fn memory_plan(
    config: &TrainConfig,
    n_words: usize,
    stage: Stage,
) -> Vec<(String, u64)> {
    const F32: u64 = 4;
    let n = n_words as u64;
    let m = config.dim() as u64;
    let threads = config.threads() as u64;
    let square = m * m * F32;
    let adagrad = u64::from(config.interaction_optimizer() == InteractionOptimizer::AdaGrad);
    let offset_floats = match config.offset_interactions() {
        OffsetInteractionKind::None => 0,
        OffsetInteractionKind::Diagonal => 2 * config.window() as u64 * m,
        OffsetInteractionKind::Full => 2 * config.window() as u64 * m * m,
    };
    let mut parts = Vec::new();
    if stage == Stage::BeforeModel {
        parts.push(("U and V".to_owned(), 2 * n * m * F32));
        parts.push(("W and D".to_owned(), square + offset_floats * F32));
        if let Some(subwords) = config.subwords() {
            // Not known before the index is built: about one kept n-gram per word and
            // length (enwiki, 63 000 words, lengths 3–6: 2.1 a word kept by 2 words, 5.2
            // in all), each a row, its text and its map entry; and each word's ids (22 on
            // average there).
            let lengths = (subwords.max_n() - subwords.min_n() + 1) as u64;
            let per_word = lengths * if subwords.min_words() == 1 { 2 } else { 1 };
            let rows = n.saturating_mul(per_word);
            parts.push((
                "subword n-grams (estimated)".to_owned(),
                rows.saturating_mul(m * F32 + 64)
                    .saturating_add(n.saturating_mul(8 * lengths * F32 + 8)),
            ));
        }
    }
    // The alias table and target probabilities (16 bytes a word), the weights and work
    // lists while it is built (about 20), the subsampling keep probabilities (4).
    parts.push(("sampler".to_owned(), n * 40));
    // The shared W and D with their AdaGrad squares, a snapshot of each for checkpoints
    // and scoring, and W's diagnostics (an f64 SVD: about four M×M matrices of f64).
    let dense = (square + offset_floats * F32) * (1 + adagrad);
    parts.push(("shared W and D".to_owned(), 2 * dense + 4 * m * m * 8));
    // Per thread: a copy of W (and D) when trained, with a base to merge from when there
    // are several threads, and the AdaGrad gradient; the block buffers; two queued chunks.
    let copies = 1 + u64::from(threads > 1);
    let mut per_thread = 0;
    if config.interaction_learning_rate() > 0.0 {
        per_thread += copies * square * (1 + adagrad) + adagrad * square;
    }
    if offset_floats > 0 && config.offset_learning_rate() > 0.0 {
        per_thread += (copies * (1 + adagrad) + 1) * offset_floats * F32;
    }
    let capacity = config.merge_interval() as u64;
    per_thread += 4 * capacity * m * F32;
    if offset_floats > 0 {
        let max_pairs = capacity * 2 * config.window() as u64;
        per_thread += 2 * max_pairs * m * F32 + 3 * capacity * m * F32;
    }
    per_thread += 2 * 10_100 * F32;
    parts.push((
        format!("{threads} thread{}", if threads == 1 { "" } else { "s" }),
        threads.saturating_mul(per_thread),
    ));
    parts
}

/// The memory the course's minibatch trainer ([`train_course`](crate::sgd::train_course))
/// allocates besides the model, in bytes, part by part: the sampler, a batch's ids, and a
/// step's gathered rows and gradients (`S` focus rows, `S·(n+1)` context rows, each twice,
/// and `W`'s gradient).
pub(crate) fn course_memory_plan(
    config: &TrainConfig,
    n_words: usize,
    batch_size: usize,
) -> Vec<(String, u64)> {
    const F32: u64 = 4;
    const ID: u64 = std::mem::size_of::<usize>() as u64;
    let m = config.dim() as u64;
    let s = batch_size as u64;
    let rows = config.negatives() as u64 + 1;
    let ids = s.saturating_mul(rows + 1).saturating_mul(ID);
    let step = s
        .saturating_mul(rows + 1)
        .saturating_mul(2 * m)
        .saturating_add(m * m)
        .saturating_mul(F32);
    vec![
        ("sampler".to_owned(), n_words as u64 * 40),
        (format!("a batch of {batch_size}"), ids.saturating_add(step)),
    ]
}

/// The memory this process may still allocate, in bytes, and where that figure comes from
/// (the end of "only … are available (…)"): the least of
///
/// - `MemAvailable + SwapFree` in `/proc/meminfo`;
/// - for the memory cgroup of the process and each enclosing one with a limit (cgroup v2
///   or v1), the room under the limit (the limit less the usage, page cache not counted as
///   used since the kernel reclaims it) plus the swap the cgroup may still use;
/// - the address space left under `ulimit -v` (`RLIMIT_AS`), less what the threads the run
///   starts will reserve (`reserved`).
///
/// `None` where none of them can be read (not Linux).
fn available_memory(reserved: &Reservation) -> Option<(u64, String)> {
    let read = |path: &str| std::fs::read_to_string(path).ok();
    let mut limits = Vec::new();
    let meminfo = read("/proc/meminfo").unwrap_or_default();
    let kib = |name: &str| keyed_number(&meminfo, name).map(|k| k.saturating_mul(1024));
    let swap_free = kib("SwapFree:").unwrap_or(0);
    if let Some(available) = kib("MemAvailable:") {
        limits.push((
            available.saturating_add(swap_free),
            "are available (MemAvailable + SwapFree in /proc/meminfo)".to_owned(),
        ));
    }
    let cgroup = read("/proc/self/cgroup").unwrap_or_default();
    for (version, root, path) in cgroup.lines().filter_map(memory_cgroup) {
        let source = match version {
            CgroupVersion::V2 => "are left under the memory cgroup's limit (memory.max)",
            CgroupVersion::V1 => "are left under the memory cgroup's limit (memory.limit_in_bytes)",
        };
        for room in cgroup_rooms(version, Path::new(root), path, swap_free) {
            limits.push((room, source.to_owned()));
        }
    }
    if let (Some(limits_text), Some(status)) =
        (read("/proc/self/limits"), read("/proc/self/status"))
        && let Some(free) = address_space_room(&limits_text, &status)
    {
        let source = "of address space are left under `ulimit -v` (RLIMIT_AS)";
        let source = if reserved.bytes() > 0 {
            format!("{source} once {reserved}")
        } else {
            source.to_owned()
        };
        limits.push((free.saturating_sub(reserved.bytes()), source));
    }
    limits.into_iter().min_by_key(|(bytes, _)| *bytes)
}

/// Address space that the threads a run starts reserve without allocating it: a stack
/// each and, with glibc, a malloc arena each. glibc gives each new thread its own arena
/// (up to `MALLOC_ARENA_MAX`, the main one included; unset, its cap is at least 8 per core
/// and is counted here as no cap) and reserves 64 MiB of address space for it up front on
/// 64-bit systems (1 MiB on 32-bit), mapping twice that while it aligns it. None of it is
/// resident until used, so only `ulimit -v` (`RLIMIT_AS`) counts it; but an arena reserved
/// while there is room takes that room from the run's own allocations later, which then
/// abort. Arenas outlive their threads (glibc reuses them), so the arenas of the most
/// trainer threads this process has run before are already in its address space and are
/// not counted again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Reservation {
    /// Who reserves, as the message names them ("8 workers and the corpus reader").
    who: String,
    threads: u64,
    stack: u64,
    arenas: u64,
    arena: u64,
}

/// The most trainer threads (workers and reader) this process has started in one run:
/// their arenas exist already.
static TRAINER_THREADS: AtomicU64 = AtomicU64::new(0);

/// Records that a run starts `threads` trainer threads (see [`Reservation`]).
pub(crate) fn record_trainer_threads(threads: usize) {
    TRAINER_THREADS.fetch_max(threads as u64, Ordering::Relaxed);
}

impl Reservation {
    /// What a trainer with `workers` worker threads and its corpus reader reserve on this
    /// system.
    pub(crate) fn for_trainer(workers: usize) -> Reservation {
        // The stack size std gives a spawned thread: RUST_MIN_STACK, else 2 MiB.
        let stack = std::env::var("RUST_MIN_STACK")
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(2 << 20);
        let glibc = cfg!(all(target_os = "linux", target_env = "gnu"));
        let arena = if !glibc {
            0
        } else if cfg!(target_pointer_width = "64") {
            64 << 20
        } else {
            1 << 20
        };
        let arena_max = std::env::var("MALLOC_ARENA_MAX")
            .ok()
            .and_then(|s| s.trim().parse::<u64>().ok())
            .filter(|&n| n > 0)
            .unwrap_or(u64::MAX);
        let who = match workers {
            1 => "1 worker and the corpus reader have".to_owned(),
            n => format!("{n} workers and the corpus reader have"),
        };
        let threads = workers as u64 + 1;
        let seen = TRAINER_THREADS.load(Ordering::Relaxed);
        Reservation::new(who, (threads, seen), stack, (arena, arena_max))
    }

    /// No thread: the caller trains on its own.
    pub(crate) fn none() -> Reservation {
        Reservation::new(String::new(), (0, 0), 0, (0, 1))
    }

    /// `threads` threads with stacks of `stack` bytes, and arenas of `arena` bytes of which
    /// at most `arena_max` exist, the main one included, and those of `seen` earlier
    /// threads exist already.
    fn new(
        who: String,
        (threads, seen): (u64, u64),
        stack: u64,
        (arena, arena_max): (u64, u64),
    ) -> Reservation {
        let arenas = if arena == 0 {
            0
        } else {
            let cap = arena_max.saturating_sub(1);
            threads.min(cap).saturating_sub(seen.min(cap))
        };
        Reservation {
            who,
            threads,
            stack,
            arenas,
            arena,
        }
    }

    /// The bytes: the stacks, the arenas, and one more arena while the last is aligned.
    pub(crate) fn bytes(&self) -> u64 {
        let arenas = if self.arenas > 0 { self.arenas + 1 } else { 0 };
        self.threads
            .saturating_mul(self.stack)
            .saturating_add(arenas.saturating_mul(self.arena))
    }
}

impl std::fmt::Display for Reservation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (who, bytes) = (&self.who, crate::error::bytes_text(self.bytes()));
        if self.arenas > 0 {
            write!(
                f,
                "{who} reserved {bytes} for their stacks and malloc arenas \
                 (MALLOC_ARENA_MAX=1 leaves the arenas out)"
            )
        } else {
            write!(f, "{who} reserved {bytes} for their stacks")
        }
    }
}

/// The two memory controllers' file names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CgroupVersion {
    /// `memory.max`, `memory.current`, `memory.stat`, `memory.swap.max` and
    /// `memory.swap.current` (swap alone).
    V2,
    /// `memory.limit_in_bytes`, `memory.usage_in_bytes`, `memory.stat` (`total_` figures
    /// for the hierarchy), `memory.memsw.limit_in_bytes` and `memory.memsw.usage_in_bytes`
    /// (memory and swap together).
    V1,
}

/// The memory controller a line of `/proc/self/cgroup` names, with the mount it lives
/// under and the cgroup's path: `0::/path` for cgroup v2, `N:…,memory,…:/path` for v1.
fn memory_cgroup(line: &str) -> Option<(CgroupVersion, &'static str, &str)> {
    if let Some(path) = line.strip_prefix("0::") {
        return Some((CgroupVersion::V2, "/sys/fs/cgroup", path));
    }
    let (_, rest) = line.split_once(':')?;
    let (controllers, path) = rest.split_once(':')?;
    controllers.split(',').any(|c| c == "memory").then_some((
        CgroupVersion::V1,
        "/sys/fs/cgroup/memory",
        path,
    ))
}

/// The room under the limit of the cgroup `path` (as `/proc/self/cgroup` names it) below
/// `root`, and under that of each of its ancestors that has a limit: the limit less the
/// usage (page cache not counted as used), plus the swap the cgroup may still use (at most
/// `swap_free`). A cgroup whose folder is absent (a container sees its own cgroup as the
/// root) is skipped; a path that leaves its namespace (`..`) gives nothing.
fn cgroup_rooms(version: CgroupVersion, root: &Path, path: &str, swap_free: u64) -> Vec<u64> {
    use std::path::Component;
    let path = Path::new(path.trim_end());
    if path.components().any(|c| c == Component::ParentDir) {
        return Vec::new();
    }
    let (limit, usage, prefix, swap_limit, swap_usage) = match version {
        CgroupVersion::V2 => (
            "memory.max",
            "memory.current",
            "",
            "memory.swap.max",
            "memory.swap.current",
        ),
        CgroupVersion::V1 => (
            "memory.limit_in_bytes",
            "memory.usage_in_bytes",
            "total_",
            "memory.memsw.limit_in_bytes",
            "memory.memsw.usage_in_bytes",
        ),
    };
    let mut rooms = Vec::new();
    let mut dir = root.to_path_buf();
    dir.extend(
        path.components()
            .filter(|c| matches!(c, Component::Normal(_))),
    );
    loop {
        let file = |name: &str| std::fs::read_to_string(dir.join(name)).ok();
        if let (Some(max), Some(current)) = (file(limit), file(usage)) {
            let cache = file("memory.stat").map_or(0, |stat| page_cache(&stat, prefix));
            if let Some(room) = cgroup_room(&max, &current, cache) {
                // Without swap accounting (files absent) or a swap limit, all free swap.
                let swap = match (file(swap_limit), file(swap_usage)) {
                    (Some(max), Some(current)) => match version {
                        CgroupVersion::V2 => cgroup_room(&max, &current, 0),
                        // memsw counts memory (page cache included) and swap together.
                        CgroupVersion::V1 => cgroup_room(&max, &current, cache)
                            .map(|total| total.saturating_sub(room)),
                    }
                    .map_or(swap_free, |swap| swap.min(swap_free)),
                    _ => swap_free,
                };
                rooms.push(room.saturating_add(swap));
            }
        }
        if dir == root || !dir.pop() {
            return rooms;
        }
    }
}

/// The number after `name` on the line of `text` that starts with it (`MemAvailable:
/// 123 kB` gives 123).
fn keyed_number(text: &str, name: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with(name))?;
    line[name.len()..].split_whitespace().next()?.parse().ok()
}

/// Page cache a cgroup's `memory.stat` reports (`active_file + inactive_file`, with
/// cgroup v1's `total_` prefix for the hierarchy): clean file pages the kernel reclaims
/// before it refuses memory.
fn page_cache(stat: &str, prefix: &str) -> u64 {
    ["active_file", "inactive_file"]
        .iter()
        .filter_map(|name| keyed_number(stat, &format!("{prefix}{name} ")))
        .fold(0, u64::saturating_add)
}

/// Room under a cgroup's limit: `max − (current − cache)`; `None` without a limit (`max`
/// in cgroup v2, a figure of 2⁶² or more in v1) or when a figure does not parse.
fn cgroup_room(max: &str, current: &str, cache: u64) -> Option<u64> {
    let max: u64 = max.trim().parse().ok()?;
    let current: u64 = current.trim().parse().ok()?;
    (max < 1 << 62).then(|| max.saturating_sub(current.saturating_sub(cache)))
}

/// Room under the soft address-space limit of `/proc/self/limits` (`Max address space`)
/// given `VmSize` of `/proc/self/status`; `None` when the limit is `unlimited`. What new
/// threads reserve is subtracted by the caller (see [`Reservation`]).
fn address_space_room(limits: &str, status: &str) -> Option<u64> {
    let limit = keyed_number(limits, "Max address space")?;
    let used = keyed_number(status, "VmSize:")?.saturating_mul(1024);
    Some(limit.saturating_sub(used))
}

/// Refuses, before anything big is allocated, a run whose [`memory_plan`] exceeds the
/// memory available ([`available_memory`]), counting against `ulimit -v` also what its
/// worker threads and corpus reader reserve ([`Reservation`]).
pub(crate) fn check_memory(config: &TrainConfig, n_words: usize, stage: Stage) -> Result<()> {
    check_plan(
        memory_plan(config, n_words, stage),
        &Reservation::for_trainer(config.threads()),
    )
}

/// As [`check_memory`], for the course's trainer ([`course_memory_plan`]).
pub(crate) fn check_course_memory(
    config: &TrainConfig,
    n_words: usize,
    batch_size: usize,
) -> Result<()> {
    // The course trains on the calling thread.
    check_plan(
        course_memory_plan(config, n_words, batch_size),
        &Reservation::none(),
    )
}

/// Checks `parts` against [`available_memory`]; where that cannot be read, only against
/// the most any allocation may ask for (`isize::MAX` bytes), so that an absurd plan is
/// refused on every system instead of panicking where it allocates.
fn check_plan(parts: Vec<(String, u64)>, reserved: &Reservation) -> Result<()> {
    let (available, source) = available_memory(reserved).unwrap_or_else(|| {
        (
            isize::MAX as u64,
            "can be allocated at all (isize::MAX)".to_owned(),
        )
    });
    check_plan_against(parts, available, source)
}

fn check_plan_against(parts: Vec<(String, u64)>, available: u64, source: String) -> Result<()> {
    let needed = parts
        .iter()
        .fold(0_u64, |sum, (_, b)| sum.saturating_add(*b));
    if needed <= available {
        return Ok(());
    }
    let breakdown = parts
        .iter()
        .filter(|(_, bytes)| *bytes > 0)
        .map(|(what, bytes)| format!("{what}: {}", crate::error::bytes_text(*bytes)))
        .collect::<Vec<_>>()
        .join(", ");
    Err(Error::OutOfMemory {
        needed,
        available,
        breakdown,
        source_of_limit: source,
    })
}

#[cfg(test)]
mod memory_tests {
    use super::*;

    fn config(threads: usize, dim: usize, interaction_learning_rate: f32) -> TrainConfig {
        TrainConfig::builder()
            .threads(threads)
            .dim(dim)
            .interaction_learning_rate(interaction_learning_rate)
            // The plain model with W's SGD step: the figures below count W alone.
            .interaction_optimizer(crate::InteractionOptimizer::Sgd)
            .offset_interactions(crate::OffsetInteractionKind::None)
            .subwords(None)
            .build()
            .unwrap()
    }

    #[test]
    fn subwords_are_estimated_before_the_model_exists() {
        let plain = config(1, 100, 0.0);
        let with = plain
            .to_builder()
            .subwords(Some(Default::default()))
            .build()
            .unwrap();
        let before =
            total(&with, 10_000, Stage::BeforeModel) - total(&plain, 10_000, Stage::BeforeModel);
        // Three lengths: 30 000 rows of 400 bytes and 64 of text, and 10 000 words' ids.
        assert_eq!(before, 30_000 * (400 + 64) + 10_000 * (8 * 3 * 4 + 8));
        let after = total(&with, 10_000, Stage::BeforeTraining)
            - total(&plain, 10_000, Stage::BeforeTraining);
        assert_eq!(after, 0);
    }

    fn total(config: &TrainConfig, n_words: usize, stage: Stage) -> u64 {
        memory_plan(config, n_words, stage)
            .iter()
            .map(|(_, b)| b)
            .sum()
    }

    #[test]
    fn a_frozen_interaction_is_not_counted_per_thread() {
        let frozen = config(32, 2000, 0.0);
        let trained = config(32, 2000, 0.001);
        let plan = memory_plan(&frozen, 1000, Stage::BeforeTraining);
        let (_, per_threads) = plan.last().unwrap();
        // Block buffers and queued chunks only: 32 × (4 × 64 × 2000 + 2 × 10 100) floats.
        assert_eq!(*per_threads, 32 * (4 * 64 * 2000 + 2 * 10_100) * 4);
        let (_, trained_threads) = memory_plan(&trained, 1000, Stage::BeforeTraining)
            .last()
            .cloned()
            .unwrap();
        // Plus a copy and a base of W (SGD) per thread.
        assert_eq!(trained_threads - per_threads, 32 * 2 * 2000 * 2000 * 4);
    }

    #[test]
    fn the_model_is_counted_only_before_it_exists() {
        let config = config(1, 100, 0.0);
        let before = total(&config, 10_000, Stage::BeforeModel);
        let after = total(&config, 10_000, Stage::BeforeTraining);
        assert_eq!(before - after, (2 * 10_000 * 100 + 100 * 100) * 4);
    }

    #[test]
    fn only_what_does_not_fit_is_refused() {
        // A million words at dimension 300 on 8 threads with a trained W: about 2.4 GB.
        let config = config(8, 300, 0.001);
        let needed = total(&config, 1_000_000, Stage::BeforeModel);
        assert!(needed > 2_400_000_000 && needed < 2_600_000_000, "{needed}");
        let plan = || memory_plan(&config, 1_000_000, Stage::BeforeModel);
        assert!(check_plan_against(plan(), needed, String::new()).is_ok());
        let error = check_plan_against(plan(), needed - 1, "are free".to_owned()).unwrap_err();
        let message = error.to_string();
        assert!(matches!(error, Error::OutOfMemory { .. }));
        assert!(
            message.contains("U and V: 2.2 GiB") && message.contains("8 threads"),
            "{message}"
        );
    }

    #[test]
    fn a_course_batch_is_counted_and_refused_when_it_cannot_fit() {
        let config = config(1, 50, 0.0);
        let plan = course_memory_plan(&config, 1000, 2_000_000_000);
        // Ids: S × 7 usize; a step: S × 7 × 100 + 50² floats.
        let id = std::mem::size_of::<usize>() as u64;
        let batch = 2_000_000_000_u64 * 7 * id + (2_000_000_000 * 7 * 100 + 2500) * 4;
        assert_eq!(plan[1], ("a batch of 2000000000".to_owned(), batch));
        let message = check_plan_against(plan, 1 << 30, "are free".to_owned())
            .unwrap_err()
            .to_string();
        assert!(message.contains("a batch of 2000000000: "), "{message}");
        let huge = course_memory_plan(&config, 1000, usize::MAX);
        assert_eq!(huge[1].1, u64::MAX);
    }

    #[test]
    fn threads_reserve_a_stack_each_and_arenas_up_to_the_allocators_limit() {
        const MIB: u64 = 1 << 20;
        let who = || "8 workers and the corpus reader have".to_owned();
        // glibc, 64-bit, no arena cap: 9 new arenas and one being aligned.
        let nine = Reservation::new(who(), (9, 0), 2 * MIB, (64 * MIB, u64::MAX));
        assert_eq!(nine.bytes(), 9 * 2 * MIB + 10 * 64 * MIB);
        assert_eq!(
            nine.to_string(),
            "8 workers and the corpus reader have reserved 658.0 MiB for their stacks and \
             malloc arenas (MALLOC_ARENA_MAX=1 leaves the arenas out)"
        );
        // MALLOC_ARENA_MAX counts the main arena: 2 allows one more, 1 none.
        let two = Reservation::new(who(), (9, 0), 2 * MIB, (64 * MIB, 2));
        assert_eq!(two.bytes(), 18 * MIB + 2 * 64 * MIB);
        let shared = Reservation::new(who(), (9, 0), 2 * MIB, (64 * MIB, 1));
        assert_eq!(shared.bytes(), 18 * MIB);
        assert_eq!(
            shared.to_string(),
            "8 workers and the corpus reader have reserved 18.0 MiB for their stacks"
        );
        // The arenas of an earlier run's 5 threads exist already; a run of 3 adds none.
        let again = Reservation::new(who(), (9, 5), 2 * MIB, (64 * MIB, u64::MAX));
        assert_eq!(again.bytes(), 18 * MIB + 5 * 64 * MIB);
        let fewer = Reservation::new(who(), (3, 5), 2 * MIB, (64 * MIB, u64::MAX));
        assert_eq!(fewer.bytes(), 6 * MIB);
        // Another allocator reserves no arenas; the course starts no thread.
        let other = Reservation::new(who(), (3, 0), 2 * MIB, (0, u64::MAX));
        assert_eq!(other.bytes(), 6 * MIB);
        assert_eq!(Reservation::none().bytes(), 0);
    }

    fn write_cgroup(dir: &Path, files: &[(&str, &str)]) {
        std::fs::create_dir_all(dir).unwrap();
        for (name, text) in files {
            std::fs::write(dir.join(name), text).unwrap();
        }
    }

    #[test]
    fn every_cgroup_from_the_process_up_to_the_root_is_consulted() {
        let root = tempfile::tempdir().unwrap();
        let slice = root.path().join("user.slice");
        // No limit on the leaf, one on its parent (with page cache), none at the root; no
        // swap accounting: all free swap counts.
        write_cgroup(
            &slice.join("session.scope"),
            &[("memory.max", "max\n"), ("memory.current", "100\n")],
        );
        write_cgroup(
            &slice,
            &[
                ("memory.max", "5000\n"),
                ("memory.current", "1000\n"),
                ("memory.stat", "active_file 200\ninactive_file 300\n"),
            ],
        );
        write_cgroup(
            root.path(),
            &[("memory.max", "max\n"), ("memory.current", "9000\n")],
        );
        let rooms = |path: &str, swap_free: u64| {
            cgroup_rooms(CgroupVersion::V2, root.path(), path, swap_free)
        };
        assert_eq!(
            rooms("/user.slice/session.scope\n", 0),
            [5000 - (1000 - 500)]
        );
        assert_eq!(rooms("/user.slice/session.scope", 700), [4500 + 700]);
        // A swap limit: what is left of it, at most the free swap.
        write_cgroup(
            &slice,
            &[
                ("memory.swap.max", "1000\n"),
                ("memory.swap.current", "400\n"),
            ],
        );
        assert_eq!(rooms("/user.slice", 10_000), [4500 + 600]);
        assert_eq!(rooms("/user.slice", 100), [4500 + 100]);
        write_cgroup(&slice, &[("memory.swap.max", "max\n")]);
        assert_eq!(rooms("/user.slice", 100), [4500 + 100]);
        // A cgroup whose folder is absent: its ancestors still count.
        assert_eq!(rooms("/user.slice/gone.scope", 0), [4500]);
        // A path that leaves the namespace names no cgroup here.
        assert!(rooms("/../../user.slice", 0).is_empty());
        assert!(rooms("/", 0).is_empty());
    }

    #[test]
    fn cgroup_v1_counts_memory_and_swap_together() {
        let root = tempfile::tempdir().unwrap();
        let group = root.path().join("docker/abc");
        write_cgroup(
            &group,
            &[
                ("memory.limit_in_bytes", "4000\n"),
                ("memory.usage_in_bytes", "1000\n"),
                ("memory.stat", "active_file 50\ntotal_active_file 100\n"),
            ],
        );
        write_cgroup(
            root.path(),
            &[
                ("memory.limit_in_bytes", "9223372036854771712\n"),
                ("memory.usage_in_bytes", "5000\n"),
            ],
        );
        let rooms =
            |swap_free: u64| cgroup_rooms(CgroupVersion::V1, root.path(), "/docker/abc", swap_free);
        // Memory room 4000 − (1000 − 100); no memsw files: all free swap.
        assert_eq!(rooms(0), [3100]);
        assert_eq!(rooms(500), [3600]);
        // memsw: memory and swap together, 5000 − (1200 − 100) = 3900, so 800 of swap.
        write_cgroup(
            &group,
            &[
                ("memory.memsw.limit_in_bytes", "5000\n"),
                ("memory.memsw.usage_in_bytes", "1200\n"),
            ],
        );
        assert_eq!(rooms(10_000), [3100 + 800]);
        assert_eq!(rooms(300), [3100 + 300]);
        assert_eq!(
            memory_cgroup("4:memory:/docker/abc"),
            Some((CgroupVersion::V1, "/sys/fs/cgroup/memory", "/docker/abc"))
        );
        assert_eq!(
            memory_cgroup("0::/user.slice"),
            Some((CgroupVersion::V2, "/sys/fs/cgroup", "/user.slice"))
        );
        assert_eq!(memory_cgroup("3:cpu,cpuacct:/"), None);
    }

    #[test]
    fn limits_are_read_from_the_kernels_text() {
        let meminfo = "MemTotal:       24000000 kB\nMemAvailable:    1000 kB\nSwapFree: 0 kB\n";
        assert_eq!(keyed_number(meminfo, "MemAvailable:"), Some(1000));
        assert_eq!(keyed_number(meminfo, "Missing:"), None);
        // cgroup v2: limit, usage, and clean page cache that does not count as used.
        let stat = "anon 100\nfile 900\nactive_file 300\ninactive_file 500\n";
        assert_eq!(page_cache(stat, ""), 800);
        assert_eq!(cgroup_room("4000\n", "3000\n", 800), Some(1800));
        assert_eq!(cgroup_room("max\n", "3000\n", 0), None);
        // cgroup v1 reports "no limit" as a huge figure, and its hierarchy with `total_`.
        assert_eq!(cgroup_room("9223372036854771712\n", "3000\n", 0), None);
        let v1 = "active_file 1\ntotal_active_file 10\ntotal_inactive_file 20\n";
        assert_eq!(page_cache(v1, "total_"), 30);
        // Usage above the limit leaves no room, without wrapping around.
        assert_eq!(cgroup_room("100", "300", 0), Some(0));
        let limits = "Limit                     Soft Limit           Hard Limit           Units\n\
                      Max address space         4000000000           unlimited            bytes\n";
        let status = "Name:\tcourse\nVmSize:\t    3892 kB\n";
        assert_eq!(
            address_space_room(limits, status),
            Some(4_000_000_000 - 3892 * 1024)
        );
        let unlimited =
            "Max address space         unlimited            unlimited            bytes\n";
        assert_eq!(address_space_room(unlimited, status), None);
    }
}
