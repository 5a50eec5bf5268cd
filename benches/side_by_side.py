#!/usr/bin/env python3
"""Ours (the default model, and W frozen without per-offset interactions) against word2vec's C trainer and gensim, side by side.

Not part of the crate's build or CI. Needs `pip install word2vec gensim` (see
`benches/baselines.py`) and cargo. Run from the crate's root:

    python3 benches/side_by_side.py CORPUS.txt [--dims 50 100 300] [--threads 1 2]
        [--window 5] [--negatives 5] [--sample 1e-3] [--min-count 5] [--epochs 1]

CORPUS.txt: plain text, one sentence per line, at most 1 000 tokens a line (word2vec C
splits longer lines at 1 000 and gensim at 10 000; split them first, as BENCHMARKS.md
shows). Every trainer runs skip-gram with negative sampling and the same settings, one
after another, each in its own process, and the script prints one markdown table:

* words/s/thread = raw corpus tokens × epochs ÷ training seconds ÷ threads. Training
  seconds exclude the vocabulary pass for every trainer: ours prints them
  (`examples/throughput.rs`); gensim's are the time of `train()` after `build_vocab()`;
  word2vec C reads a vocabulary file written beforehand by this script (`-read-vocab`,
  word2vec's own format and rules: `</s>` once per line, then the words with at least
  `--min-count` occurrences), so its wall-clock time is initialisation, training and
  writing the binary vectors.
* ratios: default ÷ word2vec C, default ÷ gensim and frozen ÷ gensim (per thread, same
  row; "default" is the crate's default model, "frozen" plain skip-gram), and for the
  2-thread rows total words/s of 2 threads ÷ 1 thread of the same trainer and dimension.
* peak RSS of each process (`ru_maxrss` from `wait4`, the child's own high-water mark).
"""
import argparse
import collections
import os
import re
import subprocess
import sys
import tempfile
import time

GENSIM_CHILD = r"""
import sys, time, json
from gensim.models import Word2Vec
corpus, dim, window, negatives, sample, min_count, epochs, threads = sys.argv[1:9]
m = Word2Vec(vector_size=int(dim), window=int(window), negative=int(negatives), hs=0, sg=1,
             sample=float(sample), min_count=int(min_count), workers=int(threads), seed=1)
m.build_vocab(corpus_file=corpus)
t = time.perf_counter()
m.train(corpus_file=corpus, total_words=m.corpus_total_words, epochs=int(epochs))
print(json.dumps({"seconds": time.perf_counter() - t}))
"""


def run(cmd):
    """Runs `cmd`; returns (stdout, wall seconds, peak RSS in MB) of that process alone."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        pid = os.posix_spawnp(cmd[0], cmd, os.environ, file_actions=[
            (os.POSIX_SPAWN_DUP2, out.fileno(), 1), (os.POSIX_SPAWN_DUP2, err.fileno(), 2)])
        _, status, usage = os.wait4(pid, 0)
        seconds = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        if os.waitstatus_to_exitcode(status) != 0:
            sys.exit(f"{' '.join(cmd)} failed:\n{err.read()}")
        return out.read(), seconds, usage.ru_maxrss / 1024.0  # ru_maxrss is in KiB on Linux


def write_word2vec_vocab(corpus, path, min_count):
    """word2vec C's vocabulary file; returns the raw token count."""
    counts = collections.Counter()
    lines = 0
    longest = 0
    with open(corpus, encoding="utf-8") as f:
        for line in f:
            tokens = line.split()
            counts.update(tokens)
            lines += 1
            longest = max(longest, len(tokens))
    if longest > 1000:
        print(f"warning: a line has {longest} tokens; word2vec C splits lines at 1000", file=sys.stderr)
    with open(path, "w", encoding="utf-8") as f:
        f.write(f"</s> {lines}\n")
        for word, count in sorted(counts.items(), key=lambda wc: (-wc[1], wc[0])):
            if count >= min_count and word != "</s>":
                f.write(f"{word} {count}\n")
    return sum(counts.values())


