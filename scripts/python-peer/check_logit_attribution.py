"""Check `logit_attribution` against TransformerLens: per checkpoint, each head's result
(`blocks.0.attn.hook_result`), the MLP output and resid_pre at the "=" position, read through W_U
at the correct label and averaged over all pairs, on MIScope's HookedTransformer loaded from our
checkpoints. Prints the largest differences from artifacts/logit_attribution/cross_epoch.npz.

    tdw analyze VARIANT --analyzers logit_attribution
    .venv-peer/bin/python scripts/python-peer/check_logit_attribution.py results/modulo_addition_1layer/VARIANT
"""

import json
import os
import sys

import numpy as np
import torch
from peer_common import grid, model_config
from safetensors.torch import load_file
from transformer_lens import HookedTransformer


def main():
    variant_dir = sys.argv[1]
    config = json.load(open(os.path.join(variant_dir, "config.json")))
    ours = np.load(os.path.join(variant_dir, "artifacts", "logit_attribution", "cross_epoch.npz"))
    p = config["prime"]
    tokens, labels = grid(p)
    model = HookedTransformer(model_config(p, config["seed"]))
    model.set_use_attn_result(True)
    worst = 0.0
    for i, epoch in enumerate(ours["epochs"]):
        state = load_file(os.path.join(variant_dir, "checkpoints", f"checkpoint_epoch_{epoch:05d}.safetensors"))
        model.load_state_dict(state, strict=True)
        with torch.inference_mode():
            logits, cache = model.run_with_cache(tokens)
            w_u = model.W_U.double()
            direction = w_u[:, labels].T  # [rows, d_model]

            def attr(x):
                return (x[:, -1].double() * direction).sum(-1).mean().item()

            theirs = [attr(cache["blocks.0.attn.hook_result"][:, :, h]) for h in range(model.cfg.n_heads)]
            theirs += [attr(cache["blocks.0.hook_mlp_out"]), attr(cache["blocks.0.hook_resid_pre"]),
                       logits[:, -1].double().gather(-1, labels[:, None]).mean().item()]
        mine = list(ours["heads"][i]) + [ours["mlp"][i], ours["embed"][i], ours["correct_logit"][i]]
        scale = max(abs(x) for x in theirs)
        worst = max(worst, max(abs(a - b) for a, b in zip(mine, theirs)) / scale)
        if i in (0, len(ours["epochs"]) - 1):
            print(f"epoch {epoch}: heads tdw {np.round(ours['heads'][i], 4)} torch {np.round(theirs[:4], 4)}; "
                  f"mlp {ours['mlp'][i]:.4f} / {theirs[4]:.4f}; correct logit {ours['correct_logit'][i]:.4f} / {theirs[6]:.4f}")
    print(f"{len(ours['epochs'])} checkpoints: largest difference {worst:.1e} of the largest attribution")


if __name__ == "__main__":
    main()
