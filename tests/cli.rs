//! The `train`, `evaluate` and `nearest` examples as a user runs them: messages, exit
//! statuses, closed pipes, and output folders that a failed run leaves as they were.
//!
//! The example binaries are built by `cargo test` (or `cargo build --examples`) next to
//! this test binary, in `target/<profile>/examples/`; `BSG_EXAMPLES_DIR` points elsewhere.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The path of an example binary.
fn example(name: &str) -> PathBuf {
    let dir = std::env::var_os("BSG_EXAMPLES_DIR").map_or_else(
        || {
            let exe = std::env::current_exe().expect("test binary");
            // target/<profile>/deps/cli-HASH → target/<profile>/examples
            exe.parent()
                .and_then(Path::parent)
                .expect("target folder")
                .join("examples")
        },
        PathBuf::from,
    );
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is missing: build the examples first (cargo build --release --examples)",
        path.display()
    );
    path
}

fn run(name: &str, args: &[&str], dir: &Path) -> Output {
    Command::new(example(name))
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .expect("runs")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Runs an example whose standard output is a pipe closed before it writes anything.
fn run_with_closed_stdout(name: &str, args: &[&str], dir: &Path) -> Output {
    let mut child = Command::new(example(name))
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawns");
    // Closing the only read end: every write to standard output now fails with EPIPE.
    drop(child.stdout.take());
    child.wait_with_output().expect("runs")
}

/// The output of `child`, which fails the test if it has not ended after a minute: then it
/// hangs (`what` names it).
fn output_within_a_minute(mut child: std::process::Child, what: &str) -> Output {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while child.try_wait().expect("status").is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("{what} hangs");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.wait_with_output().expect("runs")
}

/// A small corpus of two topics that never share a line.
fn write_corpus(dir: &Path) -> PathBuf {
    let path = dir.join("corpus.txt");
    let mut text = String::new();
    for i in 0..400 {
        text.push_str(
            [
                "the cat and the dog chase a mouse\n",
                "the car and the bus drive on a road\n",
            ][i % 2],
        );
    }
    fs::write(&path, text).expect("write corpus");
    path
}

const SMALL: [&str; 8] = [
    "--dim",
    "8",
    "--epochs",
    "2",
    "--min-count",
    "1",
    "--threads",
    "1",
];

fn train_args<'a>(corpus: &'a str, out: &'a str, more: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![corpus, "--out", out];
    args.extend(SMALL);
    args.extend(more);
    args
}

/// Every file of a folder with its bytes.
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = fs::read_dir(dir)
        .expect("list")
        .map(|e| {
            let e = e.expect("entry");
            (
                e.file_name().to_string_lossy().into_owned(),
                fs::read(e.path()).expect("read"),
            )
        })
        .collect();
    files.sort();
    files
}

/// The names of the entries of a folder, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .expect("list")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// A corpus in `dir` and a model trained on it in `dir/out`: the corpus's path and the
/// folder's files.
fn corpus_and_trained_out(dir: &Path) -> (String, Vec<(String, Vec<u8>)>) {
    let corpus = write_corpus(dir);
    let corpus = corpus.to_str().expect("UTF-8").to_owned();
    let output = run("train", &train_args(&corpus, "out", &[]), dir);
    assert!(output.status.success(), "{}", stderr(&output));
    (corpus, snapshot(&dir.join("out")))
}

#[test]
fn errors_are_printed_as_messages_with_their_causes() {
    let dir = tempfile::tempdir().expect("tempdir");
    for name in ["train", "throughput"] {
        let output = run(name, &["--dim", "0"], dir.path());
        assert_eq!(output.status.code(), Some(1), "{name}");
        assert_eq!(
            stderr(&output),
            "error: `dim` must be at least 1, got 0\n",
            "{name}"
        );
    }
    // Absurd values are named as given (an f32 rate not widened to -0.10000000149011612, a
    // time limit not as the error of a Duration conversion).
    for (args, message) in [
        (
            ["--offset-learning-rate=-0.1"],
            "error: `offset_learning_rate` must lie in [0, 100], got -0.1",
        ),
        (
            ["--time-limit-minutes=1e300"],
            "error: `time limit minutes` must lie in [0, 1000000], got 1e300",
        ),
        (
            ["--time-limit-minutes=-1"],
            "error: `time limit minutes` must lie in [0, 1000000], got -1",
        ),
        (
            ["--time-limit-minutes=nan"],
            "error: `time limit minutes` must be finite, got NaN",
        ),
    ] {
        let output = run("train", &args, dir.path());
        assert_eq!(output.status.code(), Some(1), "{args:?}");
        assert_eq!(stderr(&output).lines().last(), Some(message), "{args:?}");
    }
    // A 32-bit float option that f32 cannot hold is refused as typed, not after rounding
    // to infinity ("must be finite, got inf") or to 0.
    for (name, args, message) in [
        (
            "train",
            ["--learning-rate", "1e308"],
            "1e308 is beyond the range of a 32-bit float (±3.4028235e38)",
        ),
        (
            "course",
            ["--learning-rate=-1e39", "--epochs=1"],
            "-1e39 is beyond the range of a 32-bit float (±3.4028235e38)",
        ),
        (
            "train",
            ["--subword-readout-weight", "1e-300"],
            "1e-300 is closer to 0 than the smallest 32-bit float (1e-45)",
        ),
    ] {
        let output = run(name, &args, dir.path());
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert!(
            stderr(&output).contains(message),
            "{args:?}: {}",
            stderr(&output)
        );
    }
    fs::create_dir(dir.path().join("sets")).expect("mkdir");
    fs::write(dir.path().join("sets/sim.tsv"), "cat\tdog\t9\n").expect("write");
    for (name, args) in [
        ("nearest", vec!["missing", "word"]),
        ("evaluate", vec!["missing", "--eval-dir", "sets"]),
        ("course", vec!["missing"]),
    ] {
        let output = run(name, &args, dir.path());
        assert_eq!(output.status.code(), Some(1), "{name}");
        assert_eq!(
            stderr(&output).lines().last(),
            Some("error: I/O error on missing: No such file or directory (os error 2)"),
            "{name}"
        );
    }
}

