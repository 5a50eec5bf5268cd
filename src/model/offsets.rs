//! Per-window-offset interactions `D_p`: their storage, the offset ↔ index mapping and the
//! pair shares that weigh them in the effective interaction.

use ndarray::{Array1, Array2, Array3, ArrayView2, ArrayView3, ArrayViewMut2, ArrayViewMut3, Axis};

use crate::config::WindowMode;
use crate::error::{ConfigError, Error, Result};
use crate::loss::OffsetInteractionStack;

/// Which per-offset interactions a model has (see [`OffsetInteractions`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum OffsetInteractionKind {
    /// None: every pair is scored `v_cᵀ W u_w` (every `D_p = I`, "all `W_p` tied").
    #[default]
    None,
    /// `D_p = diag(d_p)`: `M` weights per offset.
    Diagonal,
    /// A full `M×M` matrix `D_p` per offset.
    Full,
}

impl OffsetInteractionKind {
    /// Every kind, in a fixed order.
    pub const ALL: [OffsetInteractionKind; 3] = [
        OffsetInteractionKind::None,
        OffsetInteractionKind::Diagonal,
        OffsetInteractionKind::Full,
    ];

    /// A short name: `none`, `diagonal` or `full`.
    pub fn name(self) -> &'static str {
        match self {
            OffsetInteractionKind::None => "none",
            OffsetInteractionKind::Diagonal => "diagonal",
            OffsetInteractionKind::Full => "full",
        }
    }

    /// The kind with this [`name`](Self::name), if any.
    ///
    /// ```
    /// use bilinear_skipgram::OffsetInteractionKind;
    /// assert_eq!(OffsetInteractionKind::from_name("full"), Some(OffsetInteractionKind::Full));
    /// assert_eq!(OffsetInteractionKind::from_name("Full"), None);
    /// ```
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.name() == name)
    }
}

/// Parses an [`OffsetInteractionKind::name`], as command lines take it.
///
/// ```
/// use bilinear_skipgram::OffsetInteractionKind;
/// assert_eq!("full".parse::<OffsetInteractionKind>()?, OffsetInteractionKind::Full);
/// assert!("Full".parse::<OffsetInteractionKind>().is_err());
/// # Ok::<(), bilinear_skipgram::Error>(())
/// ```
impl std::str::FromStr for OffsetInteractionKind {
    type Err = Error;

