"""The reference analysis pipeline's per-checkpoint work for the seven analyzers MIScope ran on
the reference folder, in PyTorch + TransformerLens + numpy as MIScope computes them (spec §4–5):
one run_with_cache over the full p² probe per checkpoint, then dominant_frequencies,
neuron_activations, neuron_freq_norm, attention_patterns, attention_freq, parameter_snapshot,
effective_dimensionality, each saved with np.savez_compressed. MIScope itself is not on PyPI;
this script reproduces its work so `tdw bench analyze` can time both side by side.

Usage: bench_analyze.py VARIANT_DIR OUT_DIR [--threads N]   → one JSON line.
"""

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file
from peer_common import grid, model_config
from transformer_lens import HookedTransformer


def fourier_basis(p):
    rows = [torch.ones(p)]
    for k in range(1, p // 2 + 1):
        x = torch.arange(p) * 2 * torch.pi * k / p
        rows += [torch.sin(x), torch.cos(x)]
    b = torch.stack(rows)
    return b / b.norm(dim=-1, keepdim=True)


def variance_fractions(F, p):
    F = F.clone()
    F[:, 0, 0] = 0
    total = (F ** 2).sum(dim=(-1, -2)).clamp(min=1e-10)
    out = []
    for f in range(p // 2):
        idx = [0, 2 * f + 1, 2 * f + 2]
        num = sum(F[:, x, y] ** 2 for x in idx for y in idx)
        out.append(num / total)
    return torch.stack(out)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("variant_dir")
    parser.add_argument("out_dir")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    variant, out = Path(args.variant_dir), Path(args.out_dir)
    config = json.loads((variant / "config.json").read_text())
    p = config["prime"]
    cfg = model_config(p, config["seed"])
    probe, _labels = grid(p)
    B = fourier_basis(p)
    times = []
    for path in sorted((variant / "checkpoints").glob("checkpoint_epoch_*.safetensors")):
        epoch = int(path.stem.split("_")[-1])
        start = time.perf_counter()
        model = HookedTransformer(cfg)
        model.load_state_dict(load_file(path), strict=True)
        with torch.inference_mode():
            _, cache = model.run_with_cache(probe)
            results = {}
            W_E = model.W_E
            results["dominant_frequencies"] = {"coefficients": (B @ W_E[:-1]).norm(dim=-1).numpy()}
            acts = cache["blocks.0.mlp.hook_post"][:, -1, :]
            grids = acts.T.reshape(-1, p, p)
            results["neuron_activations"] = {"activations": grids.numpy()}
            results["neuron_freq_norm"] = {"norm_matrix": variance_fractions(B @ grids @ B.T, p).numpy()}
            pattern = cache["blocks.0.attn.hook_pattern"]
            results["attention_patterns"] = {"patterns": pattern.permute(1, 2, 3, 0).reshape(4, 3, 3, p, p).numpy()}
            X = pattern[:, :, 2, 0].T.reshape(4, p, p)
            results["attention_freq"] = {"freq_matrix": variance_fractions(B @ X @ B.T, p).numpy()}
            names = ["W_E", "W_pos", "W_Q", "W_K", "W_V", "W_O", "W_in", "W_out", "W_U"]
            weights = {n: getattr(model, n)[0] if n in ("W_Q", "W_K", "W_V", "W_O", "W_in", "W_out") else getattr(model, n) for n in names}
            results["parameter_snapshot"] = {n: w.numpy() for n, w in weights.items()}
            results["effective_dimensionality"] = {f"sv_{n}": torch.linalg.svdvals(w).numpy() for n, w in weights.items()}
        for name, arrays in results.items():
            (out / name).mkdir(parents=True, exist_ok=True)
            np.savez_compressed(out / name / f"epoch_{epoch:05d}.npz", **arrays)
        times.append(time.perf_counter() - start)
    print(json.dumps({"seconds_per_checkpoint": times, "threads": args.threads}))


if __name__ == "__main__":
    main()