#[test]
fn a_closed_standard_output_ends_quietly_with_the_files_written() {
    let dir = tempfile::tempdir().expect("tempdir");
    let corpus = write_corpus(dir.path());
    let corpus = corpus.to_str().expect("UTF-8");
    let output = run_with_closed_stdout(
        "train",
        &train_args(corpus, "out", &["--probe", "cat", "--probe", "car"]),
        dir.path(),
    );
    let message = stderr(&output);
    assert_eq!(output.status.code(), Some(0), "{message}");
    assert!(!message.contains("panicked"), "{message}");
    let expected: Vec<&str> = [
        "D.npy",
        "D.txt",
        "MANIFEST",
        "U.npy",
        "V.npy",
        "W.npy",
        "Z.npy",
        "Z.txt",
        "config.txt",
        "embeddings.fifu",
        "loss.png",
        "report.txt",
        "vectors.txt",
        "vocab.txt",
        "words.png",
    ]
    .into_iter()
    .filter(|n| cfg!(feature = "finalfusion") || *n != "embeddings.fifu")
    .collect();
    assert_eq!(names(&dir.path().join("out")), expected);
    // The folder is a whole model, which the library reads back.
    let trained = bilinear_skipgram::Trained::load(dir.path().join("out")).expect("whole model");
    assert!(trained.vocab.id("cat").is_some());
    assert_eq!(trained.report.epoch_losses.len(), trained.config.epochs());
    for (name, args) in [
        ("nearest", vec!["out", "cat", "car", "the:cat::car"]),
        ("evaluate", vec!["out", "--eval-dir", "sets"]),
        // Its table is written while it trains; the folder is written all the same.
        (
            "course",
            vec![
                corpus,
                "--out",
                "course-out",
                "--probe",
                "cat",
                "--probe",
                "car",
            ],
        ),
        // It stops at its first line, before it trains.
        (
            "library",
            vec!["--seconds", "1", "--epochs", "1", "--out", "lib-out"],
        ),
    ] {
        fs::create_dir_all(dir.path().join("sets")).expect("mkdir");
        fs::write(
            dir.path().join("sets/sim.tsv"),
            "cat\tdog\t9\ncat\troad\t1\n",
        )
        .expect("w");
        let output = run_with_closed_stdout(name, &args, dir.path());
        let message = stderr(&output);
        assert_eq!(output.status.code(), Some(0), "{name}: {message}");
        assert!(!message.contains("panicked"), "{name}: {message}");
    }
    // The model and its picture, written as one folder (the online trainer's measured
    // checkpoints are kept elsewhere).
    assert_eq!(
        names(&dir.path().join("course-out")),
        [
            "MANIFEST",
            "U.npy",
            "V.npy",
            "W.npy",
            "vocab.txt",
            "words.png"
        ]
    );
}

