//! A model folder is replaced as a whole: a reader sees the old model or the new one,
//! never a mix, whatever happens to the process that saves it, and a damaged or mixed
//! folder is refused through its manifest.

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bilinear_skipgram::{
    Error, Model, OovPolicy, Vocab, io::MANIFEST_FILE, load_model, save_model,
};
use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};

/// Two models of the same shape (so that a mix of their files would pass the shape
/// checks), large enough that saving one takes a noticeable time: 2 × 30 000 × 300 floats.
fn two_models() -> (Vocab, Model, Model) {
    let n_words = 30_000;
    let vocab = Vocab::from_counts(
        (0..n_words).map(|i| (format!("w{i}"), (n_words - i) as u64)),
        OovPolicy::Drop,
    )
    .expect("vocab");
    let a = Model::course(n_words, 300, &mut Xoshiro256PlusPlus::seed_from_u64(1));
    let b = Model::course(n_words, 300, &mut Xoshiro256PlusPlus::seed_from_u64(2));
    (vocab, a, b)
}

/// Runs only as the child process of `sigkill_during_saves_leaves_a_complete_model`.
#[test]
#[ignore = "runs as a child process of another test"]
fn child_saves_until_killed() {
    let Ok(dir) = std::env::var("BSG_CHILD_MODEL_DIR") else {
        eprintln!("not a child process: nothing to do");
        return;
    };
    let (vocab, a, b) = two_models();
    loop {
        for model in [&a, &b] {
            save_model(Path::new(&dir), model, &vocab).expect("child save");
        }
    }
}

#[test]
fn sigkill_during_saves_leaves_a_complete_model() {
    let parent = tempfile::tempdir().expect("tempdir");
    let dir = parent.path().join("model");
    let (vocab, a, b) = two_models();
    let started = Instant::now();
    save_model(&dir, &a, &vocab).expect("first save");
    let one_save = started.elapsed();
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(7, |d| d.as_nanos() as u64);
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut child = Command::new(std::env::current_exe().expect("test binary"))
        .args(["child_saves_until_killed", "--exact", "--ignored"])
        .env("BSG_CHILD_MODEL_DIR", &dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn child");
    // The child builds its models, then saves B, A, B, … without pause: kill it at a
    // random moment within its first few saves, most likely in the middle of one.
    let delay = one_save.mul_f64(rng.random_range(2.0..6.0)) + Duration::from_millis(300);
    std::thread::sleep(delay);
    assert!(
        child.try_wait().expect("status").is_none(),
        "the child stopped on its own"
    );
    child.kill().expect("SIGKILL");
    child.wait().expect("reap");
    let leftovers: Vec<String> = fs::read_dir(parent.path())
        .expect("list")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|name| name != "model")
        .collect();
    let (model, read_vocab) = load_model(&dir, OovPolicy::Drop).expect("a complete model");
    assert_eq!(read_vocab, vocab);
    let which = if model == a {
        "A"
    } else if model == b {
        "B"
    } else {
        panic!("the folder holds neither model: a mix of two saves")
    };
    eprintln!(
        "killed after {delay:?} (one save takes {one_save:?}): the folder holds model {which}, \
         leftovers {leftovers:?}"
    );
    // The next save removes what the killed process left behind.
    save_model(&dir, &b, &vocab).expect("save after the kill");
    let names: Vec<String> = fs::read_dir(parent.path())
        .expect("list")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["model"]);
    assert_eq!(load_model(&dir, OovPolicy::Drop).expect("loads").0, b);
}

#[test]
fn damaged_or_mixed_folders_are_refused_through_the_manifest() {
    let parent = tempfile::tempdir().expect("tempdir");
    let vocab = Vocab::from_counts(
        [
            ("a".to_owned(), 3),
            ("b".to_owned(), 2),
            ("c".to_owned(), 1),
        ],
        OovPolicy::Drop,
    )
    .expect("vocab");
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(3);
    let (one, two) = (Model::course(3, 4, &mut rng), Model::course(3, 4, &mut rng));
    let (first, second) = (parent.path().join("first"), parent.path().join("second"));
    save_model(&first, &one, &vocab).expect("saves");
    save_model(&second, &two, &vocab).expect("saves");
    let refused = |case: &str, needles: &[&str]| {
        let error = load_model(&first, OovPolicy::Drop).expect_err(case);
        let message = error.to_string();
        eprintln!("BAD_INPUT | {case} | {message}");
        assert!(matches!(error, Error::Format { .. }), "{case}: {error:?}");
        for needle in needles {
            assert!(
                message.contains(needle),
                "{case}: {needle:?} not in {message:?}"
            );
        }
    };

    // A matrix of the other save, of the same shape: the shapes agree, the CRC does not.
    fs::copy(second.join("U.npy"), first.join("U.npy")).expect("copy");
    refused(
        "model folder: U.npy of another save, same shape",
        &["first/U.npy", "CRC-32", "MANIFEST lists"],
    );
    save_model(&first, &one, &vocab).expect("saves");

    // One flipped bit in the data of V.npy: still a valid .npy file.
    let path = first.join("V.npy");
    let mut bytes = fs::read(&path).expect("read");
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    fs::write(&path, &bytes).expect("write");
    refused(
        "model folder: one bit of V.npy flipped",
        &["first/V.npy", "CRC-32"],
    );
    save_model(&first, &one, &vocab).expect("saves");

    // vocab.txt one byte shorter.
    let path = first.join("vocab.txt");
    let bytes = fs::read(&path).expect("read");
    fs::write(&path, &bytes[..bytes.len() - 1]).expect("write");
    refused(
        "model folder: vocab.txt one byte short",
        &["first/vocab.txt", "bytes, but MANIFEST lists"],
    );
    save_model(&first, &one, &vocab).expect("saves");

    // A manifest that does not list W.npy.
    let manifest = fs::read_to_string(first.join(MANIFEST_FILE)).expect("read");
    let without_w: String = manifest
        .lines()
        .filter(|l| !l.starts_with("W.npy"))
        .map(|l| format!("{l}\n"))
        .collect();
    fs::write(first.join(MANIFEST_FILE), without_w).expect("write");
    refused(
        "model folder: W.npy not in MANIFEST",
        &["first/W.npy", "does not list"],
    );

    // A file listed but not needed by the model may be removed; one that is present must
    // have its listed size.
    save_model(&first, &one, &vocab).expect("saves");
    fs::write(first.join("notes.txt"), "x").expect("write");
    let manifest = fs::read_to_string(first.join(MANIFEST_FILE)).expect("read");
    fs::write(
        first.join(MANIFEST_FILE),
        format!("{manifest}notes.txt\t2\t00000000\n"),
    )
    .expect("write");
    refused(
        "model folder: a listed file of another size",
        &["first/notes.txt", "1 bytes, but MANIFEST lists 2"],
    );
    fs::remove_file(first.join("notes.txt")).expect("remove");
    assert_eq!(load_model(&first, OovPolicy::Drop).expect("loads").0, one);

    // A folder without a manifest, as earlier versions wrote it, is read as it is.
    fs::remove_file(first.join(MANIFEST_FILE)).expect("remove");
    assert_eq!(load_model(&first, OovPolicy::Drop).expect("loads").0, one);
}
