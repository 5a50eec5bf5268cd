//! The gate where workers wait while a checkpoint is written.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex, PoisonError};
use std::time::Duration;

/// Where workers wait while a checkpoint is written.
#[derive(Default)]
pub(crate) struct PauseGate {
    /// Workers waiting, and the number of releases so far.
    state: Mutex<(usize, u64)>,
    changed: Condvar,
}

/// How often gate waiters look at the abort flag.
const GATE_POLL: Duration = Duration::from_millis(20);

impl PauseGate {
    fn lock(&self) -> std::sync::MutexGuard<'_, (usize, u64)> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn releases(&self) -> u64 {
        self.lock().1
    }

    /// Waits until `done` holds for the gate's state or `abort` is set; returns whether
    /// `done` held.
    pub(crate) fn wait_until(
        &self,
        abort: &AtomicBool,
        done: impl Fn(&(usize, u64)) -> bool,
    ) -> bool {
        let mut state = self.lock();
        while !done(&state) {
            if abort.load(Ordering::Relaxed) {
                return false;
            }
            state = self
                .changed
                .wait_timeout(state, GATE_POLL)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        true
    }

    /// A worker arrives and waits for the release (or an abort).
    pub(crate) fn arrive_and_wait(&self, abort: &AtomicBool) {
        let release = {
            let mut state = self.lock();
            state.0 += 1;
            self.changed.notify_all();
            state.1
        };
        self.wait_until(abort, |state| state.1 != release);
    }

    pub(crate) fn release(&self) {
        let mut state = self.lock();
        *state = (0, state.1 + 1);
        self.changed.notify_all();
    }
}
