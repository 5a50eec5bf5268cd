//! Load: more threads than cores, a vocabulary of 1 000 000 words and dimension 300, within
//! the memory the parameters need. Slow (about 4 minutes on 2 busy cores) and 2.5 GB of memory,
//! so ignored by default:
//!
//! ```sh
//! cargo test --release --test load -- --ignored --nocapture
//! ```

use std::fs::File;
use std::io::{BufWriter, Write};

use bilinear_skipgram::{
    Corpus, Model, NegativeSampler, NoProgress, OovPolicy, TrainConfig, Vocab, train_model,
};
use rand::SeedableRng;
use rand::rngs::Xoshiro256PlusPlus;

const N_WORDS: usize = 1_000_000;
const DIM: usize = 300;
const THREADS: usize = 4;
const N_TOKENS: usize = 4_000_000;
const SENTENCE: usize = 25;
const MIB: f64 = 1024.0 * 1024.0;

/// A field of `/proc/self/status` in bytes (`VmRSS`, `VmHWM`), or `None` without `/proc`.
fn status_bytes(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

#[test]
#[ignore = "minutes and 2.5 GB: cargo test --release --test load -- --ignored --nocapture"]
fn a_million_words_of_dimension_300_on_more_threads_than_cores() {
    let Some(rss_start) = status_bytes("VmRSS:") else {
        eprintln!("skipped: /proc/self/status is not available to measure the peak RSS");
        return;
    };
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());

    // Zipf counts over a million words, built through the public constructor.
    let vocab = Vocab::from_counts(
        (0..N_WORDS).map(|rank| (format!("w{rank}"), 1 + 1_000_000 / (rank as u64 + 1))),
        OovPolicy::Drop,
    )
    .expect("vocabulary");
    let rss_vocab = status_bytes("VmRSS:").expect("proc");

    // A corpus drawn from the same distribution, written as it is drawn.
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("zipf.txt");
    {
        let sampler = NegativeSampler::new(vocab.counts(), 1.0).expect("sampler");
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(1);
        let mut out = BufWriter::new(File::create(&path).expect("create"));
        for i in 0..N_TOKENS {
            let id = sampler.sample_index(&mut rng) as usize;
            let word = vocab.word(id).expect("id in range");
            let end = if (i + 1) % SENTENCE == 0 { b"\n" } else { b" " };
            out.write_all(word.as_bytes()).expect("write");
            out.write_all(end).expect("write");
        }
        out.flush().expect("flush");
    }
    let corpus_bytes = std::fs::metadata(&path).expect("metadata").len();
    let rss_setup = status_bytes("VmRSS:").expect("proc");

    let config = TrainConfig::builder()
        .dim(DIM)
        .threads(THREADS)
        .epochs(1)
        .min_count(1)
        .build()
        .expect("valid");
    let mut model = Model::for_vocab(&config, &vocab).expect("model");
    let corpus = Corpus::new([&path], config.corpus_options().clone());
    let report = train_model(&config, &vocab, &mut model, &corpus, NoProgress).expect("trains");
    let peak = status_bytes("VmHWM:").expect("proc");

    // What training needs on top of the set-up: U and V; W, its shared copy and one copy per
    // thread; the alias table (8 bytes a word) and probabilities (8) of the sampler; the
    // keep probabilities (4); per thread four `merge_interval × M` blocks of f32.
    let n = N_WORDS as u64;
    let m = DIM as u64;
    let threads = THREADS as u64;
    let embeddings = 2 * n * m * 4;
    let interaction = (2 + threads) * m * m * 4;
    let tables = n * (8 + 8 + 4);
    let blocks = threads * 4 * 64 * m * 4;
    let parameters = embeddings + interaction + tables + blocks;
    // Margin: the sampler's construction (weights and work lists, about 24 bytes a word,
    // freed before training), chunks of word ids in flight, thread stacks, allocator slack.
    let margin = 32 * 1024 * 1024;
    let limit = rss_setup + parameters + margin;

    eprintln!("cores: {cores}, threads: {THREADS}");
    eprintln!(
        "corpus: {N_TOKENS} tokens, {:.1} MiB; trained {} words, {} pairs in {:.1} s",
        corpus_bytes as f64 / MIB,
        report.words,
        report.pairs,
        report.seconds
    );
    eprintln!(
        "RSS at start:                     {:8.1} MiB",
        rss_start as f64 / MIB
    );
    eprintln!(
        "vocabulary (RSS growth):          {:8.1} MiB",
        (rss_vocab - rss_start) as f64 / MIB
    );
    eprintln!(
        "RSS after set-up (vocab, corpus): {:8.1} MiB",
        rss_setup as f64 / MIB
    );
    eprintln!(
        "U + V:                            {:8.1} MiB",
        embeddings as f64 / MIB
    );
    eprintln!(
        "W copies:                         {:8.1} MiB",
        interaction as f64 / MIB
    );
    eprintln!(
        "sampler + keep tables:            {:8.1} MiB",
        tables as f64 / MIB
    );
    eprintln!(
        "per-thread blocks:                {:8.1} MiB",
        blocks as f64 / MIB
    );
    eprintln!(
        "limit = set-up + above + 32 MiB:  {:8.1} MiB",
        limit as f64 / MIB
    );
    eprintln!(
        "peak RSS (VmHWM):                 {:8.1} MiB",
        peak as f64 / MIB
    );
    eprintln!(
        "peak - set-up:                    {:8.1} MiB (parameters {:.1} MiB)",
        (peak - rss_setup) as f64 / MIB,
        parameters as f64 / MIB
    );

    assert_eq!(report.words, N_TOKENS as u64);
    assert!(model.focus_embeddings().iter().all(|x| x.is_finite()));
    assert!(
        peak <= limit,
        "peak RSS {peak} above the limit {limit} (set-up {rss_setup} + parameters {parameters} + margin {margin})"
    );
}
