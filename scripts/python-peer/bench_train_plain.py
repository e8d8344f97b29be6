"""The best plain PyTorch training loop for the same work (speed peer for `tdw bench train
--plain`): the same model, init, split, f64 last-position loss and AdamW, but written directly
in torch without TransformerLens, computing only what the last position's logits need (keys and
values at every position, everything else at "="). Prints one JSON line like bench_train.py.
"""

import json
import time

import torch
from peer_common import grid, model_config, split, training_args
from transformer_lens import HookedTransformer


def main():
    args = training_args()
    p = args.prime
    # Same initial weights as MIScope: take them from a seeded HookedTransformer once.
    tl = HookedTransformer(model_config(p, args.seed))
    W = {n: tl.state_dict()[k].clone().to(args.device).requires_grad_(True) for n, k in [
        ("W_E", "embed.W_E"), ("W_pos", "pos_embed.W_pos"), ("W_Q", "blocks.0.attn.W_Q"),
        ("W_K", "blocks.0.attn.W_K"), ("W_V", "blocks.0.attn.W_V"), ("W_O", "blocks.0.attn.W_O"),
        ("W_in", "blocks.0.mlp.W_in"), ("W_out", "blocks.0.mlp.W_out"), ("W_U", "unembed.W_U")]}
    data, labels = (t.to(args.device) for t in grid(p))
    tr, te = (t.to(args.device) for t in split(p, args.data_seed, args.fraction))

    def logits_last(tokens):
        x = W["W_E"][tokens] + W["W_pos"]                     # (B, 3, d)
        k = torch.einsum("bpd,hde->bhpe", x, W["W_K"])         # (B, H, 3, dh)
        v = torch.einsum("bpd,hde->bhpe", x, W["W_V"])
        q = torch.einsum("bd,hde->bhe", x[:, -1], W["W_Q"])     # (B, H, dh)
        scores = torch.einsum("bhe,bhpe->bhp", q, k) / 32 ** 0.5
        z = torch.einsum("bhp,bhpe->bhe", scores.softmax(-1), v)
        resid = x[:, -1] + torch.einsum("bhe,hed->bd", z, W["W_O"])
        resid = resid + torch.relu(resid @ W["W_in"]) @ W["W_out"]
        return resid @ W["W_U"]

    def loss_fn(logits, y):
        return -logits.double().log_softmax(-1).gather(-1, y[:, None]).mean()

    optimizer = torch.optim.AdamW(W.values(), lr=1e-3, weight_decay=1.0, betas=(0.9, 0.98))
    times, losses = [], []
    for epoch in range(args.warmup + args.epochs):
        start = time.perf_counter()
        loss = loss_fn(logits_last(data[tr]), labels[tr])
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        losses.append(loss.item())
        with torch.inference_mode():
            loss_fn(logits_last(data[te]), labels[te]).item()
        if epoch >= args.warmup:
            times.append(time.perf_counter() - start)
    print(json.dumps({"implementation": "plain PyTorch, last position", "threads": args.threads,
                      "device": args.device, "seconds_per_epoch": times, "train_losses": losses[:3]}))


if __name__ == "__main__":
    main()
