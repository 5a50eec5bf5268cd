//! Hostile input that must neither hang nor take unbounded memory: huge lines, streams of
//! NUL bytes, pipes given as corpus files. The memory cases run in a child process (this
//! test binary again) whose address space is limited with `setrlimit(RLIMIT_AS)`, so that
//! an unbounded allocation aborts the child and fails the test instead of the machine.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use bilinear_skipgram::{CorpusOptions, NoProgress, TrainConfig, corpus::SentenceStream, train};

/// The address space the child may add to what it has when it starts.
const MEMORY_MARGIN: u64 = 192 << 20;

/// The margin of the `threads` child: room for its matrices (about 310 MiB) and two malloc
/// arenas, not nine. (Before the check counted them, this child passed the check and
/// aborted allocating in 3 runs of 5 at this margin, depending on which threads got their
/// arenas first.)
const THREADS_MARGIN: u64 = 480 << 20;

/// `unit` repeated `n` times, made as it is read.
struct Repeat {
    unit: &'static [u8],
    left: u64,
    at: usize,
}

impl Read for Repeat {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let mut n = 0;
        while n < buf.len() && self.left > 0 {
            let take = (self.unit.len() - self.at).min(buf.len() - n);
            buf[n..n + take].copy_from_slice(&self.unit[self.at..self.at + take]);
            n += take;
            self.at += take;
            if self.at == self.unit.len() {
                self.at = 0;
                self.left -= 1;
            }
        }
        Ok(n)
    }
}

