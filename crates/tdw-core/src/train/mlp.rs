//! Training of the MLP families' models ([`crate::model::mlp`]) on the host: full-batch forward,
//! the f64 cross-entropy of MIScope's `compute_loss`, the hand-derived backward pass and the
//! same AdamW as the transformer engines (same optimizer-state file).

use rayon::prelude::*;

use crate::error::Result;
use crate::family::Dataset;
use crate::model::mlp::{self, MlpConfig, MlpWeights};
use crate::model::state::StateDict;
use crate::train::engine::Stepper;
use crate::train::fused::HostAdamW;
use crate::train::fused::simd::cross_entropy;
use crate::train::state::Moments;

/// An MLP, its optimizer and the two splits.
pub struct MlpTrainer {
    config: MlpConfig,
    state: StateDict,
    optimizer: HostAdamW,
    train: Dataset,
    test: Dataset,
}

impl MlpTrainer {
    /// Checks the weights against `config` and the data against the model's sizes.
    pub fn new(
        config: MlpConfig,
        state: StateDict,
        optimizer: HostAdamW,
        train: &Dataset,
        test: &Dataset,
    ) -> Result<Self> {
        MlpWeights::of(&config, &state)?;
        for data in [train, test] {
            check_rows(&config, data)?;
        }
        Ok(MlpTrainer {
            config,
            state,
            optimizer,
            train: train.clone(),
            test: test.clone(),
        })
    }

    /// Mean loss of `data` and, with `grad`, dLoss/dlogits (f64 softmax, cast to f32).
    fn loss(&self, data: &Dataset, logits: &[f32], grad: Option<&mut [f32]>) -> f64 {
        let p = self.config.p;
        let n = data.len();
        let scale = 1.0 / n as f64;
        let mut per_row = vec![0.0f64; n];
        let row = |(i, (l, g)): (usize, (&mut f64, Option<&mut [f32]>))| {
            let mut exps = vec![0.0f64; p];
            let z = &logits[i * p..(i + 1) * p];
            *l = cross_entropy(z, data.labels[i] as usize, scale, &mut exps, g);
        };
        match grad {
            Some(grad) => per_row
                .par_iter_mut()
                .zip(grad.par_chunks_mut(p))
                .enumerate()
                .for_each(|(i, (l, g))| row((i, (l, Some(g))))),
            None => per_row
                .par_iter_mut()
                .enumerate()
                .for_each(|(i, l)| row((i, (l, None)))),
        }
        // Summed in row order: the same bits for any thread count.
        per_row.iter().sum::<f64>() * scale
    }
}

fn check_rows(config: &MlpConfig, data: &Dataset) -> Result<()> {
    let bad = |what: &str, value: i64| crate::error::Error::InvalidSetting {
        setting: format!("dataset {what}"),
        value: value.to_string(),
        reason: format!("must lie in 0..{} for this model", config.p),
    };
    if data.n_ctx != 2 {
        return Err(crate::error::Error::InvalidSetting {
            setting: "dataset n_ctx".into(),
            value: data.n_ctx.to_string(),
            reason: "an MLP family's rows are (a, b) pairs".into(),
        });
    }
    for &t in data.tokens.iter().chain(&data.labels) {
        if t < 0 || t as usize >= config.p {
            return Err(bad("token or label", t));
        }
    }
    Ok(())
}

impl Stepper for MlpTrainer {
    fn step(&mut self) -> f64 {
        let w = MlpWeights::of(&self.config, &self.state).expect("checked in new");
        let acts = mlp::forward(&self.config, &w, &self.train.tokens);
        let mut d_logits = vec![0.0f32; acts.logits.len()];
        let loss = self.loss(&self.train, &acts.logits, Some(&mut d_logits));
        let grads = mlp::backward(&self.config, &w, &self.train.tokens, &acts, &d_logits);
        self.optimizer.step(
            &mut self.state,
            grads.iter().map(|(name, g)| (*name, g.as_slice())),
        );
        loss
    }

    fn test_loss(&mut self) -> f64 {
        let w = MlpWeights::of(&self.config, &self.state).expect("checked in new");
        let acts = mlp::forward(&self.config, &w, &self.test.tokens);
        self.loss(&self.test, &acts.logits, None)
    }

    fn state(&self) -> StateDict {
        self.state.clone()
    }

    fn optimizer_state(&self) -> (u64, Moments) {
        self.optimizer.export()
    }
}
