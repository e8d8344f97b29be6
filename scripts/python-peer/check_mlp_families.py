"""Cross-check a variant of an MLP family trained by `tdw train` against PyTorch.

Rebuilds the family's torch module under the variant's seed, checks the split against
`torch.randperm` under data_seed, and trains it for a few full-batch AdamW epochs (f64
log-softmax loss, as MIScope) from the same initialisation, printing each epoch's loss next to
the one in the variant's metadata.json.

    bash scripts/python-peer/setup.sh
    tdw train --family modulo_addition_2layer_mlp --param prime=23 --epochs 10 --results-dir /tmp/mlp
    .venv-peer/bin/python scripts/python-peer/check_mlp_families.py \
        /tmp/mlp/modulo_addition_2layer_mlp/modulo_addition_2layer_mlp_p23_seed999_dseed598
"""

import json
import sys

import torch


class Mlp(torch.nn.Module):
    def __init__(self, p, d_hidden, d_embed):
        super().__init__()
        self.p, self.embedded = p, d_embed is not None
        if self.embedded:
            self.embed_a = torch.nn.Embedding(p, d_embed)
            self.embed_b = torch.nn.Embedding(p, d_embed)
            self.W_in = torch.nn.Linear(d_embed, d_hidden, bias=False)
        else:
            self.W_in = torch.nn.Linear(2 * p, d_hidden, bias=False)
        self.W_out = torch.nn.Linear(d_hidden, p, bias=False)

    def forward(self, a, b):
        if self.embedded:
            x = self.embed_a(a) + self.embed_b(b)
        else:
            one_hot = torch.nn.functional.one_hot
            x = torch.cat([one_hot(a, self.p), one_hot(b, self.p)], -1).float()
        return self.W_out(torch.relu(self.W_in(x)))


def main(variant_dir, epochs=5):
    config = json.load(open(f"{variant_dir}/config.json"))
    meta = json.load(open(f"{variant_dir}/metadata.json"))
    p, family = config["prime"], variant_dir.rstrip("/").split("/")[-2]
    torch.manual_seed(config["seed"])
    model = Mlp(p, config["d_hidden"], config.get("d_embed"))
    torch.manual_seed(config["data_seed"])
    permutation = torch.randperm(p * p)
    train = meta["train_indices"]
    print("split equal:", permutation[: len(train)].tolist() == train)
    idx = torch.tensor(train)
    a, b = idx // p, idx % p
    labels = (a + b) % p
    decay = 2.0 if "learned_emb" in family else 1.0
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=decay, betas=(0.9, 0.98))
    worst = 0.0
    for epoch in range(min(epochs, len(meta["train_losses"]))):
        logits = model(a, b).to(torch.float64)
        loss = -torch.log_softmax(logits, -1).gather(-1, labels[:, None]).mean()
        ours = meta["train_losses"][epoch]
        relative = abs(loss.item() - ours) / loss.item()
        worst = max(worst, relative)
        print(f"epoch {epoch}: torch {loss.item():.12f}  tdw {ours:.12f}  relative {relative:.1e}")
        opt.zero_grad()
        loss.backward()
        opt.step()
    print(f"worst relative difference {worst:.1e}")
    return 0 if worst < 1e-6 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
