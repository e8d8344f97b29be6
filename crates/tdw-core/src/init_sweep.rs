//! The initialization gradient sweep (MIScope REQ_085): before any training, which Fourier
//! frequencies does the first gradient already push, at each site of the model, for each choice
//! of model seed and data seed?
//!
//! Per candidate (model seed m, data seed d) of one prime: the family's seeded initial weights,
//! the training split of `fraction` (0.3) for data seed d, and one loss and backward pass,
//! `L = mean CE(model(train)[:, −1, :p], labels)` (the fused engine's gradient, which the test
//! suite checks against burn's autodiff). With B the Fourier basis (row 2k−1 = sin k, row 2k =
//! cos k) and W_E restricted to the p number tokens, the per-frequency energies e_k are
//! (MIScope's `gradient_site`, unnormalised):
//!
//! - **embedding**: G = B · ∂L/∂W_E[:p], `e_k = √(mean_j G[2k−1, j]² + G[2k, j]²)`;
//! - **attention**: for W ∈ {W_Q, W_K, W_V} and each head h, G = B · (W_E[:p] · ∂L/∂W[h]);
//!   the means over j of G[2k−1, j]² + G[2k, j]² are summed over the 3·n_heads matrices and
//!   `e_k = √(sum / (3·n_heads))`;
//! - **mlp**: G = B · (W_E[:p] · ∂L/∂W_in), as for the embedding.
//!
//! Site convergence is the cosine of two sites' spectra (NaN when a spectrum's norm is below
//! 1e-30): how much the sites agree on which frequencies the first step favours. Nothing is
//! written to disk: candidates are not variants.

use ndarray::{Array2, ArrayView2};

use crate::analysis::fourier;
use crate::error::{Error, Result};
use crate::family::ParamValue;
use crate::model::state::{self, StateDict};
use crate::train::HostAdamW;
use crate::train::fused::FusedTrainer;
use crate::variant::{FamilyRegistry, Variant};

/// MIScope's training fraction for the sweep.
pub const DEFAULT_FRACTION: f64 = 0.3;
/// Below this norm a spectrum counts as zero (its cosines are NaN).
const ZERO_NORM: f64 = 1e-30;

/// A site of the model whose gradient energy the sweep measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Site {
    /// The token embedding W_E.
    Embedding,
    /// The attention weights W_Q, W_K, W_V seen through W_E.
    Attention,
    /// The MLP's input weights W_in seen through W_E.
    Mlp,
}

impl Site {
    /// All three, in MIScope's order.
    pub const ALL: [Site; 3] = [Site::Embedding, Site::Attention, Site::Mlp];

    /// MIScope's name of the site.
    pub fn name(self) -> &'static str {
        match self {
            Site::Embedding => "embedding",
            Site::Attention => "attention",
            Site::Mlp => "mlp",
        }
    }
}

/// One (model seed, data seed) of the sweep.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// The model seed (`seed`).
    pub model_seed: i64,
    /// The data seed (`data_seed`).
    pub data_seed: i64,
    /// Per site (in [`Site::ALL`] order), the energy of each frequency k = 1..p/2 (index k − 1).
    pub energies: [Vec<f64>; 3],
    /// The training loss at initialisation.
    pub initial_loss: f64,
}

impl Candidate {
    /// `s{model}/d{data}`, MIScope's label.
    pub fn label(&self) -> String {
        format!("s{}/d{}", self.model_seed, self.data_seed)
    }

    /// The spectrum of `site`.
    pub fn energy(&self, site: Site) -> &[f64] {
        &self.energies[site as usize]
    }

    /// The cosine of two sites' spectra (NaN if either is zero).
    pub fn convergence(&self, a: Site, b: Site) -> f64 {
        cosine(self.energy(a), self.energy(b))
    }

