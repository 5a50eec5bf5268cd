//! Negative sampling for word2vec-style training.
//!
//! [`NegativeSampler`] draws word indices with probability proportional to a weight,
//! usually `count^0.75`, using Vose's alias method: construction is O(n) and every
//! draw costs one `next_u64()` call, one table lookup and one comparison.
//!
//! # How a draw works
//!
//! The table has one bucket per word. A bucket holds an acceptance threshold `t`
//! (a `u32`, read as `t / 2^32`) and an alias. One 64-bit random word `x` is split in
//! two halves: the high 32 bits pick the bucket by multiply-shift,
//! `((x >> 32) * n) >> 32`, and the low 32 bits are compared with the threshold: below
//! it the bucket's own word is returned, otherwise its alias.
//!
//! The table is built in exact integer arithmetic. Each word receives a whole number
//! of units of probability mass, `1 / (n * 2^32)` each, by rounding the cumulative
//! distribution so that the units add up to exactly `n * 2^32`; Vose's pairing is then
//! carried out on those integers, with no floating-point leftovers. Consequences:
//!
//! * a word of weight zero gets zero units, so its own bucket has threshold 0, and every
//!   alias is a word with positive mass: a zero-weight word is never returned;
//! * a bucket that must always accept has itself as alias, so even the 32-bit
//!   comparison's top value cannot fall through to another word;
//! * the probability actually sampled differs from the normalised weight by at most
//!   about one unit, `1 / (n * 2^32)`, plus the multiply-shift bucket choice, whose
//!   bias is below `2^-32` per bucket. A positive weight smaller than about
//!   `2^-32 / n` of the total may round to zero units and then is never drawn.

use rand::Rng;
use rand::distr::Distribution;

use crate::error::SamplingError;

/// The largest number of weights a [`NegativeSampler`] accepts: `u32::MAX - 1`.
///
/// Indices are returned as `u32` by [`NegativeSampler::sample_index`].
pub const MAX_WEIGHTS: usize = u32::MAX as usize - 1;

/// One unit of bucket capacity: a bucket is split into `2^32` parts.
const BUCKET_UNITS: u64 = 1 << 32;

/// One bucket of the alias table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct AliasEntry {
    /// Accept the bucket's own index when the low 32 random bits are below this.
    threshold: u32,
    /// Index returned otherwise. Equal to the bucket's own index when the bucket
    /// always accepts.
    alias: u32,
}

/// A sampler of word indices with probability proportional to given weights.
///
/// Built once with [`NegativeSampler::new`] (from word counts and an exponent) or
/// [`NegativeSampler::from_weights`], then immutable; it is `Send + Sync`, so one
/// sampler can be shared by all training threads, each with its own RNG.
///
/// Draws come from [`NegativeSampler::sample_index`] (a `u32`, for hot loops) or from
/// the [`Distribution<usize>`] implementation; both consume exactly one `next_u64()`
/// per draw and return the same index for the same RNG state.
///
/// # Example
///
/// ```
/// use bilinear_skipgram::NegativeSampler;
/// use rand::SeedableRng;
/// use rand::distr::Distribution;
/// use rand::rngs::Xoshiro256PlusPlus;
///
/// // Word counts from a vocabulary; word 1 never occurred.
/// let counts = [120, 0, 45, 7];
/// let sampler = NegativeSampler::new(&counts, 0.75)?;
/// assert_eq!(sampler.len(), 4);
/// assert_eq!(sampler.probability(1), Some(0.0));
///
/// let mut rng = Xoshiro256PlusPlus::seed_from_u64(42);
/// for _ in 0..1_000 {
///     let word: usize = sampler.sample(&mut rng);
///     assert!(word < 4 && word != 1);
/// }
/// // The allocation-free form used in training loops.
/// let word: u32 = sampler.sample_index(&mut rng);
/// assert_ne!(word, 1);
/// # Ok::<(), bilinear_skipgram::SamplingError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct NegativeSampler {
    /// One bucket per index.
    table: Box<[AliasEntry]>,
    /// Normalised target probabilities, `weight / sum`.
    probabilities: Box<[f64]>,
}

