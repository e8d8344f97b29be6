//! A linear edit of `blocks.0.hook_attn_out` during training: the attention output's components
//! along chosen unit directions scaled, everything orthogonal to them left alone.
//!
//! For directions `D_i` (unit vectors in the residual stream) and coefficients `c_i`, the hook
//! maps every position's attention output `a` to
//!
//! ```text
//! a' = a + Σ_i c_i · (a · D_i) · D_i  =  a · M,     M = I + Σ_i c_i · D_i D_iᵀ
//! ```
//!
//! MIScope's frequency-gain intervention is this hook with `c = g' − 1` for the sine and cosine
//! directions of each target frequency (see `crate::intervention`); the directions are not
//! orthogonalised, so `M` is what the per-direction formula gives, cross terms included.
//!
//! Two ways to apply it, one per engine: the burn engine edits the activation as written above
//! ([`AttnOutHook::apply`], per row), the fused engine folds `M` into the attention's write-out,
//! `a · M = Σ_h z_h (W_O[h] · M) + b_O · M`, because `M` is linear and `attn_out` is
//! `Σ_h z_h W_O[h] + b_O` ([`AttnOutHook::matrix`]). The two agree to f32 rounding
//! (`tests/engines.rs`).

/// Directions and their coefficients, one pair per direction.
#[derive(Debug, Clone, PartialEq)]
pub struct AttnOutHook {
    /// The residual width.
    pub d_model: usize,
    /// Unit directions `D_i`, each `d_model` long.
    pub directions: Vec<Vec<f32>>,
    /// `c_i`: the projection on `D_i` is added `c_i` times (−1 removes it, 0 leaves it).
    pub coefficients: Vec<f32>,
}

impl AttnOutHook {
    /// A hook of `directions` with `coefficients` (same length; every direction `d_model`
    /// long). Panics otherwise: a hook is built from checked configuration, never from a file.
    pub fn new(d_model: usize, directions: Vec<Vec<f32>>, coefficients: Vec<f32>) -> Self {
        assert_eq!(directions.len(), coefficients.len(), "one coefficient each");
        assert!(
            directions.iter().all(|d| d.len() == d_model),
            "directions are d_model long"
        );
        AttnOutHook {
            d_model,
            directions,
            coefficients,
        }
    }

    /// Whether the hook changes nothing (no direction has a non-zero coefficient).
    pub fn is_identity(&self) -> bool {
        self.coefficients.iter().all(|&c| c == 0.0)
    }

    /// The hook on one attention output row, as MIScope writes it: the projections are all taken
    /// from the unedited `a`, then added.
    pub fn apply(&self, a: &mut [f32]) {
        assert_eq!(a.len(), self.d_model, "a row of the residual stream");
        let projections: Vec<f32> = self
            .directions
            .iter()
            .map(|d| d.iter().zip(a.iter()).map(|(x, y)| x * y).sum())
            .collect();
        for ((d, &c), &proj) in self
            .directions
            .iter()
            .zip(&self.coefficients)
            .zip(&projections)
        {
            for (ai, &di) in a.iter_mut().zip(d) {
                *ai += c * proj * di;
            }
        }
    }

    /// `M = I + Σ_i c_i D_i D_iᵀ`, `d_model × d_model` row-major (symmetric), so that the hooked
    /// output is `a · M`.
    pub fn matrix(&self) -> Vec<f32> {
        let d = self.d_model;
        let mut m = vec![0.0f32; d * d];
        for i in 0..d {
            m[i * d + i] = 1.0;
        }
        for (dir, &c) in self.directions.iter().zip(&self.coefficients) {
            if c == 0.0 {
                continue;
            }
            for i in 0..d {
                let ci = c * dir[i];
                for j in 0..d {
                    m[i * d + j] += ci * dir[j];
                }
            }
        }
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(v: &[f32]) -> Vec<f32> {
        let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.iter().map(|x| x / n).collect()
    }

    #[test]
    fn scales_the_projection_and_leaves_the_orthogonal_part() {
        // Directions e0 and (e1 + e2)/√2; gain 0.3 on the first (c = −0.7), 2 on the second.
        let d0 = vec![1.0, 0.0, 0.0, 0.0];
        let d1 = unit(&[0.0, 1.0, 1.0, 0.0]);
        let hook = AttnOutHook::new(4, vec![d0, d1], vec![-0.7, 1.0]);
        let mut a = vec![2.0, 3.0, 1.0, 5.0];
        hook.apply(&mut a);
        // e0 part 2 → 0.6; along d1 the projection (3 + 1)/√2 doubles, so (3, 1) → (3, 1) + (2, 2);
        // the part orthogonal to both, (0, 1, −1, 5), is untouched.
        let expected = [0.6, 5.0, 3.0, 5.0];
        for (x, e) in a.iter().zip(expected) {
            assert!((x - e).abs() < 1e-6, "{a:?}");
        }
    }

    #[test]
    fn the_matrix_is_the_row_formula() {
        let d0 = unit(&[1.0, 2.0, 0.5]);
        let d1 = unit(&[0.3, -1.0, 2.0]);
        let hook = AttnOutHook::new(3, vec![d0, d1], vec![-0.4, 0.9]);
        let m = hook.matrix();
        let a = [0.7f32, -1.2, 2.5];
        let mut by_row = a.to_vec();
        hook.apply(&mut by_row);
        for j in 0..3 {
            let by_matrix: f32 = (0..3).map(|i| a[i] * m[i * 3 + j]).sum();
            assert!((by_matrix - by_row[j]).abs() < 1e-6);
        }
        assert!(!hook.is_identity());
        assert!(AttnOutHook::new(3, vec![vec![1.0, 0.0, 0.0]], vec![0.0]).is_identity());
    }
}
