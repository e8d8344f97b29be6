//! `neuron_group_pca` (cross-epoch, reads `neuron_freq_norm` and `parameter_snapshot`): how the
//! input weights of each frequency group of neurons spread and organise over training
//! (spec §5.22).
//!
//! Groups come from the last checkpoint: each neuron's dominant frequency (argmax of its
//! frequency fractions), groups of at least two neurons. Per checkpoint and group, the group's
//! `W_in` columns centred on their mean: the mean column norm (`mean_spread`) and the variance
//! fractions of the top three principal components (`pc_var`). The last checkpoint's top three
//! directions and centre per group (`group_bases`, `group_centers`) give every checkpoint's
//! member coordinates (`projections`), so a group's trajectory can be drawn in one fixed frame.
//!
//! A neuron's input weights are a column of the transformer's `W_in` (d_model, d_mlp) and a row
//! of the MLP families' `W_in.weight` (d_hidden, input) — both are read as columns here.

use ndarray::{Array1, Array2, Array3, ArrayView2, Axis, s};

use crate::analysis::analyzer::{
    AnalyzerError, CrossEpochAnalyzer, CrossEpochInput, ForAnalyzer, ranked,
};
use crate::error::Result;
use crate::formats::artifact::Artifact;

pub struct NeuronGroupPca;

/// Frequency groups of the last checkpoint: (0-based frequency, member neurons), sizes ≥ 2.
pub(crate) fn final_groups(norm: ArrayView2<'_, f32>) -> Vec<(usize, Vec<usize>)> {
    let (n_freq, d_mlp) = norm.dim();
    let mut members = vec![Vec::new(); n_freq];
    for m in 0..d_mlp {
        let (f, _) = crate::analyzers::stats::argmax(norm.column(m).iter().copied());
        members[f].push(m);
    }
    members
        .into_iter()
        .enumerate()
        .filter(|(_, group)| group.len() >= 2)
        .collect()
}

/// Every checkpoint's `key` weight from `parameter_snapshot` as (epochs, rows, cols) in the
/// transformer's orientation — `W_in` (input dim, neurons), `W_out` (neurons, output dim) — the
/// MLP families' torch-layout (`[out, in]`) weights transposed to match.
pub(crate) fn snapshot_weights(
    input: &CrossEpochInput<'_>,
    analyzer: &str,
    key: &str,
) -> Result<Array3<f32>> {
    let snapshot =
        input
            .loader
            .load_epochs("parameter_snapshot", Some(input.epochs), Some(&[key]))?;
    let weights = snapshot.f32(key).for_analyzer(analyzer)?;
    let weights = ranked::<_, ndarray::Ix3>(key, weights.clone()).for_analyzer(analyzer)?;
    let transformer = input.run.spec().architecture.contains_key("d_mlp");
    Ok(if transformer {
        weights
    } else {
        weights
            .permuted_axes([0, 2, 1])
            .as_standard_layout()
            .into_owned()
    })
}

/// The last checkpoint's frequency fractions (n_freq, d_mlp).
pub(crate) fn final_norm(input: &CrossEpochInput<'_>, analyzer: &str) -> Result<Array2<f32>> {
    let last = input
        .epochs
        .last()
        .copied()
        .ok_or(AnalyzerError::NoCheckpoints)
        .for_analyzer(analyzer)?;
    let artifact = input.loader.load_epoch("neuron_freq_norm", last)?;
    let norm = artifact.f32("norm_matrix").for_analyzer(analyzer)?;
    ranked::<_, ndarray::Ix2>("norm_matrix", norm.clone()).for_analyzer(analyzer)
}

/// Columns `members` of `w` minus their mean column; the mean.
fn centred(w: ArrayView2<'_, f32>, members: &[usize]) -> (Array2<f64>, Array1<f64>) {
    let columns = w.select(Axis(1), members).mapv(f64::from);
    let mean = columns.mean_axis(Axis(1)).expect("groups have members");
    (&columns - &mean.view().insert_axis(Axis(1)), mean)
}