def ours(binary, a, dim, threads, mode):
    cmd = [binary, a.corpus, "--dim", str(dim), "--threads", str(threads), "--mode", mode,
           "--window", str(a.window), "--negatives", str(a.negatives), "--subsample", str(a.sample),
           "--min-count", str(a.min_count), "--epochs", str(a.epochs)]
    out, _, rss = run(cmd)
    match = re.search(r"([\d.]+) words/s/thread, ([\d.]+) s", out)
    if not match:
        sys.exit(f"unexpected output of {' '.join(cmd)}:\n{out}")
    return float(match.group(1)), rss


def word2vec_c(a, vocab, tokens, dim, threads, out_dir):
    cmd = ["word2vec", "-train", a.corpus, "-read-vocab", vocab, "-output",
           os.path.join(out_dir, "word2vec_c.bin"), "-cbow", "0", "-size", str(dim),
           "-window", str(a.window), "-negative", str(a.negatives), "-hs", "0",
           "-sample", str(a.sample), "-min-count", str(a.min_count), "-iter", str(a.epochs),
           "-threads", str(threads), "-binary", "1"]
    _, seconds, rss = run(cmd)
    return tokens * a.epochs / seconds / threads, rss


def gensim(a, tokens, dim, threads):
    cmd = [sys.executable, "-c", GENSIM_CHILD, a.corpus, str(dim), str(a.window), str(a.negatives),
           str(a.sample), str(a.min_count), str(a.epochs), str(threads)]
    out, _, rss = run(cmd)
    seconds = float(re.search(r'"seconds": ([\d.e+-]+)', out).group(1))
    return tokens * a.epochs / seconds / threads, rss


def main():
    p = argparse.ArgumentParser()
    p.add_argument("corpus")
    p.add_argument("--dims", type=int, nargs="+", default=[50, 100, 300])
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    p.add_argument("--window", type=int, default=5)
    p.add_argument("--negatives", type=int, default=5)
    p.add_argument("--sample", type=float, default=1e-3)
    p.add_argument("--min-count", type=int, default=5)
    p.add_argument("--epochs", type=int, default=1)
    a = p.parse_args()

    subprocess.run(["cargo", "build", "--release", "--quiet", "--example", "throughput"], check=True)
    target = os.environ.get("CARGO_TARGET_DIR", "target")
    binary = os.path.join(target, "release", "examples", "throughput")

    with tempfile.TemporaryDirectory() as out_dir:
        vocab = os.path.join(out_dir, "word2vec.vocab")
        tokens = write_word2vec_vocab(a.corpus, vocab, a.min_count)
        names = ["default", "frozen", "word2vec C", "gensim"]
        results = {}
        for dim in a.dims:
            for threads in a.threads:
                row = {
                    "default": ours(binary, a, dim, threads, "default"),
                    "frozen": ours(binary, a, dim, threads, "frozen"),
                    "word2vec C": word2vec_c(a, vocab, tokens, dim, threads, out_dir),
                    "gensim": gensim(a, tokens, dim, threads),
                }
                results[dim, threads] = row
                print(f"dim {dim} threads {threads}: "
                      + ", ".join(f"{n} {row[n][0]:.0f}" for n in names), file=sys.stderr)

    print(f"\n{tokens} tokens, skip-gram, window {a.window}, {a.negatives} negatives, sample "
          f"{a.sample:g}, min-count {a.min_count}, {a.epochs} epoch(s); words/s/thread "
          "(training only); 2t/1t = total words/s of 2 threads ÷ 1 thread; peak RSS in MB.\n")
    print("| dim | threads | default | frozen | word2vec C | gensim | default ÷ w2v C "
          "| default ÷ gensim | frozen ÷ gensim | 2t/1t default, frozen, w2v C, gensim "
          "| peak RSS default, frozen, w2v C, gensim |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for (dim, threads), row in results.items():
        speed = {n: row[n][0] for n in names}
        one = results.get((dim, 1))
        if threads != 1 and one:
            scaling = ", ".join(f"{speed[n] * threads / one[n][0]:.2f}" for n in names)
        else:
            scaling = "–"
        rss = ", ".join(f"{row[n][1]:.0f}" for n in names)
        print(f"| {dim} | {threads} | " + " | ".join(f"{speed[n]:,.0f}" for n in names)
              + f" | {speed['default'] / speed['word2vec C']:.2f} | {speed['default'] / speed['gensim']:.2f}"
              + f" | {speed['frozen'] / speed['gensim']:.2f}"
              + f" | {scaling} | {rss} |")


if __name__ == "__main__":
    main()