impl NegativeSampler {
    /// Builds a sampler from word counts, with weights `count^power`.
    ///
    /// word2vec uses `power = 0.75`. The weights are computed in `f64`. A count of zero
    /// always has weight zero, even with `power = 0` (where every other word gets
    /// weight 1), so words that never occurred are never drawn.
    ///
    /// # Errors
    ///
    /// Checked in this order:
    ///
    /// * [`SamplingError::BadPower`] if `power` is NaN, infinite or negative;
    /// * [`SamplingError::Empty`] if `counts` is empty;
    /// * [`SamplingError::TooMany`] if there are more than [`MAX_WEIGHTS`] counts;
    /// * [`SamplingError::AllZero`] if every count is zero;
    /// * [`SamplingError::Overflow`] if a weight `count^power` or the sum of the
    ///   weights is infinite in `f64`.
    pub fn new(counts: &[u64], power: f64) -> Result<Self, SamplingError> {
        if !power.is_finite() || power < 0.0 {
            return Err(SamplingError::BadPower(power));
        }
        check_len(counts.len())?;
        let mut weights = Vec::with_capacity(counts.len());
        for &count in counts {
            let weight = count_weight(count, power);
            if !weight.is_finite() {
                return Err(SamplingError::Overflow);
            }
            weights.push(weight);
        }
        Self::build(&weights)
    }

    /// Builds a sampler from arbitrary non-negative weights.
    ///
    /// The weights need not be normalised. Individual zero weights are allowed (and
    /// `-0.0` counts as zero); an index of weight zero is never drawn.
    ///
    /// # Errors
    ///
    /// * [`SamplingError::Empty`] if `weights` is empty;
    /// * [`SamplingError::TooMany`] if there are more than [`MAX_WEIGHTS`] weights;
    /// * [`SamplingError::NotFinite`] or [`SamplingError::Negative`] for the first
    ///   weight (lowest index) that is NaN or infinite, respectively below zero
    ///   (`-inf` is reported as not finite);
    /// * [`SamplingError::AllZero`] if every weight is zero;
    /// * [`SamplingError::Overflow`] if the weights are finite but their sum is not.
    pub fn from_weights(weights: &[f64]) -> Result<Self, SamplingError> {
        check_len(weights.len())?;
        Self::build(weights)
    }

    /// Number of indices (words) the sampler covers, including those of weight zero.
    #[must_use]
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// Always `false`: a sampler cannot be built from an empty input.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// The normalised target probability of `index`, `weight[index] / sum(weights)`,
    /// or `None` if `index >= self.len()`.
    ///
    /// This is the probability the sampler is built to reproduce; the probability
    /// actually sampled differs from it by at most about `2^-32` (see the
    /// [module documentation](self)). It is exactly `0.0` for a zero weight, and may
    /// underflow to `0.0` for a positive weight that is tiny relative to the sum.
    #[must_use]
    pub fn probability(&self, index: usize) -> Option<f64> {
        self.probabilities.get(index).copied()
    }

    /// Draws one index using exactly one `rng.next_u64()`.
    ///
    /// The result is always below [`len`](Self::len) and never an index of weight
    /// zero. This is the same draw as [`Distribution::sample`], as a `u32`.
    #[inline]
    pub fn sample_index<R: Rng + ?Sized>(&self, rng: &mut R) -> u32 {
        let x = rng.next_u64();
        // `x >> 32 < 2^32` and `len <= u32::MAX - 1`, so the product fits in a u64 and
        // the bucket is `floor(hi * len / 2^32) < len`: the index is in bounds.
        let bucket = ((x >> 32) * self.table.len() as u64) >> 32;
        let entry = self.table[bucket as usize];
        if (x as u32) < entry.threshold {
            bucket as u32
        } else {
            entry.alias
        }
    }

    /// Validates `weights` (whose length is already checked) and builds the table.
    fn build(weights: &[f64]) -> Result<Self, SamplingError> {
        let n = weights.len();
        let mut total = 0.0_f64;
        let mut last_positive = None;
        for (index, &value) in weights.iter().enumerate() {
            if !value.is_finite() {
                return Err(SamplingError::NotFinite { index, value });
            }
            if value < 0.0 {
                return Err(SamplingError::Negative { index, value });
            }
            if value > 0.0 {
                last_positive = Some(index);
            }
            total += value;
        }
        let Some(last_positive) = last_positive else {
            return Err(SamplingError::AllZero { n });
        };
        if !total.is_finite() {
            return Err(SamplingError::Overflow);
        }

        let probabilities: Box<[f64]> = weights.iter().map(|&w| w / total).collect();
        let masses = integer_masses(weights, total, last_positive);
        let table = alias_table(masses);
        Ok(Self {
            table,
            probabilities,
        })
    }
}

