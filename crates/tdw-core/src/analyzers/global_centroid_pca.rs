//! `global_centroid_pca` (cross-epoch, reads `repr_geometry`): one PCA basis per site for the
//! class centroids of all checkpoints together, so that centroid motion can be followed in fixed
//! coordinates (spec §5.19).
//!
//! Per site: pool the (p, d) centroids of n checkpoints, subtract the pooled mean, eigendecompose
//! the covariance and keep the fewest components reaching 95% of the variance. Writes `epochs`
//! i64 (n,) and per site `site__projections` f64 (n, p, n_comp), `site__basis` f64 (d, n_comp),
//! `site__mean` f64 (d,), `site__explained_variance_ratio` f64 (n_comp,). Eigenvector signs are
//! the solver's (as in MIScope), so they may differ from another implementation's.

use ndarray::{Array1, Array2, Array3, Axis, s};

use crate::analysis::analyzer::{CrossEpochAnalyzer, CrossEpochInput, ForAnalyzer, ranked};
use crate::analyzers::repr_geometry::SITES;
use crate::error::Result;
use crate::formats::artifact::Artifact;

const NAME: &str = "global_centroid_pca";

pub struct GlobalCentroidPca;

const VARIANCE_TARGET: f64 = 0.95;

impl CrossEpochAnalyzer for GlobalCentroidPca {
    fn name(&self) -> &'static str {
        "global_centroid_pca"
    }

    fn requires(&self) -> &'static [&'static str] {
        &["repr_geometry"]
    }

    fn analyze(&self, input: &CrossEpochInput<'_>) -> Result<Artifact> {
        let keys: Vec<String> = SITES.iter().map(|s| format!("{s}_centroids")).collect();
        let key_refs: Vec<&str> = keys.iter().map(String::as_str).collect();
        let stacked =
            input
                .loader
                .load_epochs("repr_geometry", Some(input.epochs), Some(&key_refs))?;
        let mut out = Artifact::new().with(
            "epochs",
            Array1::from_iter(input.epochs.iter().map(|&e| e as i64)),
        );
        for (site, key) in SITES.iter().zip(&keys) {
            let centroids = stacked.as_f64(key).for_analyzer(NAME)?;
            let centroids = ranked::<_, ndarray::Ix3>(key, centroids).for_analyzer(NAME)?;
            let (n, p, d) = centroids.dim();
            let pooled = centroids
                .to_shape((n * p, d))
                .expect("a 3-d array reshapes to its first two axes merged")
                .to_owned();
            let mean = pooled.mean_axis(Axis(0)).expect("n·p > 0");
            let c = &pooled - &mean;
            let cov = c.t().dot(&c) / (n * p) as f64;
            let eigen =
                nalgebra::SymmetricEigen::new(nalgebra::DMatrix::from_fn(d, d, |i, j| cov[[i, j]]));
            let mut order: Vec<usize> = (0..d).collect();
            order.sort_by(|&a, &b| eigen.eigenvalues[b].total_cmp(&eigen.eigenvalues[a]));
            let total: f64 = eigen.eigenvalues.iter().sum();
            let n_comp = if total < 1e-12 {
                1
            } else {
                let mut cumulative = 0.0;
                order
                    .iter()
                    .position(|&i| {
                        cumulative += eigen.eigenvalues[i] / total;
                        cumulative >= VARIANCE_TARGET
                    })
                    .map_or(d, |k| k + 1)
            };
            let basis =
                Array2::from_shape_fn((d, n_comp), |(r, k)| eigen.eigenvectors[(r, order[k])]);
            let ratio: Array1<f64> = order[..n_comp]
                .iter()
                .map(|&i| {
                    if total < 1e-12 {
                        0.0
                    } else {
                        eigen.eigenvalues[i] / total
                    }
                })
                .collect();
            let mut projections = Array3::<f64>::zeros((n, p, n_comp));
            for e in 0..n {
                let centred = &centroids.slice(s![e, .., ..]) - &mean;
                projections
                    .slice_mut(s![e, .., ..])
                    .assign(&centred.dot(&basis));
            }
            out.insert(format!("{site}__projections"), projections);
            out.insert(format!("{site}__basis"), basis);
            out.insert(format!("{site}__mean"), mean);
            out.insert(format!("{site}__explained_variance_ratio"), ratio);
        }
        Ok(out)
    }
}
