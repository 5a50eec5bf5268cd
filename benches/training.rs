//! Criterion benches of the trainer: the negative sampler, the step per centre word and a
//! small epoch per mode.
//!
//! ```text
//! cargo bench --bench training -- --warm-up-time 1 --measurement-time 3
//! ```

use std::hint::black_box;
use std::io::Write;

use bilinear_skipgram::bench_support::time_sentence;
use bilinear_skipgram::{
    Corpus, EmbeddingInit, Model, NegativeSampler, NoProgress, TrainConfig, VocabBuilder,
    WindowMode, train_model,
};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use rand::SeedableRng;
use rand::rngs::Xoshiro256PlusPlus;

/// Zipf-like counts over `n` words.
fn zipf_counts(n: usize) -> Vec<u64> {
    (1..=n as u64).map(|rank| 1_000_000 / rank + 1).collect()
}

fn sampler_sample(c: &mut Criterion) {
    let mut group = c.benchmark_group("sampler_sample");
    for n_words in [10_000usize, 100_000, 1_000_000] {
        let sampler = NegativeSampler::new(&zipf_counts(n_words), 0.75).expect("valid counts");
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(1);
        group.throughput(Throughput::Elements(1000));
        group.bench_with_input(BenchmarkId::from_parameter(n_words), &sampler, |b, s| {
            b.iter(|| {
                let mut sum = 0u64;
                for _ in 0..1000 {
                    sum += u64::from(s.sample_index(&mut rng));
                }
                black_box(sum)
            })
        });
    }
    group.finish();
}

/// The trainer's step per centre word: one block of 64 distinct centre words (the default
/// merge interval) in a sentence of 64 words drawn from 10 000 Zipf-distributed words, fixed
/// window 5 (610 pairs, 9.5 per centre word), 5 negatives each, including `H = U_B Wᵀ`, the
/// `U` update `E W` and, in bilinear mode, the `W` update `Eᵀ U_B` merged into the shared
/// `W` and copied back. Throughput in centre words.
fn centre_step(c: &mut Criterion) {
    let n_words = 10_000;
    let counts = zipf_counts(n_words);
    let sampler = NegativeSampler::new(&counts, 1.0).expect("valid counts");
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(3);
    let mut sentence: Vec<u32> = Vec::new();
    while sentence.len() < 64 {
        let word = sampler.sample_index(&mut rng);
        if !sentence.contains(&word) {
            sentence.push(word);
        }
    }
    let mut group = c.benchmark_group("centre_step");
    group.throughput(Throughput::Elements(sentence.len() as u64));
    for dim in [50usize, 100, 300] {
        for (mode, interaction_rate) in [("bilinear", 0.0025_f32), ("frozen", 0.0)] {
            let config = TrainConfig::builder()
                .dim(dim)
                .window(5)
                .window_mode(WindowMode::Fixed)
                .threads(1)
                .embedding_init(EmbeddingInit::Uniform)
                .interaction_learning_rate(interaction_rate)
                // A synthetic vocabulary has no words to take n-grams of.
                .subwords(None)
                .build()
                .expect("valid config");
            let mut model = Model::for_config(&config, n_words);
            group.bench_function(BenchmarkId::new(mode, dim), |b| {
                b.iter_custom(|iters| {
                    time_sentence(&config, &counts, &mut model, &sentence, iters)
                        .expect("trains")
                        .0
                })
            });
        }
    }
    group.finish();
}

/// One epoch over a synthetic corpus of 100 000 tokens (Zipf over 5 000 words), one thread,
/// for `W` trained (bilinear) and frozen; throughput in corpus words.
fn epoch_tiny(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("corpus.txt");
    let n_words = 5_000;
    let sampler = NegativeSampler::new(&zipf_counts(n_words), 1.0).expect("valid counts");
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(2);
    let mut file = std::fs::File::create(&path).expect("create");
    let n_tokens = 100_000;
    for i in 0..n_tokens {
        let word = sampler.sample_index(&mut rng);
        let end = if i % 20 == 19 { "\n" } else { " " };
        write!(file, "w{word}{end}").expect("write");
    }
    drop(file);

    let mut group = c.benchmark_group("epoch_tiny");
    group.sample_size(10);
    group.throughput(Throughput::Elements(n_tokens));
    for dim in [50usize, 100, 300] {
        for (mode, interaction_rate) in [("bilinear", 0.0025_f32), ("frozen", 0.0)] {
            let config = TrainConfig::builder()
                .dim(dim)
                .epochs(1)
                .threads(1)
                .min_count(1)
                .interaction_learning_rate(interaction_rate)
                .build()
                .expect("valid config");
            let corpus = Corpus::new([&path], config.corpus_options().clone());
            let vocab = VocabBuilder::count_corpus(&corpus)
                .expect("counts")
                .build(1, None, config.oov())
                .expect("vocabulary");
            let start = Model::for_vocab(&config, &vocab).expect("model");
            group.bench_function(BenchmarkId::new(mode, dim), |b| {
                b.iter(|| {
                    let mut model = start.clone();
                    train_model(&config, &vocab, &mut model, &corpus, NoProgress).expect("trains")
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, sampler_sample, centre_step, epoch_tiny);
criterion_main!(benches);
