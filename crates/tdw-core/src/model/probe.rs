//! The forward pass of an analysis probe: the full `[a, b, =]` grid through a one-layer model
//! takes the table forward of [`crate::model::grid_forward`]; any other probe or model the burn
//! forward with a cache. Both give the same [`ActivationBundle`].

use crate::dataset::Dataset;
use crate::model::bundle::ActivationBundle;
use crate::model::transformer::Transformer;

impl ActivationBundle {
    /// One forward pass of `probe` through `model`, reduced to what analyzers read. The full
    /// `[a, b, =]` grid through a one-layer model takes the table forward of
    /// [`crate::model::grid_forward`] (same numbers, a fraction of the work); anything else the
    /// burn forward with a cache.
    pub fn of_probe(model: &Transformer, probe: &Dataset) -> Self {
        if model.config().n_layers == 1
            && let Some(p) = grid_modulus(probe)
        {
            return crate::model::grid_forward::grid_bundle(model, p);
        }
        let tokens = burn_tensor::Tensor::<2, burn_tensor::Int>::from_data(
            burn_tensor::TensorData::new(probe.tokens.clone(), [probe.len(), probe.n_ctx]),
            &model.device(),
        );
        Self::from_transformer(model, tokens)
    }
}

/// `Some(p)` when `probe` is the full grid of `[a, b, p]` rows in a-major order (row k =
/// `[k / p, k % p, p]`), the probe every modular-addition analysis runs.
pub fn grid_modulus(probe: &Dataset) -> Option<usize> {
    let p = probe.len().isqrt();
    let grid_shaped = probe.n_ctx == 3 && p * p == probe.len() && probe.tokens.len() == 3 * p * p;
    let a_major = || {
        probe
            .tokens
            .chunks_exact(3)
            .enumerate()
            .all(|(k, row)| row == [(k / p) as i64, (k % p) as i64, p as i64])
    };
    (grid_shaped && a_major()).then_some(p)
}
