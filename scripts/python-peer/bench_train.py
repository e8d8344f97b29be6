"""The Python reference's training loop (MIScope `Variant.train` on a TransformerLens
HookedTransformer), timed per epoch, for `tdw bench train` to compare against.

One epoch = forward on the 3,830 training pairs (all positions, as TransformerLens computes it),
f64 cross-entropy on the last position, backward, AdamW step, then the test loss on the other
8,939 pairs under inference mode. Prints one JSON line: {"seconds_per_epoch": [...], ...}.
"""

import importlib.metadata
import json
import time

import torch
from peer_common import grid, model_config, split, training_args
from transformer_lens import HookedTransformer


def compute_loss(logits, labels):
    logits = logits[:, -1].to(torch.float64)
    log_probs = logits.log_softmax(dim=-1)
    return -log_probs.gather(dim=-1, index=labels[:, None])[:, 0].mean()


def main():
    args = training_args()
    p = args.prime
    model = HookedTransformer(model_config(p, args.seed, args.device))
    for name, param in model.named_parameters():
        if "b_" in name:
            param.requires_grad = False

    dataset, labels = (t.to(args.device) for t in grid(p))
    train_idx, test_idx = split(p, args.data_seed, args.fraction)
    train_data, train_labels = dataset[train_idx], labels[train_idx]
    test_data, test_labels = dataset[test_idx], labels[test_idx]

    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1.0, betas=(0.9, 0.98))
    times, train_losses, test_losses = [], [], []
    for epoch in range(args.warmup + args.epochs):
        start = time.perf_counter()
        loss = compute_loss(model(train_data), train_labels)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        train_losses.append(loss.item())
        with torch.inference_mode():
            test_losses.append(compute_loss(model(test_data), test_labels).item())
        elapsed = time.perf_counter() - start
        if epoch >= args.warmup:
            times.append(elapsed)
    print(json.dumps({
        "implementation": f"TransformerLens {importlib.metadata.version('transformer-lens')} / torch {torch.__version__}",
        "threads": args.threads,
        "device": args.device,
        "seconds_per_epoch": times,
        "train_losses": train_losses[:3],
        "test_losses": test_losses[:3],
    }))


if __name__ == "__main__":
    main()
