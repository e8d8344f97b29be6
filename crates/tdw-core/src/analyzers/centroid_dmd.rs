//! `centroid_dmd` (cross-epoch, reads `global_centroid_pca`): exact dynamic mode decomposition
//! (Tu et al. 2014) of each site's class-centroid trajectory in the global PCA coordinates
//! (spec §5.20).
//!
//! The snapshots are the checkpoints: `x_t` is checkpoint t's (p, n_comp) centroid projections
//! flattened. DMD fits the one linear map `x_{t+1} ≈ A x_t` that best explains the whole run in
//! the rank that keeps 99% of the snapshots' energy; its eigenvalues say which motions grow,
//! decay or rotate, and the one-step residual `‖x_{t+1} − A x_t‖` is the proposed
//! grokking-onset signal: it stays small while the centroids move by one rule and jumps when the
//! representation reorganises.
//!
//! Per site: `site__eigenvalues` (r,), `site__modes` (p·n_comp, r), `site__amplitudes` (r,), all
//! complex128 (MIScope's numpy writes float64 instead when every eigenvalue happens to be real;
//! readers accept both), `site__residual_norms` f64 (n−1,), `site__singular_values` f64
//! (min(p·n_comp, n−1),), `site__n_modes` i64, `site__trajectory` f64 (n, p·n_comp),
//! `site__n_classes` i64; and `epochs` i64 (n,). Eigenvalues come in the order of the real Schur
//! form, as LAPACK's; each eigenvector has unit norm and its largest entry real and positive
//! (LAPACK makes it real, with either sign), so a mode may differ from numpy's by its sign.

use nalgebra::{DMatrix, DVector};
use ndarray::{Array1, Array2};
use num_complex::Complex64;

use crate::analysis::analyzer::{
    AnalyzerError, AnalyzerResult, CrossEpochAnalyzer, CrossEpochInput, ForAnalyzer,
};
use crate::analyzers::repr_geometry::SITES;
use crate::error::Result;
use crate::formats::artifact::Artifact;

pub struct CentroidDmd;

const NAME: &str = "centroid_dmd";
/// The rank keeps the fewest singular directions holding this share of the snapshots' energy.
const ENERGY_TARGET: f64 = 0.99;
/// Iteration caps for nalgebra's SVD and Schur (0 would mean "until converged", which a NaN
/// never is).
const MAX_ITERATIONS: usize = 10_000;

impl CrossEpochAnalyzer for CentroidDmd {
    fn name(&self) -> &'static str {
        NAME
    }

    /// The global PCA is itself cross-epoch; naming it here makes the run order, skip and
    /// staleness rules apply to it like to a per-epoch input.
    fn requires(&self) -> &'static [&'static str] {
        &["repr_geometry", "global_centroid_pca"]
    }

    fn analyze(&self, input: &CrossEpochInput<'_>) -> Result<Artifact> {
        let pca = input.loader.load_cross_epoch("global_centroid_pca")?;
        let epochs = pca.as_f64("epochs").for_analyzer(NAME)?;
        let mut out = Artifact::new().with("epochs", epochs.mapv(|e| e as i64));
        for site in SITES {
            let key = format!("{site}__projections");
            let projections = pca.as_f64(&key).for_analyzer(NAME)?;
            let expected = || format!("({} epochs, classes, components)", epochs.len());
            let &[n, p, n_comp] = projections.shape() else {
                return Err(
                    AnalyzerError::shape(&key, projections.shape(), expected()).into_error(NAME)
                );
            };
            if n != epochs.len() {
                return Err(
                    AnalyzerError::shape(&key, projections.shape(), expected()).into_error(NAME)
                );
            }
            let width = p * n_comp;
            let values: Vec<f64> = projections.iter().copied().collect();
            let trajectory = DMatrix::from_row_slice(n, width, &values);
            let dmd = Dmd::fit(&trajectory).for_analyzer(NAME)?;
            out.insert(
                format!("{site}__eigenvalues"),
                Array1::from_iter(dmd.eigenvalues.iter().copied()),
            );
            out.insert(format!("{site}__modes"), matrix(&dmd.modes));
            out.insert(
                format!("{site}__amplitudes"),
                Array1::from_iter(dmd.amplitudes.iter().copied()),
            );
            out.insert(
                format!("{site}__residual_norms"),
                Array1::from(dmd.residual_norms),
            );
            out.insert(
                format!("{site}__singular_values"),
                Array1::from(dmd.singular_values),
            );
            out.insert(format!("{site}__n_modes"), dmd.eigenvalues.len() as i64);
            out.insert(
                format!("{site}__trajectory"),
                Array2::from_shape_vec((n, width), values).expect("n·width values"),
            );
            out.insert(format!("{site}__n_classes"), p as i64);
        }
        Ok(out)
    }
}