    /// # Errors
    ///
    /// [`Error::InvalidArgument`] naming every kind when `name` is none of them.
    fn from_str(name: &str) -> Result<Self> {
        crate::config::parse_named(&Self::ALL, Self::name, "offset interactions", name)
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Values {
    None,
    Diagonal(Array2<f32>),
    Full(Array3<f32>),
}

/// The interactions `D_p` of every window offset of a model: a pair whose context is `o`
/// positions from its focus word (`o = position(c) − position(w)`, `o ∈ {−b…−1, 1…b}` for
/// window `b`) is scored `v_cᵀ D_p W u_w` with `p` the index of `o`.
///
/// The `P = 2b` offsets are indexed in increasing order:
///
/// ```text
/// index = o + b        for o < 0   (o = −b → 0, …, o = −1 → b − 1)
/// index = o + b − 1    for o > 0   (o = 1 → b, …, o = b → 2b − 1)
/// ```
///
/// Diagonal interactions are stored as a `P×M` matrix (row `p` is `d_p`), full ones as a
/// `P×M×M` array (`[p, .., ..]` is `D_p`); [`view`](Self::view) hands them to
/// [`crate::loss::offset_loss_and_gradient_batched`] as they are. They start at the
/// identity (`d_p = 1`), where the model scores exactly as without them. A full stack takes
/// `2b·M²` floats: 7.2 MB at `b = 10`, `M = 300`.
///
/// The window mode fixes the share `π_p` of training pairs at each offset
/// ([`pair_shares`](Self::pair_shares)), which weighs `D_p` in the effective interaction
/// `W̄ = Σ_p π_p D_p W` that word vectors are read out with
/// ([`Model::effective_interaction`](crate::Model::effective_interaction)).
///
/// # Example
///
/// ```
/// use bilinear_skipgram::{OffsetInteractionKind, OffsetInteractions, WindowMode};
///
/// let d = OffsetInteractions::identity(OffsetInteractionKind::Diagonal, 4, 2, WindowMode::Shrink)?;
/// assert_eq!(d.n_offsets(), 4);
/// assert_eq!((d.index_of(-2), d.index_of(-1), d.index_of(1), d.index_of(2)), (Some(0), Some(1), Some(2), Some(3)));
/// assert_eq!(d.index_of(0), None);
/// assert_eq!(d.offset_of(3), Some(2));
/// // Reach r uniform in 1..=2: offsets ±1 are used with probability 1, ±2 with 1/2.
/// assert_eq!(d.pair_shares().to_vec(), vec![1.0 / 6.0, 2.0 / 6.0, 2.0 / 6.0, 1.0 / 6.0]);
/// assert!(d.diagonal().is_some_and(|d| d.iter().all(|&x| x == 1.0)));
/// # Ok::<(), bilinear_skipgram::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct OffsetInteractions {
    window: usize,
    window_mode: WindowMode,
    values: Values,
}

impl Default for OffsetInteractions {
    fn default() -> Self {
        OffsetInteractions::none()
    }
}

/// Mutable views of a model's per-offset interactions.
#[derive(Debug)]
#[non_exhaustive]
pub enum OffsetInteractionsMut<'a> {
    /// The model has none.
    None,
    /// `P×M`: row `p` is `d_p`.
    Diagonal(ArrayViewMut2<'a, f32>),
    /// `P×M×M`: `[p, .., ..]` is `D_p`.
    Full(ArrayViewMut3<'a, f32>),
}

/// The largest window: `2 · window` offsets must be countable.
const MAX_WINDOW: usize = usize::MAX / 2;

fn check_window(window: usize) -> Result<()> {
    if window == 0 {
        return Err(Error::Config(ConfigError::TooSmall {
            field: "window",
            min: 1,
            value: 0,
        }));
    }
    if window > MAX_WINDOW {
        return Err(Error::Config(ConfigError::TooLarge {
            field: "window",
            max: MAX_WINDOW as u64,
            value: window as u64,
        }));
    }
    Ok(())
}

impl OffsetInteractions {
    /// No per-offset interactions: every pair is scored `v_cᵀ W u_w`.
    pub fn none() -> Self {
        OffsetInteractions {
            window: 0,
            window_mode: WindowMode::default(),
            values: Values::None,
        }
    }

    /// Interactions of the given kind for window `window` and dimension `dim`, all at the
    /// identity (`d_p = 1`, `D_p = I`). For [`OffsetInteractionKind::None`] this is
    /// [`none`](Self::none) and the window is not used.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] ([`ConfigError::TooSmall`] for `window`) when `window = 0` and the
    /// kind is not `None`; [`ConfigError::TooLarge`] when the interactions would take more
    /// than [`MAX_OFFSET_FLOATS`](crate::config::MAX_OFFSET_FLOATS) floats (`2 · window · dim`
    /// diagonal, `2 · window · dim²` full), the limit a configuration has.
    pub fn identity(
        kind: OffsetInteractionKind,
        dim: usize,
        window: usize,
        window_mode: WindowMode,
    ) -> Result<Self> {
        if kind != OffsetInteractionKind::None {
            check_window(window)?;
            let per_offset = match kind {
                OffsetInteractionKind::Full => (dim as u64).saturating_mul(dim as u64),
                _ => dim as u64,
            };
            let floats = (window as u64).saturating_mul(2).saturating_mul(per_offset);
            if floats > crate::config::MAX_OFFSET_FLOATS {
                return Err(Error::Config(ConfigError::TooLarge {
                    field: "offset interactions (2 · window · dim or dim² floats)",
                    max: crate::config::MAX_OFFSET_FLOATS,
                    value: floats,
                }));
            }
        }
        Ok(OffsetInteractions::identity_unchecked(
            kind,
            dim,
            window,
            window_mode,
        ))
    }

    /// [`identity`](Self::identity) for a window already checked to be at least 1 (as a
    /// built [`TrainConfig`](crate::TrainConfig)'s is).
    pub(crate) fn identity_unchecked(
        kind: OffsetInteractionKind,
        dim: usize,
        window: usize,
        window_mode: WindowMode,
    ) -> Self {
        // `2 · window` only where it is used: for `None` the window may be any value.
        let values = match kind {
            OffsetInteractionKind::None => return OffsetInteractions::none(),
            OffsetInteractionKind::Diagonal => Values::Diagonal(Array2::ones((2 * window, dim))),
            OffsetInteractionKind::Full => {
                let mut full = Array3::zeros((2 * window, dim, dim));
                for mut d in full.axis_iter_mut(Axis(0)) {
                    d.diag_mut().fill(1.0);
                }
                Values::Full(full)
            }
        };
        OffsetInteractions {
            window,
            window_mode,
            values,
        }
    }

    /// Diagonal interactions from a `2b×M` matrix whose row `p` is `d_p`.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] when `window = 0` or `2·window` overflows `usize`;
    /// [`Error::ShapeMismatch`] when `weights` does not have `2·window` rows.
    pub fn from_diagonal(
        weights: Array2<f32>,
        window: usize,
        window_mode: WindowMode,
    ) -> Result<Self> {
        check_window(window)?;
        if weights.nrows() != 2 * window {
            return Err(Error::ShapeMismatch {
                what: "diagonal offset interactions",
                expected: vec![2 * window, weights.ncols()],
                found: weights.shape().to_vec(),
            });
        }
        Ok(OffsetInteractions {
            window,
            window_mode,
            values: Values::Diagonal(weights),
        })
    }

    /// Full interactions from a `2b×M×M` array whose `[p, .., ..]` is `D_p`.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] when `window = 0` or `2·window` overflows `usize`;
    /// [`Error::ShapeMismatch`] unless `matrices` is `2·window×M×M`.
    pub fn from_full(
        matrices: Array3<f32>,
        window: usize,
        window_mode: WindowMode,
    ) -> Result<Self> {
        check_window(window)?;
        let (n_offsets, rows, cols) = matrices.dim();
        if n_offsets != 2 * window || rows != cols {
            return Err(Error::ShapeMismatch {
                what: "full offset interactions",
                expected: vec![2 * window, rows, rows],
                found: matrices.shape().to_vec(),
            });
        }
        Ok(OffsetInteractions {
            window,
            window_mode,
            values: Values::Full(matrices),
        })
    }

    /// Which kind these are.
    pub fn kind(&self) -> OffsetInteractionKind {
        match self.values {
            Values::None => OffsetInteractionKind::None,
            Values::Diagonal(_) => OffsetInteractionKind::Diagonal,
            Values::Full(_) => OffsetInteractionKind::Full,
        }
    }

    /// The window `b` (0 for [`none`](Self::none)).
    pub fn window(&self) -> usize {
        self.window
    }

    /// The window mode the [pair shares](Self::pair_shares) are computed for.
    pub fn window_mode(&self) -> WindowMode {
        self.window_mode
    }

    /// `P = 2b`, the number of offsets (0 for [`none`](Self::none)).
    pub fn n_offsets(&self) -> usize {
        match self.values {
            Values::None => 0,
            _ => 2 * self.window,
        }
    }

    /// The dimension `M` the interactions are for, `None` for [`none`](Self::none).
    pub fn dim(&self) -> Option<usize> {
        match &self.values {
            Values::None => None,
            Values::Diagonal(d) => Some(d.ncols()),
            Values::Full(d) => Some(d.len_of(Axis(1))),
        }
    }

    /// The index of offset `o` (see the [type docs](Self)), `None` for `o = 0`, `|o| > b`
    /// or a model without per-offset interactions.
    pub fn index_of(&self, offset: isize) -> Option<usize> {
        let b = self.n_offsets() / 2;
        let reach = offset.unsigned_abs();
        if reach == 0 || reach > b {
            None
        } else if offset < 0 {
            Some(b - reach)
        } else {
            Some(b + reach - 1)
        }
    }

    /// The offset with index `p`, the inverse of [`index_of`](Self::index_of).
    pub fn offset_of(&self, index: usize) -> Option<isize> {
        let b = self.n_offsets() / 2;
        if index >= 2 * b {
            None
        } else if index < b {
            isize::try_from(b - index).ok().map(|reach| -reach)
        } else {
            isize::try_from(index + 1 - b).ok()
        }
    }

    /// `π_p`, by index: the share of training pairs at each offset, as the trainer draws
    /// them before sentence ends and subsampling cut windows short. With a fixed window every
    /// offset has `1/(2b)`; with word2vec's shrinking window the reach `r` is uniform in
    /// `1..=b` and offset `o` is used when `r ≥ |o|`, with probability `(b − |o| + 1)/b`, so
    /// `π_o = (b − |o| + 1) / (b(b + 1))`. Empty without per-offset interactions. The shares
    /// add up to 1.
    pub fn pair_shares(&self) -> Array1<f64> {
        let n_offsets = self.n_offsets();
        let b = n_offsets / 2;
        Array1::from_shape_fn(n_offsets, |p| {
            let reach = self.offset_of(p).map_or(0, isize::unsigned_abs);
            match self.window_mode {
                WindowMode::Fixed => 1.0 / n_offsets as f64,
                WindowMode::Shrink => (b - reach + 1) as f64 / (b * (b + 1)) as f64,
            }
        })
    }

    /// The interactions as the loss functions take them ([`OffsetInteractionStack::Identity`]
    /// for [`none`](Self::none)).
    pub fn view(&self) -> OffsetInteractionStack<'_, f32> {
        match &self.values {
            Values::None => OffsetInteractionStack::Identity,
            Values::Diagonal(d) => OffsetInteractionStack::Diagonal(d.view()),
            Values::Full(d) => OffsetInteractionStack::Full(d.view()),
        }
    }

    /// Mutable views of the interactions.
    pub fn view_mut(&mut self) -> OffsetInteractionsMut<'_> {
        match &mut self.values {
            Values::None => OffsetInteractionsMut::None,
            Values::Diagonal(d) => OffsetInteractionsMut::Diagonal(d.view_mut()),
            Values::Full(d) => OffsetInteractionsMut::Full(d.view_mut()),
        }
    }

