//! Causal curves: head ablation checked against an independent construction.

use tdw_core::AnalyzeOptions;
use tdw_core::analysis::{AnalysisEvent, ArtifactLoader};

use crate::common;

#[test]
fn zero_ablating_a_head_is_removing_its_write_out() {
    let (registry, _results) = common::registry();
    let variant = registry
        .create_variant_from_text("modulo_addition_1layer", [("prime", "11")])
        .unwrap();
    common::train(&variant, 40, &[0, 20], 0.5);
    let options = AnalyzeOptions {
        analyzers: Some(vec!["head_ablation".into()]),
        analyzers_dir: Some(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../analyzers"),
        ),
        ..Default::default()
    };
    variant
        .analyze(&options, &mut |_: &AnalysisEvent| {})
        .unwrap();
    let artifact = ArtifactLoader::new(variant.artifacts_dir())
        .load_cross_epoch("head_ablation")
        .unwrap();
    let epochs: Vec<u64> = artifact
        .as_f64("epochs")
        .unwrap()
        .iter()
        .map(|&e| e as u64)
        .collect();
    assert_eq!(epochs, vec![0, 20, 39]);
    let zero = artifact.as_f64("zero_loss").unwrap();
    assert_eq!(zero.shape(), &[3, 4]);
    // Setting z_h to 0 is setting W_O[h] to 0 (attn_out = Σ_h z_h W_O[h] + b_O): rebuild the
    // checkpoint so, run it plainly, and compare.
    let device = tdw_core::default_device();
    let probe = variant.analysis_context().unwrap().probe;
    for (row, &epoch) in epochs.iter().enumerate() {
        let state = variant.load_checkpoint(epoch).unwrap();
        for head in 0..4 {
            let mut cut = state.clone();
            let w_o = cut.get_mut("blocks.0.attn.W_O").unwrap();
            let per_head = w_o.data.len() / 4;
            w_o.data[head * per_head..(head + 1) * per_head].fill(0.0);
            let model =
                tdw_core::Transformer::from_state(&variant.model_config().unwrap(), &cut, &device);
            let tokens = burn_tensor::Tensor::<2, burn_tensor::Int>::from_data(
                burn_tensor::TensorData::new(probe.tokens.clone(), [probe.len(), probe.n_ctx]),
                &device,
            );
            let logits = model.forward_last(tokens).into_data().convert::<f32>();
            let logits = logits.as_slice::<f32>().unwrap();
            let classes = logits.len() / probe.len();
            let loss = logits
                .chunks(classes)
                .zip(&probe.labels)
                .map(|(row, &label)| {
                    let max = row
                        .iter()
                        .map(|&v| v as f64)
                        .fold(f64::NEG_INFINITY, f64::max);
                    let sum: f64 = row.iter().map(|&v| (v as f64 - max).exp()).sum();
                    sum.ln() + max - row[label as usize] as f64
                })
                .sum::<f64>()
                / probe.len() as f64;
            let ours = zero[[row, head]];
            assert!(
                (ours - loss).abs() <= 1e-6 * loss,
                "epoch {epoch} head {head}: {ours} vs {loss}"
            );
        }
    }
    // Mean ablation is another construction: it differs from zeroing.
    let mean = artifact.as_f64("mean_loss").unwrap();
    assert!(
        mean.iter()
            .zip(zero.iter())
            .any(|(m, z)| (m - z).abs() > 1e-6)
    );
}

#[test]
fn the_attributions_add_up_to_the_correct_logit() {
    let (registry, _results) = common::registry();
    let variant = registry
        .create_variant_from_text("modulo_addition_1layer", [("prime", "11")])
        .unwrap();
    common::train(&variant, 40, &[0, 20], 0.5);
    let options = AnalyzeOptions {
        analyzers: Some(vec!["logit_attribution".into()]),
        analyzers_dir: Some(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../analyzers"),
        ),
        ..Default::default()
    };
    variant
        .analyze(&options, &mut |_: &AnalysisEvent| {})
        .unwrap();
    let a = ArtifactLoader::new(variant.artifacts_dir())
        .load_cross_epoch("logit_attribution")
        .unwrap();
    let heads = a.as_f64("heads").unwrap();
    let (mlp, embed, total) = (
        a.as_f64("mlp").unwrap(),
        a.as_f64("embed").unwrap(),
        a.as_f64("correct_logit").unwrap(),
    );
    assert_eq!(heads.shape(), &[3, 4]);
    // The frozen biases are 0, so the residual stream's parts are the whole logit.
    for e in 0..3 {
        let sum: f64 = (0..4).map(|h| heads[[e, h]]).sum::<f64>() + mlp[e] + embed[e];
        assert!(
            (sum - total[e]).abs() < 1e-4 * total[e].abs().max(1.0),
            "epoch row {e}: {sum} vs {}",
            total[e]
        );
    }
}
