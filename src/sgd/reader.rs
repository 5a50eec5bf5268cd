//! The reader thread: streams the corpus as chunks of word ids to the workers and pauses
//! them for checkpoints.

use std::cell::Cell;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::mpsc::SyncSender;
use std::time::{Duration, Instant};

use rand::SeedableRng;
use rand::rngs::Xoshiro256PlusPlus;

use super::Shared;
use crate::corpus::Corpus;
use crate::error::{Error, Result};
use crate::vocab::Vocab;

/// Words per chunk handed to a worker thread.
const CHUNK_WORDS: usize = 10_000;

pub(crate) struct Chunk {
    pub(crate) epoch: usize,
    /// Index within the epoch of the chunk's first sentence (held-out sentences
    /// counted): with the seed and the epoch, it seeds the chunk's random stream, so that
    /// every random draw depends on the data's position and not on the thread that trains
    /// it or on when checkpoints happen.
    pub(crate) first_sentence: u64,
    pub(crate) ids: Vec<u32>,
    /// End offset (exclusive) of each sentence in `ids`.
    pub(crate) ends: Vec<usize>,
}

/// What the reader hands the workers.
pub(crate) enum Job {
    Chunk(Chunk),
    /// Stop at the [`PauseGate`](super::pause::PauseGate) until the calling thread is done
    /// (it writes a checkpoint, or scores the model at the end of an epoch). A pause
    /// changes no result: each chunk's random stream is derived from its position
    /// ([`chunk_rng`]), and with one thread the merge of `W` is an assignment.
    Pause,
}

/// What the calling thread hears about.
pub(crate) enum Event {
    /// A worker finished a chunk.
    Chunk(Report),
    /// Every worker is paused, all earlier chunks are reported, and the corpus position is
    /// `sentences` sentences into `epoch`: score the model if this is the end of an epoch,
    /// write a checkpoint if `checkpoint` or if the observer stopped the run (the reader
    /// ends it after this pause), then release the gate.
    Pause {
        epoch: usize,
        sentences: u64,
        checkpoint: bool,
    },
}

pub(crate) struct Report {
    pub(crate) epoch: usize,
    pub(crate) words: u64,
    pub(crate) loss: f64,
    pub(crate) pairs: u64,
}

/// Streams the corpus as chunks of word ids to the workers, and pauses them for
/// checkpoints.
pub(crate) struct Reader<'r, 'a> {
    pub(crate) corpus: &'r Corpus,
    pub(crate) vocab: &'r Vocab,
    pub(crate) epochs: usize,
    pub(crate) jobs: SyncSender<Job>,
    pub(crate) events: SyncSender<Event>,
    pub(crate) shared: &'r Shared<'a>,
    /// Checkpoint every so much time and/or every so many words.
    pub(crate) schedule: Option<(Option<Duration>, Option<u64>)>,
    /// Held-out sentences (indices within an epoch, ascending): not trained on.
    pub(crate) heldout: &'r [u64],
    /// Pause at the end of every epoch but the last, for the calling thread to score the
    /// model.
    pub(crate) epoch_end_pauses: bool,
    /// Words of the chunks queued so far.
    pub(crate) words_sent: Cell<u64>,
}

/// How the reader ended.
pub(crate) struct ReadEnd {
    /// Long tokens skipped in one epoch read to its end, or, if training stopped before
    /// any epoch ended, those of the part read.
    pub(crate) long_tokens_skipped: u64,
    /// Words of the chunks it queued.
    pub(crate) words_sent: u64,
    /// It read to the end of the last epoch (training was not stopped first).
    pub(crate) completed: bool,
}

/// The random generator of the chunk of `epoch` that starts at sentence `first_sentence`
/// of the epoch, for a run seeded with `seed`: a pure function of the three, so that one
/// thread and one seed give the same model whether or not, and wherever, the run was
/// paused, checkpointed or resumed.
pub(crate) fn chunk_rng(seed: u64, epoch: usize, first_sentence: u64) -> Xoshiro256PlusPlus {
    // The finaliser over each coordinate in turn: distinct positions give unrelated seeds
    // (`seed_from_u64` expands the result with SplitMix64 again).
    let mut state = mix64(seed.wrapping_add(GOLDEN));
    state = mix64(state ^ (epoch as u64).wrapping_add(GOLDEN));
    state = mix64(state ^ first_sentence.wrapping_add(GOLDEN));
    Xoshiro256PlusPlus::seed_from_u64(state)
}

/// SplitMix64's increment, the golden ratio in 64 bits.
pub(crate) const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

