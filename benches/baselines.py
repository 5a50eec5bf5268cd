#!/usr/bin/env python3
"""Trains the reference skip-gram implementations on one corpus with the crate's settings.

Not part of the crate's build or CI. Needs `pip install word2vec gensim` (the word2vec
package builds word2vec's C trainer from source and puts `word2vec` on the PATH).

    python3 benches/baselines.py CORPUS.txt OUT_DIR [--dim 100] [--window 5] [--negatives 5]
        [--sample 1e-3] [--min-count 5] [--epochs 5] [--threads 2] [--alpha 0.025] [--seed 1]

CORPUS.txt must be plain text, one sentence per line, at most 1 000 tokens a line (gensim
truncates longer lines; word2vec C splits them at 1 000). Writes OUT_DIR/word2vec_c.txt and
OUT_DIR/gensim.txt in word2vec text format and prints training seconds and words/s/thread
(corpus tokens x epochs / seconds / threads) for each, so that
`cargo run --release --example evaluate` can score all of them with the same code.
"""
import argparse
import os
import subprocess
import time


def count_tokens(path):
    n = 0
    with open(path, encoding="utf-8") as f:
        for line in f:
            n += len(line.split())
    return n


def main():
    p = argparse.ArgumentParser()
    p.add_argument("corpus")
    p.add_argument("out")
    p.add_argument("--dim", type=int, default=100)
    p.add_argument("--window", type=int, default=5)
    p.add_argument("--negatives", type=int, default=5)
    p.add_argument("--sample", type=float, default=1e-3)
    p.add_argument("--min-count", type=int, default=5)
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--alpha", type=float, default=0.025,
                   help="initial learning rate (both trainers' skip-gram default is 0.025)")
    p.add_argument("--seed", type=int, default=1,
                   help="gensim's seed (word2vec C has none: its runs differ by thread timing only)")
    p.add_argument("--only", choices=["c", "gensim"], default=None)
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=True)
    tokens = count_tokens(a.corpus) * a.epochs

    if a.only in (None, "c"):
        out = os.path.join(a.out, "word2vec_c.txt")
        t = time.time()
        subprocess.run(
            ["word2vec", "-train", a.corpus, "-output", out, "-cbow", "0", "-size", str(a.dim),
             "-window", str(a.window), "-negative", str(a.negatives), "-hs", "0",
             "-sample", str(a.sample), "-min-count", str(a.min_count), "-iter", str(a.epochs),
             "-threads", str(a.threads), "-alpha", str(a.alpha), "-binary", "0"],
            check=True, stdout=subprocess.DEVNULL)
        s = time.time() - t
        print(f"word2vec C: {s:.1f} s, {tokens / s / a.threads:.0f} words/s/thread (incl. vocabulary pass and saving)")

    if a.only in (None, "gensim"):
        from gensim.models import Word2Vec
        out = os.path.join(a.out, "gensim.txt")
        t = time.time()
        m = Word2Vec(corpus_file=a.corpus, vector_size=a.dim, window=a.window,
                     negative=a.negatives, hs=0, sg=1, sample=a.sample, min_count=a.min_count,
                     epochs=a.epochs, workers=a.threads, seed=a.seed, alpha=a.alpha)
        s = time.time() - t
        print(f"gensim: {s:.1f} s, {tokens / s / a.threads:.0f} words/s/thread (incl. vocabulary pass)")
        m.wv.save_word2vec_format(out, binary=False)


if __name__ == "__main__":
    main()
