//! `neuron_fourier` (secondary, reads `parameter_snapshot`): each MLP neuron's input and output
//! weights in the Fourier basis, as magnitude and phase per frequency (spec §5.15).
//!
//! θ = W_E[:p] · W_in (token → neuron), ξ = (W_out · W_U)ᵀ (neuron → logit), both (p, d_mlp);
//! G = B·θ, R = B·ξ. Writes `alpha_mk`, `phi_mk` (input magnitude, phase), `beta_mk`, `psi_mk`
//! (output magnitude, phase), all f32 (d_mlp, (p−1)/2), and `freq_indices` i32 = 1..(p−1)/2.
//! Phases follow He et al.: `atan2(−sin, cos)`.

use ndarray::{Array1, s};

use crate::analysis::analyzer::{
    AnalysisContext, AnalyzerError, AnalyzerResult, SecondaryAnalyzer,
};
use crate::analysis::fourier;
use crate::analyzers::stats;
use crate::formats::artifact::Artifact;

pub struct NeuronFourier;

impl SecondaryAnalyzer for NeuronFourier {
    fn name(&self) -> &'static str {
        "neuron_fourier"
    }

    fn depends_on(&self) -> &'static str {
        "parameter_snapshot"
    }

    fn analyze(&self, snapshot: &Artifact, context: &AnalysisContext) -> AnalyzerResult<Artifact> {
        let p = context.prime;
        let get = |key: &str| {
            snapshot
                .f32(key)
                .map_err(AnalyzerError::from)
                .and_then(|a| stats::matrix(a, key))
        };
        // θ: each neuron's input weight per token a; ξ: its output weight per class.
        let (theta, xi) = if snapshot.get("W_E").is_some() {
            let (w_e, w_in, w_out, w_u) = (get("W_E")?, get("W_in")?, get("W_out")?, get("W_U")?);
            (
                w_e.slice(s![..p, ..]).dot(&w_in),
                w_out.dot(&w_u).reversed_axes(),
            )
        } else {
            // The MLP families, in torch layout: W_in is [d_hidden, input], W_out [p, d_hidden].
            let (w_in, w_out) = (get("W_in")?, get("W_out")?);
            let theta = if snapshot.get("embed_a").is_some() {
                get("embed_a")?.dot(&w_in.t())
            } else {
                if w_in.ncols() != 2 * p {
                    return Err(AnalyzerError::shape(
                        "W_in",
                        w_in.shape(),
                        format!("{} input columns (one-hot a and b)", 2 * p),
                    ));
                }
                w_in.slice(s![.., ..p]).t().to_owned()
            };
            (theta, w_out.to_owned())
        };
        let basis = &context.fourier_basis;
        let (alpha, phi) = fourier::frequency_pairs(basis.dot(&theta).view(), p);
        let (beta, psi) = fourier::frequency_pairs(basis.dot(&xi).view(), p);
        let k_count = (p - 1) / 2;
        Ok(Artifact::new()
            .with("alpha_mk", alpha)
            .with("phi_mk", phi)
            .with("beta_mk", beta)
            .with("psi_mk", psi)
            .with("freq_indices", Array1::from_iter(1..=k_count as i32)))
    }
}
