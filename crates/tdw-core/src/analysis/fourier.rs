//! The Fourier basis of Z/p and the projections every frequency analysis shares (spec §5.1).
//!
//! Rows of the basis, in order: row 0 is the constant; for k = 1..p/2, row 2k−1 is sin(2πkx/p)
//! and row 2k is cos(2πkx/p); each row has unit L2 norm. So basis row 2k−1 is "sin k" and row 2k
//! is "cos k" (MIScope's display labels swap them; the data convention here is authoritative).
//! Computed in f32 in MIScope's operation order, `((2x)·π)·k / p`, to stay bit-close to it.

use ndarray::{Array1, Array2, Array3, ArrayView2, ArrayView3, Axis, s};

use crate::kernels::linalg;

/// The (1 + 2·(p/2)) × p orthonormal Fourier basis (p × p for odd p).
pub fn basis(p: usize) -> Array2<f32> {
    let n_freq = p / 2;
    let mut rows = Array2::<f32>::zeros((1 + 2 * n_freq, p));
    rows.row_mut(0).fill(1.0);
    for k in 1..=n_freq {
        for x in 0..p {
            let angle = ((2 * x) as f32 * std::f32::consts::PI) * k as f32 / p as f32;
            rows[[2 * k - 1, x]] = angle.sin();
            rows[[2 * k, x]] = angle.cos();
        }
    }
    for mut row in rows.rows_mut() {
        let norm = row.iter().map(|v| v * v).sum::<f32>().sqrt();
        row.mapv_inplace(|v| v / norm);
    }
    rows
}

/// Human label of basis row `index` ("Constant", "sin 3", "cos 3").
pub fn component_name(index: usize) -> String {
    match index {
        0 => "Constant".to_string(),
        i if i % 2 == 1 => format!("sin {}", i.div_ceil(2)),
        i => format!("cos {}", i / 2),
    }
}

/// ‖B · W‖₂ of every basis row: how much of `w`'s (p, d) rows lie along each component.
pub fn project_norms(w: ArrayView2<f32>, basis: &Array2<f32>) -> Array1<f32> {
    let projected = basis.dot(&w);
    projected.map_axis(Axis(1), |row| row.iter().map(|v| v * v).sum::<f32>().sqrt())
}

/// `B · A_n · Bᵀ` for every leading index n of `a` (N, p, p).
///
/// Computed as two large products rather than N small ones. The result is the transpose of each
/// 2-D transform (`[n, column, row]`); callers that use it only through squared entries summed
/// over symmetric index sets ([`variance_fractions`]) are unaffected, others must call
/// [`fourier_2d_exact`].
fn fourier_2d_transposed(a: ArrayView3<f32>, basis: &Array2<f32>) -> Array3<f32> {
    let (n, p, q) = a.dim();
    let r = basis.nrows();
    let flat = a
        .as_standard_layout()
        .into_owned()
        .into_shape_with_order((n * p, q))
        .expect("contiguous");
    // Y[n, a, j] = Σ_b A[n, a, b] B[j, b]
    let y = linalg::dot(&flat.view(), &basis.t())
        .into_shape_with_order((n, p, r))
        .expect("contiguous");
    // Z[n, j, i] = Σ_a Y[n, a, j] B[i, a]
    let y_t = y.permuted_axes([0, 2, 1]).as_standard_layout().into_owned();
    let y_t = y_t.into_shape_with_order((n * r, p)).expect("contiguous");
    let z = linalg::dot(&y_t.view(), &basis.t());
    z.into_shape_with_order((n, r, r)).expect("contiguous")
}

/// `B · A_n · Bᵀ` for every n, in row/column order.
pub fn fourier_2d_exact(a: ArrayView3<f32>, basis: &Array2<f32>) -> Array3<f32> {
    fourier_2d_transposed(a, basis)
        .permuted_axes([0, 2, 1])
        .as_standard_layout()
        .into_owned()
}