fn matrix(m: &DMatrix<Complex64>) -> Array2<Complex64> {
    Array2::from_shape_fn(m.shape(), |(i, j)| m[(i, j)])
}

/// An exact DMD of a trajectory whose rows are the snapshots.
#[derive(Debug, Clone)]
pub struct Dmd {
    /// All singular values of the snapshot matrix `X = [x_0 … x_{n−2}]`, descending.
    pub singular_values: Vec<f64>,
    /// The r eigenvalues of the reduced operator `Ã`.
    pub eigenvalues: DVector<Complex64>,
    /// `Φ = X' V_r S_r⁻¹ W` (width × r): the eigenvectors of A in snapshot space.
    pub modes: DMatrix<Complex64>,
    /// Least-squares `α` with `Φ α ≈ x_0`.
    pub amplitudes: DVector<Complex64>,
    /// `‖x_{t+1} − Re(Φ Λ Φ⁺ x_t)‖` for t = 0..n−2.
    pub residual_norms: Vec<f64>,
}

impl Dmd {
    /// Fits the DMD of `trajectory` (n snapshots × width). With fewer than two snapshots there
    /// is no step to fit: every output is empty.
    pub fn fit(trajectory: &DMatrix<f64>) -> AnalyzerResult<Self> {
        let (n, width) = trajectory.shape();
        if trajectory.iter().any(|v| !v.is_finite()) {
            return Err(AnalyzerError::NotFinite {
                what: "the centroid trajectory",
            });
        }
        if n < 2 {
            return Ok(Dmd {
                singular_values: Vec::new(),
                eigenvalues: DVector::zeros(0),
                modes: DMatrix::zeros(width, 0),
                amplitudes: DVector::zeros(0),
                residual_norms: Vec::new(),
            });
        }
        let x = trajectory.rows(0, n - 1).transpose();
        let x_next = trajectory.rows(1, n - 1).transpose();
        let svd = nalgebra::SVD::try_new(x.clone(), true, true, f64::EPSILON, MAX_ITERATIONS)
            .ok_or(AnalyzerError::NotConverged {
                what: "the SVD of the snapshots",
            })?;
        let (u, v_t) = (svd.u.expect("computed"), svd.v_t.expect("computed"));
        let s = svd.singular_values;
        let r = energy_rank(s.as_slice());
        // Zero singular values (a trajectory that does not move) are left out of the inverse,
        // as a pseudo-inverse would; numpy divides by them and fails in the eigensolver.
        let s_inv = DVector::from_fn(r, |i, _| if s[i] > 0.0 { 1.0 / s[i] } else { 0.0 });
        // X' V_r S_r⁻¹, shared by Ã and the modes.
        let b = (&x_next * v_t.rows(0, r).transpose()) * DMatrix::from_diagonal(&s_inv);
        let a_tilde = u.columns(0, r).transpose() * &b;
        let (eigenvalues, w) = eigen(&a_tilde)?;
        let modes = b.map(|v| Complex64::new(v, 0.0)) * w;

        let (pinv, lstsq) = pseudo_inverses(&modes)?;
        let x0 = trajectory
            .row(0)
            .transpose()
            .map(|v| Complex64::new(v, 0.0));
        let amplitudes = lstsq * x0;
        // Φ Λ Φ⁺ x_t for every t at once.
        let mut coefficients = pinv * x.map(|v| Complex64::new(v, 0.0));
        for (mut row, lambda) in coefficients.row_iter_mut().zip(eigenvalues.iter()) {
            row *= *lambda;
        }
        let predicted = &modes * coefficients;
        let residual_norms = (0..n - 1)
            .map(|t| {
                x_next
                    .column(t)
                    .iter()
                    .zip(predicted.column(t).iter())
                    .map(|(x, y)| (x - y.re).powi(2))
                    .sum::<f64>()
                    .sqrt()
            })
            .collect();
        Ok(Dmd {
            singular_values: s.iter().copied().collect(),
            eigenvalues,
            modes,
            amplitudes,
            residual_norms,
        })
    }

