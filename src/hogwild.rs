//! Lock-free shared rows of `U` and `V` for Hogwild training. This module holds the
//! crate's only `unsafe` code.
//!
//! # Safety argument
//!
//! [`SharedRows`] is made from an exclusive borrow (`ArrayViewMut2`) of a contiguous
//! row-major matrix and keeps that borrow alive for its lifetime `'a`, so nothing outside
//! the worker threads can read or write the matrix meanwhile, and the memory outlives every
//! access. Every row access checks its index against the row count, so every pointer formed
//! here lies inside the allocation.
//!
//! Several threads may read and write the same row at the same time. That is a data race
//! on plain `f32` values, which the Rust memory model leaves undefined; Hogwild SGD (Recht
//! et al., 2011, as in word2vec, fastText and finalfrontier) accepts it on purpose. What
//! keeps it harmless in practice: the rows are plain `f32` with no invariant (every bit
//! pattern is a valid `f32`), each access is a short loop of aligned 4-byte loads and stores
//! that are single instructions on the targets we build for (x86-64, AArch64), a slice
//! formed here never outlives the call that formed it, and no code relies on a row keeping
//! its value between two calls. A lost update costs one gradient step, which SGD tolerates.
//! With one worker thread there is no concurrent access at all and training is exactly
//! reproducible.

use std::marker::PhantomData;

use ndarray::ArrayViewMut2;

/// A matrix whose rows many threads update without locks.
pub(crate) struct SharedRows<'a> {
    ptr: *mut f32,
    n_rows: usize,
    dim: usize,
    _borrow: PhantomData<&'a mut [f32]>,
}

// SAFETY: see the module documentation; the pointer comes from an exclusive borrow that
// lives as long as `'a`, and concurrent row access is the intended Hogwild race.
unsafe impl Send for SharedRows<'_> {}
// SAFETY: as above.
unsafe impl Sync for SharedRows<'_> {}

impl<'a> SharedRows<'a> {
    /// Wraps a matrix; `None` unless it is contiguous and row-major.
    pub(crate) fn new(mut matrix: ArrayViewMut2<'a, f32>) -> Option<Self> {
        let (n_rows, dim) = matrix.dim();
        let slice = matrix.as_slice_mut()?;
        Some(SharedRows {
            ptr: slice.as_mut_ptr(),
            n_rows,
            dim,
            _borrow: PhantomData,
        })
    }

    /// Runs `f` on row `row`.
    ///
    /// # Panics
    ///
    /// If `row` is out of range (word ids come from the vocabulary the matrix was sized
    /// for, so this is a bug, not bad input).
    #[inline]
    pub(crate) fn with_row<R>(&self, row: usize, f: impl FnOnce(&[f32]) -> R) -> R {
        assert!(row < self.n_rows, "row {row} of {}", self.n_rows);
        // SAFETY: `row < n_rows`, so the `dim` floats from `row * dim` lie inside the
        // borrowed matrix; see the module documentation for the concurrent access.
        let slice = unsafe { std::slice::from_raw_parts(self.ptr.add(row * self.dim), self.dim) };
        f(slice)
    }

    /// Runs `f` on row `row`, mutably.
    ///
    /// # Panics
    ///
    /// If `row` is out of range.
    #[inline]
    pub(crate) fn with_row_mut<R>(&self, row: usize, f: impl FnOnce(&mut [f32]) -> R) -> R {
        assert!(row < self.n_rows, "row {row} of {}", self.n_rows);
        // SAFETY: as in `with_row`; the slice does not escape `f`.
        let slice =
            unsafe { std::slice::from_raw_parts_mut(self.ptr.add(row * self.dim), self.dim) };
        f(slice)
    }

    /// Runs `f` on the whole matrix, row-major. Meant for moments when the workers are
    /// paused (a checkpoint); if they are not, the values are a Hogwild snapshot, racy in
    /// the same harmless way as any row read.
    pub(crate) fn with_all<R>(&self, f: impl FnOnce(&[f32]) -> R) -> R {
        // SAFETY: the pointer covers `n_rows * dim` floats of the borrowed matrix (it was
        // made from a slice of exactly that length); see the module documentation for the
        // concurrent access. The slice does not escape `f`.
        let slice = unsafe { std::slice::from_raw_parts(self.ptr, self.n_rows * self.dim) };
        f(slice)
    }
}

impl SharedRows<'_> {
    /// Asks the CPU to start loading row `row` into its caches, so that a later access does
    /// not wait for memory. A hint only: no effect on the values, none on targets other
    /// than x86-64, and none for an out-of-range row.
    #[inline]
    pub(crate) fn prefetch(&self, row: usize) {
        if row >= self.n_rows || self.dim == 0 {
            return;
        }
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
            /// `f32`s per 64-byte cache line.
            const LINE: usize = 16;
            let start = row * self.dim;
            // Every line of the row: one address per 16 floats, and the last float (a row
            // need not start at a line boundary).
            let offsets = (0..self.dim)
                .step_by(LINE)
                .chain(std::iter::once(self.dim - 1));
            for offset in offsets {
                // SAFETY: `row < n_rows` and `offset < dim`, so the address lies inside
                // the borrowed matrix. `_mm_prefetch` (SSE, part of the x86-64 baseline)
                // is a hint: it neither reads nor writes memory as the program sees it and
                // never faults.
                unsafe {
                    _mm_prefetch::<_MM_HINT_T0>(self.ptr.add(start + offset).cast::<i8>());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    #[test]
    fn rows_are_the_matrix_rows() {
        let mut m = Array2::from_shape_fn((3, 4), |(i, j)| (i * 4 + j) as f32);
        {
            let shared = SharedRows::new(m.view_mut()).expect("contiguous");
            shared.with_row(1, |r| assert_eq!(r, &[4.0, 5.0, 6.0, 7.0]));
            shared.with_row_mut(2, |r| r[3] = -1.0);
            shared.with_all(|all| {
                assert_eq!(all.len(), 12);
                assert_eq!(all[11], -1.0);
            });
        }
        assert_eq!(m[[2, 3]], -1.0);
    }

    #[test]
    fn prefetch_changes_nothing_and_ignores_bad_rows() {
        let mut m = Array2::from_shape_fn((3, 37), |(i, j)| (i * 37 + j) as f32);
        let copy = m.clone();
        {
            let shared = SharedRows::new(m.view_mut()).expect("contiguous");
            for row in 0..5 {
                shared.prefetch(row);
            }
        }
        assert_eq!(m, copy);
    }

    #[test]
    fn rejects_non_contiguous() {
        let mut m = Array2::<f32>::zeros((3, 4));
        assert!(SharedRows::new(m.view_mut().reversed_axes()).is_none());
    }

    #[test]
    #[should_panic(expected = "row 3 of 3")]
    fn out_of_range_row_panics() {
        let mut m = Array2::<f32>::zeros((3, 4));
        let shared = SharedRows::new(m.view_mut()).expect("contiguous");
        shared.with_row(3, |_| ());
    }
}
