//! Criterion benches of the trainer's kernels, for `M` in {50, 100, 300}:
//!
//! * `kernels/dot/M`: one dot product of two rows.
//! * `kernels/axpy/M`: one `y += α x` on a row.
//! * `kernels/logistic`: σ and the loss term from the table for 1000 scores in ±10
//!   (a few outside the table, as in training).
//!
//! ```text
//! cargo bench --bench kernels -- --warm-up-time 1 --measurement-time 3
//! ```

use std::hint::black_box;

use bilinear_skipgram::bench_support::{axpy, dot, gain_and_loss};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};

const DIMS: [usize; 3] = [50, 100, 300];
const SEED: u64 = 0x5EED_0006;

fn row(rng: &mut Xoshiro256PlusPlus, m: usize) -> Vec<f32> {
    (0..m).map(|_| rng.random::<f32>() - 0.5).collect()
}

fn kernels(c: &mut Criterion) {
    let mut group = c.benchmark_group("kernels");
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(SEED);
    for m in DIMS {
        let (a, b) = (row(&mut rng, m), row(&mut rng, m));
        group.throughput(Throughput::Elements(m as u64));
        group.bench_with_input(BenchmarkId::new("dot", m), &m, |bench, _| {
            bench.iter(|| dot(black_box(&a), black_box(&b)))
        });
        let mut y = b.clone();
        group.bench_with_input(BenchmarkId::new("axpy", m), &m, |bench, _| {
            bench.iter(|| axpy(black_box(1e-3), black_box(&a), black_box(&mut y)))
        });
    }
    let scores: Vec<f32> = (0..1000)
        .map(|_| (rng.random::<f32>() - 0.5) * 20.0)
        .collect();
    group.throughput(Throughput::Elements(scores.len() as u64));
    group.bench_function("logistic", |bench| {
        bench.iter(|| {
            let mut sum = 0.0_f32;
            for (k, &s) in black_box(&scores).iter().enumerate() {
                let (g, l) = gain_and_loss(s, k % 6 == 0);
                sum += g + l;
            }
            sum
        })
    });
    group.finish();
}

criterion_group!(benches, kernels);
criterion_main!(benches);
