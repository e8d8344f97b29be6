//! What every analyzer is told about the family besides the activations: the parameters, the
//! Fourier basis of Z/p, the probe and which of its rows trained.

use ndarray::Array2;

use crate::analysis::fourier;
use crate::dataset::Dataset;
use crate::error::{Error, Result};
use crate::family::Params;
use crate::model::bundle::ActivationBundle;
use crate::model::probe::grid_modulus;

/// Family facts every analyzer may use (MIScope's `prepare_analysis_context`, spec §4.2).
#[derive(Debug, Clone)]
pub struct AnalysisContext {
    /// The variant's domain parameters.
    pub params: Params,
    /// The modulus p.
    pub prime: usize,
    /// The orthonormal Fourier basis of Z/p (p × p for odd p).
    pub fourier_basis: Array2<f32>,
    /// The probe: every input of the family with its label (for modular addition row k =
    /// `[a, b, p]` with a = k / p, b = k % p, labelled `(a + b) mod p`).
    pub probe: Dataset,
    /// Whether each probe row was a training pair. Taken from metadata.json when the run has
    /// one (MIScope rebuilds it assuming fraction 0.3, which is wrong for other fractions).
    pub train_mask: Vec<bool>,
    /// For an intervened variant, its intervention and the directions of its check.
    pub intervention: Option<std::sync::Arc<crate::intervention::InterventionContext>>,
}

impl AnalysisContext {
    /// The context of a run with domain parameters `params` (which hold the `prime`), the
    /// family's dataset as the probe, and the rows it trained on; `origin` (the file the indices
    /// came from) is named when one lies beyond the probe.
    pub fn new(
        params: Params,
        probe: Dataset,
        train_indices: &[usize],
        origin: &std::path::Path,
    ) -> Result<Self> {
        let prime = params.int("prime")? as usize;
        let mut train_mask = vec![false; probe.len()];
        for &i in train_indices {
            let slot = train_mask.get_mut(i).ok_or_else(|| Error::StoredField {
                path: origin.to_path_buf(),
                field: "train_indices",
                value: Some(i.to_string()),
                reason: format!("beyond the {} examples of this variant", probe.len()),
            })?;
            *slot = true;
        }
        Ok(AnalysisContext {
            params,
            prime,
            fourier_basis: fourier::basis(prime),
            probe,
            train_mask,
            intervention: None,
        })
    }

    /// Whether the probe is the full grid of `[a, b, =]` rows in a-major order, which lets a
    /// one-layer model use the table-based forward of [`crate::model::grid_forward`].
    pub fn is_grid_probe(&self) -> bool {
        grid_modulus(&self.probe) == Some(self.prime)
    }

    /// One forward pass of the probe through `model`, reduced to what analyzers read.
    pub fn bundle(&self, model: &crate::model::transformer::Transformer) -> ActivationBundle {
        ActivationBundle::of_probe(model, &self.probe)
    }

    /// Number of frequencies, p / 2.
    pub fn n_freq(&self) -> usize {
        self.prime / 2
    }
}