/// A field of `/proc/self/status` in bytes, or `None` without `/proc`.
fn status_bytes(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Limits this process's address space to what it uses now plus `margin` bytes.
fn limit_address_space(margin: u64) {
    let now = status_bytes("VmSize:").expect("/proc/self/status");
    let limit = libc::rlimit {
        rlim_cur: now + margin,
        rlim_max: now + margin,
    };
    // SAFETY: setrlimit reads the struct it is given and nothing else.
    let status = unsafe { libc::setrlimit(libc::RLIMIT_AS, &limit) };
    assert_eq!(status, 0, "setrlimit: {}", std::io::Error::last_os_error());
}

/// Runs `child_under_a_memory_limit` with `case`; returns its standard output.
fn run_limited_child(case: &str, arg: &str) -> String {
    // One malloc arena: each further one reserves 64 MiB of address space.
    run_limited_child_with(case, arg, Some("1"))
}

/// As [`run_limited_child`], with glibc's `MALLOC_ARENA_MAX` set to `arena_max` (`None`:
/// unset, glibc's default of 8 arenas per core).
fn run_limited_child_with(case: &str, arg: &str, arena_max: Option<&str>) -> String {
    let mut command = Command::new(std::env::current_exe().expect("test binary"));
    command
        .args([
            "child_under_a_memory_limit",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("BSG_LIMIT_CASE", case)
        .env("BSG_LIMIT_ARG", arg)
        .env_remove("MALLOC_ARENA_MAX")
        .stdin(Stdio::null());
    if let Some(arena_max) = arena_max {
        command.env("MALLOC_ARENA_MAX", arena_max);
    }
    let output = command.output().expect("spawn child");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    if let Some(peak) = stdout
        .lines()
        .find_map(|l| l[l.find("peak=")? + 5..].trim().parse::<u64>().ok())
    {
        eprintln!(
            "child {case} {arg}: peak RSS {:.1} MiB",
            peak as f64 / f64::from(1 << 20)
        );
    }
    assert!(
        output.status.success(),
        "child {case} failed ({}):\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// The value after `key=` in the child's output.
fn reported(stdout: &str, key: &str) -> u64 {
    let marker = format!("{key}=");
    stdout
        .lines()
        .find_map(|l| Some(&l[l.find(&marker)? + marker.len()..]))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("no {key}= in {stdout:?}"))
}

/// Runs only as the child process of the memory tests.
#[test]
#[ignore = "runs as a child process of another test"]
fn child_under_a_memory_limit() {
    let Ok(case) = std::env::var("BSG_LIMIT_CASE") else {
        eprintln!("not a child process: nothing to do");
        return;
    };
    let arg = std::env::var("BSG_LIMIT_ARG").unwrap_or_default();
    match case.as_str() {
        "tokens" => {
            // One line of `arg` tokens, two bytes each, made as it is read.
            let n: u64 = arg.parse().expect("token count");
            let reader = Repeat {
                unit: b"a ",
                left: n,
                at: 0,
            };
            limit_address_space(MEMORY_MARGIN);
            let mut stream =
                SentenceStream::from_reader(reader, "endless", CorpusOptions::default());
            let mut tokens = 0_u64;
            while stream.next_sentence(|_| tokens += 1).expect("reads") {}
            println!("tokens={tokens}");
        }
        "train" | "train-all" => {
            // Trains on the corpus file `arg`, subsampling or not.
            let config = TrainConfig::builder()
                .subsample(if case == "train" { 1e-3 } else { 0.0 })
                .dim(4)
                .window(2)
                .negatives(1)
                .epochs(1)
                .min_count(1)
                .threads(1)
                // Every word is trained on: no sentence (piece of the line) is held out.
                .heldout_pairs(0)
                .build()
                .expect("config");
            limit_address_space(MEMORY_MARGIN);
            let trained = train(&config, &[PathBuf::from(arg)], NoProgress).expect("trains");
            println!("words={}", trained.report.words);
            println!("pairs={}", trained.report.pairs);
        }
        "write-vocab" => {
            // Writes a vocabulary larger than the file size limit into the folder `arg`.
            let vocab = bilinear_skipgram::Vocab::from_counts(
                (0..10_000).map(|i| (format!("word{i}"), 1)),
                bilinear_skipgram::OovPolicy::Drop,
            )
            .expect("vocab");
            // SAFETY: ignoring SIGXFSZ makes a write past the limit fail with EFBIG
            // instead of killing the process; setrlimit reads the struct it is given.
            unsafe {
                libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
                let limit = libc::rlimit {
                    rlim_cur: 4096,
                    rlim_max: 4096,
                };
                assert_eq!(libc::setrlimit(libc::RLIMIT_FSIZE, &limit), 0);
            }
            let path = Path::new(&arg).join("vocab.txt");
            let error = bilinear_skipgram::io::write_vocab(&path, &vocab).expect_err("too large");
            println!("error={error}");
        }
        "address-space" | "terabytes" => {
            // Dimension 4 000 on one thread: W, its diagnostics and the sampler need about
            // 600 MiB, far less than the machine has but more than the margin left by
            // `ulimit -v`. Terabytes: 1 024 threads, each with copies of a trained
            // 10 000 × 10 000 W and of its AdaGrad squares.
            let builder = TrainConfig::builder().min_count(1).epochs(1);
            let config = if case == "terabytes" {
                builder
                    .dim(10_000)
                    .threads(1024)
                    .interaction_learning_rate(0.001)
                    .interaction_optimizer(bilinear_skipgram::InteractionOptimizer::AdaGrad)
            } else {
                builder.dim(4000).threads(1)
            }
            .build()
            .expect("config");
            limit_address_space(MEMORY_MARGIN);
            let error = train(&config, &[PathBuf::from(arg)], &mut NoProgress)
                .map(|_| ())
                .expect_err("refused");
            assert!(
                matches!(error, bilinear_skipgram::Error::OutOfMemory { .. }),
                "{error:?}"
            );
            println!("error={error}");
        }
        "threads" => {
            // Dimension 2 000 on 8 threads: about 310 MiB of matrices and buffers, within
            // the margin; but 8 workers and the reader may each get a malloc arena, 64 MiB
            // of address space apiece, which then leave too little for the buffers.
            let config = TrainConfig::builder()
                .min_count(1)
                .epochs(1)
                .dim(2000)
                .threads(8)
                .heldout_pairs(0)
                .build()
                .expect("config");
            limit_address_space(THREADS_MARGIN);
            match train(&config, &[PathBuf::from(arg)], &mut NoProgress) {
                Ok(trained) => println!("pairs={}", trained.report.pairs),
                Err(error) => println!("error={error}"),
            }
        }
        other => panic!("unknown case {other}"),
    }
    println!("peak={}", status_bytes("VmHWM:").unwrap_or(0));
}

/// The message of the memory refusal the child `case` prints, training on a small corpus
/// under an address-space limit; `None` where Linux's `/proc` files are absent.
fn memory_refusal(case: &str) -> Option<String> {
    if std::fs::read_to_string("/proc/self/limits").is_err() {
        eprintln!("no /proc/self/limits: the memory check is skipped on this system");
        return None;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let corpus = dir.path().join("corpus.txt");
    std::fs::write(&corpus, "the cat sat on the mat\n".repeat(50)).expect("corpus");
    let stdout = run_limited_child(case, corpus.to_str().expect("UTF-8 path"));
    let message = stdout
        .lines()
        .find_map(|l| Some(l[l.find("error=")? + 6..].to_owned()))
        .unwrap_or_else(|| panic!("no error= in {stdout:?}"));
    eprintln!("{message}");
    assert!(
        message.starts_with("not enough memory: training would allocate about "),
        "{message}"
    );
    // The child runs under an address-space limit, the tightest of the limits.
    assert!(
        message.contains("of address space are left under `ulimit -v` (RLIMIT_AS)"),
        "{message}"
    );
    Some(message)
}

/// A configuration whose matrices and per-thread copies need terabytes is refused after
/// the vocabulary pass, before anything big is allocated, with how much it needs and how
/// much there is (before the check, the child aborted allocating the threads' copies).
#[test]
fn a_configuration_that_needs_terabytes_is_refused_before_allocating() {
    if let Some(message) = memory_refusal("terabytes") {
        assert!(
            message.contains("TiB") && message.contains("1024 threads"),
            "{message}"
        );
    }
}

/// Under `ulimit -v`, a run that fits the machine's memory but not the address space left
/// is refused with the limit named (before, only `MemAvailable` was consulted, and the run
/// aborted allocating).
#[test]
fn a_run_beyond_the_address_space_limit_is_refused_naming_it() {
    if let Some(message) = memory_refusal("address-space") {
        assert!(message.contains("MiB (U and V: "), "{message}");
    }
}

/// Under `ulimit -v`, the check also counts what the run's threads reserve: with glibc's
/// default of 8 malloc arenas per core, 64 MiB of address space for each worker's and the
/// reader's arena. Before, a run whose matrices fit passed the check, its threads' arenas
/// took the room, and it aborted allocating (`memory allocation of … bytes failed`). With
/// `MALLOC_ARENA_MAX=1` the threads share the main arena, and the same run trains.
#[test]
#[cfg(all(target_os = "linux", target_env = "gnu", target_pointer_width = "64"))]
fn the_address_space_threads_reserve_is_counted() {
    if std::fs::read_to_string("/proc/self/limits").is_err() {
        eprintln!("no /proc/self/limits: the memory check is skipped on this system");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let corpus = dir.path().join("corpus.txt");
    std::fs::write(&corpus, "the cat sat on the mat\n".repeat(50)).expect("corpus");
    let corpus = corpus.to_str().expect("UTF-8 path");
    let stdout = run_limited_child_with("threads", corpus, None);
    let message = stdout
        .lines()
        .find_map(|l| Some(l[l.find("error=")? + 6..].to_owned()))
        .unwrap_or_else(|| panic!("no error= in {stdout:?}"));
    assert!(
        message.contains(
            "of address space are left under `ulimit -v` (RLIMIT_AS) once 8 workers and the \
             corpus reader have reserved "
        ) && message.contains("for their stacks and malloc arenas (MALLOC_ARENA_MAX=1 leaves"),
        "{message}"
    );
    let stdout = run_limited_child_with("threads", corpus, Some("1"));
    assert!(reported(&stdout, "pairs") > 0, "{stdout}");
}

/// Writes `n` copies of `unit` as one gzip-compressed line.
fn gzip_line(path: &Path, unit: &[u8], n: usize) {
    let file = std::fs::File::create(path).expect("create");
    let mut encoder = flate2::write::GzEncoder::new(file, flate2::Compression::fast());
    let block = unit.repeat(1 << 16);
    let mut left = n;
    while left > 0 {
        let take = left.min(1 << 16);
        encoder
            .write_all(&block[..take * unit.len()])
            .expect("write");
        left -= take;
    }
    encoder.finish().expect("finish");
}

#[test]
fn a_line_of_a_hundred_million_tokens_is_read_in_bounded_memory() {
    // 200 MB on one line, more than the child may allocate.
    let stdout = run_limited_child("tokens", "100000000");
    assert_eq!(reported(&stdout, "tokens"), 100_000_000);
}

/// `cargo test --release --test limits -- --ignored billion`: about 20 s of CPU (43 s on
/// the busy two-core machine), under the same memory limit as the test above.
#[test]
#[ignore = "reads 2 GB of generated text"]
fn a_line_of_a_billion_tokens_is_read_in_bounded_memory() {
    let stdout = run_limited_child("tokens", "1000000000");
    assert_eq!(reported(&stdout, "tokens"), 1_000_000_000);
}

#[test]
fn a_corpus_of_one_long_line_is_trained_in_bounded_memory() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("one-line.txt.gz");
    // 160 MB of text, one line, 40 million tokens.
    gzip_line(&path, b"ab cd ef gh ", 10_000_000);
    let stdout = run_limited_child("train", path.to_str().expect("UTF-8 path"));
    assert_eq!(reported(&stdout, "words"), 40_000_000);
    assert!(reported(&stdout, "pairs") > 0);
}

#[test]
fn a_gigabyte_of_nul_bytes_is_read_in_bounded_memory() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("zeros.gz");
    // 1 GiB of NUL bytes and two words at the end, gzip-compressed to about 1 MB.
    {
        let file = std::fs::File::create(&path).expect("create");
        let mut encoder = flate2::write::GzEncoder::new(file, flate2::Compression::fast());
        let zeros = vec![0_u8; 1 << 20];
        for _ in 0..1024 {
            encoder.write_all(&zeros).expect("write");
        }
        encoder.write_all(b" last word\n").expect("write");
        encoder.finish().expect("finish");
    }
    let stdout = run_limited_child("train-all", path.to_str().expect("UTF-8 path"));
    assert_eq!(reported(&stdout, "words"), 2);
}

/// Runs `train` on `path` in a thread and returns its error, or fails the test if it has
/// not returned after a minute (a pipe opened for reading waits for a writer forever).
fn train_error_without_hanging(path: &Path) -> bilinear_skipgram::Error {
    let path = path.to_path_buf();
    error_without_hanging("train", move || {
        let config = TrainConfig::builder()
            .dim(4)
            .min_count(1)
            .threads(1)
            .build()
            .expect("config");
        train(&config, [&path], NoProgress)
    })
}

/// A new named pipe `name` in `dir`.
#[cfg(unix)]
fn fifo_in(dir: &Path, name: &str) -> PathBuf {
    let fifo = dir.join(name);
    let c_path = std::ffi::CString::new(fifo.to_str().expect("UTF-8 path")).expect("no NUL");
    // SAFETY: mkfifo reads the NUL-terminated path it is given.
    let status = unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) };
    assert_eq!(status, 0, "mkfifo: {}", std::io::Error::last_os_error());
    fifo
}

#[cfg(unix)]
#[test]
fn a_pipe_or_device_as_corpus_is_refused_at_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fifo = fifo_in(dir.path(), "corpus.fifo");
    for (path, what) in [
        (fifo.as_path(), "a pipe (FIFO)"),
        (Path::new("/dev/zero"), "a character device"),
        (Path::new("-"), "standard input cannot be a corpus"),
    ] {
        let error = train_error_without_hanging(path);
        let message = error.to_string();
        assert!(
            matches!(&error, bilinear_skipgram::Error::File { path: p, .. } if p == path),
            "{error:?}"
        );
        assert!(message.contains(what), "{message}");
        assert!(
            message.contains("read once for the vocabulary and once per epoch"),
            "{message}"
        );
    }
}

#[test]
fn long_tokens_are_skipped_and_counted_in_the_report() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("corpus.txt");
    let long = "x".repeat(bilinear_skipgram::corpus::MAX_TOKEN_BYTES + 1);
    std::fs::write(&path, format!("a b {long} c d\n").repeat(50)).expect("write");
    let config = TrainConfig::builder()
        .dim(4)
        .epochs(2)
        .min_count(1)
        .subsample(0.0)
        .threads(1)
        .build()
        .expect("config");
    let trained = train(&config, [&path], NoProgress).expect("trains");
    assert_eq!(trained.vocab.len(), 4);
    assert_eq!(trained.report.words, 2 * 200);
    assert_eq!(trained.report.long_tokens_skipped, 50);
}

