//! `parameter_trajectory` (cross-epoch, reads `parameter_snapshot`): PCA of the path the weights
//! take through parameter space, and its speed (spec §5.17).
//!
//! For each group (`all`; `embedding` = W_E, W_pos, W_U; `attention` = W_Q, W_K, W_V, W_O;
//! `mlp` = W_in, W_out; `learned_embeddings` when a family has them) every checkpoint's
//! matrices are flattened into one row of X (n, D). PCA keeps min(10, n, D) components, computed
//! exactly through the n×n Gram matrix, signs fixed so each component's largest-magnitude entry
//! is positive (scikit-learn's `svd_flip`). Writes `epochs` i64 (n,) and per group g
//! `g__projections` f32 (n, nc), `g__explained_variance_ratio` f32 (nc,),
//! `g__explained_variance` f32 (nc,) (S²/(n−1)) and `g__velocity` f64 (n−1,) =
//! ‖X[i+1] − X[i]‖ / (epoch[i+1] − epoch[i]).

use ndarray::{Array1, Array2, Axis};

use crate::analysis::analyzer::{CrossEpochAnalyzer, CrossEpochInput};
use crate::error::Result;
use crate::formats::artifact::{Array, Artifact};

pub struct ParameterTrajectory;

const GROUPS: [(&str, &[&str]); 5] = [
    (
        "all",
        &[
            "W_E", "W_pos", "W_Q", "W_K", "W_V", "W_O", "W_in", "W_out", "W_U", "embed_a",
            "embed_b",
        ],
    ),
    ("embedding", &["W_E", "W_pos", "W_U"]),
    ("attention", &["W_Q", "W_K", "W_V", "W_O"]),
    ("mlp", &["W_in", "W_out"]),
    ("learned_embeddings", &["embed_a", "embed_b"]),
];
const MAX_COMPONENTS: usize = 10;

/// PCA of the rows of `x`: (projections (n, nc), explained variance (nc,), ratio (nc,)).
pub fn pca(x: &Array2<f64>, max_components: usize) -> (Array2<f64>, Array1<f64>, Array1<f64>) {
    let (n, d) = x.dim();
    let nc = max_components.min(n).min(d);
    let mean = x.mean_axis(Axis(0)).expect("n > 0");
    let centred = x - &mean;
    let gram = centred.dot(&centred.t());
    let total: f64 = gram.diag().sum();
    let eigen =
        nalgebra::SymmetricEigen::new(nalgebra::DMatrix::from_fn(n, n, |i, j| gram[[i, j]]));
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| eigen.eigenvalues[b].total_cmp(&eigen.eigenvalues[a]));
    let mut projections = Array2::<f64>::zeros((n, nc));
    let mut variance = Array1::<f64>::zeros(nc);
    let dof = (n.max(2) - 1) as f64;
    for (c, &i) in order.iter().take(nc).enumerate() {
        let s2 = eigen.eigenvalues[i].max(0.0);
        let s = s2.sqrt();
        let u: Array1<f64> = (0..n).map(|r| eigen.eigenvectors[(r, i)]).collect();
        // Component direction V = Cᵀu / s; its sign follows its largest-magnitude entry.
        let sign = if s > 0.0 {
            let v = centred.t().dot(&u);
            let (_, largest) = v.iter().fold((0.0f64, 0.0f64), |(m, val), &x| {
                if x.abs() > m { (x.abs(), x) } else { (m, val) }
            });
            if largest < 0.0 { -1.0 } else { 1.0 }
        } else {
            1.0
        };
        for r in 0..n {
            projections[[r, c]] = sign * u[r] * s;
        }
        variance[c] = s2 / dof;
    }
    let ratio = if total > 0.0 {
        variance.mapv(|v| v * dof / total)
    } else {
        Array1::zeros(nc)
    };
    (projections, variance, ratio)
}

impl CrossEpochAnalyzer for ParameterTrajectory {
    fn name(&self) -> &'static str {
        "parameter_trajectory"
    }

    fn requires(&self) -> &'static [&'static str] {
        &["parameter_snapshot"]
    }

    fn analyze(&self, input: &CrossEpochInput<'_>) -> Result<Artifact> {
        let stacked = input
            .loader
            .load_epochs("parameter_snapshot", Some(input.epochs), None)?;
        let n = input.epochs.len();
        let mut out = Artifact::new().with(
            "epochs",
            Array1::from_iter(input.epochs.iter().map(|&e| e as i64)),
        );
        for (group, names) in GROUPS {
            let present: Vec<&Array> = names.iter().filter_map(|name| stacked.get(name)).collect();
            if present.is_empty() {
                continue;
            }
            let width: usize = present
                .iter()
                .map(|a| a.shape()[1..].iter().product::<usize>())
                .sum();
            let mut x = Array2::<f64>::zeros((n, width));
            let mut offset = 0;
            for array in present {
                let values = array.to_f64();
                let cols = values.len() / n;
                let flat = values
                    .into_shape_with_order((n, cols))
                    .expect("the loader stacks one row per epoch");
                x.slice_mut(ndarray::s![.., offset..offset + cols])
                    .assign(&flat);
                offset += cols;
            }
            let (projections, variance, ratio) = pca(&x, MAX_COMPONENTS);
            let velocity: Array1<f64> = (0..n.saturating_sub(1))
                .map(|i| {
                    let gap = input.epochs[i + 1] as f64 - input.epochs[i] as f64;
                    let step = &x.row(i + 1) - &x.row(i);
                    if gap > 0.0 {
                        step.dot(&step).sqrt() / gap
                    } else {
                        0.0
                    }
                })
                .collect();
            out.insert(
                format!("{group}__projections"),
                projections.mapv(|v| v as f32),
            );
            out.insert(
                format!("{group}__explained_variance_ratio"),
                ratio.mapv(|v| v as f32),
            );
            out.insert(
                format!("{group}__explained_variance"),
                variance.mapv(|v| v as f32),
            );
            out.insert(format!("{group}__velocity"), velocity);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Points on a line: one component carries all the variance, projections are the signed
    /// distances along it.
    #[test]
    fn pca_of_collinear_points() {
        let x = Array2::from_shape_fn((4, 3), |(i, j)| (i as f64) * [1.0, 2.0, -2.0][j]);
        let (proj, var, ratio) = pca(&x, 10);
        assert_eq!(proj.dim(), (4, 3));
        assert!((ratio[0] - 1.0).abs() < 1e-12 && ratio[1].abs() < 1e-12);
        // Component direction (1, 2, -2)/3 has its largest entry (2/3 at index 1; tie broken by the
        // first) positive, so projections grow with i: -4.5, -1.5, 1.5, 4.5 (times |v| = 3 / 2... ).
        assert!(proj[[0, 0]] < 0.0 && proj[[3, 0]] > 0.0);
        assert!((proj[[3, 0]] - proj[[2, 0]] - 3.0).abs() < 1e-9);
        assert!((var[0] - 15.0).abs() < 1e-9, "{var}");
    }
}
