//! The built-in analyzers, one file each, named as in family.json and `analyzers/<name>/`.

mod attention_fourier;
mod attention_freq;
mod attention_patterns;
pub(crate) mod centroid_dmd;
mod coarseness;
mod dominant_frequencies;
pub(crate) mod effective_dimensionality;
mod fourier_frequency_quality;
mod fourier_nucleation;
mod freq_group_weight_geometry;
mod global_centroid_pca;
pub(crate) mod head_ablation;
mod input_trace;
mod input_trace_graduation;
pub(crate) mod intervention_check;
mod landscape_flatness;
pub(crate) mod logit_attribution;
mod neuron_activations;
mod neuron_dynamics;
mod neuron_fourier;
mod neuron_freq_norm;
pub(crate) mod neuron_group_pca;
mod parameter_snapshot;
mod parameter_trajectory;
mod progress_measures;
pub(crate) mod repr_geometry;
mod transient_frequency;

use std::sync::Arc;

use crate::analysis::analyzer::{Analyzer, CrossEpochAnalyzer, SecondaryAnalyzer};
use crate::analysis::registry::{AnalyzerRegistry, Implementations};
use crate::error::Result;

/// Every analyzer this build has, the table [`AnalyzerRegistry::open`] hands the registry.
pub fn builtin() -> Implementations {
    Implementations {
        primary: primary(),
        secondary: secondary(),
        cross_epoch: cross_epoch(),
    }
}

/// Opening a registry with this build's analyzers lives here, beside the table, so that the
/// analysis layer never imports the implementations above it.
impl AnalyzerRegistry {
    /// This build's analyzers, with declarations read from `analyzers_dir` (absent: the
    /// declarations this build ships with).
    pub fn open(analyzers_dir: &std::path::Path) -> Result<Self> {
        Self::open_with(analyzers_dir, builtin())
    }
}

/// Built-in per-epoch analyzers.
pub fn primary() -> Vec<Arc<dyn Analyzer>> {
    vec![
        Arc::new(attention_freq::AttentionFreq),
        Arc::new(attention_patterns::AttentionPatterns),
        Arc::new(dominant_frequencies::DominantFrequencies),
        Arc::new(neuron_activations::NeuronActivations),
        Arc::new(neuron_freq_norm::NeuronFreqNorm),
        Arc::new(parameter_snapshot::ParameterSnapshot),
        Arc::new(effective_dimensionality::EffectiveDimensionality),
        Arc::new(attention_fourier::AttentionFourier),
        Arc::new(fourier_nucleation::FourierNucleation),
        Arc::new(input_trace::InputTrace),
        Arc::new(coarseness::Coarseness),
        Arc::new(repr_geometry::ReprGeometry),
        Arc::new(landscape_flatness::LandscapeFlatness),
        Arc::new(intervention_check::InterventionCheck),
    ]
}

/// Built-in secondary analyzers.
pub fn secondary() -> Vec<Arc<dyn SecondaryAnalyzer>> {
    vec![
        Arc::new(neuron_fourier::NeuronFourier),
        Arc::new(fourier_frequency_quality::FourierFrequencyQuality),
    ]
}

/// Built-in cross-epoch analyzers.
pub fn cross_epoch() -> Vec<Arc<dyn CrossEpochAnalyzer>> {
    vec![
        Arc::new(parameter_trajectory::ParameterTrajectory),
        Arc::new(neuron_dynamics::NeuronDynamics),
        Arc::new(neuron_group_pca::NeuronGroupPca),
        Arc::new(freq_group_weight_geometry::FreqGroupWeightGeometry),
        Arc::new(transient_frequency::TransientFrequency),
        Arc::new(global_centroid_pca::GlobalCentroidPca),
        Arc::new(centroid_dmd::CentroidDmd),
        Arc::new(input_trace_graduation::InputTraceGraduation),
        Arc::new(progress_measures::ProgressMeasures),
        Arc::new(head_ablation::HeadAblation),
        Arc::new(logit_attribution::LogitAttribution),
    ]
}

/// Shared helpers for analyzers: converting host arrays and basic statistics.
pub(crate) mod stats {
    use ndarray::{Array2, ArrayD, Ix2, Ix3};

    use crate::analysis::analyzer::AnalyzerError;

    /// A weight as a matrix, or why not.
    pub fn matrix(a: &ArrayD<f32>, name: &str) -> Result<Array2<f32>, AnalyzerError> {
        a.clone()
            .into_dimensionality::<Ix2>()
            .map_err(|_| AnalyzerError::shape(name, a.shape(), "2-d"))
    }

    /// A weight as a stack of per-head matrices, or why not.
    pub fn heads(a: &ArrayD<f32>, name: &str) -> Result<ndarray::Array3<f32>, AnalyzerError> {
        a.clone()
            .into_dimensionality::<Ix3>()
            .map_err(|_| AnalyzerError::shape(name, a.shape(), "3-d"))
    }

    /// numpy's median (mean of the two middle values for an even count).
    pub fn median(values: &[f64]) -> f64 {
        percentile(values, 50.0)
    }

    /// numpy's default (linear interpolation) percentile.
    pub fn percentile(values: &[f64], q: f64) -> f64 {
        if values.is_empty() {
            return f64::NAN;
        }
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        let rank = q / 100.0 * (sorted.len() - 1) as f64;
        let (lo, hi) = (rank.floor() as usize, rank.ceil() as usize);
        sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo as f64)
    }

    /// Index of the first maximum.
    pub fn argmax(values: impl Iterator<Item = f32>) -> (usize, f32) {
        let mut best = (0, f32::NEG_INFINITY);
        for (i, v) in values.enumerate() {
            if v > best.1 {
                best = (i, v);
            }
        }
        best
    }

    /// Singular values of a matrix, descending, computed in f64.
    pub fn singular_values(m: ndarray::ArrayView2<f32>) -> Vec<f64> {
        let (rows, cols) = m.dim();
        let matrix = nalgebra::DMatrix::<f64>::from_fn(rows, cols, |i, j| f64::from(m[[i, j]]));
        let mut values: Vec<f64> = matrix.singular_values().iter().copied().collect();
        values.sort_by(|a, b| b.total_cmp(a));
        values
    }
}
