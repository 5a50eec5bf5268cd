#!/usr/bin/env python3
"""The course's bilinear skip-gram trainer in plain numpy, timed in pairs per second.

Not part of the crate's build or CI. Needs `pip install numpy`.

    python3 benches/course_numpy.py CORPUS.txt [--dim 50] [--window 3] [--negatives 5]
        [--batch 1000] [--min-count 5] [--max-pairs 2000000] [--learning-rate 1.0]

The model and the update are the crate's `course_minibatch_step`: for a focus word w, its
observed context c and n negatives drawn from the unigram distribution raised to 0.75,
h = W u_w, s = Ṽ h, g = σ(s) − δ, e = Ṽᵀ g, and

    J = softplus(−s_0) + Σ_j softplus(s_j)
    ∂J/∂u_w = Wᵀ e      ∂J/∂Ṽ = g ⊗ h      ∂J/∂W = e u_wᵀ

averaged over a batch of S observations (pairs). Per batch the script computes the mean
loss and the gradients of the U rows, the V rows and W with numpy, then applies them:
U[w] −= α ∂J/∂u, V[rows] −= α ∂J/∂Ṽ, W −= α ∂J/∂W, with the course's fancy-index
assignment (a row that occurs several times in one batch keeps one of its updates, as the
course does; `--add-at` applies every update with `np.add.at`, as the crate does, and is
slower). U, V and W start uniform in ±0.5/M, as in the course.

Pairs come from a fixed window (every context within `--window` positions of the focus
word, inside a line), no subsampling, one epoch; they are generated up front and not timed.
Prints pairs/s of the timed part: the batches (sampling negatives, gradients and updates).

BLAS runs on one thread (OPENBLAS_NUM_THREADS, OMP_NUM_THREADS and MKL_NUM_THREADS are set
to 1 unless already set), so the figure is per thread like the crate's; on a busy 2-core
machine OpenBLAS's own threads otherwise slow the small products down several times.
"""
import argparse
import collections
import os
import time

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402  (after the thread settings)


def read_ids(path, min_count, max_tokens):
    counts = collections.Counter()
    lines = []
    n = 0
    with open(path, encoding="utf-8") as f:
        for line in f:
            tokens = line.split()
            if max_tokens and n + len(tokens) > max_tokens:
                tokens = tokens[: max_tokens - n]
            counts.update(tokens)
            lines.append(tokens)
            n += len(tokens)
            if max_tokens and n >= max_tokens:
                break
    words = [w for w, c in counts.items() if c >= min_count]
    index = {w: i for i, w in enumerate(words)}
    freq = np.array([counts[w] for w in words], dtype=np.float64)
    ids = [np.array([index[t] for t in tokens if t in index], dtype=np.int64) for tokens in lines]
    return ids, freq, n


def pairs_of(ids, window):
    focus, context = [], []
    for sentence in ids:
        for offset in range(1, window + 1):
            if len(sentence) > offset:
                focus.extend((sentence[:-offset], sentence[offset:]))
                context.extend((sentence[offset:], sentence[:-offset]))
    return np.concatenate(focus), np.concatenate(context)


def sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def softplus(x):
    return np.maximum(x, 0.0) + np.log1p(np.exp(-np.abs(x)))


def step(U, V, W, w, rows, rate, add_at):
    """One minibatch SGD step on the mean loss of the batch; returns the mean loss."""
    S = len(w)
    u = U[w]                                   # S×M
    h = u @ W.T                                # S×M, h = W u_w
    C = V[rows]                                # S×(n+1)×M
    s = np.einsum("skm,sm->sk", C, h)          # scores
    delta = np.zeros_like(s)
    delta[:, 0] = 1.0
    g = sigmoid(s) - delta
    loss = (softplus(-s[:, 0]).sum() + softplus(s[:, 1:]).sum()) / S
    e = np.einsum("sk,skm->sm", g, C)          # Ṽᵀ g
    d_u = (e @ W) / S                          # rows of Wᵀ e
    d_c = (g[:, :, None] * h[:, None, :]) / S  # g ⊗ h
    d_w = (e.T @ u) / S                        # mean of e u_wᵀ
    if add_at:
        np.add.at(U, w, -rate * d_u)
        np.add.at(V, rows.ravel(), -rate * d_c.reshape(-1, d_c.shape[2]))
    else:
        # `X[i] = X[i] - d` has the semantics of the course's `X[i] -= d` (the last
        # write of a repeated row wins) and runs several times faster in numpy 2.
        U[w] = U[w] - rate * d_u
        V[rows] = V[rows] - rate * d_c
    W -= rate * d_w
    return loss


def main():
    p = argparse.ArgumentParser()
    p.add_argument("corpus")
    p.add_argument("--dim", type=int, default=50)
    p.add_argument("--window", type=int, default=3)
    p.add_argument("--negatives", type=int, default=5)
    p.add_argument("--batch", type=int, default=1000)
    p.add_argument("--min-count", type=int, default=5)
    p.add_argument("--max-tokens", type=int, default=0, help="read at most this many tokens")
    p.add_argument("--max-pairs", type=int, default=2_000_000, help="train on at most this many pairs")
    p.add_argument("--learning-rate", type=float, default=1.0)
    p.add_argument("--add-at", action="store_true", help="apply every update of repeated rows")
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args()

    rng = np.random.default_rng(a.seed)
    ids, freq, n_tokens = read_ids(a.corpus, a.min_count, a.max_tokens)
    focus, context = pairs_of(ids, a.window)
    order = rng.permutation(len(focus))[: a.max_pairs] if a.max_pairs else rng.permutation(len(focus))
    order.sort()  # corpus order, as the course generates them
    focus, context = focus[order], context[order]
    noise = freq ** 0.75
    noise /= noise.sum()
    cumulative = np.cumsum(noise)

    M, V_words = a.dim, len(freq)
    U = rng.uniform(-0.5 / M, 0.5 / M, (V_words, M)).astype(np.float32)
    V = rng.uniform(-0.5 / M, 0.5 / M, (V_words, M)).astype(np.float32)
    W = rng.uniform(-0.5 / M, 0.5 / M, (M, M)).astype(np.float32)

    n_pairs = len(focus) - len(focus) % a.batch
    losses = []
    start = time.perf_counter()
    for b in range(0, n_pairs, a.batch):
        w = focus[b : b + a.batch]
        negatives = np.searchsorted(cumulative, rng.random((a.batch, a.negatives)), side="right")
        negatives = np.minimum(negatives, V_words - 1)
        rows = np.concatenate([context[b : b + a.batch, None], negatives], axis=1)
        losses.append(step(U, V, W, w, rows, np.float32(a.learning_rate), a.add_at))
    seconds = time.perf_counter() - start
    print(
        f"numpy course trainer: dim {M} window {a.window} negatives {a.negatives} batch {a.batch}: "
        f"{n_pairs} pairs in {seconds:.2f} s = {n_pairs / seconds:.0f} pairs/s "
        f"({n_tokens} tokens read, {V_words} vocabulary words, "
        f"mean loss first/last batch {losses[0]:.4f}/{losses[-1]:.4f}, numpy {np.__version__})"
    )


if __name__ == "__main__":
    main()
