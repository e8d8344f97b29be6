"""What the Python peers share: the command line of the training benchmarks, MIScope's model
config, the (a, b) grid and the data_seed split (spec §2.1, §3.1–3.2)."""

import argparse

import torch
from transformer_lens import HookedTransformerConfig


def training_args():
    parser = argparse.ArgumentParser()
    parser.add_argument("--prime", type=int, default=113)
    parser.add_argument("--seed", type=int, default=999)
    parser.add_argument("--data-seed", type=int, default=598)
    parser.add_argument("--fraction", type=float, default=0.3)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu", help="torch device: cpu or cuda[:N]")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    return args


def model_config(p, seed, device="cpu"):
    return HookedTransformerConfig(
        n_layers=1, n_heads=4, d_model=128, d_head=32, d_mlp=512, act_fn="relu",
        normalization_type=None, d_vocab=p + 1, d_vocab_out=p, n_ctx=3,
        init_weights=True, seed=seed, device=device,
    )


def grid(p):
    """All p² rows [a, b, p] (a-major) and their labels (a + b) mod p."""
    a = torch.arange(p).repeat_interleave(p)
    b = torch.arange(p).repeat(p)
    return torch.stack([a, b, torch.full_like(a, p)], dim=1), (a + b) % p


def split(p, data_seed, fraction):
    """MIScope's train/test indices: torch.randperm under data_seed, first ⌊p²·fraction⌋ train."""
    torch.manual_seed(data_seed)
    indices = torch.randperm(p * p)
    cutoff = int(p * p * fraction)
    return indices[:cutoff], indices[cutoff:]