impl Distribution<usize> for NegativeSampler {
    /// Draws one index; see [`NegativeSampler::sample_index`].
    #[inline]
    fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> usize {
        self.sample_index(rng) as usize
    }
}

/// Rejects lengths the table cannot index.
fn check_len(n: usize) -> Result<(), SamplingError> {
    if n == 0 {
        Err(SamplingError::Empty)
    } else if n > MAX_WEIGHTS {
        Err(SamplingError::TooMany(n))
    } else {
        Ok(())
    }
}

/// `count^power` in `f64`, with a zero count always weighing zero (`0^0` included).
fn count_weight(count: u64, power: f64) -> f64 {
    if count == 0 {
        0.0
    } else {
        (count as f64).powf(power)
    }
}

/// Splits `n * 2^32` units of mass among the weights, proportionally, by rounding the
/// cumulative distribution.
///
/// The cut after index `i` is `round(prefix_i / total * n * 2^32)`, forced to the full
/// mass from the last positive weight on. Cuts never decrease, so every mass is the
/// difference of two cuts, the masses add up to exactly `n * 2^32`, and a zero weight
/// (whose prefix equals the previous one) gets exactly zero units.
///
/// Requires `1 <= weights.len() <= MAX_WEIGHTS`, weights finite and non-negative,
/// `total` their (finite, positive) sum in order, and `weights[last_positive] > 0`.
fn integer_masses(weights: &[f64], total: f64, last_positive: usize) -> Vec<u64> {
    let full = weights.len() as u64 * BUCKET_UNITS;
    let scale = full as f64;
    let mut masses = Vec::with_capacity(weights.len());
    let mut prefix = 0.0_f64;
    let mut previous_cut = 0_u64;
    for (index, &weight) in weights.iter().enumerate() {
        prefix += weight;
        let cut = if index >= last_positive {
            full
        } else {
            // `full = n * 2^32` is exact in f64 and `prefix <= total`, so this lies in
            // [0, full]; the `min` is only a guard.
            ((prefix / total * scale).round() as u64).min(full)
        };
        masses.push(cut.saturating_sub(previous_cut));
        previous_cut = cut.max(previous_cut);
    }
    masses
}

