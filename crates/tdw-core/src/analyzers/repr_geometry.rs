//! `repr_geometry`: the geometry of the residue classes (a + b) mod p in activation space, at
//! four sites of the "=" position (spec §5.13).
//!
//! Sites: `resid_pre`, `attn_out`, `mlp_out` (the d_mlp ReLU activations, as MIScope names it)
//! and `resid_post`. With samples grouped by class, computed in f64: class `centroids` (p, d),
//! `radii` (√ mean squared distance to the centroid), per-class `dimensionality` (participation
//! ratio of the class covariance spectrum), `mean_radius`, `mean_dim`, `center_spread`
//! (RMS distance of centroids to their mean), `snr` = spread²/radius², `circularity` (how well
//! the centroids' top-2 PCA projection lies on a circle, times the PCA shape quality),
//! `fourier_alignment` (max over k of |mean_r e^{iθ_r} e^{−2πikr/p}|², θ_r the angle of class r on
//! that circle), `fisher_mean`/`fisher_min` (pairwise ‖μ_r − μ_s‖²/(σ_r² + σ_s²)) and the
//! least-separated pair (`fisher_argmin_r`, `_s`, `_diff` = circular residue distance).
//! Keys `{site}_{measure}`, f64. Summary: the 11 scalars per site, then `{site}_pca_var_pc1..3`.
//! At position −1, `resid_pre` = W_E[p] + W_pos[2] for every input, so all its measures are 0.

use ndarray::{Array1, Array2, ArrayView2, Axis};

use crate::analysis::analyzer::{AnalysisContext, Analyzer, AnalyzerError, AnalyzerResult, ranked};
use crate::formats::artifact::Artifact;
use crate::model::bundle::{ActivationBundle, ResidualSite};

pub struct ReprGeometry;

pub const SITES: [&str; 4] = ["resid_pre", "attn_out", "mlp_out", "resid_post"];
const SCALARS: [&str; 11] = [
    "mean_radius",
    "mean_dim",
    "center_spread",
    "snr",
    "circularity",
    "fourier_alignment",
    "fisher_mean",
    "fisher_min",
    "fisher_argmin_r",
    "fisher_argmin_s",
    "fisher_argmin_diff",
];

/// The measures of one site.
pub struct ClassGeometry {
    pub centroids: Array2<f64>,
    pub radii: Array1<f64>,
    pub dimensionality: Array1<f64>,
    pub scalars: [f64; 11],
}

/// Centroid, radius and participation ratio of each class; `labels` in 0..classes.
pub fn class_statistics(
    x: ArrayView2<f64>,
    labels: &[i64],
    classes: usize,
) -> (Array2<f64>, Array1<f64>, Array1<f64>) {
    let d = x.ncols();
    let mut centroids = Array2::<f64>::zeros((classes, d));
    let mut counts = vec![0usize; classes];
    for (row, &label) in x.rows().into_iter().zip(labels) {
        let c = label as usize;
        centroids.row_mut(c).scaled_add(1.0, &row);
        counts[c] += 1;
    }
    for (c, mut centroid) in centroids.rows_mut().into_iter().enumerate() {
        centroid.mapv_inplace(|v| v / counts[c].max(1) as f64);
    }
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); classes];
    for (i, &label) in labels.iter().enumerate() {
        members[label as usize].push(i);
    }
    let mut radii = Array1::<f64>::zeros(classes);
    let mut dims = Array1::<f64>::zeros(classes);
    for c in 0..classes {
        let n = members[c].len();
        if n == 0 {
            continue;
        }
        let centred = x.select(Axis(0), &members[c]) - centroids.row(c);
        let sq = centred.iter().map(|v| v * v).sum::<f64>();
        radii[c] = (sq / n as f64).sqrt();
        if n >= 2 {
            // Σλ = tr(cov) and Σλ² = ‖cov‖_F², through the smaller n×n Gram matrix.
            let gram = centred.dot(&centred.t());
            let frob2 = gram.iter().map(|v| v * v).sum::<f64>();
            dims[c] = if frob2 > 0.0 { sq * sq / frob2 } else { 0.0 };
        }
    }
    (centroids, radii, dims)
}

/// Top-2 PCA projection of points (rows), eigenvalue fractions (top 3) through the Gram matrix.
fn centroid_pca(centroids: &Array2<f64>) -> (Array2<f64>, [f64; 3]) {
    let n = centroids.nrows();
    let mean = centroids.mean_axis(Axis(0)).expect("classes > 0");
    let c = centroids - &mean;
    let gram = c.dot(&c.t());
    let eigen =
        nalgebra::SymmetricEigen::new(nalgebra::DMatrix::from_fn(n, n, |i, j| gram[[i, j]]));
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| eigen.eigenvalues[b].total_cmp(&eigen.eigenvalues[a]));
    let values: Vec<f64> = order
        .iter()
        .map(|&i| eigen.eigenvalues[i].max(0.0))
        .collect();
    let total: f64 = values.iter().sum();
    let mut fractions = [0.0; 3];
    if total >= 1e-12 {
        for (f, v) in fractions.iter_mut().zip(&values) {
            *f = v / total;
        }
    }
    // Projection on eigenvector v_i of CᵀC is √λ_i · u_i (u_i the Gram eigenvector).
    let mut projection = Array2::<f64>::zeros((n, 2));
    for (axis, &i) in order.iter().take(2).enumerate() {
        let scale = values[axis].sqrt();
        for r in 0..n {
            projection[[r, axis]] = eigen.eigenvectors[(r, i)] * scale;
        }
    }
    (projection, fractions)
}