#[cfg(unix)]
#[test]
fn a_failed_write_of_vocab_txt_names_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let stdout = run_limited_child("write-vocab", dir.path().to_str().expect("UTF-8 path"));
    let message = stdout
        .lines()
        .find_map(|l| Some(&l[l.find("error=")? + 6..]))
        .unwrap_or_else(|| panic!("no error= in {stdout:?}"));
    let expected = format!(
        "I/O error on {}: File too large (os error 27)",
        dir.path().join("vocab.txt").display()
    );
    assert_eq!(message, expected);
    // Nothing is left under the final name or as a temporary file.
    assert_eq!(std::fs::read_dir(dir.path()).expect("list").count(), 0);
}

/// Word vectors from a pipe (`nearest <(zcat vectors.txt.gz) …`) are read whole: the
/// format sniffing that reads a file's first bytes and opens it again would lose them.
#[cfg(unix)]
#[test]
fn word_vectors_are_read_from_a_pipe() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (vocab, vectors) = from_pipe(
        dir.path(),
        b"3 2\nthe 1 0\ncat 0.9 0.1\ndog 0.8 0.3\n".to_vec(),
        |fifo| bilinear_skipgram::io::read_word_vectors(fifo),
    );
    assert_eq!(vocab.words(), ["the", "cat", "dog"]);
    assert_eq!(vectors.dim(), (3, 2));
}