/// SplitMix64's finaliser: a bijection of `u64` whose outputs for nearby inputs look
/// unrelated.
pub(crate) fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Reader<'_, '_> {
    /// Reads from `sentences` sentences into epoch `epoch` to the end of the last epoch,
    /// or until training stops.
    pub(crate) fn run(self, (epoch, sentences): (usize, u64)) -> Result<ReadEnd> {
        let result = self.read(epoch, sentences);
        if result.is_err() {
            self.shared.abort.store(true, Ordering::Relaxed);
        }
        result.map(|(long_tokens_skipped, completed)| ReadEnd {
            long_tokens_skipped,
            words_sent: self.words_sent.get(),
            completed,
        })
    }

    fn read(&self, first_epoch: usize, skip: u64) -> Result<(u64, bool)> {
        let mut long_tokens_skipped = 0;
        let mut since = (Instant::now(), 0_u64); // last checkpoint, words sent since
        let fresh = |epoch, first_sentence| Chunk {
            epoch,
            first_sentence,
            ids: Vec::with_capacity(CHUNK_WORDS + 64),
            ends: Vec::new(),
        };
        for epoch in first_epoch..self.epochs {
            let mut stream = self.corpus.sentences()?;
            let mut sentences = 0_u64;
            if epoch == first_epoch {
                while sentences < skip {
                    if !stream.next_sentence(|_| {})? {
                        return Err(Error::Format {
                            path: stream
                                .current_path()
                                .map(Path::to_path_buf)
                                .unwrap_or_default(),
                            message: format!(
                                "the corpus has {sentences} sentences, but the run to resume had read {skip} in epoch {epoch}"
                            ),
                        });
                    }
                    sentences += 1;
                }
            }
            // `true` if training stopped within the epoch.
            let stopped = 'epoch: {
                let mut chunk = fresh(epoch, sentences);
                // A stop seen at a chunk boundary, carried out at the next sentence: the
                // run ends only if the corpus goes on, and a stop after the last chunk
                // lets the epoch end as usual (the run is then complete, not stopped).
                // `Some(true)`: its checkpoint is still to be written; `Some(false)`: it
                // was, at a pause at this boundary.
                let mut stop_here: Option<bool> = None;
                loop {
                    let train = self.heldout.binary_search(&sentences).is_err();
                    let more = stream.next_sentence(|token| {
                        if train && let Some(id) = self.vocab.token_id_u32(token) {
                            chunk.ids.push(id);
                        }
                    })?;
                    if !more {
                        break;
                    }
                    if let Some(unwritten) = stop_here {
                        // Every chunk before this sentence is sent, and a resume reads
                        // it again: the checkpoint at the stop, then the end.
                        if unwritten {
                            self.pause(epoch, sentences, true);
                        }
                        break 'epoch true;
                    }
                    sentences += 1;
                    if chunk.ends.last().copied().unwrap_or(0) != chunk.ids.len() {
                        chunk.ends.push(chunk.ids.len());
                    }
                    if chunk.ids.len() >= CHUNK_WORDS {
                        since.1 += chunk.ids.len() as u64;
                        let full = std::mem::replace(&mut chunk, fresh(epoch, sentences));
                        if !self.send(Job::Chunk(full)) {
                            break 'epoch true;
                        }
                        if self.stop_requested() {
                            stop_here = Some(true);
                        } else if self.due(since) {
                            if !self.pause(epoch, sentences, true) {
                                break 'epoch true;
                            }
                            since = (Instant::now(), 0);
                            // A stop asked for while the calling thread caught up with the
                            // chunks before this pause had the checkpoint written at it.
                            if self.stop_requested() {
                                stop_here = Some(false);
                            }
                        }
                    }
                }
                if !chunk.ids.is_empty() {
                    since.1 += chunk.ids.len() as u64;
                    if !self.send(Job::Chunk(chunk)) {
                        break 'epoch true;
                    }
                }
                false
            };
            // A later epoch read in part has met no more overlong tokens than a whole one;
            // a first one stopped early reports those of the part read.
            long_tokens_skipped = long_tokens_skipped.max(stream.long_tokens_skipped());
            if stopped {
                return Ok((long_tokens_skipped, false));
            }
            let due = self.due(since);
            let stop = self.stop_requested();
            if epoch + 1 < self.epochs && (due || stop || self.epoch_end_pauses) {
                // The calling thread may stop the run at this pause's scores: it writes
                // the checkpoint here then, and the run ends.
                if !self.pause(epoch + 1, 0, due || stop) || self.stop_requested() {
                    return Ok((long_tokens_skipped, false));
                }
                if due {
                    since = (Instant::now(), 0);
                }
            }
        }
        Ok((long_tokens_skipped, true))
    }

    /// Queues a job unless training stopped; `false` if it did. Checking the abort flag
    /// before every send keeps the reader from blocking on a queue nobody empties.
    fn send(&self, job: Job) -> bool {
        let words = match &job {
            Job::Chunk(chunk) => chunk.ids.len() as u64,
            Job::Pause => 0,
        };
        let sent = !self.shared.abort.load(Ordering::Relaxed) && self.jobs.send(job).is_ok();
        if sent {
            self.words_sent.set(self.words_sent.get() + words);
        }
        sent
    }

    /// Whether the observer stopped a checkpointed run: the reader then pauses at the next
    /// chunk boundary for a checkpoint and ends there, unless the corpus ends there (the
    /// epoch then ends as usual).
    fn stop_requested(&self) -> bool {
        self.shared.stop.load(Ordering::Relaxed)
    }

    /// Whether a checkpoint is due `since.0` and `since.1` words after the last one.
    fn due(&self, since: (Instant, u64)) -> bool {
        self.schedule.is_some_and(|(every, every_words)| {
            every.is_some_and(|every| since.0.elapsed() >= every)
                || every_words.is_some_and(|words| since.1 >= words)
        })
    }

    /// Pauses every worker after the chunks sent so far, has the calling thread score the
    /// model (at the end of an epoch) and write a checkpoint at `(epoch, sentences)` if
    /// `checkpoint`, and waits for it; `false` if training stopped.
    fn pause(&self, epoch: usize, sentences: u64, checkpoint: bool) -> bool {
        let shared = self.shared;
        let threads = shared.config.threads();
        let releases = shared.gate.releases();
        for _ in 0..threads {
            if !self.send(Job::Pause) {
                return false;
            }
        }
        // Each worker takes one pause job and waits, so once all have arrived every
        // earlier chunk is trained and reported.
        if !shared
            .gate
            .wait_until(&shared.abort, |state| state.0 == threads)
        {
            return false;
        }
        let event = Event::Pause {
            epoch,
            sentences,
            checkpoint,
        };
        if self.events.send(event).is_err() {
            return false;
        }
        shared
            .gate
            .wait_until(&shared.abort, |state| state.1 != releases)
    }
}
