"""Writes a MIScope-style run of the 2-layer MLP family with PyTorch alone (checkpoints as
safetensors of the module's state_dict, metadata.json, config.json), to check that results made
in Python are discovered, loaded, analyzed and drawn by tdw:

    .venv-peer/bin/python scripts/python-peer/write_mlp_run.py /tmp/pyres
    tdw --results-dir /tmp/pyres analyze modulo_addition_2layer_mlp_p13_seed5_dseed7
    tdw --results-dir /tmp/pyres view activations.mlp.neuron_heatmap \
        modulo_addition_2layer_mlp_p13_seed5_dseed7 --epoch 19 --out heatmap.svg
"""
import json, os, sys

import torch
from safetensors.torch import save_file
p, fam = 13, "modulo_addition_2layer_mlp"
d = f"{sys.argv[1]}/{fam}/{fam}_p{p}_seed5_dseed7"
os.makedirs(f"{d}/checkpoints", exist_ok=True)
torch.manual_seed(5)
class M(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.W_in = torch.nn.Linear(2 * p, 512, bias=False)
        self.W_out = torch.nn.Linear(512, p, bias=False)
    def forward(self, a, b):
        x = torch.cat([torch.nn.functional.one_hot(a, p), torch.nn.functional.one_hot(b, p)], -1).float()
        return self.W_out(torch.relu(self.W_in(x)))
m = M()
torch.manual_seed(7)
perm = torch.randperm(p * p)
cut = int(p * p * 0.75)
tr, te = perm[:cut], perm[cut:]
opt = torch.optim.AdamW(m.parameters(), lr=1e-4, weight_decay=1.0, betas=(0.9, 0.98))
def loss_of(idx):
    a, b = idx // p, idx % p
    return -torch.log_softmax(m(a, b).to(torch.float64), -1).gather(-1, ((a + b) % p)[:, None]).mean()
trl, tel = [], []
for e in range(20):
    l = loss_of(tr); opt.zero_grad(); l.backward(); opt.step()
    trl.append(l.item()); tel.append(loss_of(te).item())
    if e in (0, 10, 19):
        save_file({k: v.contiguous() for k, v in m.state_dict().items()}, f"{d}/checkpoints/checkpoint_epoch_{e:05d}.safetensors")
json.dump({"train_losses": trl, "test_losses": tel, "train_indices": tr.tolist(), "test_indices": te.tolist(),
           "checkpoint_epochs": [0, 10, 19], "num_epochs": 20}, open(f"{d}/metadata.json", "w"))
json.dump({"d_hidden": 512, "act_fn": "relu", "seed": 5, "prime": p, "data_seed": 7, "model_seed": 5, "training_fraction": 0.75}, open(f"{d}/config.json", "w"))
print("written", d)
