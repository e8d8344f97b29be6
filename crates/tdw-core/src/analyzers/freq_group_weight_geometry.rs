//! `freq_group_weight_geometry` (cross-epoch, reads `neuron_freq_norm` and `parameter_snapshot`):
//! the final frequency groups of neurons as classes in weight space (spec §5.24).
//!
//! Neurons are the samples (their `W_in` input vectors, then their `W_out` output vectors), the
//! group of the last checkpoint's dominant frequency is the class (ungrouped neurons left out),
//! and `repr_geometry`'s measures are taken per checkpoint: class centroids, radii and
//! dimensionality, centre spread, mean radius, their ratio (snr), Fisher separations and the
//! circularity of the centroids. It shows groups pulling apart in weight space before the test
//! loss falls.

use ndarray::{Array1, Array2, Array3, Axis, s};

use crate::analysis::analyzer::{CrossEpochAnalyzer, CrossEpochInput};
use crate::analyzers::neuron_group_pca::{final_groups, final_norm, snapshot_weights};
use crate::analyzers::repr_geometry::site_geometry;
use crate::error::Result;
use crate::formats::artifact::Artifact;

pub struct FreqGroupWeightGeometry;

/// Per-epoch scalars written for each matrix, with their index in `ClassGeometry::scalars`.
const SCALARS: [(&str, usize); 6] = [
    ("center_spread", 2),
    ("mean_radius", 0),
    ("snr", 3),
    ("fisher_mean", 6),
    ("fisher_min", 7),
    ("circularity", 4),
];

impl CrossEpochAnalyzer for FreqGroupWeightGeometry {
    fn name(&self) -> &'static str {
        "freq_group_weight_geometry"
    }

    fn requires(&self) -> &'static [&'static str] {
        &["neuron_freq_norm", "parameter_snapshot"]
    }

    fn analyze(&self, input: &CrossEpochInput<'_>) -> Result<Artifact> {
        let groups = final_groups(final_norm(input, self.name())?.view());
        let g_count = groups.len();
        let mut members = Vec::new();
        let mut labels = Vec::new();
        for (g, (_, neurons)) in groups.iter().enumerate() {
            members.extend(neurons.iter().copied());
            labels.extend(std::iter::repeat_n(g as i64, neurons.len()));
        }
        // Samples as rows: W_in's columns transposed, W_out's rows.
        let w_in = snapshot_weights(input, self.name(), "W_in")?.permuted_axes([0, 2, 1]);
        let w_out = snapshot_weights(input, self.name(), "W_out")?;
        let n = input.epochs.len();
        let mut artifact = Artifact::new();
        let ints = |v: Vec<usize>| Array1::from_iter(v.into_iter().map(|x| x as i32));
        artifact.insert(
            "group_freqs",
            ints(groups.iter().map(|(f, _)| *f).collect()),
        );
        artifact.insert(
            "group_sizes",
            ints(groups.iter().map(|(_, m)| m.len()).collect()),
        );
        for (prefix, weights) in [("Win", w_in.view()), ("Wout", w_out.view())] {
            let d = weights.dim().2;
            let mut centroids = Array3::<f32>::zeros((n, g_count, d));
            let mut radii = Array2::<f32>::zeros((n, g_count));
            let mut dims = Array2::<f32>::zeros((n, g_count));
            let mut scalars = vec![Array1::<f32>::zeros(n); SCALARS.len()];
            // The measures need two classes; with fewer they stay 0.
            if g_count >= 2 {
                for t in 0..n {
                    let samples = weights
                        .index_axis(Axis(0), t)
                        .select(Axis(0), &members)
                        .mapv(f64::from);
                    let geometry = site_geometry(samples.view(), &labels, g_count);
                    centroids
                        .slice_mut(s![t, .., ..])
                        .assign(&geometry.centroids.mapv(|x| x as f32));
                    radii.row_mut(t).assign(&geometry.radii.mapv(|x| x as f32));
                    dims.row_mut(t)
                        .assign(&geometry.dimensionality.mapv(|x| x as f32));
                    for (values, (_, index)) in scalars.iter_mut().zip(SCALARS) {
                        values[t] = geometry.scalars[index] as f32;
                    }
                }
            }
            artifact.insert(format!("{prefix}_centroids"), centroids);
            artifact.insert(format!("{prefix}_radii"), radii);
            artifact.insert(format!("{prefix}_dimensionality"), dims);
            for (values, (name, _)) in scalars.into_iter().zip(SCALARS) {
                artifact.insert(format!("{prefix}_{name}"), values);
            }
        }
        artifact.insert(
            "epochs",
            Array1::from_iter(input.epochs.iter().map(|&e| e as i32)),
        );
        Ok(artifact)
    }
}