    /// The DMD reconstruction of snapshot t.
    #[cfg(test)]
    fn reconstruct(&self, t: usize) -> DVector<f64> {
        let modes = self.modes.as_slice();
        DVector::from_fn(self.modes.nrows(), |row, _| {
            reconstruct(
                |i| modes[i * self.modes.nrows() + row],
                self.eigenvalues.as_slice(),
                self.amplitudes.as_slice(),
                t,
            )
        })
    }
}

/// Entry `row` of the DMD reconstruction `Re(Φ Λ^t α)` of snapshot t, where `mode(i)` is
/// `Φ[row, i]`: how the fitted linear dynamics alone, started from the first checkpoint, would
/// have moved that coordinate (the `geometry.dmd_reconstruction` view).
pub fn reconstruct(
    mode: impl Fn(usize) -> Complex64,
    eigenvalues: &[Complex64],
    amplitudes: &[Complex64],
    t: usize,
) -> f64 {
    eigenvalues
        .iter()
        .zip(amplitudes)
        .enumerate()
        .map(|(i, (lambda, alpha))| mode(i) * lambda.powu(t as u32) * alpha)
        .sum::<Complex64>()
        .re
}

/// The fewest leading singular values whose squares reach [`ENERGY_TARGET`] of the total (1 for
/// a trajectory without energy).
fn energy_rank(s: &[f64]) -> usize {
    let total: f64 = s.iter().map(|v| v * v).sum();
    if total < 1e-12 {
        return 1.min(s.len());
    }
    let mut cumulative = 0.0;
    s.iter()
        .position(|v| {
            cumulative += v * v / total;
            cumulative >= ENERGY_TARGET
        })
        .map_or(s.len(), |k| k + 1)
}

/// Eigenvalues (real Schur order) and unit eigenvectors of a real square matrix.
///
/// nalgebra gives eigenvalues of general matrices but not their eigenvectors, so each comes
/// from the null space of `A − λI`: the right singular vectors of its smallest singular values,
/// as many as λ's multiplicity among the eigenvalues (so a repeated eigenvalue of a
/// diagonalisable matrix gets independent vectors).
fn eigen(a: &DMatrix<f64>) -> AnalyzerResult<(DVector<Complex64>, DMatrix<Complex64>)> {
    let r = a.nrows();
    let schur = nalgebra::Schur::try_new(a.clone(), f64::EPSILON, MAX_ITERATIONS).ok_or(
        AnalyzerError::NotConverged {
            what: "the Schur decomposition of the reduced operator",
        },
    )?;
    let eigenvalues = schur.complex_eigenvalues();
    let scale = a.amax().max(f64::MIN_POSITIVE);
    let same = |x: Complex64, y: Complex64| (x - y).norm() <= 1e-9 * scale;
    let complex_a = a.map(|v| Complex64::new(v, 0.0));
    let mut vectors = DMatrix::<Complex64>::zeros(r, r);
    let mut done = vec![false; r];
    for i in 0..r {
        if done[i] {
            continue;
        }
        let lambda = eigenvalues[i];
        let group: Vec<usize> = (i..r)
            .filter(|&j| !done[j] && same(eigenvalues[j], lambda))
            .collect();
        let shifted = &complex_a - DMatrix::from_diagonal_element(r, r, lambda);
        let svd = nalgebra::SVD::try_new(shifted, false, true, f64::EPSILON, MAX_ITERATIONS)
            .ok_or(AnalyzerError::NotConverged {
                what: "an eigenvector's SVD",
            })?;
        let v_t = svd.v_t.expect("computed");
        // Singular values are sorted descending: the null space is at the bottom.
        for (k, &j) in group.iter().enumerate() {
            let row = v_t.row(r - 1 - k);
            let mut vector = DVector::from_fn(r, |m, _| row[m].conj());
            normalise_phase(&mut vector, eigenvalues[j].im == 0.0);
            vectors.set_column(j, &vector);
            done[j] = true;
        }
    }
    Ok((eigenvalues, vectors))
}

