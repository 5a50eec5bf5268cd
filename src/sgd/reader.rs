//! The reader thread: streams the corpus as chunks of word ids to the workers and pauses
//! them for checkpoints.

use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::mpsc::SyncSender;
use std::time::{Duration, Instant};

use super::Shared;
use crate::corpus::Corpus;
use crate::error::{Error, Result};
use crate::vocab::Vocab;

/// Words per chunk handed to a worker thread.
const CHUNK_WORDS: usize = 10_000;

pub(crate) struct Chunk {
    pub(crate) epoch: usize,
    pub(crate) ids: Vec<u32>,
    /// End offset (exclusive) of each sentence in `ids`.
    pub(crate) ends: Vec<usize>,
}

/// What the reader hands the workers.
pub(crate) enum Job {
    Chunk(Chunk),
    /// Stop at the [`PauseGate`](super::pause::PauseGate) until the checkpoint is written.
    Pause,
}

/// What the calling thread hears about.
pub(crate) enum Event {
    /// A worker finished a chunk.
    Chunk(Report),
    /// Every worker is paused, all earlier chunks are reported, and the corpus position is
    /// `sentences` sentences into `epoch`: write a checkpoint, then release the gate.
    Pause { epoch: usize, sentences: u64 },
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
}

impl Reader<'_, '_> {
    /// Reads from `sentences` sentences into epoch `epoch` to the end of the last epoch.
    /// Returns the long tokens skipped in the last epoch read to its end.
    pub(crate) fn run(self, (epoch, sentences): (usize, u64)) -> Result<u64> {
        let result = self.read(epoch, sentences);
        if result.is_err() {
            self.shared.abort.store(true, Ordering::Relaxed);
        }
        result
    }

    fn read(&self, first_epoch: usize, skip: u64) -> Result<u64> {
        let mut long_tokens_skipped = 0;
        let mut since = (Instant::now(), 0_u64); // last checkpoint, words sent since
        let fresh = |epoch| Chunk {
            epoch,
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
            let mut chunk = fresh(epoch);
            while stream.next_sentence(|token| {
                if let Some(id) = self.vocab.lookup(token) {
                    chunk.ids.push(id);
                }
            })? {
                sentences += 1;
                if chunk.ends.last().copied().unwrap_or(0) != chunk.ids.len() {
                    chunk.ends.push(chunk.ids.len());
                }
                if chunk.ids.len() >= CHUNK_WORDS {
                    since.1 += chunk.ids.len() as u64;
                    let full = std::mem::replace(&mut chunk, fresh(epoch));
                    if !self.send(Job::Chunk(full)) {
                        return Ok(long_tokens_skipped);
                    }
                    if self.due(since) {
                        if !self.pause(epoch, sentences) {
                            return Ok(long_tokens_skipped);
                        }
                        since = (Instant::now(), 0);
                    }
                }
            }
            if !chunk.ids.is_empty() {
                since.1 += chunk.ids.len() as u64;
                if !self.send(Job::Chunk(chunk)) {
                    return Ok(long_tokens_skipped);
                }
            }
            long_tokens_skipped = stream.long_tokens_skipped();
            if epoch + 1 < self.epochs && self.due(since) {
                if !self.pause(epoch + 1, 0) {
                    return Ok(long_tokens_skipped);
                }
                since = (Instant::now(), 0);
            }
        }
        Ok(long_tokens_skipped)
    }

    /// Queues a job unless training stopped; `false` if it did. Checking the abort flag
    /// before every send keeps the reader from blocking on a queue nobody empties.
    fn send(&self, job: Job) -> bool {
        !self.shared.abort.load(Ordering::Relaxed) && self.jobs.send(job).is_ok()
    }

    /// Whether a checkpoint is due `since.0` and `since.1` words after the last one.
    fn due(&self, since: (Instant, u64)) -> bool {
        self.schedule.is_some_and(|(every, every_words)| {
            every.is_some_and(|every| since.0.elapsed() >= every)
                || every_words.is_some_and(|words| since.1 >= words)
        })
    }

    /// Pauses every worker after the chunks sent so far, has the calling thread write a
    /// checkpoint at `(epoch, sentences)`, and waits for it; `false` if training stopped.
    fn pause(&self, epoch: usize, sentences: u64) -> bool {
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
        if self.events.send(Event::Pause { epoch, sentences }).is_err() {
            return false;
        }
        shared
            .gate
            .wait_until(&shared.abort, |state| state.1 != releases)
    }
}