/// Fraction of each 2-D spectrum's non-DC energy carried by each frequency (spec §5.1).
///
/// For spectra `F` (N, n, n) with the DC entry removed, frequency index f (k = f + 1) collects
/// the nine squared entries `F[x, y]` with x, y ∈ {0, sin k, cos k}; the total is the sum of all
/// squared entries, floored at 1e-10. Returns (p/2, N).
pub fn variance_fractions(spectra: &Array3<f32>, p: usize) -> Array2<f32> {
    let (count, n, _) = spectra.dim();
    let n_freq = p / 2;
    let mut out = Array2::<f32>::zeros((n_freq, count));
    for (column, spectrum) in spectra.outer_iter().enumerate() {
        let mut total = 0f32;
        for ((i, j), v) in spectrum.indexed_iter() {
            if (i, j) != (0, 0) {
                total += v * v;
            }
        }
        let total = total.max(1e-10);
        for f in 0..n_freq {
            let idx = [0, 2 * f + 1, 2 * f + 2];
            let mut num = 0f32;
            for &x in &idx {
                for &y in &idx {
                    if (x, y) != (0, 0) && x < n && y < n {
                        num += spectrum[[x, y]] * spectrum[[x, y]];
                    }
                }
            }
            out[[f, column]] = num / total;
        }
    }
    out
}

/// Per-frequency variance fractions of N p×p grids: (p/2, N), equal to
/// [`variance_fractions`] of the full 2-D spectra.
///
/// Only the spectrum entries the fractions use are formed: the constant row and column and the
/// 2×2 sin/cos blocks, about 4p of the p² entries, after one p×p product per grid; the total
/// non-DC energy comes from Parseval (‖F‖² = ‖A‖² for the orthonormal square basis of odd p).
/// Exact for odd p (the only moduli the families accept).
pub fn grid_variance_fractions(
    grids: ArrayView3<f32>,
    basis: &Array2<f32>,
    p: usize,
) -> Array2<f32> {
    let (count, rows, cols) = grids.dim();
    let r = basis.nrows();
    let n_freq = p / 2;
    let flat = grids
        .as_standard_layout()
        .into_owned()
        .into_shape_with_order((count * rows, cols))
        .expect("contiguous");
    // Y[n, a, y] = Σ_b A[n, a, b] B[y, b]; then F[n, x, y] = Σ_a B[x, a] Y[n, a, y].
    let y = linalg::dot(&flat.view(), &basis.t())
        .into_shape_with_order((count, rows, r))
        .expect("contiguous");
    let constant = basis.row(0);
    let mut out = Array2::<f32>::zeros((n_freq, count));
    for (n, (grid, yn)) in grids.outer_iter().zip(y.outer_iter()).enumerate() {
        let row0 = constant.dot(&yn); // F[0, y] for every y
        let col0 = basis.dot(&yn.column(0)); // F[x, 0] for every x
        // Non-DC energy = Σ(A − mean)² (Parseval, with F[0,0] = p·mean), summed over centred
        // values: subtracting F[0,0]² from ‖A‖² cancels catastrophically in f32 when the mean
        // dominates, as it does for attention weights near 1/3.
        let mean = grid.iter().sum::<f32>() / (rows * cols) as f32;
        let total = grid
            .iter()
            .map(|v| (v - mean) * (v - mean))
            .sum::<f32>()
            .max(1e-10);
        for f in 0..n_freq {
            let (si, ci) = (2 * f + 1, 2 * f + 2);
            let mut num = 0f32;
            for idx in [si, ci] {
                if idx < r {
                    num += row0[idx] * row0[idx] + col0[idx] * col0[idx];
                }
            }
            for x in [si, ci] {
                for yy in [si, ci] {
                    if x < r && yy < r {
                        let v = basis.row(x).dot(&yn.column(yy));
                        num += v * v;
                    }
                }
            }
            out[[f, n]] = num / total;
        }
    }
    out
}

