//! Training of the MLP families' models ([`crate::model::mlp`]) on the host: full-batch forward,
//! the f64 cross-entropy of MIScope's `compute_loss`, the hand-derived backward pass and the
//! same AdamW as the transformer engines (same optimizer-state file).

use rayon::prelude::*;

use crate::dataset::Dataset;
use crate::error::Result;
use crate::kernels::simd::cross_entropy_rows;
use crate::model::mlp::{self, MlpConfig, MlpWeights};
use crate::model::state::StateDict;
use crate::train::HostAdamW;
use crate::train::engine::Stepper;
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
        const ROWS: usize = 256;
        let p = self.config.p;
        let n = data.len();
        let scale = 1.0 / n as f64;
        let mut per_row = vec![0.0f64; n];
        let blocks = per_row
            .par_chunks_mut(ROWS)
            .zip(logits.par_chunks(ROWS * p))
            .enumerate();
        let block = |chunk: usize, losses: &mut [f64], z: &[f32], g: Option<&mut [f32]>| {
            let label = |i: usize| data.labels[chunk * ROWS + i] as usize;
            cross_entropy_rows(z, p, label, scale, losses, g);
        };
        match grad {
            Some(grad) => blocks
                .zip(grad.par_chunks_mut(ROWS * p))
                .for_each(|((c, (l, z)), g)| block(c, l, z, Some(g))),
            None => blocks.for_each(|(c, (l, z))| block(c, l, z, None)),
        }
        // Summed in row order: the same bits for any thread count.
        per_row.iter().sum::<f64>() * scale
    }
}

fn check_rows(config: &MlpConfig, data: &Dataset) -> Result<()> {
    let bad = |what: &'static str, value: i64| crate::error::Error::DataMismatch {
        what,
        value,
        reason: format!("must lie in 0..{} for this model", config.p),
    };
    if data.n_ctx != 2 {
        return Err(crate::error::Error::DataMismatch {
            what: "n_ctx",
            value: data.n_ctx as i64,
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