    /// The three site pairs' cosines: embedding–attention, embedding–mlp, attention–mlp.
    pub fn convergences(&self) -> [f64; 3] {
        [
            self.convergence(Site::Embedding, Site::Attention),
            self.convergence(Site::Embedding, Site::Mlp),
            self.convergence(Site::Attention, Site::Mlp),
        ]
    }
}

/// `a · b / (‖a‖ ‖b‖)`, NaN when a norm is below 1e-30.
pub fn cosine(a: &[f64], b: &[f64]) -> f64 {
    let norm = |v: &[f64]| v.iter().map(|x| x * x).sum::<f64>().sqrt();
    let (na, nb) = (norm(a), norm(b));
    if na < ZERO_NORM || nb < ZERO_NORM {
        return f64::NAN;
    }
    a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>() / (na * nb)
}

/// The sweep over every (model seed, data seed) pair of one prime.
#[derive(Debug, Clone, PartialEq)]
pub struct InitSweep {
    /// The family swept.
    pub family: String,
    /// The modulus.
    pub prime: u64,
    /// Training fraction of each candidate's split.
    pub fraction: f64,
    /// Frequencies marked on the charts (1-based k): the learned frequencies of an analysed
    /// variant with this prime, or given.
    pub key_frequencies: Vec<usize>,
    /// Where the key frequencies came from.
    pub key_source: String,
    /// One per pair, model seeds outermost.
    pub candidates: Vec<Candidate>,
}

/// `(p, d) · (d, n)` of row-major f32 blocks, in f64.
fn matmul(a: ArrayView2<f32>, b: ArrayView2<f32>) -> Array2<f64> {
    a.mapv(f64::from).dot(&b.mapv(f64::from))
}

/// Per frequency k, `mean_j G[2k−1, j]² + G[2k, j]²` of `G = B · m` (m: p × n).
fn mean_square_by_frequency(basis: &Array2<f64>, m: &Array2<f64>) -> Vec<f64> {
    let g = basis.dot(m);
    let columns = g.ncols().max(1) as f64;
    (1..=basis.nrows() / 2)
        .map(|k| {
            let (s, c) = (g.row(2 * k - 1), g.row(2 * k));
            s.iter().zip(c).map(|(a, b)| a * a + b * b).sum::<f64>() / columns
        })
        .collect()
}

/// The three sites' energies from the initial weights `init` and their gradients `grads`
/// (see the module docs for the formulas).
pub fn site_energies(
    init: &StateDict,
    grads: &StateDict,
    prime: usize,
    n_heads: usize,
) -> Result<[Vec<f64>; 3]> {
    let tensor = |dict: &StateDict, name: &str| -> Result<Array2<f32>> {
        let t = dict.get(name).ok_or_else(|| Error::ModelState {
            parameter: name.to_string(),
            reason: "missing".into(),
        })?;
        let cols = *t.shape.last().unwrap_or(&1);
        let data = state::values(dict, name, t.data.len())?;
        Array2::from_shape_vec((t.data.len() / cols.max(1), cols), data.to_vec()).map_err(|e| {
            Error::ModelState {
                parameter: name.to_string(),
                reason: e.to_string(),
            }
        })
    };
    let basis = fourier::basis(prime).mapv(f64::from);
    let w_e = tensor(init, "embed.W_E")?;
    let w_e = w_e.slice(ndarray::s![..prime, ..]);
    let g_e = tensor(grads, "embed.W_E")?;
    let embedding: Vec<f64> =
        mean_square_by_frequency(&basis, &g_e.slice(ndarray::s![..prime, ..]).mapv(f64::from))
            .into_iter()
            .map(f64::sqrt)
            .collect();
    let mut attention = vec![0.0; prime / 2];
    for name in [
        "blocks.0.attn.W_Q",
        "blocks.0.attn.W_K",
        "blocks.0.attn.W_V",
    ] {
        // (n_heads · d_model, d_head): head h is rows h·d_model .. (h+1)·d_model.
        let g = tensor(grads, name)?;
        let d_model = g.nrows() / n_heads;
        for h in 0..n_heads {
            let head = g.slice(ndarray::s![h * d_model..(h + 1) * d_model, ..]);
            let m = matmul(w_e, head);
            for (sum, v) in attention
                .iter_mut()
                .zip(mean_square_by_frequency(&basis, &m))
            {
                *sum += v;
            }
        }
    }
    let matrices = (3 * n_heads) as f64;
    let attention = attention
        .into_iter()
        .map(|s| (s / matrices).sqrt())
        .collect();
    let g_in = tensor(grads, "blocks.0.mlp.W_in")?;
    let mlp = mean_square_by_frequency(&basis, &matmul(w_e, g_in.view()))
        .into_iter()
        .map(f64::sqrt)
        .collect();
    Ok([embedding, attention, mlp])
}

