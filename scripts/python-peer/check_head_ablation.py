"""Check `head_ablation` against TransformerLens: each checkpoint's loss and accuracy on every
(a, b) pair with each head's blocks.0.attn.hook_z zeroed, or replaced by its mean over the pairs
at each position, computed with `run_with_hooks` on MIScope's HookedTransformer loaded from our
checkpoint. Prints the largest differences from artifacts/head_ablation/cross_epoch.npz.

    tdw analyze VARIANT --analyzers head_ablation
    .venv-peer/bin/python scripts/python-peer/check_head_ablation.py results/modulo_addition_1layer/VARIANT
"""

import json
import os
import sys

import numpy as np
import torch
from peer_common import grid, model_config
from safetensors.torch import load_file
from transformer_lens import HookedTransformer


def loss_and_accuracy(logits, labels):
    last = logits[:, -1].to(torch.float64)
    loss = -last.log_softmax(-1).gather(-1, labels[:, None])[:, 0].mean().item()
    accuracy = (last.argmax(-1) == labels).double().mean().item()
    return loss, accuracy


def main():
    variant_dir = sys.argv[1]
    config = json.load(open(os.path.join(variant_dir, "config.json")))
    ours = np.load(os.path.join(variant_dir, "artifacts", "head_ablation", "cross_epoch.npz"))
    p = config["prime"]
    tokens, labels = grid(p)
    model = HookedTransformer(model_config(p, config["seed"]))
    worst = {key: 0.0 for key in ("baseline_loss", "zero_loss", "mean_loss", "zero_accuracy", "mean_accuracy")}
    for i, epoch in enumerate(ours["epochs"]):
        state = load_file(os.path.join(variant_dir, "checkpoints", f"checkpoint_epoch_{epoch:05d}.safetensors"))
        model.load_state_dict(state, strict=True)
        with torch.inference_mode():
            logits, cache = model.run_with_cache(tokens)
            base_loss, base_acc = loss_and_accuracy(logits, labels)
            z_mean = cache["blocks.0.attn.hook_z"].mean(0)  # [pos, head, d_head]
            worst["baseline_loss"] = max(worst["baseline_loss"], abs(base_loss - ours["baseline_loss"][i]) / abs(base_loss))
            for head in range(model.cfg.n_heads):
                def zero(z, hook, head=head):
                    z[:, :, head] = 0.0
                    return z

                def mean(z, hook, head=head):
                    z[:, :, head] = z_mean[:, head]
                    return z

                for kind, fn in (("zero", zero), ("mean", mean)):
                    out = model.run_with_hooks(tokens, fwd_hooks=[("blocks.0.attn.hook_z", fn)])
                    loss, acc = loss_and_accuracy(out, labels)
                    worst[f"{kind}_loss"] = max(worst[f"{kind}_loss"], abs(loss - ours[f"{kind}_loss"][i, head]) / abs(loss))
                    worst[f"{kind}_accuracy"] = max(worst[f"{kind}_accuracy"], abs(acc - ours[f"{kind}_accuracy"][i, head]))
        if i in (0, len(ours["epochs"]) // 2, len(ours["epochs"]) - 1):
            print(f"epoch {epoch}: baseline loss tdw {ours['baseline_loss'][i]:.6e} torch {base_loss:.6e}; "
                  f"zero-ablated head 0 tdw {ours['zero_loss'][i, 0]:.6e}")
    print(f"{len(ours['epochs'])} checkpoints x {model.cfg.n_heads} heads: largest relative loss difference "
          f"baseline {worst['baseline_loss']:.1e}, zero {worst['zero_loss']:.1e}, mean {worst['mean_loss']:.1e}; "
          f"largest accuracy difference zero {worst['zero_accuracy']:.1e}, mean {worst['mean_accuracy']:.1e}")


if __name__ == "__main__":
    main()