#[test]
fn a_failed_or_empty_run_leaves_the_previous_output_as_it_was() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (corpus, before) = corpus_and_trained_out(dir.path());
    let corpus = corpus.as_str();

    // Nothing to train: refused before training, with the reason.
    let output = run(
        "train",
        &train_args(corpus, "out", &["--max-vocab", "1"]),
        dir.path(),
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("error: nothing to train: the vocabulary has 1 word (\"the\")"),
        "{}",
        stderr(&output)
    );
    // A corpus that fails in the vocabulary pass (invalid UTF-8 on its last line).
    let bad = dir.path().join("bad.txt");
    let mut bytes = fs::read(corpus).expect("read");
    bytes.extend_from_slice(b"caf\xe9\n");
    fs::write(&bad, bytes).expect("write");
    let output = run(
        "train",
        &train_args(bad.to_str().expect("UTF-8"), "out", &[]),
        dir.path(),
    );
    assert_eq!(output.status.code(), Some(1));
    let message = stderr(&output);
    assert!(message.contains("bad.txt:401: invalid UTF-8"), "{message}");
    assert!(message.contains("--lossy-utf8"), "{message}");
    assert_eq!(snapshot(&dir.path().join("out")), before);
    // With --lossy-utf8 the same corpus trains, and replaces the folder.
    let output = run(
        "train",
        &train_args(bad.to_str().expect("UTF-8"), "out", &["--lossy-utf8"]),
        dir.path(),
    );
    assert!(output.status.success(), "{}", stderr(&output));
    assert_ne!(snapshot(&dir.path().join("out")), before);
    // Nothing is left next to the folder.
    assert_eq!(names(dir.path()), ["bad.txt", "corpus.txt", "out"]);
}

/// A run whose files outgrow the file size limit (`ulimit -f`) reports it and leaves the
/// previous output as it was, with nothing next to it; the signal SIGXFSZ killed it
/// silently before, with its staging folder left behind.
#[cfg(unix)]
#[test]
fn a_write_past_the_file_size_limit_is_reported() {
    use std::os::unix::process::CommandExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let (corpus, before) = corpus_and_trained_out(dir.path());
    let largest = before
        .iter()
        .map(|(_, bytes)| bytes.len())
        .max()
        .expect("files");
    let limit = 4096;
    assert!(largest > limit, "no file of the run outgrows {limit} bytes");
    let mut command = Command::new(example("train"));
    command
        .args(train_args(&corpus, "out", &["--seed", "2"]))
        .current_dir(dir.path())
        .stdin(Stdio::null());
    // SAFETY: setrlimit reads the struct it is given; nothing else runs in the child.
    unsafe {
        command.pre_exec(move || {
            let limit = libc::rlimit {
                rlim_cur: limit as libc::rlim_t,
                rlim_max: limit as libc::rlim_t,
            };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &limit) == 0 {
                Ok(())
            } else {
                Err(std::io::Error::last_os_error())
            }
        });
    }
    let output = command.output().expect("runs");
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let message = stderr(&output);
    // The file is named in the output folder, not in the staging folder that is gone.
    assert!(
        message.contains("\nerror: I/O error on out/loss.png: File too large (os error 27)\n"),
        "{message}"
    );
    assert_eq!(snapshot(&dir.path().join("out")), before);
    assert_eq!(names(dir.path()), ["corpus.txt", "out"]);
}