impl InitSweep {
    /// Sweeps `model_seeds` × `data_seeds` of `family` at `prime`. `key_frequencies` marks the
    /// charts; `None` reads them off the first analysed variant of the family with this prime.
    pub fn run(
        registry: &FamilyRegistry,
        family: &str,
        prime: u64,
        model_seeds: &[i64],
        data_seeds: &[i64],
        fraction: f64,
        key_frequencies: Option<Vec<usize>>,
    ) -> Result<InitSweep> {
        for (setting, seeds) in [("seeds", model_seeds), ("data-seeds", data_seeds)] {
            if seeds.is_empty() {
                return Err(Error::InvalidSetting {
                    setting: setting.into(),
                    value: "(none)".into(),
                    reason: "give at least one seed".into(),
                });
            }
        }
        crate::train::check_fraction(fraction)?;
        let mut candidates = Vec::new();
        for &model_seed in model_seeds {
            for &data_seed in data_seeds {
                let params = [
                    ("prime".to_string(), ParamValue::Int(prime as i64)),
                    ("seed".to_string(), ParamValue::Int(model_seed)),
                    ("data_seed".to_string(), ParamValue::Int(data_seed)),
                ]
                .into_iter()
                .collect();
                let variant = registry.create_variant(family, params)?;
                candidates.push(candidate(&variant, model_seed, data_seed, fraction)?);
            }
        }
        let (key_frequencies, key_source) = match key_frequencies {
            Some(k) => (k, "given".to_string()),
            None => learned_frequencies(registry, family, prime),
        };
        Ok(InitSweep {
            family: family.to_string(),
            prime,
            fraction,
            key_frequencies,
            key_source,
            candidates,
        })
    }
}

fn candidate(
    variant: &Variant,
    model_seed: i64,
    data_seed: i64,
    fraction: f64,
) -> Result<Candidate> {
    let run = variant.fresh_run(Some(fraction))?;
    let (prime, n_heads) = (run.config.d_vocab_out, run.config.n_heads);
    let init = run.start.state.clone();
    let mut trainer = FusedTrainer::new(
        &run.config,
        run.start.state,
        HostAdamW::new(run.adamw),
        &run.train,
        &run.test,
    )?;
    let (initial_loss, grads) = trainer.loss_and_named_gradients();
    let grads: StateDict = grads
        .into_iter()
        .map(|(name, data)| {
            let shape = init.get(name).map(|t| t.shape.clone()).unwrap_or_default();
            (name.to_string(), state::HostTensor { shape, data })
        })
        .collect();
    Ok(Candidate {
        model_seed,
        data_seed,
        energies: site_energies(&init, &grads, prime, n_heads)?,
        initial_loss,
    })
}

