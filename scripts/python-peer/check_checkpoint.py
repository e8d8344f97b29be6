"""Cross-check: a checkpoint written by tdw loads into TransformerLens (strict load_state_dict,
all 18 keys) and gives the test loss that tdw recorded in metadata.json for that epoch.

Usage: check_checkpoint.py RESULTS/modulo_addition_1layer/<variant> EPOCH
Exit status 0 when the relative difference is below 1e-5.
"""

import json
import sys
from pathlib import Path

import torch
from safetensors.torch import load_file
from transformer_lens import HookedTransformer, HookedTransformerConfig


def main():
    variant_dir, epoch = Path(sys.argv[1]), int(sys.argv[2])
    config = json.loads((variant_dir / "config.json").read_text())
    metadata = json.loads((variant_dir / "metadata.json").read_text())
    p = config["prime"]
    cfg = HookedTransformerConfig(
        n_layers=config["n_layers"], n_heads=config["n_heads"], d_model=config["d_model"],
        d_head=config["d_head"], d_mlp=config["d_mlp"], act_fn=config["act_fn"],
        normalization_type=None, d_vocab=config["d_vocab"], d_vocab_out=config["d_vocab_out"],
        n_ctx=config["n_ctx"], init_weights=True, seed=config["seed"], device="cpu",
    )
    model = HookedTransformer(cfg)
    state = load_file(variant_dir / "checkpoints" / f"checkpoint_epoch_{epoch:05d}.safetensors")
    model.load_state_dict(state, strict=True)

    a = torch.arange(p).repeat_interleave(p)
    b = torch.arange(p).repeat(p)
    data = torch.stack([a, b, torch.full_like(a, p)], dim=1)
    labels = (a + b) % p
    test = torch.tensor(metadata["test_indices"])
    with torch.inference_mode():
        logits = model(data[test])[:, -1].to(torch.float64)
        loss = -logits.log_softmax(-1).gather(-1, labels[test][:, None]).mean().item()
    recorded = metadata["test_losses"][epoch]
    relative = abs(loss - recorded) / abs(recorded)
    print(json.dumps({"keys": len(state), "torch_test_loss": loss, "tdw_test_loss": recorded, "relative": relative}))
    sys.exit(0 if relative < 1e-5 else 1)


if __name__ == "__main__":
    main()