#[test]
fn output_problems_are_found_before_the_corpus_is_read() {
    let dir = tempfile::tempdir().expect("tempdir");
    fs::write(dir.path().join("file"), "data").expect("write");
    fs::create_dir(dir.path().join("mine")).expect("mkdir");
    fs::write(dir.path().join("mine/notes.txt"), "keep").expect("write");
    // The corpus does not exist: an error about it would mean it was looked at first.
    for (out, message) in [
        (
            "file",
            "error: I/O error on file: exists and is a regular file, not a folder; it was left \
             as it is\n",
        ),
        (
            "/dev/null",
            "error: I/O error on /dev/null: exists and is a character device, not a folder; it was left as \
             it is\n",
        ),
        (
            "mine",
            "error: I/O error on mine: exists and holds \"notes.txt\", which is not part of a \
             model folder written by this crate; the folder was left as it is (move that file \
             away, or choose another output folder)\n",
        ),
    ] {
        // `course` trained with both its trainers before it looked at its output folder.
        for args in [
            vec!["train", "missing.txt"],
            vec!["course", "missing.txt"],
            vec!["course", "missing.txt", "--trainer", "online"],
        ] {
            let output = run(args[0], &[&args[1..], &["--out", out]].concat(), dir.path());
            assert_eq!(output.status.code(), Some(1), "{args:?} {out}");
            assert_eq!(stderr(&output), message, "{args:?}");
        }
    }
    // `--offsets` belongs to the online trainer; the course's recipe refuses it before
    // it reads anything, rather than ignoring it.
    let output = run(
        "course",
        &["missing.txt", "--offsets", "none", "--out", "new"],
        dir.path(),
    );
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        stderr(&output),
        "error: invalid --offsets: the course's trainer has no per-offset interactions; use \
         it with --trainer online\n"
    );
    let output = run(
        "train",
        &["missing.txt", "--out", "new", "--checkpoint", "mine"],
        dir.path(),
    );
    assert_eq!(
        stderr(&output),
        "error: I/O error on mine: exists and is a folder, not a regular file that can be \
         replaced\n"
    );
    assert_eq!(
        fs::read_to_string(dir.path().join("mine/notes.txt")).expect("kept"),
        "keep"
    );
    assert_eq!(fs::read(dir.path().join("file")).expect("kept"), b"data");
    // A checkpoint inside the output folder (or at its path), however spelt, is refused
    // before training: the folder's swap refused it only after training, or would have
    // removed it.
    fs::create_dir(dir.path().join("out")).expect("mkdir");
    for (checkpoint, out, place) in [
        ("out/run.ckpt", "out", "is inside"),
        ("./out/../out/run.ckpt", "out", "is inside"),
        ("run.ckpt", ".", "no name"),
        ("new/run.ckpt", "new", "missing"),
        ("same", "same", "is"),
    ] {
        let output = run(
            "train",
            &["missing.txt", "--out", out, "--checkpoint", checkpoint],
            dir.path(),
        );
        assert_eq!(output.status.code(), Some(1), "{checkpoint}");
        let message = stderr(&output);
        // Refused for another reason first: `.` has no name, `new` does not exist.
        let other = match place {
            "no name" => {
                "I/O error on .: has no folder name of its own (such as `.`, `..` or \
                 `/`): give the output folder by name"
            }
            "missing" => {
                "I/O error on new: the folder that would hold new/run.ckpt does not \
                 exist"
            }
            _ => "",
        };
        if !other.is_empty() {
            assert_eq!(message, format!("error: {other}\n"));
            continue;
        }
        assert_eq!(
            message,
            format!(
                "error: I/O error on {checkpoint}: the checkpoint {place} the output folder \
                 {out}, which is replaced as a whole once training ends: keep the checkpoint \
                 outside it\n"
            )
        );
    }
    assert!(
        fs::read_dir(dir.path().join("out"))
            .expect("list")
            .next()
            .is_none()
    );
    assert!(!dir.path().join("same").exists());
    // A checkpoint that is a symbolic link is refused as --out refuses one (it was replaced
    // by a regular file next to the link, and the file it points to never written).
    #[cfg(unix)]
    {
        fs::create_dir(dir.path().join("big")).expect("mkdir");
        std::os::unix::fs::symlink("big/run.ckpt", dir.path().join("link.ckpt")).expect("symlink");
        let output = run(
            "train",
            &["missing.txt", "--out", "new", "--checkpoint", "link.ckpt"],
            dir.path(),
        );
        assert_eq!(output.status.code(), Some(1));
        assert_eq!(
            stderr(&output),
            "error: I/O error on link.ckpt: exists and is a symbolic link, not a regular file \
             that can be replaced: links are not followed, as for output folders (writing \
             would replace the link, not the file it points to); give the file's own path\n"
        );
        assert!(
            fs::symlink_metadata(dir.path().join("link.ckpt"))
                .expect("kept")
                .file_type()
                .is_symlink()
        );
        assert!(
            fs::read_dir(dir.path().join("big"))
                .expect("list")
                .next()
                .is_none()
        );
    }
}