/// A checkpoint path that is a pipe or a device is refused at once: opening a FIFO would
/// wait for a writer for good.
#[cfg(unix)]
#[test]
fn a_pipe_or_device_as_checkpoint_is_refused_at_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fifo = fifo_in(dir.path(), "run.fifo");
    for (path, kind) in [
        (fifo, "a pipe (FIFO)"),
        (PathBuf::from("/dev/zero"), "a character device"),
    ] {
        let read = path.clone();
        let error = error_without_hanging("Checkpoint::read", move || {
            bilinear_skipgram::Checkpoint::read(&read)
        });
        let message = error.to_string();
        assert!(
            message.ends_with(&format!(": is {kind}, not a regular file")),
            "{path:?}: {message}"
        );
    }
}

/// Runs `read` in a thread and returns its error, or fails the test if it has not returned
/// after a minute (a pipe opened for reading waits for a writer forever).
fn error_without_hanging<T: Send + 'static>(
    what: &str,
    read: impl FnOnce() -> Result<T, bilinear_skipgram::Error> + Send + 'static,
) -> bilinear_skipgram::Error {
    within_a_minute(what, move || read().map(drop)).expect_err(what)
}

/// Runs `f` in a thread and returns what it returns, or fails the test if it has not
/// returned after a minute (`what` names it).
fn within_a_minute<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = sender.send(f());
    });
    receiver
        .recv_timeout(std::time::Duration::from_secs(60))
        .unwrap_or_else(|_| panic!("{what}: did not return within a minute: it hangs"))
}