/// Kåsa least-squares circle through 2-D points: (centre x, centre y, radius).
fn fit_circle(points: &Array2<f64>) -> (f64, f64, f64) {
    let n = points.nrows();
    let a = nalgebra::DMatrix::from_fn(n, 3, |r, c| match c {
        0 => points[[r, 0]],
        1 => points[[r, 1]],
        _ => 1.0,
    });
    let b =
        nalgebra::DVector::from_fn(n, |r, _| -(points[[r, 0]].powi(2) + points[[r, 1]].powi(2)));
    let solution = a
        .svd(true, true)
        .solve(&b, 1e-12)
        .unwrap_or_else(|_| nalgebra::DVector::zeros(3));
    let (cx, cy) = (-solution[0] / 2.0, -solution[1] / 2.0);
    let radius = (cx * cx + cy * cy - solution[2]).max(0.0).sqrt();
    (cx, cy, radius)
}

/// All measures of one site.
pub fn site_geometry(x: ArrayView2<f64>, labels: &[i64], p: usize) -> ClassGeometry {
    let (centroids, radii, dims) = class_statistics(x, labels, p);
    let mean_radius = radii.mean().unwrap_or(0.0);
    let mean_dim = dims.mean().unwrap_or(0.0);
    let grand = centroids.mean_axis(Axis(0)).expect("p > 0");
    let spread = (centroids
        .rows()
        .into_iter()
        .map(|r| (&r - &grand).mapv(|v| v * v).sum())
        .sum::<f64>()
        / p as f64)
        .sqrt();
    let snr = if mean_radius == 0.0 {
        0.0
    } else {
        spread * spread / (mean_radius * mean_radius)
    };

    let (projection, pca_var) = centroid_pca(&centroids);
    let (f1, f2) = (pca_var[0], pca_var[1]);
    let quality = if f1 <= 1e-12 {
        0.0
    } else {
        (f1 + f2) * (f2 / f1)
    };
    let (cx, cy, radius) = fit_circle(&projection);
    let xs = projection.column(0);
    let ys = projection.column(1);
    let var = xs.var(0.0) + ys.var(0.0);
    let circularity = if var < 1e-12 {
        0.0
    } else {
        let msr = xs
            .iter()
            .zip(ys.iter())
            .map(|(x, y)| (((x - cx).powi(2) + (y - cy).powi(2)).sqrt() - radius).powi(2))
            .sum::<f64>()
            / p as f64;
        ((1.0 - msr / var) * quality).clamp(0.0, 1.0)
    };
    let angles: Vec<f64> = xs
        .iter()
        .zip(ys.iter())
        .map(|(x, y)| (y - cy).atan2(x - cx))
        .collect();
    let alignment = (1..p)
        .map(|k| {
            let (mut re, mut im) = (0.0, 0.0);
            for (r, theta) in angles.iter().enumerate() {
                let phase = theta - 2.0 * std::f64::consts::PI * (k * r) as f64 / p as f64;
                re += phase.cos();
                im += phase.sin();
            }
            (re * re + im * im) / (p * p) as f64
        })
        .fold(0.0, f64::max);

    let variance: Vec<f64> = radii.iter().map(|r| r * r).collect();
    let (mut sum, mut count, mut min) = (0.0, 0usize, f64::INFINITY);
    let mut argmin = (0usize, 1usize, f64::INFINITY);
    for r in 0..p {
        for s in r + 1..p {
            let distance = (&centroids.row(r) - &centroids.row(s))
                .mapv(|v| v * v)
                .sum();
            let denominator = variance[r] + variance[s];
            let j = if denominator > 0.0 {
                distance / denominator
            } else {
                0.0
            };
            if denominator > 0.0 {
                sum += j;
                count += 1;
                min = min.min(j);
            }
            if j < argmin.2 {
                argmin = (r, s, j);
            }
        }
    }
    let (fisher_mean, fisher_min) = if count == 0 {
        (0.0, 0.0)
    } else {
        (sum / count as f64, min)
    };
    let gap = argmin.1.abs_diff(argmin.0);
    let diff = gap.min(p - gap);
    ClassGeometry {
        centroids,
        radii,
        dimensionality: dims,
        scalars: [
            mean_radius,
            mean_dim,
            spread,
            snr,
            circularity,
            alignment,
            fisher_mean,
            fisher_min,
            argmin.0 as f64,
            argmin.1 as f64,
            diff as f64,
        ],
    }
}