#[test]
fn checkpoint_options_are_checked_and_a_finished_run_writes_its_model_again() {
    let dir = tempfile::tempdir().expect("tempdir");
    let corpus = write_corpus(dir.path());
    let corpus = corpus.to_str().expect("UTF-8");
    let output = run("train", &[corpus, "--retries", "2"], dir.path());
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("--checkpoint <CHECKPOINT>"),
        "{}",
        stderr(&output)
    );
    let output = run("train", &[corpus, "--checkpoint-minutes", "3"], dir.path());
    assert_eq!(output.status.code(), Some(2));
    let output = run(
        "train",
        &[
            corpus,
            "--checkpoint",
            "run.ckpt",
            "--checkpoint-minutes",
            "1e300",
        ],
        dir.path(),
    );
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        stderr(&output),
        "error: `checkpoint minutes` must lie in (0, 1000000], got 1e300\n"
    );

    let checkpointed = train_args(
        corpus,
        "out",
        &[
            "--checkpoint",
            "run.ckpt",
            "--probe",
            "cat",
            "--probe",
            "car",
        ],
    );
    let output = run("train", &checkpointed, dir.path());
    assert!(output.status.success(), "{}", stderr(&output));
    let neighbours = stdout(&output);
    assert!(neighbours.contains("\n  cat: "), "{neighbours}");
    let before = snapshot(&dir.path().join("out"));

    // The output is lost after the final checkpoint (a full disk or a kill while the folder
    // was written), leaving a staging folder of the dead process: the same command writes
    // the folder again from the checkpoint's model, without training (the corpus is not
    // even needed) and removes the leftover.
    fs::remove_dir_all(dir.path().join("out")).expect("rm");
    // A process id that is not running: the largest, which Linux never hands out.
    let leftover = dir.path().join(format!(".out.new-{}-1", 4_194_304 + 17));
    fs::create_dir(&leftover).expect("mkdir");
    fs::write(leftover.join("U.npy"), "partial").expect("write");
    fs::rename(corpus, dir.path().join("corpus.moved")).expect("mv");
    let output = run("train", &checkpointed, dir.path());
    let message = stderr(&output);
    assert_eq!(output.status.code(), Some(0), "{message}");
    let last = bilinear_skipgram::Checkpoint::read(dir.path().join("run.ckpt")).expect("read");
    assert!(last.state.finished(&last.config));
    assert!(
        message.starts_with(&format!(
            "run.ckpt: this run already finished ({} words, {} pairs); writing its model to \
             out without training (remove the checkpoint to train again)\n",
            last.state.words_done, last.state.pairs
        )),
        "{message}"
    );
    assert!(
        !message.contains("training on") && !message.contains("resuming"),
        "{message}"
    );
    assert!(message.contains("loss.png"), "{message}");
    assert!(!message.contains("(no loss.png"), "{message}");
    assert_eq!(stdout(&output), neighbours);
    // Every file as the run wrote it, but the loss curve, drawn from the report's
    // epochs (and the manifest listing it).
    let without_loss = |files: Vec<(String, Vec<u8>)>| -> Vec<(String, Vec<u8>)> {
        files
            .into_iter()
            .filter(|(name, _)| name != "loss.png" && name != "MANIFEST")
            .collect()
    };
    let again = snapshot(&dir.path().join("out"));
    let picture = |files: &[(String, Vec<u8>)]| {
        files
            .iter()
            .find(|(name, _)| name == "loss.png")
            .map(|(_, bytes)| bytes.clone())
            .expect("loss.png")
    };
    assert!(picture(&again).starts_with(b"\x89PNG"));
    assert_ne!(picture(&again), picture(&before));
    assert_eq!(without_loss(again), without_loss(before.clone()));
    if cfg!(unix) {
        assert!(!leftover.exists(), "the dead run's staging folder was left");
    }

    // Other vectors, to another folder: written from the same model.
    let mut other = checkpointed.clone();
    other[2] = "other";
    other.extend(["--vectors", "u"]);
    let output = run("train", &other, dir.path());
    assert!(output.status.success(), "{}", stderr(&output));
    let read = |path: &str| fs::read(dir.path().join(path)).expect("read");
    assert_eq!(read("other/U.npy"), read("out/U.npy"));
    assert_ne!(read("other/vectors.txt"), read("out/vectors.txt"));
    let trained = bilinear_skipgram::Trained::load(dir.path().join("other")).expect("model");
    let vectors = String::from_utf8(read("other/vectors.txt")).expect("UTF-8");
    let cat = trained.vocab.id("cat").expect("cat");
    let row: Vec<f32> = vectors
        .lines()
        .find_map(|line| line.strip_prefix("cat "))
        .expect("cat's vector")
        .split(' ')
        .map(|x| x.parse().expect("number"))
        .collect();
    assert_eq!(row, trained.model.focus_embeddings().row(cat).to_vec());

    // Other training options still ask for another run, finished or not.
    let mut other_run = checkpointed.clone();
    other_run.extend(["--window", "3"]);
    let output = run("train", &other_run, dir.path());
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("the options given differ from the checkpoint's: window = 5"),
        "{}",
        stderr(&output)
    );
}

/// A time limit shorter than the checkpoint interval: each run goes on from where the
/// last one stopped (a checkpoint is written at the stop) until the run finishes. Before,
/// each run went on from the checkpoint before the first word and stopped at the same
/// place, forever.
#[test]
fn a_time_limited_checkpointed_run_goes_on_from_the_stop() {
    let dir = tempfile::tempdir().expect("tempdir");
    let corpus = write_corpus(dir.path());
    let corpus = corpus.to_str().expect("UTF-8");
    // A time limit of 0 stops at the first report: with one chunk per epoch, the end of
    // the first epoch of two, where the workers are paused to score the model.
    let args = train_args(
        corpus,
        "out",
        &["--checkpoint", "run.ckpt", "--time-limit-minutes", "0"],
    );
    let read = || bilinear_skipgram::Checkpoint::read(dir.path().join("run.ckpt")).expect("read");
    let output = run("train", &args, dir.path());
    let message = stderr(&output);
    assert!(output.status.success(), "{message}");
    let first = read();
    assert_eq!((first.state.epoch, first.state.sentences), (1, 0));
    assert!(
        message.contains(&format!(
            "stopped at the time limit after {} words: the model written is trained that far, \
             and so is the checkpoint run.ckpt (run the same command again to go on)\n",
            first.state.words_done
        )),
        "{message}"
    );
    let stopped = bilinear_skipgram::Trained::load(dir.path().join("out")).expect("model");
    assert!(stopped.report.stopped_early);
    assert_eq!(stopped.report.words, first.state.words_done);
    // The same command goes on from there: the second epoch is the last, so the run ends
    // (a stop asked for once every word is trained is no stop).
    let output = run("train", &args, dir.path());
    let message = stderr(&output);
    assert!(output.status.success(), "{message}");
    assert!(message.contains("resuming from run.ckpt"), "{message}");
    assert!(!message.contains("stopped"), "{message}");
    let last = read();
    assert!(last.state.finished(&last.config));
    assert_eq!(last.state.words_done, 2 * first.state.words_done);
    let finished = bilinear_skipgram::Trained::load(dir.path().join("out")).expect("model");
    assert!(!finished.report.stopped_early);
    assert_eq!(finished.report.words, last.state.words_done);
}

