//! Diagnostics of the interaction matrix `W`: its distance from the identity and its
//! condition number.

use ndarray::{ArrayView2, Zip};

use crate::linalg;

/// How far the interaction `W` has moved from the identity (plain skip-gram), and how
/// ill-conditioned it is.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct InteractionDiagnostics {
    /// `‖W − I‖_F`.
    pub distance_from_identity: f64,
    /// `σ_max / σ_min`, the ratio of `W`'s largest and smallest singular values: 1 for the
    /// identity, infinite for a singular `W`, NaN for a non-finite one.
    pub condition_number: f64,
}

impl InteractionDiagnostics {
    /// The diagnostics of a square matrix, computed in `f64`.
    ///
    /// Cost: the singular values of an `M×M` matrix by one-sided Jacobi, about `6 M³` flops
    /// per sweep and 6 to 12 sweeps (measured on a loaded machine: 2 ms at `M = 50`, 21 ms
    /// at `M = 100`, 0.36 s at `M = 300`); the trainer spaces its calls so that they take a
    /// small share of the calling thread's time (see [`SCORE_EVERY`](crate::sgd::SCORE_EVERY)).
    ///
    /// ```
    /// use bilinear_skipgram::InteractionDiagnostics;
    /// use ndarray::array;
    ///
    /// let w = array![[2.0_f32, 0.0], [0.0, 0.5]];
    /// let d = InteractionDiagnostics::of(w.view());
    /// assert!((d.condition_number - 4.0).abs() < 1e-9);
    /// assert!((d.distance_from_identity - 1.25_f64.sqrt()).abs() < 1e-9);
    /// ```
    pub fn of(interaction: ArrayView2<'_, f32>) -> InteractionDiagnostics {
        Self::of_f64(interaction.mapv(f64::from).view())
    }

    /// [`InteractionDiagnostics::of`] an `f64` matrix (the effective interaction
    /// `W̄ = Σ_p π_p D_p W` of a model with per-offset interactions).
    pub(crate) fn of_f64(interaction: ArrayView2<'_, f64>) -> InteractionDiagnostics {
        InteractionDiagnostics {
            distance_from_identity: distance_from_identity(interaction),
            condition_number: linalg::svd(interaction).condition_number(),
        }
    }
}

/// `‖W − I‖_F` of a square matrix.
fn distance_from_identity(w: ArrayView2<'_, f64>) -> f64 {
    let mut sum = 0.0_f64;
    Zip::indexed(&w).for_each(|(i, j), &x| {
        let d = x - if i == j { 1.0 } else { 0.0 };
        sum += d * d;
    });
    sum.sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array2, array};

    #[test]
    fn condition_number_of_known_matrices() {
        let eye = Array2::<f32>::eye(5);
        let d = InteractionDiagnostics::of(eye.view());
        assert_eq!(d.distance_from_identity, 0.0);
        assert!((d.condition_number - 1.0).abs() < 1e-12);
        // A rotation times diag(3, 1): singular values 3 and 1 whatever the rotation.
        let (c, s) = (0.6_f32, 0.8_f32);
        let w = array![[c * 3.0, -s], [s * 3.0, c]];
        assert!((InteractionDiagnostics::of(w.view()).condition_number - 3.0).abs() < 1e-6);
        // diag(4.42, 1, 0.012) in a non-diagonal basis: κ = 4.42 / 0.012.
        let q = array![[0.0_f32, 0.6, 0.8], [1.0, 0.0, 0.0], [0.0, 0.8, -0.6]];
        let sigma = Array2::from_diag(&array![4.42_f32, 1.0, 0.012]);
        let w = q.dot(&sigma).dot(&q.t());
        let kappa = InteractionDiagnostics::of(w.view()).condition_number;
        assert!((kappa / (4.42 / 0.012) - 1.0).abs() < 1e-4, "{kappa}");
        let two = array![[1.0_f64, 3.0], [0.0, 5.0]];
        assert!((distance_from_identity(two.view()) - 5.0).abs() < 1e-12);
        let singular = array![[1.0_f32, 2.0], [2.0, 4.0]];
        assert!(InteractionDiagnostics::of(singular.view()).condition_number > 1e6);
        let nan = array![[1.0_f32, f32::NAN], [0.0, 1.0]];
        assert!(
            InteractionDiagnostics::of(nan.view())
                .condition_number
                .is_nan()
        );
    }
}