/// The learned frequencies of the first analysed variant (by name) of `family` with `prime`,
/// by MIScope's rule (see [`crate::viability::inputs::committed_frequencies`]); none if there
/// is no such variant.
fn learned_frequencies(
    registry: &FamilyRegistry,
    family: &str,
    prime: u64,
) -> (Vec<usize>, String) {
    let mut variants = registry.variants(family).unwrap_or_default();
    variants.sort_by(|a, b| a.name().cmp(b.name()));
    for variant in variants {
        if variant.params().int("prime").ok() != Some(prime as i64) {
            continue;
        }
        if let Ok(input) = crate::viability::CertificateInput::of_variant(&variant) {
            return (input.frequencies, variant.name().to_string());
        }
        let loader = crate::analysis::loader::ArtifactLoader::new(variant.artifacts_dir());
        if let Ok((_, frequencies)) = crate::viability::inputs::committed_frequencies(&loader)
            && !frequencies.is_empty()
        {
            return (frequencies, variant.name().to_string());
        }
    }
    (
        Vec::new(),
        "none (no analysed variant with this prime)".into(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::state::HostTensor;

    fn dict(entries: Vec<(&str, Vec<usize>, Vec<f32>)>) -> StateDict {
        entries
            .into_iter()
            .map(|(n, shape, data)| (n.to_string(), HostTensor { shape, data }))
            .collect()
    }

    #[test]
    fn energy_lands_on_the_frequency_the_gradient_carries() {
        // p = 7, d_model = 2, one head of d_head 2, d_mlp 3. ∂L/∂W_E rows follow cos(2π·2r/7):
        // all embedding energy is at k = 2. With W_E = [I; 0…] the attention and MLP sites see
        // their gradients' rows 0 and 1 only.
        let p = 7;
        let (d_model, d_head, d_mlp) = (2, 2, 3);
        let mut w_e = vec![0.0f32; (p + 1) * d_model];
        w_e[0] = 1.0;
        w_e[d_model + 1] = 1.0;
        let mut g_e = vec![0.0f32; (p + 1) * d_model];
        for r in 0..p {
            let v = (std::f32::consts::TAU * 2.0 * r as f32 / p as f32).cos();
            g_e[r * d_model] = v;
            g_e[r * d_model + 1] = 2.0 * v;
        }
        let init = dict(vec![("embed.W_E", vec![p + 1, d_model], w_e)]);
        let ones = |n: usize| vec![1.0f32; n];
        let grads = dict(vec![
            ("embed.W_E", vec![p + 1, d_model], g_e),
            (
                "blocks.0.attn.W_Q",
                vec![1, d_model, d_head],
                ones(d_model * d_head),
            ),
            (
                "blocks.0.attn.W_K",
                vec![1, d_model, d_head],
                ones(d_model * d_head),
            ),
            (
                "blocks.0.attn.W_V",
                vec![1, d_model, d_head],
                ones(d_model * d_head),
            ),
            (
                "blocks.0.mlp.W_in",
                vec![d_model, d_mlp],
                ones(d_model * d_mlp),
            ),
        ]);
        let [embedding, attention, mlp] = site_energies(&init, &grads, p, 1).unwrap();
        assert_eq!(embedding.len(), 3);
        // ‖B_cos2 · v‖ = √(7/2) for v = cos(2π·2r/7); columns scale 1 and 2: mean (1 + 4)/2.
        let expected = (3.5f64 * 2.5).sqrt();
        assert!((embedding[1] - expected).abs() < 1e-5, "{embedding:?}");
        assert!(embedding[0] < 1e-5 && embedding[2] < 1e-5, "{embedding:?}");
        // W_E · ones: rows 0 and 1 are ones, the rest zero; the same for every matrix and
        // column, so attention (averaged over 3 matrices) equals mlp, and both spread over k.
        for k in 0..3 {
            assert!(
                (attention[k] - mlp[k]).abs() < 1e-9,
                "{attention:?} {mlp:?}"
            );
            assert!(mlp[k] > 0.0);
        }
        assert!((cosine(&attention, &mlp) - 1.0).abs() < 1e-12);
        assert!(cosine(&[0.0, 0.0], &[1.0, 0.0]).is_nan());
    }
}
