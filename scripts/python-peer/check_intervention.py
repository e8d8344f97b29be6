"""Replay an intervened variant trained by `tdw intervene` in PyTorch + TransformerLens.

MIScope's frequency-gain intervention (`frequency_gain_hook.py`), written from its spec
(miscope-dashboard.md §3): directions D_sin,k = unit(B[2k-1] @ W_E[:p]), D_cos,k =
unit(B[2k] @ W_E[:p]) from the parent's checkpoint at epoch_start; gain g_k = max(gain[k], 0.1)
for targets; ramp r(e); the hook on blocks.0.hook_attn_out adds
(g'_k - 1)[(a.D_sin,k) D_sin,k + (a.D_cos,k) D_cos,k] with g' = 1 + (g - 1) r(e), through
`model.run_with_hooks` on the training forward only. The model is MIScope's HookedTransformer
under the variant's seed, the split torch.randperm under data_seed, AdamW as MIScope's.

Prints each compared epoch's train and test loss next to metadata.json's and the largest
relative differences; with --out, writes both curves as JSON.

    bash scripts/python-peer/setup.sh
    tdw intervene VARIANT --config damp.json
    .venv-peer/bin/python scripts/python-peer/check_intervention.py \
        results/modulo_addition_1layer/VARIANT/interventions/NAME --epochs 200
"""

import argparse
import json
import math
import os
import time

import torch
from peer_common import grid, model_config, split
from safetensors.torch import load_file
from transformer_lens import HookedTransformer


def compute_loss(logits, labels):
    logits = logits[:, -1].to(torch.float64)
    log_probs = logits.log_softmax(dim=-1)
    return -log_probs.gather(dim=-1, index=labels[:, None])[:, 0].mean()


def fourier_basis(p):
    """MIScope's basis: row 0 constant, row 2k-1 sin k, row 2k cos k, unit rows, in f32."""
    x = torch.arange(p, dtype=torch.float32)
    rows = [torch.ones(p)]
    for k in range(1, p // 2 + 1):
        angle = (2 * x) * math.pi * k / p
        rows += [torch.sin(angle), torch.cos(angle)]
    basis = torch.stack(rows)
    return basis / basis.norm(dim=1, keepdim=True)


def ramp(block, epoch):
    start, end = block["epoch_start"], block["epoch_end"]
    length = block.get("ramp_epochs", 50)
    if epoch < start or epoch >= end:
        return 0.0
    if epoch - start < length:
        return (epoch - start) / length
    if end - epoch <= length:
        return (end - epoch) / length
    return 1.0


def gain_of(block, k):
    gain = block["gain"]
    if k not in block["target_frequencies"]:
        return 1.0
    if isinstance(gain, (int, float)):
        g = float(gain)
    else:
        g = float(gain.get(str(k), gain.get(k, 1.0)))
    return max(g, 0.1)


def directions(w_e, p, block):
    basis = fourier_basis(p)
    numbers = w_e[:p]
    out = []
    for k in block["target_frequencies"]:
        if k > p // 2:
            continue
        for row in (2 * k - 1, 2 * k):
            v = basis[row] @ numbers
            out.append((k, v / v.norm().clamp(min=1e-8)))
    return out


def make_hook(dirs, block, epoch):
    r = ramp(block, epoch)
    if r == 0.0:
        return []
    terms = [((1.0 + (gain_of(block, k) - 1.0) * r) - 1.0, d) for k, d in dirs]

    def hook(a, hook):
        delta = torch.zeros_like(a)
        for c, d in terms:
            delta = delta + c * (a @ d)[..., None] * d
        return a + delta

    return [("blocks.0.hook_attn_out", hook)]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("variant_dir")
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", help="write both curves here (JSON)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    config = json.load(open(os.path.join(args.variant_dir, "config.json")))
    ours = json.load(open(os.path.join(args.variant_dir, "metadata.json")))
    block = config["intervention"]
    p, seed, data_seed = config["prime"], config["seed"], config["data_seed"]
    fraction = config["training_fraction"]
    lr, wd = config.get("learning_rate", 1e-3), config.get("weight_decay", 1.0)
    parent = os.path.dirname(os.path.dirname(os.path.abspath(args.variant_dir)))
    checkpoint = os.path.join(parent, "checkpoints", f"checkpoint_epoch_{block['epoch_start']:05d}.safetensors")
    dirs = directions(load_file(checkpoint)["embed.W_E"], p, block)

    model = HookedTransformer(model_config(p, seed))
    for name, param in model.named_parameters():
        if "b_" in name:
            param.requires_grad = False
    dataset, labels = grid(p)
    train_idx, test_idx = split(p, data_seed, fraction)
    assert train_idx.tolist() == ours["train_indices"], "the split differs from metadata.json"
    train_data, train_labels = dataset[train_idx], labels[train_idx]
    test_data, test_labels = dataset[test_idx], labels[test_idx]
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=wd, betas=(0.9, 0.98))

    epochs = min(args.epochs, len(ours["train_losses"]))
    train_losses, test_losses = [], []
    started = time.perf_counter()
    for epoch in range(epochs):
        hooks = make_hook(dirs, block, epoch)
        logits = model.run_with_hooks(train_data, fwd_hooks=hooks) if hooks else model(train_data)
        loss = compute_loss(logits, train_labels)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        train_losses.append(loss.item())
        with torch.inference_mode():
            test_losses.append(compute_loss(model(test_data), test_labels).item())
    seconds = time.perf_counter() - started

    def rel(a, b):
        return abs(a - b) / abs(b)

    worst_train = max(rel(ours["train_losses"][e], train_losses[e]) for e in range(epochs))
    worst_test = max(rel(ours["test_losses"][e], test_losses[e]) for e in range(epochs))
    step = max(1, epochs // 20)
    print(f"{args.variant_dir}: {epochs} epochs replayed in {seconds:.1f} s, intervention {json.dumps(block)}")
    print(f"{'epoch':>6} {'r(e)':>5} {'train tdw':>12} {'train torch':>12} {'test tdw':>12} {'test torch':>12}")
    for e in sorted(set(list(range(0, epochs, step)) + [epochs - 1])):
        print(f"{e:>6} {ramp(block, e):>5.2f} {ours['train_losses'][e]:>12.5e} {train_losses[e]:>12.5e} "
              f"{ours['test_losses'][e]:>12.5e} {test_losses[e]:>12.5e}")
    print(f"largest relative difference over epochs 0..{epochs - 1}: train {worst_train:.2e}, test {worst_test:.2e}")
    if args.out:
        json.dump({"epochs": epochs, "intervention": block,
                   "tdw": {"train": ours["train_losses"][:epochs], "test": ours["test_losses"][:epochs]},
                   "torch": {"train": train_losses, "test": test_losses}}, open(args.out, "w"))


if __name__ == "__main__":
    main()