/// Asserts that `error` is an `Error::File` naming `path` that says it is `what`, not a
/// regular file.
fn assert_not_regular(error: &bilinear_skipgram::Error, path: &Path, what: &str) {
    assert!(
        matches!(error, bilinear_skipgram::Error::File { path: p, .. } if p == path),
        "{error:?}"
    );
    let message = error.to_string();
    let expected = format!(
        "I/O error on {}: is {what}, not a regular file",
        path.display()
    );
    assert_eq!(message, expected);
}

/// The files of a model folder and checkpoints must be regular files: a pipe among them
/// (`mkfifo`) made the reader wait for a writer for good, and a device such as `/dev/zero`
/// (here through a symbolic link, which is followed) never ended. A vocabulary or an
/// evaluation set named on its own may be a pipe, but an endless one is an error at once.
#[cfg(unix)]
#[test]
fn a_pipe_or_device_among_the_files_read_whole_is_refused_at_once() {
    use bilinear_skipgram::io::{
        CONFIG_FILE, CONTEXT_FILE, FOCUS_FILE, INTERACTION_FILE, MANIFEST_FILE, OFFSETS_INFO_FILE,
        VOCAB_FILE,
    };
    use bilinear_skipgram::{Model, OovPolicy, Vocab, eval};
    use rand::SeedableRng;

    let dir = tempfile::tempdir().expect("tempdir");
    let model_dir = dir.path().join("model");
    let vocab = Vocab::from_counts([("a".to_owned(), 2), ("b".to_owned(), 1)], OovPolicy::Drop)
        .expect("vocab");
    let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(1);
    let model = Model::course(2, 3, &mut rng);
    bilinear_skipgram::save_model(&model_dir, &model, &vocab).expect("saves");
    // Without the manifest (as a hand-made folder) nothing checks the files' sizes first.
    let manifest = model_dir.join(MANIFEST_FILE);
    let manifest_bytes = std::fs::read(&manifest).expect("manifest");
    std::fs::remove_file(&manifest).expect("remove");
    let load = |model_dir: &Path| {
        let model_dir = model_dir.to_path_buf();
        move || bilinear_skipgram::load_model(&model_dir, OovPolicy::Drop)
    };
    for name in [
        MANIFEST_FILE,
        VOCAB_FILE,
        FOCUS_FILE,
        CONTEXT_FILE,
        INTERACTION_FILE,
        OFFSETS_INFO_FILE,
    ] {
        let path = model_dir.join(name);
        let original = std::fs::read(&path).ok();
        let _ = std::fs::remove_file(&path);
        fifo_in(&model_dir, name);
        let error = error_without_hanging(name, load(&model_dir));
        assert_not_regular(&error, &path, "a pipe (FIFO)");
        std::fs::remove_file(&path).expect("remove");
        std::os::unix::fs::symlink("/dev/zero", &path).expect("symlink");
        let error = error_without_hanging(name, load(&model_dir));
        assert_not_regular(&error, &path, "a character device");
        std::fs::remove_file(&path).expect("remove");
        if let Some(bytes) = original {
            std::fs::write(&path, bytes).expect("restore");
        }
    }
    bilinear_skipgram::load_model(&model_dir, OovPolicy::Drop).expect("the files restored");
    // A whole model's configuration, read first.
    let config = fifo_in(&model_dir, CONFIG_FILE);
    let read = model_dir.clone();
    let error = error_without_hanging(CONFIG_FILE, move || bilinear_skipgram::Trained::load(&read));
    assert_not_regular(&error, &config, "a pipe (FIFO)");
    std::fs::remove_file(&config).expect("remove");
    std::fs::write(&manifest, manifest_bytes).expect("restore");

    // A folder where a file is read: an evaluation set names it, the checkpoint below too.
    let sets = dir.path().join("sets");
    std::fs::create_dir(&sets).expect("mkdir");
    let error = error_without_hanging("a folder", {
        let read = sets.clone();
        move || eval::SimilarityDataset::read(&read, eval::MalformedPolicy::Strict)
    });
    assert!(
        matches!(&error, bilinear_skipgram::Error::File { path, .. } if *path == sets),
        "{error:?}"
    );
    // A named file read on its own may be a pipe (the next test), but one that never ends
    // is an error at once: a vocabulary and the evaluation sets linked to /dev/zero.
    let zero = dir.path().join("zero.tsv");
    std::os::unix::fs::symlink("/dev/zero", &zero).expect("symlink");
    let read = zero.clone();
    let error = error_without_hanging("read_vocab", move || {
        bilinear_skipgram::io::read_vocab(&read, OovPolicy::Drop)
    });
    assert!(error.to_string().contains("longer than"), "{error}");
    for policy in [eval::MalformedPolicy::Strict, eval::MalformedPolicy::Skip] {
        let read = zero.clone();
        let error = error_without_hanging("similarity", move || {
            eval::SimilarityDataset::read(&read, policy)
        });
        assert!(error.to_string().contains("longer than"), "{error}");
        let read = zero.clone();
        let error =
            error_without_hanging("analogy", move || eval::AnalogyDataset::read(&read, policy));
        assert!(error.to_string().contains("longer than"), "{error}");
    }
    // A folder given as a checkpoint (pipes and devices: the test above).
    let read = sets.clone();
    let error = error_without_hanging("checkpoint folder", move || {
        bilinear_skipgram::Checkpoint::read(&read)
    });
    assert_not_regular(&error, &sets, "a folder");
}