#[cfg(unix)]
#[test]
fn a_pipe_as_corpus_is_refused_at_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut child = Command::new(example("train"))
        .args(["/dev/stdin", "--out", "out"])
        .current_dir(dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawns");
    // The write end stays open: a program that read the pipe would wait forever, so it
    // gets a minute before it counts as hanging.
    let stdin = child.stdin.take();
    let output = output_within_a_minute(child, "train /dev/stdin on a pipe");
    drop(stdin);
    assert_eq!(output.status.code(), Some(1));
    let message = stderr(&output);
    assert!(
        message.contains("error: I/O error on /dev/stdin: is a pipe (FIFO), not a regular file"),
        "{message}"
    );
    let output = run("train", &["-"], dir.path());
    assert!(
        stderr(&output).contains("error: I/O error on -: standard input cannot be a corpus"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn nearest_and_evaluate_read_any_vector_file_and_report_what_they_cannot() {
    let dir = tempfile::tempdir().expect("tempdir");
    let corpus = write_corpus(dir.path());
    let output = run(
        "train",
        &train_args(corpus.to_str().expect("UTF-8"), "out", &[]),
        dir.path(),
    );
    assert!(output.status.success(), "{}", stderr(&output));
    // nearest on a word2vec file and on a finalfusion file, as on the folder.
    let from_folder = stdout(&run("nearest", &["out", "cat"], dir.path()));
    assert!(from_folder.starts_with("cat: "), "{from_folder}");
    let files: &[&str] = if cfg!(feature = "finalfusion") {
        &["out/vectors.txt", "out/embeddings.fifu"]
    } else {
        &["out/vectors.txt"]
    };
    for &file in files {
        let output = run("nearest", &[file, "cat"], dir.path());
        assert!(output.status.success(), "{file}: {}", stderr(&output));
        assert_eq!(stdout(&output), from_folder, "{file}");
    }
    // No neighbours asked for is refused before anything runs (they printed each query or
    // probe word, after a whole training run, with an empty list).
    for (name, args, flag) in [
        ("nearest", vec!["out", "cat", "-k", "0"], "-k <K>"),
        (
            "train",
            vec!["--neighbours", "0"],
            "--neighbours <NEIGHBOURS>",
        ),
        (
            "course",
            vec!["--neighbours", "0"],
            "--neighbours <NEIGHBOURS>",
        ),
    ] {
        let output = run(name, &args, dir.path());
        assert_eq!(output.status.code(), Some(2), "{name}");
        assert!(
            stderr(&output).starts_with(&format!(
                "error: invalid value '0' for '{flag}': must be at least 1"
            )),
            "{name}: {}",
            stderr(&output)
        );
    }
    // A query with an empty word is malformed, not a word "" missing from the vocabulary.
    let output = run(
        "nearest",
        &["out", "cat:dog::", ":dog::cat", "cat::dog"],
        dir.path(),
    );
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        stdout(&output),
        "\"cat:dog::\": expected one word, `a:b::c` or `a b c`\n\
         \":dog::cat\": expected one word, `a:b::c` or `a b c`\n\
         \"cat::dog\": expected one word, `a:b::c` or `a b c`\n"
    );
    // An invalid line on standard input gives its number.
    let mut child = Command::new(example("nearest"))
        .args(["out"])
        .current_dir(dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawns");
    {
        use std::io::Write as _;
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(b"cat\n\xff\xfe\ndog\n").expect("write");
    }
    let output = child.wait_with_output().expect("runs");
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        stderr(&output),
        "error: standard input:2: invalid UTF-8 at byte offset 0 of the line (0-based)\n"
    );
    assert!(stdout(&output).starts_with("cat: "));
    // Standard input without a line break is an error at once: it searched for the end of
    // the overlong line, which /dev/zero never has, at 100 % CPU until killed. A minute
    // before it counts as hanging.
    #[cfg(unix)]
    {
        let child = Command::new(example("nearest"))
            .args(["out"])
            .current_dir(dir.path())
            .stdin(fs::File::open("/dev/zero").expect("/dev/zero"))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawns");
        let output = output_within_a_minute(child, "nearest < /dev/zero");
        assert_eq!(output.status.code(), Some(1));
        assert_eq!(
            stderr(&output),
            "error: standard input:1: the line is longer than 65536 bytes\n"
        );
    }

    // evaluate: a byte-order mark, a NaN vector, a header of dimension 0.
    fs::create_dir(dir.path().join("sets")).expect("mkdir");
    fs::write(
        dir.path().join("sets/sim.tsv"),
        "\u{feff}cat\tdog\t9\ncat\tmouse\t8\ncar\tbus\t7\ncat\troad\t1\n",
    )
    .expect("write");
    let vectors = fs::read_to_string(dir.path().join("out/vectors.txt")).expect("read");
    let with_nan: String = vectors
        .lines()
        .map(|line| {
            if line.starts_with("road ") {
                let n = line.split(' ').count() - 1;
                format!("road{}\n", " NaN".repeat(n))
            } else {
                format!("{line}\n")
            }
        })
        .collect();
    fs::write(dir.path().join("nan.txt"), with_nan).expect("write");
    let output = run("evaluate", &["nan.txt", "--eval-dir", "sets"], dir.path());
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("warning: 1 of 12 file vectors hold a NaN or an infinity"),
        "{}",
        stderr(&output)
    );
    let table = stdout(&output);
    let row = table.lines().find(|l| l.starts_with("sim")).expect("row");
    assert!(row.ends_with("3/4 (1 non-finite)"), "{table}");
    assert!(!row.contains("n/a"), "{table}");
    let output = run(
        "evaluate",
        &["out", "--eval-dir", "sets", "--vectors", "u"],
        dir.path(),
    );
    let table = stdout(&output);
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("sim") && l.ends_with(" 4/4")),
        "{table}"
    );
    // A pipe in the evaluation folder, or as a model folder's vocabulary, is refused:
    // opening it waited for a writer for good.
    #[cfg(unix)]
    {
        fs::create_dir(dir.path().join("piped")).expect("mkdir");
        fs::create_dir(dir.path().join("piped/sets")).expect("mkdir");
        fs::create_dir(dir.path().join("piped/model")).expect("mkdir");
        for name in ["U.npy", "V.npy", "W.npy"] {
            fs::copy(
                dir.path().join("out").join(name),
                dir.path().join("piped/model").join(name),
            )
            .expect("copy");
        }
        for fifo in ["piped/sets/a.tsv", "piped/model/vocab.txt"] {
            let c_path =
                std::ffi::CString::new(dir.path().join(fifo).to_str().expect("UTF-8 path"))
                    .expect("no NUL");
            // SAFETY: mkfifo reads the NUL-terminated path it is given.
            let status = unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) };
            assert_eq!(status, 0, "mkfifo: {}", std::io::Error::last_os_error());
        }
        for (name, args, fifo) in [
            (
                "evaluate",
                ["out", "--eval-dir", "piped/sets"],
                "piped/sets/a.tsv",
            ),
            (
                "nearest",
                ["piped/model", "cat", "dog"],
                "piped/model/vocab.txt",
            ),
        ] {
            let child = Command::new(example(name))
                .args(args)
                .current_dir(dir.path())
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawns");
            let output = output_within_a_minute(child, &format!("{name} with the pipe {fifo}"));
            assert_eq!(output.status.code(), Some(1));
            assert_eq!(
                stderr(&output),
                format!("error: I/O error on {fifo}: is a pipe (FIFO), not a regular file\n")
            );
        }
    }
    fs::write(dir.path().join("zero.txt"), "2 0\na\nb\n").expect("write");
    let output = run("evaluate", &["zero.txt", "--eval-dir", "sets"], dir.path());
    assert_eq!(
        stderr(&output),
        "error: zero.txt:1: the header's dimension is 0: a word vector needs at least one value\n"
    );
}

