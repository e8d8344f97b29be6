//! `dominant_frequencies`: how much of the token embedding lies along each Fourier component
//! (spec §5.2).
//!
//! `coefficients[i] = ‖B_i · W_E[:p]‖₂` for every basis row i (0 = constant, 2k−1 = sin k,
//! 2k = cos k). Reads `W_E` without its "=" row. Writes `coefficients` f32 (p,). A grokked model
//! shows a few large sin/cos pairs: its key frequencies.

use ndarray::s;

use crate::analysis::analyzer::{AnalysisContext, Analyzer, AnalyzerResult};
use crate::analysis::fourier;
use crate::analyzers::stats;
use crate::formats::artifact::Artifact;
use crate::model::bundle::ActivationBundle;

pub struct DominantFrequencies;

impl Analyzer for DominantFrequencies {
    fn name(&self) -> &'static str {
        "dominant_frequencies"
    }

    fn analyze(
        &self,
        bundle: &ActivationBundle,
        context: &AnalysisContext,
    ) -> AnalyzerResult<Artifact> {
        let w_e = stats::matrix(bundle.weight("W_E")?, "W_E")?;
        let tokens = w_e.slice(s![..context.prime, ..]);
        let coefficients = fourier::project_norms(tokens, &context.fourier_basis);
        Ok(Artifact::new().with("coefficients", coefficients))
    }
}
