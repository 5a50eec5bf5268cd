//! When and where the trainer writes checkpoints.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::ConfigError;

/// When and where the trainer writes checkpoints, and what it does on divergence.
///
/// ```
/// use std::time::Duration;
/// use bilinear_skipgram::CheckpointOptions;
///
/// let options = CheckpointOptions::new("run/checkpoint.bsg")
///     .every(Duration::from_secs(600))
///     .retries(2, 0.5)?;
/// assert_eq!(options.retry_factor(), 0.5);
/// # Ok::<(), bilinear_skipgram::ConfigError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct CheckpointOptions {
    path: PathBuf,
    every: Option<Duration>,
    every_words: Option<u64>,
    retries: usize,
    retry_factor: f32,
}

impl CheckpointOptions {
    /// Checkpoints at `path` every five minutes of training, no retry on divergence.
    ///
    /// `path` must be a regular file or not exist yet: a symbolic link is refused before
    /// training (see [`check_output_file`](crate::io::check_output_file)), as output
    /// folders are, since each checkpoint is renamed over the name and would replace the
    /// link, not the file it points to.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        CheckpointOptions {
            path: path.into(),
            every: Some(Duration::from_secs(300)),
            every_words: None,
            retries: 0,
            retry_factor: 0.5,
        }
    }

    /// A checkpoint whenever this much training time has passed since the last one.
    pub fn every(mut self, interval: Duration) -> Self {
        self.every = Some(interval);
        self
    }

    /// A checkpoint whenever this many minutes of training have passed since the last
    /// one: [`every`](Self::every) for a number that comes from a person, checked first.
    ///
    /// # Errors
    ///
    /// [`ConfigError::NotFinite`] or [`ConfigError::OutOfRange`] unless
    /// `0 < minutes ≤ 1 000 000` (about two years).
    pub fn every_minutes(self, minutes: f64) -> Result<Self, ConfigError> {
        if !minutes.is_finite() {
            return Err(ConfigError::NotFinite {
                field: "checkpoint minutes",
                value: minutes,
            });
        }
        if !(minutes > 0.0 && minutes <= 1e6) {
            return Err(ConfigError::OutOfRange {
                field: "checkpoint minutes",
                range: "(0, 1000000]",
                value: minutes,
            });
        }
        Ok(self.every(Duration::from_secs_f64(minutes * 60.0)))
    }

    /// A checkpoint whenever this many corpus words have been trained since the last one
    /// (taken at the next chunk boundary, about ten thousand words); `None` for time only.
    /// Word-based checkpoints are placed the same way in every run, which makes runs with
    /// one thread reproducible across interruptions.
    pub fn every_words(mut self, words: Option<u64>) -> Self {
        self.every_words = words;
        self
    }

    /// Only word-based checkpoints (no timer).
    pub fn without_timer(mut self) -> Self {
        self.every = None;
        self
    }

    /// On divergence, go back to the last checkpoint up to `retries` times, multiplying
    /// both learning rates by `factor` each time.
    ///
    /// # Errors
    ///
    /// [`ConfigError::OutOfRange`] unless `0 < factor < 1`.
    pub fn retries(mut self, retries: usize, factor: f32) -> Result<Self, ConfigError> {
        if !factor.is_finite() {
            return Err(ConfigError::NotFinite {
                field: "retry_factor",
                value: f64::from(factor),
            });
        }
        if !(factor > 0.0 && factor < 1.0) {
            return Err(ConfigError::OutOfRange {
                field: "retry_factor",
                range: "(0, 1)",
                value: f64::from(factor),
            });
        }
        self.retries = retries;
        self.retry_factor = factor;
        Ok(self)
    }

    /// The checkpoint file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The time between checkpoints, if timed.
    pub fn interval(&self) -> Option<Duration> {
        self.every
    }

    /// The words between checkpoints, if counted.
    pub fn interval_words(&self) -> Option<u64> {
        self.every_words
    }

    /// Retries on divergence.
    pub fn retry_count(&self) -> usize {
        self.retries
    }

    /// Learning-rate factor per retry.
    pub fn retry_factor(&self) -> f32 {
        self.retry_factor
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkpoint_minutes_are_checked() {
        let options = CheckpointOptions::new("c").every_minutes(1.5).unwrap();
        assert_eq!(options.interval(), Some(Duration::from_secs(90)));
        for (minutes, message) in [
            (
                1e300,
                "`checkpoint minutes` must lie in (0, 1000000], got 1e300",
            ),
            (0.0, "`checkpoint minutes` must lie in (0, 1000000], got 0"),
            (
                -1.0,
                "`checkpoint minutes` must lie in (0, 1000000], got -1",
            ),
            (f64::NAN, "`checkpoint minutes` must be finite, got NaN"),
            (
                f64::INFINITY,
                "`checkpoint minutes` must be finite, got inf",
            ),
        ] {
            let error = CheckpointOptions::new("c")
                .every_minutes(minutes)
                .unwrap_err();
            assert_eq!(error.to_string(), message);
        }
    }

    #[test]
    fn retry_factor_is_checked() {
        let options = CheckpointOptions::new("x");
        assert!(options.clone().retries(1, 0.0).is_err());
        assert!(options.clone().retries(1, 1.0).is_err());
        assert!(options.clone().retries(1, f32::NAN).is_err());
        assert_eq!(options.retries(3, 0.25).unwrap().retry_count(), 3);
    }
}