/// The top three left singular vectors of `c` (eigenvectors of `c·cᵀ`, largest first), as rows.
fn top_directions(c: &Array2<f64>) -> Array2<f64> {
    let d = c.nrows();
    let gram = c.dot(&c.t());
    let eigen =
        nalgebra::SymmetricEigen::new(nalgebra::DMatrix::from_fn(d, d, |i, j| gram[[i, j]]));
    let mut order: Vec<usize> = (0..d).collect();
    order.sort_by(|&a, &b| eigen.eigenvalues[b].total_cmp(&eigen.eigenvalues[a]));
    let mut out = Array2::<f64>::from_elem((3, d), f64::NAN);
    for (row, &k) in order.iter().take(3).enumerate() {
        for i in 0..d {
            out[[row, i]] = eigen.eigenvectors[(i, k)];
        }
    }
    out
}

impl CrossEpochAnalyzer for NeuronGroupPca {
    fn name(&self) -> &'static str {
        "neuron_group_pca"
    }

    fn requires(&self) -> &'static [&'static str] {
        &["neuron_freq_norm", "parameter_snapshot"]
    }

    fn analyze(&self, input: &CrossEpochInput<'_>) -> Result<Artifact> {
        let groups = final_groups(final_norm(input, self.name())?.view());
        let weights = snapshot_weights(input, self.name(), "W_in")?;
        let (n, d, d_mlp) = weights.dim();
        let g_count = groups.len();
        let mut pc_var = Array3::<f32>::from_elem((n, g_count, 3), f32::NAN);
        let mut spread = Array2::<f32>::zeros((n, g_count));
        for (t, w) in weights.outer_iter().enumerate() {
            for (g, (_, members)) in groups.iter().enumerate() {
                let (c, _) = centred(w, members);
                let norms = c.map_axis(Axis(0), |col| col.dot(&col).sqrt());
                spread[[t, g]] = norms.mean().unwrap_or(0.0) as f32;
                let s = crate::analyzers::stats::singular_values(c.mapv(|x| x as f32).view());
                let total: f64 = s.iter().map(|v| v * v).sum();
                if total > 1e-10 {
                    for (k, v) in s.iter().take(3).enumerate() {
                        pc_var[[t, g, k]] = (v * v / total) as f32;
                    }
                }
            }
        }
        let mut bases = Array3::<f32>::zeros((g_count, 3, d));
        let mut centers = Array2::<f32>::zeros((g_count, d));
        let mut projections = Array3::<f32>::from_elem((n, d_mlp, 3), f32::NAN);
        let mut group_index = Array1::<i32>::from_elem(d_mlp, -1);
        if n > 0 {
            let last = weights.index_axis(Axis(0), n - 1);
            for (g, (_, members)) in groups.iter().enumerate() {
                let (c, mean) = centred(last, members);
                let basis = top_directions(&c);
                bases
                    .slice_mut(s![g, .., ..])
                    .assign(&basis.mapv(|x| x as f32));
                centers.row_mut(g).assign(&mean.mapv(|x| x as f32));
                for &m in members {
                    group_index[m] = g as i32;
                    for t in 0..n {
                        let column = weights.slice(s![t, .., m]).mapv(f64::from) - &mean;
                        let coordinates = basis.dot(&column);
                        for k in 0..3 {
                            projections[[t, m, k]] = coordinates[k] as f32;
                        }
                    }
                }
            }
        }
        let ints = |v: Vec<usize>| Array1::from_iter(v.into_iter().map(|x| x as i32));
        Ok(Artifact::new()
            .with(
                "group_freqs",
                ints(groups.iter().map(|(f, _)| *f).collect()),
            )
            .with(
                "group_sizes",
                ints(groups.iter().map(|(_, m)| m.len()).collect()),
            )
            .with("pc_var", pc_var)
            .with("mean_spread", spread)
            .with("group_bases", bases)
            .with("group_centers", centers)
            .with("projections", projections)
            .with("neuron_group_idx", group_index)
            .with(
                "epochs",
                Array1::from_iter(input.epochs.iter().map(|&e| e as i32)),
            ))
    }
}
