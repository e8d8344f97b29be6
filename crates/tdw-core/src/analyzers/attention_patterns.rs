//! `attention_patterns`: every head's attention weights over the (a, b) grid (spec §5.6).
//!
//! Reads `blocks.0.attn.hook_pattern` (p², heads, 3, 3). Writes `patterns` f32
//! (heads, to, from, p, p) with `patterns[h, to, from, a, b]`; masked entries (from > to) are 0.
//! The informative slice is `to = 2` (the "=" token) attending to a (0), b (1) or itself (2).

use crate::analysis::analyzer::{AnalysisContext, Analyzer, AnalyzerError, AnalyzerResult};
use crate::formats::artifact::Artifact;
use crate::model::bundle::ActivationBundle;

pub struct AttentionPatterns;

impl Analyzer for AttentionPatterns {
    fn name(&self) -> &'static str {
        "attention_patterns"
    }

    fn analyze(
        &self,
        bundle: &ActivationBundle,
        context: &AnalysisContext,
    ) -> AnalyzerResult<Artifact> {
        let pattern = bundle.attention_pattern()?;
        let (rows, heads, to, from) = pattern.dim();
        let p = context.prime;
        let patterns = pattern
            .view()
            .permuted_axes([1, 2, 3, 0])
            .as_standard_layout()
            .into_owned()
            .into_shape_with_order(ndarray::IxDyn(&[heads, to, from, p, p]))
            .map_err(|_| AnalyzerError::Rows {
                what: "attention pattern".into(),
                found: rows,
                expected: p * p,
            })?;
        Ok(Artifact::new().with("patterns", patterns))
    }
}