/// Vose's alias method on integer masses that add up to exactly `len * 2^32`.
///
/// Every step pairs one under-full index with one over-full index and retires exactly
/// one bucket's worth of mass, so the remaining mass is always (remaining indices) ×
/// `2^32`. Hence the under-full list can never outlive the over-full one, and whatever
/// is left over-full is exactly full: it always accepts and is its own alias.
fn alias_table(mut masses: Vec<u64>) -> Box<[AliasEntry]> {
    // Every bucket starts as "always accept, alias itself".
    let mut table: Box<[AliasEntry]> = (0..masses.len())
        .map(|i| AliasEntry {
            threshold: u32::MAX,
            alias: i as u32,
        })
        .collect();
    let mut small: Vec<u32> = Vec::new();
    let mut large: Vec<u32> = Vec::new();
    for (i, &mass) in masses.iter().enumerate() {
        if mass < BUCKET_UNITS {
            small.push(i as u32);
        } else {
            large.push(i as u32);
        }
    }
    while let (Some(&s), Some(&l)) = (small.last(), large.last()) {
        small.pop();
        large.pop();
        let small_mass = masses[s as usize];
        // `small_mass < 2^32`, so the threshold is exact.
        table[s as usize] = AliasEntry {
            threshold: small_mass as u32,
            alias: l,
        };
        // `masses[l] >= 2^32 > 2^32 - small_mass`: no underflow.
        let remaining = masses[l as usize] - (BUCKET_UNITS - small_mass);
        masses[l as usize] = remaining;
        if remaining < BUCKET_UNITS {
            small.push(l);
        } else {
            large.push(l);
        }
    }
    // By the invariant above, `small` is empty here and every index left in `large`
    // has mass exactly 2^32, which its initial entry already encodes.
    debug_assert!(small.is_empty());
    debug_assert!(large.iter().all(|&l| masses[l as usize] == BUCKET_UNITS));
    table
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::Xoshiro256PlusPlus;
    use std::convert::Infallible;

    /// Zipf-like counts: `1_000_000 / rank`.
    fn zipf_counts(k: usize) -> Vec<u64> {
        (1..=k as u64).map(|rank| 1_000_000 / rank).collect()
    }

    /// Upper 0.999 quantile of chi-square with `dof` degrees of freedom, by the
    /// Wilson–Hilferty approximation.
    fn chi_square_999(dof: f64) -> f64 {
        // Standard normal 0.999 quantile.
        const Z_999: f64 = 3.090_232_306_167_813;
        let a = 2.0 / (9.0 * dof);
        dof * (1.0 - a + Z_999 * a.sqrt()).powi(3)
    }

    /// Pearson's statistic of `observed` against `expected` probabilities, over the
    /// categories with positive expected probability. Returns (statistic, dof).
    fn chi_square(observed: &[u64], expected: &[f64]) -> (f64, f64) {
        let total: u64 = observed.iter().sum();
        let mut statistic = 0.0;
        let mut categories = 0_u32;
        for (&o, &p) in observed.iter().zip(expected) {
            if p > 0.0 {
                let e = p * total as f64;
                statistic += (o as f64 - e).powi(2) / e;
                categories += 1;
            } else {
                assert_eq!(o, 0, "drew an index of probability zero");
            }
        }
        (statistic, f64::from(categories - 1))
    }

    fn histogram(sampler: &NegativeSampler, draws: usize, seed: u64) -> Vec<u64> {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
        let mut counts = vec![0_u64; sampler.len()];
        for _ in 0..draws {
            counts[sampler.sample_index(&mut rng) as usize] += 1;
        }
        counts
    }

    /// The exact mass (in units of `1 / (n * 2^32)`) that the table gives each index,
    /// assuming a uniform bucket choice.
    fn table_masses(sampler: &NegativeSampler) -> Vec<u64> {
        let mut masses = vec![0_u64; sampler.len()];
        for (bucket, entry) in sampler.table.iter().enumerate() {
            let own = u64::from(entry.threshold);
            masses[bucket] += own;
            masses[entry.alias as usize] += BUCKET_UNITS - own;
        }
        masses
    }

    /// An RNG that returns a fixed sequence of `u64`s, cycling.
    struct ScriptedRng {
        values: Vec<u64>,
        next: usize,
    }

    impl rand::TryRng for ScriptedRng {
        type Error = Infallible;
        fn try_next_u32(&mut self) -> Result<u32, Infallible> {
            unreachable!("the sampler must only call next_u64")
        }
        fn try_next_u64(&mut self) -> Result<u64, Infallible> {
            let value = self.values[self.next % self.values.len()];
            self.next += 1;
            Ok(value)
        }
        fn try_fill_bytes(&mut self, _: &mut [u8]) -> Result<(), Infallible> {
            unreachable!("the sampler must only call next_u64")
        }
    }

    // ---- errors ---------------------------------------------------------------

    #[test]
    fn error_empty() {
        assert_eq!(
            NegativeSampler::from_weights(&[]),
            Err(SamplingError::Empty)
        );
        assert_eq!(NegativeSampler::new(&[], 0.75), Err(SamplingError::Empty));
    }

    #[test]
    fn error_negative_reports_first_index() {
        assert_eq!(
            NegativeSampler::from_weights(&[1.0, 0.0, -2.0, 3.0, -4.0]),
            Err(SamplingError::Negative {
                index: 2,
                value: -2.0
            })
        );
        // The smallest negative subnormal is still negative.
        assert_eq!(
            NegativeSampler::from_weights(&[-5e-324]),
            Err(SamplingError::Negative {
                index: 0,
                value: -5e-324
            })
        );
        // Negative zero is zero, not negative.
        assert!(NegativeSampler::from_weights(&[-0.0, 1.0]).is_ok());
    }

    #[test]
    fn error_not_finite_reports_first_index() {
        match NegativeSampler::from_weights(&[1.0, 2.0, f64::NAN, f64::INFINITY]) {
            Err(SamplingError::NotFinite { index: 2, value }) => assert!(value.is_nan()),
            other => panic!("expected NotFinite at 2, got {other:?}"),
        }
        assert_eq!(
            NegativeSampler::from_weights(&[0.0, f64::INFINITY, f64::NAN]),
            Err(SamplingError::NotFinite {
                index: 1,
                value: f64::INFINITY
            })
        );
        assert_eq!(
            NegativeSampler::from_weights(&[1.0, f64::NEG_INFINITY]),
            Err(SamplingError::NotFinite {
                index: 1,
                value: f64::NEG_INFINITY
            })
        );
        // The first bad weight wins, whatever its kind.
        assert_eq!(
            NegativeSampler::from_weights(&[-1.0, f64::INFINITY]),
            Err(SamplingError::Negative {
                index: 0,
                value: -1.0
            })
        );
    }

    #[test]
    fn error_all_zero() {
        assert_eq!(
            NegativeSampler::from_weights(&[0.0, -0.0, 0.0]),
            Err(SamplingError::AllZero { n: 3 })
        );
        assert_eq!(
            NegativeSampler::new(&[0, 0], 0.75),
            Err(SamplingError::AllZero { n: 2 })
        );
        // Zero counts stay zero even at power 0.
        assert_eq!(
            NegativeSampler::new(&[0, 0, 0, 0], 0.0),
            Err(SamplingError::AllZero { n: 4 })
        );
    }

    #[test]
    fn error_bad_power() {
        for power in [-0.75, -f64::MIN_POSITIVE, f64::INFINITY, f64::NEG_INFINITY] {
            assert_eq!(
                NegativeSampler::new(&[1, 2, 3], power),
                Err(SamplingError::BadPower(power))
            );
        }
        match NegativeSampler::new(&[1, 2, 3], f64::NAN) {
            Err(SamplingError::BadPower(p)) => assert!(p.is_nan()),
            other => panic!("expected BadPower, got {other:?}"),
        }
        // The power is checked before the counts.
        assert_eq!(
            NegativeSampler::new(&[], -1.0),
            Err(SamplingError::BadPower(-1.0))
        );
        // Zero and huge finite powers are accepted as such.
        assert!(NegativeSampler::new(&[1, 2, 3], 0.0).is_ok());
        assert!(NegativeSampler::new(&[1, 2, 3], 500.0).is_ok());
    }

    #[test]
    fn error_too_many() {
        // A slice longer than `MAX_WEIGHTS` needs 32 GiB, more than a test machine
        // can allocate, so the length guard that both constructors run before reading
        // any element is tested directly at its boundary.
        assert_eq!(MAX_WEIGHTS, 4_294_967_294);
        assert_eq!(check_len(MAX_WEIGHTS), Ok(()));
        assert_eq!(
            check_len(MAX_WEIGHTS + 1),
            Err(SamplingError::TooMany(MAX_WEIGHTS + 1))
        );
        assert_eq!(
            check_len(usize::MAX),
            Err(SamplingError::TooMany(usize::MAX))
        );
        assert_eq!(check_len(1), Ok(()));
        assert_eq!(check_len(0), Err(SamplingError::Empty));
        // The largest length accepted still leaves the multiply-shift and the total
        // mass in range.
        let n = MAX_WEIGHTS as u64;
        assert!(u64::from(u32::MAX).checked_mul(n).is_some());
        assert!(n.checked_mul(BUCKET_UNITS).is_some());
    }

    #[test]
    fn error_overflow() {
        assert_eq!(
            NegativeSampler::from_weights(&[f64::MAX, f64::MAX]),
            Err(SamplingError::Overflow)
        );
        assert_eq!(
            NegativeSampler::from_weights(&[1e308, 0.0, 1e308]),
            Err(SamplingError::Overflow)
        );
        // A single count^power above f64::MAX.
        assert_eq!(
            NegativeSampler::new(&[3, u64::MAX], 100.0),
            Err(SamplingError::Overflow)
        );
        // A sum that overflows although each count^power is finite.
        assert!(count_weight(u64::MAX, 15.99).is_finite());
        assert_eq!(
            NegativeSampler::new(&[u64::MAX, u64::MAX], 15.99),
            Err(SamplingError::Overflow)
        );
        // A bad weight after the overflow is still reported: validation comes first.
        assert_eq!(
            NegativeSampler::from_weights(&[f64::MAX, f64::MAX, -1.0]),
            Err(SamplingError::Negative {
                index: 2,
                value: -1.0
            })
        );
    }

    // ---- zero weights and exactness --------------------------------------------

    #[test]
    fn zero_count_words_are_never_drawn() {
        let sampler = NegativeSampler::new(&[5, 0, 3, 0, 1], 0.75).unwrap();
        let counts = histogram(&sampler, 200_000, 1);
        assert_eq!(counts[1], 0);
        assert_eq!(counts[3], 0);
        assert!(counts[0] > 0 && counts[2] > 0 && counts[4] > 0);
        assert_eq!(counts.iter().sum::<u64>(), 200_000);
    }

    #[test]
    fn zero_weights_have_no_mass_and_are_never_an_alias() {
        let mut weights = vec![0.0; 64];
        for i in [3, 17, 18, 40, 63] {
            weights[i] = (i as f64).sqrt() + 0.1;
        }
        // Also leading and trailing zeros and a mostly-zero vector.
        for weights in [weights, vec![0.0, 0.0, 7.0], vec![7.0, 0.0, 0.0], {
            let mut w = vec![0.0; 1000];
            w[500] = 1e-200;
            w
        }] {
            let sampler = NegativeSampler::from_weights(&weights).unwrap();
            let masses = table_masses(&sampler);
            for (i, &w) in weights.iter().enumerate() {
                let entry = sampler.table[i];
                assert!(weights[entry.alias as usize] > 0.0, "alias of {i} is zero");
                if w == 0.0 {
                    assert_eq!(entry.threshold, 0, "bucket {i}");
                    assert_eq!(masses[i], 0, "index {i}");
                }
            }
        }
    }

    #[test]
    fn table_reproduces_target_probabilities_exactly() {
        let weights: Vec<f64> = (0..1000_u32)
            .map(|i| {
                if i % 7 == 3 {
                    0.0
                } else {
                    f64::from((i * 7919) % 1009 + 1).powf(1.3)
                }
            })
            .collect();
        for sampler in [
            NegativeSampler::from_weights(&weights).unwrap(),
            NegativeSampler::new(&zipf_counts(50), 0.75).unwrap(),
            NegativeSampler::from_weights(&[1.0; 17]).unwrap(),
        ] {
            let n = sampler.len() as u64;
            let masses = table_masses(&sampler);
            assert_eq!(masses.iter().sum::<u64>(), n * BUCKET_UNITS);
            let unit = 1.0 / (n * BUCKET_UNITS) as f64;
            for (i, &m) in masses.iter().enumerate() {
                let p = sampler.probability(i).unwrap();
                let realised = m as f64 * unit;
                assert!(
                    (realised - p).abs() <= 1.5 * unit,
                    "index {i}: table {realised}, target {p}"
                );
            }
        }
    }

    #[test]
    fn full_buckets_never_fall_through() {
        // Uniform weights: every bucket is exactly full.
        let sampler = NegativeSampler::from_weights(&[2.5; 5]).unwrap();
        for (i, entry) in sampler.table.iter().enumerate() {
            assert_eq!(entry.alias as usize, i);
        }
        // Feed the extreme low halves to every bucket, through the public API.
        let n = sampler.len() as u64;
        for bucket in 0..n {
            // Smallest and largest high halves that select `bucket`.
            let lo_hi = (bucket * BUCKET_UNITS).div_ceil(n);
            let hi_hi = ((bucket + 1) * BUCKET_UNITS).div_ceil(n) - 1;
            for hi in [lo_hi, hi_hi] {
                for low in [0, 1, u64::from(u32::MAX) - 1, u64::from(u32::MAX)] {
                    let mut rng = ScriptedRng {
                        values: vec![(hi << 32) | low],
                        next: 0,
                    };
                    assert_eq!(u64::from(sampler.sample_index(&mut rng)), bucket);
                }
            }
        }
    }

    #[test]
    fn extreme_random_bits_never_reach_a_zero_weight() {
        let counts = [0, 9, 0, 1, 0, 0, 4, 1_000_000, 0, 2, 0];
        let sampler = NegativeSampler::new(&counts, 0.75).unwrap();
        let n = sampler.len() as u64;
        let mut seen = vec![false; counts.len()];
        for bucket in 0..n {
            let first_hi = (bucket * BUCKET_UNITS).div_ceil(n);
            let last_hi = ((bucket + 1) * BUCKET_UNITS).div_ceil(n) - 1;
            let threshold = u64::from(sampler.table[bucket as usize].threshold);
            for hi in [first_hi, last_hi] {
                for low in [
                    0,
                    1,
                    threshold.saturating_sub(1),
                    threshold,
                    threshold + 1,
                    u64::from(u32::MAX),
                ] {
                    let low = low.min(u64::from(u32::MAX));
                    let mut rng = ScriptedRng {
                        values: vec![(hi << 32) | low],
                        next: 0,
                    };
                    let drawn = sampler.sample_index(&mut rng) as usize;
                    assert_eq!(rng.next, 1, "exactly one next_u64 per draw");
                    assert!(counts[drawn] > 0, "drew zero-count index {drawn}");
                    seen[drawn] = true;
                }
            }
        }
        // Every positive-count word is reachable.
        for (i, &c) in counts.iter().enumerate() {
            assert_eq!(seen[i], c > 0, "index {i}");
        }
    }

    // ---- goodness of fit -------------------------------------------------------

    #[test]
    fn chi_square_critical_value_is_sane() {
        // Table values of the 0.999 quantile.
        for (dof, table) in [(10.0, 29.588), (49.0, 85.351), (50.0, 86.661)] {
            let approx = chi_square_999(dof);
            assert!((approx - table).abs() / table < 0.01, "dof {dof}: {approx}");
        }
    }

    #[test]
    fn chi_square_goodness_of_fit() {
        let counts = zipf_counts(50);
        let sampler = NegativeSampler::new(&counts, 0.75).unwrap();
        let expected: Vec<f64> = (0..50).map(|i| sampler.probability(i).unwrap()).collect();
        let observed = histogram(&sampler, 500_000, 2024);
        let (statistic, dof) = chi_square(&observed, &expected);
        assert_eq!(dof, 49.0);
        let critical = chi_square_999(dof);
        assert!(
            statistic < critical,
            "chi-square {statistic} >= critical {critical}"
        );
    }

    #[test]
    fn chi_square_rejects_a_different_distribution() {
        // Negative control: the same test, fed draws from power 1.0 but judged against
        // power 0.75, must fail.
        let counts = zipf_counts(50);
        let expected_sampler = NegativeSampler::new(&counts, 0.75).unwrap();
        let wrong_sampler = NegativeSampler::new(&counts, 1.0).unwrap();
        let expected: Vec<f64> = (0..50)
            .map(|i| expected_sampler.probability(i).unwrap())
            .collect();
        let observed = histogram(&wrong_sampler, 500_000, 2024);
        let (statistic, dof) = chi_square(&observed, &expected);
        let critical = chi_square_999(dof);
        assert!(
            statistic > critical,
            "chi-square {statistic} <= critical {critical}: the test has no power"
        );

        // A much subtler error is caught too: two neighbouring ranks swapped.
        let mut swapped = counts.clone();
        swapped.swap(4, 5);
        let swapped_sampler = NegativeSampler::new(&swapped, 0.75).unwrap();
        let observed = histogram(&swapped_sampler, 500_000, 2024);
        let (statistic, _) = chi_square(&observed, &expected);
        assert!(
            statistic > critical,
            "chi-square {statistic} <= critical {critical} for swapped ranks"
        );
    }

    // ---- determinism and edge cases ------------------------------------------

    #[test]
    fn fixed_seed_gives_fixed_draws() {
        let sampler = NegativeSampler::new(&zipf_counts(50), 0.75).unwrap();
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(7);
        let draws: Vec<u32> = (0..10).map(|_| sampler.sample_index(&mut rng)).collect();
        assert_eq!(draws, [2, 7, 1, 21, 8, 23, 36, 0, 49, 2]);

        // `Distribution::sample` is the same draw.
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(7);
        let via_trait: Vec<usize> = (0..10).map(|_| sampler.sample(&mut rng)).collect();
        let expected: Vec<usize> = draws.iter().map(|&d| d as usize).collect();
        assert_eq!(via_trait, expected);

        // And the blanket impl for references works with `sample_iter`.
        let rng = Xoshiro256PlusPlus::seed_from_u64(7);
        let via_iter: Vec<usize> = (&sampler).sample_iter(rng).take(10).collect();
        assert_eq!(via_iter, expected);
    }

    #[test]
    fn single_weight_always_returns_zero() {
        for sampler in [
            NegativeSampler::from_weights(&[3.5]).unwrap(),
            NegativeSampler::from_weights(&[5e-324]).unwrap(),
            NegativeSampler::new(&[1], 0.0).unwrap(),
        ] {
            assert_eq!(sampler.len(), 1);
            assert!(!sampler.is_empty());
            assert_eq!(sampler.probability(0), Some(1.0));
            let mut rng = Xoshiro256PlusPlus::seed_from_u64(3);
            for _ in 0..10_000 {
                assert_eq!(sampler.sample_index(&mut rng), 0);
            }
            for x in [0, u64::MAX, 1 << 32, u64::from(u32::MAX)] {
                let mut rng = ScriptedRng {
                    values: vec![x],
                    next: 0,
                };
                assert_eq!(sampler.sample_index(&mut rng), 0);
            }
        }
    }

    #[test]
    fn huge_dynamic_range() {
        let sampler = NegativeSampler::from_weights(&[1e-300, 1e300]).unwrap();
        let tiny = sampler.probability(0).unwrap();
        let huge = sampler.probability(1).unwrap();
        assert!((0.0..1e-300).contains(&tiny), "{tiny}");
        assert_eq!(huge, 1.0);
        let counts = histogram(&sampler, 100_000, 5);
        assert_eq!(counts, [0, 100_000]);

        // Near the top of the range, without overflowing the sum.
        let sampler = NegativeSampler::from_weights(&[1e300, 8e307, 1e307]).unwrap();
        let p: Vec<f64> = (0..3).map(|i| sampler.probability(i).unwrap()).collect();
        // The smallest weight shifts the others by about 1e-8 relative.
        assert!((p[1] - 8.0 / 9.0).abs() < 1e-7 && (p[2] - 1.0 / 9.0).abs() < 1e-7);
        assert!((p[0] / (1e300 / 9e307) - 1.0).abs() < 1e-6, "{}", p[0]);
        assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        let counts = histogram(&sampler, 90_000, 6);
        assert!((counts[1] as f64 - 80_000.0).abs() < 1_000.0, "{counts:?}");

        // Subnormal weights only.
        let sampler = NegativeSampler::from_weights(&[5e-324, 0.0, 1e-323]).unwrap();
        assert_eq!(sampler.probability(0), Some(1.0 / 3.0));
        assert_eq!(sampler.probability(2), Some(2.0 / 3.0));
        let counts = histogram(&sampler, 30_000, 7);
        assert_eq!(counts[1], 0);
        assert!((counts[0] as f64 - 10_000.0).abs() < 600.0, "{counts:?}");
    }

    #[test]
    fn probabilities_sum_to_one() {
        let weights: Vec<f64> = (1..=10_000_u32)
            .map(|i| f64::from(i).powf(-1.1) * if i % 3 == 0 { 0.0 } else { 1.0 })
            .collect();
        for sampler in [
            NegativeSampler::from_weights(&weights).unwrap(),
            NegativeSampler::new(&zipf_counts(50), 0.75).unwrap(),
            NegativeSampler::new(&[5, 0, 3, 0, 1], 0.0).unwrap(),
        ] {
            let sum: f64 = (0..sampler.len())
                .map(|i| sampler.probability(i).unwrap())
                .sum();
            assert!((sum - 1.0).abs() < 1e-12, "sum {sum}");
            assert_eq!(sampler.probability(sampler.len()), None);
        }
    }

    #[test]
    fn power_zero_is_uniform_over_nonzero_counts() {
        let sampler = NegativeSampler::new(&[5, 0, 3, 0, 1_000_000], 0.0).unwrap();
        let p: Vec<f64> = (0..5).map(|i| sampler.probability(i).unwrap()).collect();
        let third = 1.0 / 3.0;
        assert_eq!(p, [third, 0.0, third, 0.0, third]);
    }

    #[test]
    fn new_matches_from_weights() {
        let counts = zipf_counts(30);
        let weights: Vec<f64> = counts.iter().map(|&c| (c as f64).powf(0.75)).collect();
        assert_eq!(
            NegativeSampler::new(&counts, 0.75).unwrap(),
            NegativeSampler::from_weights(&weights).unwrap()
        );
    }

    #[test]
    fn is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync + 'static>() {}
        assert_send_sync::<NegativeSampler>();
    }
}