/// A matrix, a vocabulary and an evaluation set given by name are read from a pipe, as
/// word vectors are (`<(zcat U.npy.gz)`): only the files of a model folder (and of the
/// `evaluate` example's folder of sets) must be regular files.
#[cfg(unix)]
#[test]
fn a_matrix_vocabulary_or_evaluation_set_is_read_from_a_pipe() {
    use bilinear_skipgram::{OovPolicy, eval};

    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("m.npy");
    let matrix = ndarray::array![[1.0_f32, 2.0], [3.0, 4.0]];
    bilinear_skipgram::io::write_matrix(&file, matrix.view()).expect("writes");
    let read = from_pipe(dir.path(), std::fs::read(&file).expect("read"), |fifo| {
        bilinear_skipgram::io::read_matrix(fifo)
    });
    assert_eq!(read, matrix);
    let vocab = from_pipe(dir.path(), b"the 3\ncat 2\n".to_vec(), |fifo| {
        bilinear_skipgram::io::read_vocab(fifo, OovPolicy::Drop)
    });
    assert_eq!(vocab.words(), ["the", "cat"]);
    let set = from_pipe(dir.path(), b"cat\tdog\t7.5\n".to_vec(), |fifo| {
        eval::SimilarityDataset::read(fifo, eval::MalformedPolicy::Strict)
    });
    assert_eq!(set.pairs().len(), 1);
}

/// What `read` gives on a new pipe in `dir` that another thread writes `bytes` into; fails
/// the test if it has not returned after a minute.
#[cfg(unix)]
fn from_pipe<T: Send + 'static>(
    dir: &Path,
    bytes: Vec<u8>,
    read: impl FnOnce(&Path) -> Result<T, bilinear_skipgram::Error> + Send + 'static,
) -> T {
    let fifo = dir.join("pipe");
    let _ = std::fs::remove_file(&fifo);
    let fifo = fifo_in(dir, "pipe");
    let writer = {
        let fifo = fifo.clone();
        std::thread::spawn(move || {
            // Opening blocks until the reader opens; the reader stops at end of input.
            let mut pipe = std::fs::OpenOptions::new()
                .write(true)
                .open(&fifo)
                .expect("open the pipe for writing");
            let _ = pipe.write_all(&bytes);
        })
    };
    let read = within_a_minute("reading the pipe", move || read(&fifo)).expect("reads the pipe");
    writer.join().expect("writer");
    read
}