/// Unit norm, largest entry real and positive; a real eigenvalue's vector made exactly real.
fn normalise_phase(vector: &mut DVector<Complex64>, real: bool) {
    let largest = vector
        .iter()
        .copied()
        .max_by(|a, b| a.norm().total_cmp(&b.norm()))
        .unwrap_or(Complex64::new(1.0, 0.0));
    if largest.norm() > 0.0 {
        let phase = largest.conj() / largest.norm();
        *vector *= phase;
    }
    if real {
        vector.iter_mut().for_each(|v| v.im = 0.0);
    }
    let norm = vector.norm();
    if norm > 0.0 {
        *vector /= Complex64::new(norm, 0.0);
    }
}

/// `Φ⁺` with numpy's `pinv` cutoff (1e-15 of the largest singular value) and with `lstsq`'s
/// (machine epsilon × the larger dimension).
fn pseudo_inverses(
    modes: &DMatrix<Complex64>,
) -> AnalyzerResult<(DMatrix<Complex64>, DMatrix<Complex64>)> {
    let (rows, cols) = modes.shape();
    if cols == 0 {
        return Ok((DMatrix::zeros(0, rows), DMatrix::zeros(0, rows)));
    }
    let svd = nalgebra::SVD::try_new(modes.clone(), true, true, f64::EPSILON, MAX_ITERATIONS)
        .ok_or(AnalyzerError::NotConverged {
            what: "the SVD of the modes",
        })?;
    let largest = svd.singular_values.max();
    // nalgebra refuses only a negative cutoff, which these are not.
    let pinv = svd
        .clone()
        .pseudo_inverse(1e-15 * largest)
        .expect("a non-negative cutoff");
    let lstsq = svd
        .pseudo_inverse(f64::EPSILON * rows.max(cols) as f64 * largest)
        .expect("a non-negative cutoff");
    Ok((pinv, lstsq))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Snapshots of `x_{t+1} = A x_t` from `x_0`.
    fn linear_trajectory(a: &DMatrix<f64>, x0: &DVector<f64>, n: usize) -> DMatrix<f64> {
        let mut rows = vec![x0.clone()];
        for t in 1..n {
            rows.push(a * &rows[t - 1]);
        }
        DMatrix::from_fn(n, x0.len(), |t, j| rows[t][j])
    }

    /// A rotation by θ scaled by ρ in the (0, 1) plane, a decay in coordinate 2, and coordinate 3
    /// set to half of coordinate 2's new value (so A has an eigenvalue 0).
    fn spiral(rho: f64, theta: f64, decay: f64) -> DMatrix<f64> {
        let mut a = DMatrix::zeros(4, 4);
        a[(0, 0)] = rho * theta.cos();
        a[(0, 1)] = -rho * theta.sin();
        a[(1, 0)] = rho * theta.sin();
        a[(1, 1)] = rho * theta.cos();
        a[(2, 2)] = decay;
        a[(3, 2)] = 0.5 * decay;
        a
    }

    fn sorted_by_angle(values: &DVector<Complex64>) -> Vec<Complex64> {
        let mut v: Vec<Complex64> = values.iter().copied().collect();
        v.sort_by(|a, b| a.arg().total_cmp(&b.arg()).then(a.re.total_cmp(&b.re)));
        v
    }

    #[test]
    fn a_linear_trajectory_gives_its_eigenvalues_and_no_residual() {
        let (rho, theta, decay) = (0.97, 0.4, 0.6);
        // Coordinate 3 starts at half of coordinate 2, as it stays: the snapshots span three
        // dimensions and the rank is 3.
        let x0 = DVector::from_vec(vec![1.0, -0.5, 2.0, 1.0]);
        let trajectory = linear_trajectory(&spiral(rho, theta, decay), &x0, 12);
        let dmd = Dmd::fit(&trajectory).unwrap();
        assert_eq!(dmd.singular_values.len(), 4);
        assert_eq!(dmd.eigenvalues.len(), 3, "one direction has no energy");
        let found = sorted_by_angle(&dmd.eigenvalues);
        let expected = [
            Complex64::from_polar(rho, -theta),
            Complex64::new(decay, 0.0),
            Complex64::from_polar(rho, theta),
        ];
        for (f, e) in found.iter().zip(&expected) {
            assert!((f - e).norm() < 1e-9, "{found:?} vs {expected:?}");
        }
        assert!(
            dmd.residual_norms.iter().all(|r| *r < 1e-9),
            "{:?}",
            dmd.residual_norms
        );
        for t in [0, 5, 11] {
            let error = (dmd.reconstruct(t) - trajectory.row(t).transpose()).amax();
            assert!(error < 1e-8, "snapshot {t}: {error}");
        }
    }

    #[test]
    fn modes_are_eigenvectors_of_the_fitted_map() {
        // The snapshots span an invariant subspace of A, where its eigenvectors are the modes.
        let x0 = DVector::from_vec(vec![0.2, 1.0, -1.0, -0.5]);
        let a = spiral(1.02, 1.1, -0.8);
        let dmd = Dmd::fit(&linear_trajectory(&a, &x0, 9)).unwrap();
        assert_eq!(dmd.eigenvalues.len(), 3);
        let complex_a = a.map(|v| Complex64::new(v, 0.0));
        for (i, lambda) in dmd.eigenvalues.iter().enumerate() {
            let phi = dmd.modes.column(i);
            let applied = &complex_a * phi;
            let error = (applied - phi * *lambda).camax();
            assert!(error < 1e-9, "mode {i}: A φ − λ φ = {error}");
        }
    }

    #[test]
    fn at_full_rank_the_residuals_are_those_of_the_least_squares_map() {
        // Not a linear trajectory: four incommensurate oscillations. With every direction
        // kept, Φ Λ Φ⁺ is X' X⁺, the least-squares one-step map.
        let trajectory = DMatrix::from_fn(30, 4, |t, j| {
            let t = t as f64;
            [
                (1.3 * t).sin(),
                (0.7 * t).cos(),
                (0.31 * t + 1.0).sin(),
                (2.1 * t).cos(),
            ][j]
        });
        let dmd = Dmd::fit(&trajectory).unwrap();
        assert_eq!(dmd.eigenvalues.len(), 4);
        let x = trajectory.rows(0, 29).transpose();
        let x_next = trajectory.rows(1, 29).transpose();
        let map = &x_next * x.clone().pseudo_inverse(1e-12).unwrap();
        let expected: Vec<f64> = (0..29)
            .map(|t| (x_next.column(t) - &map * x.column(t)).norm())
            .collect();
        assert!(
            expected.iter().any(|r| *r > 1e-2),
            "the map should not fit exactly"
        );
        for (t, (got, want)) in dmd.residual_norms.iter().zip(&expected).enumerate() {
            assert!((got - want).abs() < 1e-9, "step {t}: {got} vs {want}");
        }
    }

    #[test]
    fn a_still_or_single_snapshot_trajectory_gives_empty_or_finite_output() {
        let one = Dmd::fit(&DMatrix::from_element(1, 6, 1.0)).unwrap();
        assert_eq!(one.eigenvalues.len(), 0);
        assert_eq!(one.modes.shape(), (6, 0));
        assert!(one.residual_norms.is_empty() && one.singular_values.is_empty());

        let still = Dmd::fit(&DMatrix::zeros(5, 3)).unwrap();
        assert_eq!(still.eigenvalues.len(), 1);
        assert!(still.eigenvalues.iter().all(|v| v.re.is_finite()));
        assert_eq!(still.residual_norms, vec![0.0; 4]);

        let err = Dmd::fit(&DMatrix::from_element(3, 2, f64::NAN)).unwrap_err();
        assert!(matches!(err, AnalyzerError::NotFinite { .. }), "{err}");
    }

    #[test]
    fn energy_rank_keeps_99_percent() {
        assert_eq!(energy_rank(&[10.0, 1.5, 0.1]), 2);
        assert_eq!(energy_rank(&[10.0, 0.5, 0.1]), 1);
        assert_eq!(energy_rank(&[1.0, 1.0, 1.0, 1.0]), 4);
        assert_eq!(energy_rank(&[0.0, 0.0]), 1);
        assert_eq!(energy_rank(&[]), 0);
    }
}
