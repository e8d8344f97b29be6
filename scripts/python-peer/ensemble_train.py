"""How sensitive a run's cleanup phase is to the last bit of its initial weights, in PyTorch:
trains one variant with MIScope's loop (TransformerLens, f64 loss, AdamW) from its seeded
initial weights with one entry of W_E moved by one float32 ulp (entry k for member k; member
"-" is unperturbed), and prints each member's grokking epoch (first test loss < 0.01), lowest
and final test loss, and the highest test loss after grokking. The Rust side of the same
experiment is `cargo run --release --example ensemble` (same members, same output).

    .venv-peer/bin/python scripts/python-peer/ensemble_train.py --prime 59 --fraction 0.5 \
        --epochs 1500 --members - 0 1 2 [--curves curves.json]
"""

import argparse
import json

import torch
from peer_common import grid, model_config, split
from transformer_lens import HookedTransformer


def compute_loss(logits, labels):
    logits = logits[:, -1].to(torch.float64)
    return -logits.log_softmax(dim=-1).gather(dim=-1, index=labels[:, None])[:, 0].mean()


def train(args, member):
    p = args.prime
    model = HookedTransformer(model_config(p, args.seed))
    if args.float64:
        model = model.to(torch.float64)
    for name, param in model.named_parameters():
        if "b_" in name:
            param.requires_grad = False
    if member != "-":
        with torch.no_grad():
            w = model.embed.W_E.view(-1)
            k = int(member)
            w[k] = torch.nextafter(w[k].float(), torch.tensor(float("inf"))).to(w.dtype)
    dataset, labels = grid(p)
    train_idx, test_idx = split(p, args.data_seed, args.fraction)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1.0, betas=(0.9, 0.98))
    test_losses, loss = [], None
    for _ in range(args.epochs):
        loss = compute_loss(model(dataset[train_idx]), labels[train_idx])
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        with torch.inference_mode():
            test_losses.append(compute_loss(model(dataset[test_idx]), labels[test_idx]).item())
    grok = next((i for i, l in enumerate(test_losses) if l < 0.01), None)
    low = min(range(len(test_losses)), key=test_losses.__getitem__)
    after = max(test_losses[grok:]) if grok is not None else float("nan")
    print(f"member {member:>3}: grok {grok} min {test_losses[low]:.2e} at {low} "
          f"final {test_losses[-1]:.2e} max after grok {after:.2e} train {loss.item():.2e}",
          flush=True)
    return test_losses


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--prime", type=int, default=59)
    parser.add_argument("--seed", type=int, default=999)
    parser.add_argument("--data-seed", type=int, default=598)
    parser.add_argument("--fraction", type=float, default=0.5)
    parser.add_argument("--epochs", type=int, default=1500)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--float64", action="store_true", help="weights and moments in f64")
    parser.add_argument("--members", nargs="+", default=["-"])
    parser.add_argument("--curves", help="write each member's test losses (JSON) to this file")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    curves = {member: train(args, member) for member in args.members}
    if args.curves:
        with open(args.curves, "w") as f:
            json.dump(curves, f)


if __name__ == "__main__":
    main()
