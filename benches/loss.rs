//! Benchmarks of the loss and its gradients in `f32`, `n = 5` negatives, for `M` in
//! {50, 100, 300}:
//!
//! * `loss_grad/single/M`: [`loss_and_gradient`] (allocates its result).
//! * `loss_grad/batched_1000/M`: [`loss_and_gradient_batched`] on `S = 1000`
//!   observations sharing `W` (throughput in observations).
//! * `loss_grad/accumulate/M`: [`accumulate_loss_and_gradient`] into preallocated buffers
//!   with a reused [`Workspace`] (the training loop's path; allocates nothing).
//!
//! Run with `cargo bench --bench loss`, or quickly with
//! `cargo bench --bench loss -- --warm-up-time 1 --measurement-time 2`.

use std::hint::black_box;

use bilinear_skipgram::loss::{
    GradientsMut, Workspace, accumulate_loss_and_gradient, loss_and_gradient,
    loss_and_gradient_batched,
};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ndarray::{Array, Array1, Array2, Array3, Dimension, ShapeBuilder};
use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};

const DIMS: [usize; 3] = [50, 100, 300];
const NEGATIVES: usize = 5;
const BATCH: usize = 1000;
const SEED: u64 = 0x5EED_1055;

/// Entries uniform in `[-scale/2, scale/2)`.
fn random<D: Dimension>(
    rng: &mut Xoshiro256PlusPlus,
    shape: impl ShapeBuilder<Dim = D>,
    scale: f32,
) -> Array<f32, D> {
    Array::from_shape_simple_fn(shape, || (rng.random::<f32>() - 0.5) * scale)
}

/// One observation's inputs for dimension `m`; `W` is scaled by `1/√M` so that the
/// scores stay of order one (not saturated) at every `M`.
fn observation(rng: &mut Xoshiro256PlusPlus, m: usize) -> (Array1<f32>, Array2<f32>, Array2<f32>) {
    let focus = random(rng, m, 1.0);
    let contexts = random(rng, (NEGATIVES + 1, m), 1.0);
    let interaction = random(rng, (m, m), 2.0 / (m as f32).sqrt());
    (focus, contexts, interaction)
}

fn single(c: &mut Criterion) {
    let mut group = c.benchmark_group("loss_grad/single");
    group.throughput(Throughput::Elements(1));
    for m in DIMS {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(SEED);
        let (u, contexts, w) = observation(&mut rng, m);
        group.bench_with_input(BenchmarkId::from_parameter(m), &m, |b, _| {
            b.iter(|| {
                loss_and_gradient(
                    black_box(u.view()),
                    black_box(contexts.view()),
                    black_box(w.view()),
                    None,
                )
                .expect("consistent shapes")
            });
        });
    }
    group.finish();
}

fn batched(c: &mut Criterion) {
    let mut group = c.benchmark_group("loss_grad/batched_1000");
    group.throughput(Throughput::Elements(BATCH as u64));
    for m in DIMS {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(SEED);
        let u: Array2<f32> = random(&mut rng, (BATCH, m), 1.0);
        let contexts: Array3<f32> = random(&mut rng, (BATCH, NEGATIVES + 1, m), 1.0);
        let w: Array2<f32> = random(&mut rng, (m, m), 2.0 / (m as f32).sqrt());
        group.bench_with_input(BenchmarkId::from_parameter(m), &m, |b, _| {
            b.iter(|| {
                loss_and_gradient_batched(
                    black_box(u.view()),
                    black_box(contexts.view()),
                    black_box(w.view()),
                    None,
                )
                .expect("consistent shapes")
            });
        });
    }
    group.finish();
}

fn accumulate(c: &mut Criterion) {
    let mut group = c.benchmark_group("loss_grad/accumulate");
    group.throughput(Throughput::Elements(1));
    for m in DIMS {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(SEED);
        let (u, contexts, w) = observation(&mut rng, m);
        let mut focus_grad = Array1::<f32>::zeros(m);
        let mut contexts_grad = Array2::<f32>::zeros((NEGATIVES + 1, m));
        let mut interaction_grad = Array2::<f32>::zeros((m, m));
        let mut workspace = Workspace::new(m, NEGATIVES + 1);
        group.bench_with_input(BenchmarkId::from_parameter(m), &m, |b, _| {
            b.iter(|| {
                accumulate_loss_and_gradient(
                    black_box(u.view()),
                    black_box(contexts.view()),
                    black_box(w.view()),
                    None,
                    black_box(1e-3),
                    GradientsMut {
                        focus: focus_grad.view_mut(),
                        contexts: contexts_grad.view_mut(),
                        interaction: interaction_grad.view_mut(),
                    },
                    &mut workspace,
                )
                .expect("consistent shapes")
            });
        });
        black_box((&focus_grad, &contexts_grad, &interaction_grad));
    }
    group.finish();
}

criterion_group!(benches, single, batched, accumulate);
criterion_main!(benches);