/// Magnitude and phase of each frequency in coefficient rows (p, M) → ((M, K), (M, K)),
/// K = (p−1)/2: `mag = √(s² + c²)`, `phase = atan2(−s, c)` (He et al. convention).
pub fn frequency_pairs(coefficients: ArrayView2<f32>, p: usize) -> (Array2<f32>, Array2<f32>) {
    let k_count = (p - 1) / 2;
    let m = coefficients.ncols();
    let mut magnitude = Array2::<f32>::zeros((m, k_count));
    let mut phase = Array2::<f32>::zeros((m, k_count));
    for k in 1..=k_count {
        let sin = coefficients.slice(s![2 * k - 1, ..]);
        let cos = coefficients.slice(s![2 * k, ..]);
        for neuron in 0..m {
            let (sv, cv) = (sin[neuron], cos[neuron]);
            magnitude[[neuron, k - 1]] = (sv * sv + cv * cv).sqrt();
            phase[[neuron, k - 1]] = (-sv).atan2(cv);
        }
    }
    (magnitude, phase)
}

#[cfg(test)]
// Reference values are quoted verbatim from the spec, with the digits it gives.
#[allow(clippy::excessive_precision)]
mod tests {
    use super::*;

    #[test]
    fn basis_matches_reference_values_and_is_orthonormal() {
        let b = basis(113);
        assert_eq!(b.dim(), (113, 113));
        assert!((b[[0, 0]] - 0.094_072_09).abs() < 1e-7);
        for (got, want) in b.row(1).iter().zip([0.0, 0.007_393_556_6, 0.014_764_26]) {
            assert!((got - want).abs() < 1e-7, "{got} vs {want}");
        }
        for (got, want) in b
            .row(2)
            .iter()
            .zip([0.133_038_01, 0.132_832_41, 0.132_216_23])
        {
            assert!((got - want).abs() < 1e-7, "{got} vs {want}");
        }
        let gram = b.dot(&b.t());
        for ((i, j), v) in gram.indexed_iter() {
            let want = if i == j { 1.0 } else { 0.0 };
            assert!((v - want).abs() < 1e-5, "gram[{i},{j}] = {v}");
        }
    }

    #[test]
    fn names_follow_the_data_convention() {
        assert_eq!(component_name(0), "Constant");
        assert_eq!(component_name(1), "sin 1");
        assert_eq!(component_name(2), "cos 1");
        assert_eq!(component_name(5), "sin 3");
    }

    /// A grid that is exactly cos(2π·3(a+b)/p) puts all its energy on frequency 3.
    #[test]
    fn pure_frequency_grid_has_all_its_variance_on_that_frequency() {
        let p = 7;
        let b = basis(p);
        let grid = Array3::from_shape_fn((1, p, p), |(_, a, c)| {
            (2.0 * std::f32::consts::PI * 3.0 * (a + c) as f32 / p as f32).cos()
        });
        let fractions = grid_variance_fractions(grid.view(), &b, p);
        assert_eq!(fractions.dim(), (3, 1));
        let full = variance_fractions(&fourier_2d_transposed(grid.view(), &b), p);
        assert!((&fractions - &full).iter().all(|d| d.abs() < 1e-5));
        assert!((fractions[[2, 0]] - 1.0).abs() < 1e-5, "{fractions}");
        assert!(fractions[[0, 0]] < 1e-6 && fractions[[1, 0]] < 1e-6);
        let exact = fourier_2d_exact(grid.view(), &b);
        let transposed = fourier_2d_transposed(grid.view(), &b);
        assert!((exact[[0, 5, 6]] - transposed[[0, 6, 5]]).abs() < 1e-6);
    }

    #[test]
    fn frequency_pairs_give_magnitude_and_phase() {
        let p = 5;
        let mut coefficients = Array2::<f32>::zeros((p, 1));
        coefficients[[1, 0]] = 3.0; // sin 1
        coefficients[[2, 0]] = 4.0; // cos 1
        let (mag, phase) = frequency_pairs(coefficients.view(), p);
        assert_eq!(mag.dim(), (1, 2));
        assert!((mag[[0, 0]] - 5.0).abs() < 1e-6);
        assert!((phase[[0, 0]] - (-3f32).atan2(4.0)).abs() < 1e-6);
    }
}
