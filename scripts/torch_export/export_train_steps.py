#!/usr/bin/python3
"""Training-step golden: builds the released encoder (Swin V1 + global LinearBlock + ANFL head, the
module tree of export_encoder.py) with the released initialisation, and runs a few Adam steps in train
mode (BatchNorm batch statistics, no stochastic depth) on a fixed random batch with the loss
mean((features - targets)^2), where the targets are random unit vectors per sample and AU. Writes

  <out>/<name>_state.safetensors   the initial state dict (released key names)
  <out>/<name>_data.safetensors    'input' [B, 3, H, W], 'target' [B, K, C], 'losses' [steps]
                                   (the loss before each step), 'final.<param>' for a few parameters
  <out>/<name>_arch.json           the arch.json of the encoder

so that test/nn/encoder.test.ts can replay the same steps with our kernels and AdamW (weight decay 0
is Adam) and compare the whole trajectory: forward, backward through every layer in train mode, and
the optimiser.

  /usr/bin/python3 scripts/torch_export/export_train_steps.py --out test/data/encoder --name train16
"""
import argparse
import json
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from export_encoder import Encoder, SwinTransformer, write_safetensors  # noqa: E402

FINAL_PARAMS = ['backbone.patch_embed.proj.weight', 'backbone.layers.0.blocks.1.attn.relative_position_bias_table',
                'backbone.layers.1.blocks.1.mlp.fc2.weight', 'global_linear.fc.weight', 'head.gnn.U.weight', 'head.gnn.bnv.bias']


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--out', required=True)
    ap.add_argument('--name', required=True)
    ap.add_argument('--img-size', type=int, default=56)
    ap.add_argument('--embed-dim', type=int, default=16)
    ap.add_argument('--depths', type=int, nargs='+', default=[2, 2])
    ap.add_argument('--heads', type=int, nargs='+', default=[1, 2])
    ap.add_argument('--window', type=int, default=7)
    ap.add_argument('--aus', type=int, default=6)
    ap.add_argument('--neighbors', type=int, default=3)
    ap.add_argument('--batch', type=int, default=6)
    ap.add_argument('--steps', type=int, default=6)
    ap.add_argument('--lr', type=float, default=1e-3)
    ap.add_argument('--seed', type=int, default=11)
    a = ap.parse_args()
    torch.manual_seed(a.seed)
    os.makedirs(a.out, exist_ok=True)
    base = os.path.join(a.out, a.name)
    bb = SwinTransformer(a.img_size, 4, a.embed_dim, a.depths, a.heads, a.window, 4.0)
    model = Encoder(bb, bb.num_features, a.aus, a.neighbors)
    x = torch.randn(a.batch, 3, a.img_size, a.img_size)
    t = F.normalize(torch.randn(a.batch, a.aus, bb.num_features), dim=-1)
    state = {k: v.clone() for k, v in model.state_dict().items()}
    write_safetensors(base + '_state.safetensors', state, {'format': 'pt', 'source': 'scripts/torch_export/export_train_steps.py'})
    model.train()
    params = [p for n, p in model.named_parameters() if n != 'head.sc']  # sc is never used in forward
    opt = torch.optim.Adam(params, lr=a.lr)
    losses = []
    for _ in range(a.steps):
        loss = ((model(x) - t) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    named = dict(model.named_parameters())
    out = {'input': x, 'target': t, 'losses': torch.tensor(losses, dtype=torch.float32)}
    for n in FINAL_PARAMS:
        out['final.' + n] = named[n].detach().clone()
    write_safetensors(base + '_data.safetensors', out, {'lr': str(a.lr), 'steps': str(a.steps)})
    arch = {'backbone': {'type': 'swin', 'imgSize': a.img_size, 'patchSize': 4, 'embedDim': a.embed_dim, 'depths': a.depths,
                         'numHeads': a.heads, 'windowSize': a.window, 'mlpRatio': 4, 'dropPathRate': 0},
            'head': {'type': 'anfl', 'numAUs': a.aus, 'neighbors': a.neighbors}}
    with open(base + '_arch.json', 'w') as f:
        json.dump(arch, f)
        f.write('\n')
    print('losses', ' '.join('%.6f' % v for v in losses))


if __name__ == '__main__':
    main()
