//! `intervention_check`: MIScope's Intervention Check as a per-epoch artifact of an intervened
//! variant (spec: miscope-dashboard.md §3, `intervention_check.py`).
//!
//! At checkpoint e, on every probe pair and every position, the plain model's attention output
//! `a` (`blocks.0.hook_attn_out`) is projected on the directions of the variant's own
//! `epoch_start` checkpoint ([`crate::intervention::FrequencyDirections`]):
//!
//! ```text
//! baseline_rms[k−1] = √ mean_{pairs, positions} [(a·D_sin,k)² + (a·D_cos,k)²]
//! modified_rms[k−1] = the same of a after the hook at r(e)
//! ```
//!
//! Writes `baseline_rms`, `modified_rms` (p/2 each), `gain` (the full-strength `g_k`, 1 off
//! target) and `ramp` (`[r(e)]`). A variant without an intervention skips it.

use ndarray::{Array1, Array2};

use crate::analysis::analyzer::{AnalysisContext, Analyzer, AnalyzerError, AnalyzerResult};
use crate::error::MissingSite;
use crate::formats::artifact::Artifact;
use crate::intervention;
use crate::model::bundle::ActivationBundle;

/// The analyzer's name.
pub const NAME: &str = "intervention_check";

pub struct InterventionCheck;

impl Analyzer for InterventionCheck {
    fn name(&self) -> &'static str {
        NAME
    }

    fn analyze(
        &self,
        bundle: &ActivationBundle,
        context: &AnalysisContext,
    ) -> AnalyzerResult<Artifact> {
        let of = context.intervention.as_ref().ok_or_else(|| {
            AnalyzerError::Skipped(MissingSite(
                "an intervention (not an intervened variant)".into(),
            ))
        })?;
        let epoch = bundle
            .epoch
            .ok_or_else(|| AnalyzerError::Skipped(MissingSite("the checkpoint's epoch".into())))?;
        let model = bundle.model()?;
        let probe = &context.probe;
        let tokens = burn_tensor::Tensor::<2, burn_tensor::Int>::from_data(
            burn_tensor::TensorData::new(probe.tokens.clone(), [probe.len(), probe.n_ctx]),
            &model.device(),
        );
        let out = model.attn_out(tokens);
        let [batch, n_pos, d] = out.dims();
        let data = out.reshape([batch * n_pos, d]).into_data().convert::<f32>();
        let values = data
            .as_slice::<f32>()
            .map_err(|_| AnalyzerError::NotFinite {
                what: "the attention output as f32",
            })?;
        let rows = Array2::from_shape_vec((batch * n_pos, d), values.to_vec()).map_err(|_| {
            AnalyzerError::Rows {
                what: "attention output".into(),
                found: values.len() / d.max(1),
                expected: batch * n_pos,
            }
        })?;
        let check = intervention::check(&of.config, &of.directions, rows.view(), epoch);
        let n = of.directions.n_freq();
        let as_f32 = |v: &[f64]| Array1::from_iter(v.iter().map(|&x| x as f32)).into_dyn();
        Ok(Artifact::new()
            .with("baseline_rms", as_f32(&check.baseline))
            .with("modified_rms", as_f32(&check.modified))
            .with(
                "gain",
                Array1::from_iter((1..=n).map(|k| of.config.gain_of(k) as f32)).into_dyn(),
            )
            .with(
                "ramp",
                Array1::from_elem(1, of.config.ramp(epoch) as f32).into_dyn(),
            ))
    }
}