impl Analyzer for ReprGeometry {
    fn name(&self) -> &'static str {
        "repr_geometry"
    }

    fn analyze(
        &self,
        bundle: &ActivationBundle,
        context: &AnalysisContext,
    ) -> AnalyzerResult<Artifact> {
        let mut artifact = Artifact::new();
        for site in SITES {
            let x = match site {
                "resid_pre" => bundle.residual(ResidualSite::ResidPre)?,
                "attn_out" => bundle.residual(ResidualSite::AttnOut)?,
                "mlp_out" => bundle.mlp_post()?,
                _ => bundle.residual(ResidualSite::ResidPost)?,
            };
            if x.nrows() != context.probe.labels.len() {
                return Err(AnalyzerError::Rows {
                    what: site.to_string(),
                    found: x.nrows(),
                    expected: context.probe.labels.len(),
                });
            }
            let geometry = site_geometry(
                x.mapv(f64::from).view(),
                &context.probe.labels,
                context.prime,
            );
            artifact.insert(format!("{site}_centroids"), geometry.centroids);
            artifact.insert(format!("{site}_radii"), geometry.radii);
            artifact.insert(format!("{site}_dimensionality"), geometry.dimensionality);
            for (name, value) in SCALARS.iter().zip(geometry.scalars) {
                artifact.insert(format!("{site}_{name}"), value);
            }
        }
        Ok(artifact)
    }

    fn summary_keys(&self) -> &'static [&'static str] {
        &SUMMARY_KEYS
    }

    fn summary(&self, artifact: &Artifact, _context: &AnalysisContext) -> AnalyzerResult<Artifact> {
        let mut out = Artifact::new();
        for site in SITES {
            for name in SCALARS {
                let key = format!("{site}_{name}");
                let value = artifact.as_f64(&key).map_err(AnalyzerError::from)?;
                out.insert(key, value.iter().next().copied().unwrap_or(0.0));
            }
        }
        for site in SITES {
            // MIScope's artifact does not store the PCA fractions; they are re-derived from the
            // stored centroids, so a summary can be rebuilt from the files alone.
            let key = format!("{site}_centroids");
            let centroids = ranked::<_, ndarray::Ix2>(&key, artifact.as_f64(&key)?)?;
            let (_, fractions) = centroid_pca(&centroids);
            for (i, f) in fractions.iter().enumerate() {
                out.insert(format!("{site}_pca_var_pc{}", i + 1), *f);
            }
        }
        Ok(out)
    }
}

const SUMMARY_KEYS: [&str; 56] = [
    "resid_pre_mean_radius",
    "resid_pre_mean_dim",
    "resid_pre_center_spread",
    "resid_pre_snr",
    "resid_pre_circularity",
    "resid_pre_fourier_alignment",
    "resid_pre_fisher_mean",
    "resid_pre_fisher_min",
    "resid_pre_fisher_argmin_r",
    "resid_pre_fisher_argmin_s",
    "resid_pre_fisher_argmin_diff",
    "attn_out_mean_radius",
    "attn_out_mean_dim",
    "attn_out_center_spread",
    "attn_out_snr",
    "attn_out_circularity",
    "attn_out_fourier_alignment",
    "attn_out_fisher_mean",
    "attn_out_fisher_min",
    "attn_out_fisher_argmin_r",
    "attn_out_fisher_argmin_s",
    "attn_out_fisher_argmin_diff",
    "mlp_out_mean_radius",
    "mlp_out_mean_dim",
    "mlp_out_center_spread",
    "mlp_out_snr",
    "mlp_out_circularity",
    "mlp_out_fourier_alignment",
    "mlp_out_fisher_mean",
    "mlp_out_fisher_min",
    "mlp_out_fisher_argmin_r",
    "mlp_out_fisher_argmin_s",
    "mlp_out_fisher_argmin_diff",
    "resid_post_mean_radius",
    "resid_post_mean_dim",
    "resid_post_center_spread",
    "resid_post_snr",
    "resid_post_circularity",
    "resid_post_fourier_alignment",
    "resid_post_fisher_mean",
    "resid_post_fisher_min",
    "resid_post_fisher_argmin_r",
    "resid_post_fisher_argmin_s",
    "resid_post_fisher_argmin_diff",
    "resid_pre_pca_var_pc1",
    "resid_pre_pca_var_pc2",
    "resid_pre_pca_var_pc3",
    "attn_out_pca_var_pc1",
    "attn_out_pca_var_pc2",
    "attn_out_pca_var_pc3",
    "mlp_out_pca_var_pc1",
    "mlp_out_pca_var_pc2",
    "mlp_out_pca_var_pc3",
    "resid_post_pca_var_pc1",
    "resid_post_pca_var_pc2",
    "resid_post_pca_var_pc3",
];