#[test]
fn train_with_subwords_writes_and_reads_its_ngram_table() {
    let dir = tempfile::tempdir().expect("tempdir");
    let corpus = write_corpus(dir.path());
    let corpus = corpus.to_str().expect("UTF-8");
    let output = run(
        "train",
        &train_args(
            corpus,
            "out",
            &[
                "--subwords",
                "3-5",
                "--subword-word-weight",
                "1.5",
                "--subword-readout-weight",
                "0.5",
            ],
        ),
        dir.path(),
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let out = dir.path().join("out");
    let files = names(&out);
    assert!(
        files.contains(&"Z.npy".to_owned()) && files.contains(&"Z.txt".to_owned()),
        "{files:?}"
    );
    let config = fs::read_to_string(out.join("config.txt")).expect("config");
    assert!(
        config.contains(
            "subword_min_n = 3\nsubword_max_n = 5\nsubword_min_words = 2\n\
             subword_word_weight = 1.5\nsubword_readout_weight = 0.5\n"
        ),
        "{config}"
    );
    let trained = bilinear_skipgram::Trained::load(&out).expect("loads");
    let subwords = trained.model.subwords().expect("subwords");
    assert_eq!(subwords.index().config().max_n(), 5);
    assert_eq!(subwords.index().config().word_weight(), 1.5);
    assert_eq!(subwords.index().config().readout_weight(), 0.5);
    let info = fs::read_to_string(out.join("Z.txt")).expect("Z.txt");
    assert!(
        info.contains("word_weight = 1.5\nreadout_weight = 0.5\n"),
        "{info}"
    );
    let output = run("nearest", &["out", "the"], dir.path());
    assert!(output.status.success(), "{}", stderr(&output));
    // A corpus inside the output folder is refused before training (the folder is replaced
    // as a whole, and the corpus with it).
    let vectors = fs::read(out.join("vectors.txt")).expect("vectors");
    let refused = run("train", &["out/vectors.txt", "--out", "out/."], dir.path());
    assert_eq!(refused.status.code(), Some(1));
    assert_eq!(
        stderr(&refused),
        "error: I/O error on out/vectors.txt: a corpus file is inside the output folder \
         out/., which is replaced as a whole once training ends: keep a corpus file outside \
         it\n"
    );
    assert_eq!(fs::read(out.join("vectors.txt")).expect("kept"), vectors);
    // Read at another weight: other neighbours' scores; at the saved weight, the same.
    let at = |weight: &str| {
        let output = run(
            "nearest",
            &["out", "the", "--subword-readout-weight", weight],
            dir.path(),
        );
        assert!(output.status.success(), "{}", stderr(&output));
        output.stdout
    };
    assert_eq!(at("0.5"), output.stdout);
    assert_ne!(at("4"), output.stdout);
    // The default has subwords; `none` trains free rows, and the folder has no Z files.
    let output = run("train", &train_args(corpus, "default", &[]), dir.path());
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(names(&dir.path().join("default")).contains(&"Z.txt".to_owned()));
    let output = run(
        "train",
        &train_args(corpus, "none", &["--subwords", "none"]),
        dir.path(),
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let files = names(&dir.path().join("none"));
    assert!(!files.iter().any(|f| f.starts_with("Z.")), "{files:?}");
    let config = fs::read_to_string(dir.path().join("none/config.txt")).expect("config");
    assert!(config.contains("subword_min_n = 0\n"), "{config}");
    for (args, message) in [
        (
            vec!["--subwords", "3-6", "--subword-min-words", "0"],
            "error: `subword_min_words` must be at least 1, got 0",
        ),
        (
            vec!["--subwords", "0-2"],
            "`subword_min_n` must be at least 1, got 0",
        ),
        (
            vec!["--subword-word-weight", "0"],
            "`subword_word_weight` must lie in (0, 1e6], got 0",
        ),
        (
            vec!["--subwords", "none", "--subword-readout-weight", "2"],
            "invalid --subword-readout-weight: given, but the model has no subwords",
        ),
    ] {
        let output = run("train", &train_args(corpus, "bad", &args), dir.path());
        assert_ne!(output.status.code(), Some(0), "{args:?}");
        assert!(
            stderr(&output).contains(message),
            "{args:?}: {}",
            stderr(&output)
        );
        assert!(!dir.path().join("bad").exists(), "{args:?}");
    }
    fs::create_dir(dir.path().join("sets")).expect("mkdir");
    fs::write(
        dir.path().join("sets/sim.tsv"),
        "cat\tdog\t9\ncat\tmouse\t8\ncar\tbus\t7\ncat\troad\t1\ndog\tdrive\t2\n",
    )
    .expect("write");
    // --spectral-weight: the library's weight changes nothing; 1/2 is score-concat's.
    let scores = |extra: &[&str]| {
        let output = run(
            "evaluate",
            &[&["out", "--eval-dir=sets", "--vectors=all"], extra].concat(),
            dir.path(),
        );
        assert!(output.status.success(), "{}", stderr(&output));
        let text = String::from_utf8(output.stdout).expect("UTF-8");
        let score = |kind: &str| {
            text.lines()
                .find(|l| l.split_whitespace().nth(1) == Some(kind))
                .and_then(|l| l.split_whitespace().nth(3).map(str::to_owned))
                .unwrap_or_else(|| panic!("no {kind} row in {text}"))
        };
        (score("score-smoothed"), score("score-concat"))
    };
    let weight = bilinear_skipgram::model::SMOOTHED_SPECTRAL_WEIGHT.to_string();
    assert_eq!(scores(&[]), scores(&["--spectral-weight", &weight]));
    let (smoothed, concat) = scores(&["--spectral-weight=0.5"]);
    assert_eq!(smoothed, concat);
    for (example, args) in [
        ("nearest", ["none", "the"]),
        ("evaluate", ["none", "--eval-dir=sets"]),
    ] {
        let output = run(
            example,
            &[&args[..], &["--subword-readout-weight", "2"]].concat(),
            dir.path(),
        );
        assert_ne!(output.status.code(), Some(0));
        assert!(
            stderr(&output).contains("--subword-readout-weight: the model has no subwords"),
            "{example}: {}",
            stderr(&output)
        );
    }
}