    /// The `P×M` diagonal weights (row `p` is `d_p`), if the interactions are diagonal.
    pub fn diagonal(&self) -> Option<ArrayView2<'_, f32>> {
        match &self.values {
            Values::Diagonal(d) => Some(d.view()),
            _ => None,
        }
    }

    /// The `P×M×M` matrices, if the interactions are full.
    pub fn full(&self) -> Option<ArrayView3<'_, f32>> {
        match &self.values {
            Values::Full(d) => Some(d.view()),
            _ => None,
        }
    }

    /// `W̄ = D̄ W` with `D̄ = Σ_p π_p D_p`, in `f64`; `W` itself without per-offset
    /// interactions. The caller has checked that `W` is `M×M` for the interactions' `M`.
    pub(crate) fn effective_interaction(&self, interaction: ArrayView2<'_, f32>) -> Array2<f64> {
        let w = interaction.mapv(f64::from);
        let shares = self.pair_shares();
        match &self.values {
            Values::None => w,
            Values::Diagonal(d) => {
                // D̄ = diag(Σ_p π_p d_p): row i of W̄ is d̄_i times row i of W.
                let mean = d.mapv(f64::from).t().dot(&shares);
                &w * &mean.insert_axis(Axis(1))
            }
            Values::Full(d) => {
                let dim = w.nrows();
                let mut mean = Array2::<f64>::zeros((dim, dim));
                for (d_p, &share) in d.axis_iter(Axis(0)).zip(&shares) {
                    mean.scaled_add(share, &d_p.mapv(f64::from));
                }
                mean.dot(&w)
            }
        }
    }

    /// Checks that the interactions fit dimension `dim` (always true for `none`).
    pub(crate) fn check_dim(&self, dim: usize) -> Result<()> {
        match &self.values {
            Values::None => Ok(()),
            Values::Diagonal(d) if d.ncols() != dim => Err(Error::ShapeMismatch {
                what: "offset interactions",
                expected: vec![d.nrows(), dim],
                found: d.shape().to_vec(),
            }),
            Values::Full(d) if d.len_of(Axis(1)) != dim => Err(Error::ShapeMismatch {
                what: "offset interactions",
                expected: vec![d.len_of(Axis(0)), dim, dim],
                found: d.shape().to_vec(),
            }),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Absurd sizes are refused with an error instead of overflowing or aborting on an
    /// allocation; `none` ignores its sizes.
    #[test]
    fn absurd_sizes_are_refused() {
        for (kind, dim, window) in [
            (OffsetInteractionKind::Diagonal, 4, usize::MAX),
            (OffsetInteractionKind::Diagonal, usize::MAX, 3),
            (OffsetInteractionKind::Full, 1 << 16, 1),
            (OffsetInteractionKind::Full, usize::MAX, usize::MAX),
        ] {
            let error = OffsetInteractions::identity(kind, dim, window, WindowMode::Shrink)
                .expect_err("too large");
            assert!(
                matches!(error, Error::Config(ConfigError::TooLarge { .. })),
                "{error:?}"
            );
        }
        let none = OffsetInteractions::identity(
            OffsetInteractionKind::None,
            usize::MAX,
            usize::MAX,
            WindowMode::Shrink,
        );
        assert!(none.is_ok());
    }

    #[test]
    fn index_mapping_is_a_bijection() {
        for b in 1..=12 {
            let d = OffsetInteractions::identity(
                OffsetInteractionKind::Diagonal,
                3,
                b,
                WindowMode::Fixed,
            )
            .expect("window ≥ 1");
            let b = b as isize;
            let mut seen = vec![false; d.n_offsets()];
            for o in -b - 2..=b + 2 {
                match d.index_of(o) {
                    Some(p) => {
                        assert!(o != 0 && o.abs() <= b, "offset {o} has index {p}");
                        assert!(!seen[p], "index {p} twice");
                        seen[p] = true;
                        assert_eq!(d.offset_of(p), Some(o));
                    }
                    None => assert!(o == 0 || o.abs() > b, "offset {o} has no index"),
                }
            }
            assert!(seen.iter().all(|&s| s));
            assert_eq!(d.offset_of(d.n_offsets()), None);
            // Increasing offsets have increasing indices.
            let offsets: Vec<isize> = (0..d.n_offsets()).filter_map(|p| d.offset_of(p)).collect();
            assert!(offsets.windows(2).all(|w| w[0] < w[1]), "{offsets:?}");
        }
        let none = OffsetInteractions::none();
        assert_eq!(
            (none.index_of(1), none.offset_of(0), none.n_offsets()),
            (None, None, 0)
        );
    }

    #[test]
    fn shares_add_up_to_one_and_fall_with_distance() {
        for b in 1..=20 {
            for mode in [WindowMode::Shrink, WindowMode::Fixed] {
                let d = OffsetInteractions::identity(OffsetInteractionKind::Full, 2, b, mode)
                    .expect("window ≥ 1");
                let shares = d.pair_shares();
                assert_eq!(shares.len(), 2 * b);
                assert!((shares.sum() - 1.0).abs() < 1e-14, "{shares}");
                for p in 0..2 * b {
                    let o = d.offset_of(p).expect("in range");
                    // Mirror offsets have equal shares.
                    let mirror = d.index_of(-o).expect("in range");
                    assert_eq!(shares[p], shares[mirror]);
                    if mode == WindowMode::Shrink && o.unsigned_abs() < b {
                        let farther = d.index_of(o + o.signum()).expect("in range");
                        assert!(shares[p] > shares[farther]);
                    }
                }
            }
        }
        // b = 3, shrinking: |o| = 1, 2, 3 used with probability 1, 2/3, 1/3 → 3:2:1 of 12.
        let d =
            OffsetInteractions::identity(OffsetInteractionKind::Diagonal, 1, 3, WindowMode::Shrink)
                .expect("window ≥ 1");
        let twelfths: Vec<f64> = d.pair_shares().iter().map(|s| s * 12.0).collect();
        for (got, want) in twelfths.iter().zip([1.0, 2.0, 3.0, 3.0, 2.0, 1.0]) {
            assert!((got - want).abs() < 1e-13, "{twelfths:?}");
        }
    }

    #[test]
    fn identity_constructors_and_checks() {
        let full =
            OffsetInteractions::identity(OffsetInteractionKind::Full, 3, 2, WindowMode::Shrink)
                .expect("window ≥ 1");
        assert_eq!(full.kind(), OffsetInteractionKind::Full);
        assert_eq!(full.dim(), Some(3));
        let stack = full.full().expect("full");
        assert_eq!(stack.dim(), (4, 3, 3));
        for d in stack.axis_iter(Axis(0)) {
            assert_eq!(d, Array2::<f32>::eye(3));
        }
        assert!(full.diagonal().is_none());
        assert!(matches!(
            OffsetInteractions::identity(OffsetInteractionKind::Diagonal, 3, 0, WindowMode::Shrink),
            Err(Error::Config(ConfigError::TooSmall {
                field: "window",
                ..
            }))
        ));
        let none =
            OffsetInteractions::identity(OffsetInteractionKind::None, 3, 0, WindowMode::Fixed)
                .expect("no window needed");
        assert_eq!(none, OffsetInteractions::none());
        assert_eq!((none.dim(), none.window()), (None, 0));
        assert!(matches!(none.view(), OffsetInteractionStack::Identity));
        assert!(matches!(
            OffsetInteractions::from_diagonal(Array2::ones((3, 2)), 2, WindowMode::Shrink),
            Err(Error::ShapeMismatch {
                what: "diagonal offset interactions",
                ..
            })
        ));
        assert!(matches!(
            OffsetInteractions::from_full(Array3::zeros((4, 2, 3)), 2, WindowMode::Shrink),
            Err(Error::ShapeMismatch {
                what: "full offset interactions",
                ..
            })
        ));
        assert!(full.check_dim(3).is_ok());
        assert!(full.check_dim(2).is_err());
        assert!(none.check_dim(7).is_ok());
        for kind in OffsetInteractionKind::ALL {
            assert_eq!(OffsetInteractionKind::from_name(kind.name()), Some(kind));
        }
    }

    #[test]
    fn a_window_whose_offsets_overflow_is_refused() {
        // 2 · 2⁶³ wrapped to 0, so that 0 rows passed as the 2·window a window of 2⁶³ needs.
        let huge = usize::MAX / 2 + 1;
        let too_large = |result: Result<OffsetInteractions>| {
            assert!(
                matches!(
                    result,
                    Err(Error::Config(ConfigError::TooLarge {
                        field: "window",
                        ..
                    }))
                ),
                "{result:?}"
            );
        };
        too_large(OffsetInteractions::from_diagonal(
            Array2::zeros((0, 2)),
            huge,
            WindowMode::Shrink,
        ));
        too_large(OffsetInteractions::from_full(
            Array3::zeros((0, 2, 2)),
            huge,
            WindowMode::Fixed,
        ));
        too_large(OffsetInteractions::identity(
            OffsetInteractionKind::Diagonal,
            2,
            huge,
            WindowMode::Shrink,
        ));
    }

    #[test]
    fn effective_interaction_weighs_by_shares() {
        // b = 1: offsets −1 and +1 with shares 1/2 each.
        let w = ndarray::array![[1.0_f32, 2.0], [3.0, 4.0]];
        let d = ndarray::array![[2.0_f32, 0.0], [4.0, 1.0]];
        let diagonal = OffsetInteractions::from_diagonal(d, 1, WindowMode::Shrink).expect("2×2");
        // d̄ = (3, 0.5): rows of W scaled.
        assert_eq!(
            diagonal.effective_interaction(w.view()),
            ndarray::array![[3.0, 6.0], [1.5, 2.0]]
        );
        let full = OffsetInteractions::from_full(
            ndarray::array![[[0.0_f32, 1.0], [1.0, 0.0]], [[2.0, 1.0], [1.0, 2.0]]],
            1,
            WindowMode::Fixed,
        )
        .expect("2×2×2");
        // D̄ = [[1, 1], [1, 1]]: both rows of W̄ are the column sums of W.
        assert_eq!(
            full.effective_interaction(w.view()),
            ndarray::array![[4.0, 6.0], [4.0, 6.0]]
        );
        assert_eq!(
            OffsetInteractions::none().effective_interaction(w.view()),
            w.mapv(f64::from)
        );
    }
}
