#!/usr/bin/python3
"""Builds AUNCE's encoder (Graph_au_net_NCE: Swin Transformer V1 backbone + global LinearBlock +
ANFL head, spec section 7) in PyTorch with the released code's module tree and state-dict names,
randomly initialised, and exports test data as safetensors (written by hand, no extra libraries):

  <out>/<name>_state.safetensors      the state dict, released key names (backbone.*, global_linear.*, head.*)
  <out>/<name>_input.safetensors      'input' [B, 3, H, W]
  <out>/<name>_expected.safetensors   'features' [B, K, C] in eval mode (the released code returns
                                      the transpose [B, C, K]; ours is [B, K, C]) and the backbone's
                                      output 'tokens' [B, T, C]
  <out>/<name>_arch.json              the arch.json of `aunce encode`

With --head-only the backbone is left out: the input is 'tokens' [B, T, C], and the expected file
also holds the train-mode features (batch statistics, the views as one batch and as two) and the
running statistics after those train-mode calls, and the train-mode gradients of
sum(features * r) for a random r ('grad.r') with respect to the tokens and a few parameters.

Weights follow the released initialisation, then every LayerNorm/bias/position-bias table is
perturbed so that nothing sits at a trivial value; BatchNorm running statistics come from a few
train-mode passes over random inputs, then are perturbed. Deterministic (torch.manual_seed).

Run with /usr/bin/python3 (Debian's torch 1.13):
  /usr/bin/python3 scripts/torch_export/export_encoder.py --out test/data/encoder --name small16 \
      --embed-dim 16 --depths 2 2 2 --heads 1 2 4 --img-size 112 --batch 2
  /usr/bin/python3 scripts/torch_export/export_encoder.py --out test/data/encoder --name head --head-only
"""
import argparse
import json
import math
import os
import struct

import torch
import torch.nn as nn
import torch.nn.functional as F


# ---------------------------------------------------------------------------------------------
# Swin Transformer V1 (the module tree and names of microsoft/Swin-Transformer's
# models/swin_transformer.py, which AUNCE's model/swin_transformer.py copies)

def to_windows(x, ws):
    b, h, w, c = x.shape
    x = x.view(b, h // ws, ws, w // ws, ws, c)
    return x.permute(0, 1, 3, 2, 4, 5).reshape(-1, ws, ws, c)


def from_windows(windows, ws, h, w):
    b = windows.shape[0] // ((h // ws) * (w // ws))
    x = windows.view(b, h // ws, w // ws, ws, ws, -1)
    return x.permute(0, 1, 3, 2, 4, 5).reshape(b, h, w, -1)


class Mlp(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class WindowAttention(nn.Module):
    def __init__(self, dim, ws, heads):
        super().__init__()
        self.ws = ws
        self.heads = heads
        self.scale = (dim // heads) ** -0.5
        self.relative_position_bias_table = nn.Parameter(torch.zeros((2 * ws - 1) ** 2, heads))
        ys, xs = torch.meshgrid(torch.arange(ws), torch.arange(ws), indexing='ij')
        flat = torch.stack([ys.flatten(), xs.flatten()])
        rel = (flat[:, :, None] - flat[:, None, :]).permute(1, 2, 0) + (ws - 1)
        self.register_buffer('relative_position_index', rel[:, :, 0] * (2 * ws - 1) + rel[:, :, 1])
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        nn.init.trunc_normal_(self.relative_position_bias_table, std=0.02)

    def forward(self, x, mask):
        bw, n, c = x.shape
        qkv = self.qkv(x).reshape(bw, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0] * self.scale, qkv[1], qkv[2]
        attn = q @ k.transpose(-2, -1)
        bias = self.relative_position_bias_table[self.relative_position_index.view(-1)].view(n, n, -1)
        attn = attn + bias.permute(2, 0, 1).unsqueeze(0)
        if mask is not None:
            nw = mask.shape[0]
            attn = attn.view(bw // nw, nw, self.heads, n, n) + mask.unsqueeze(1).unsqueeze(0)
            attn = attn.view(-1, self.heads, n, n)
        attn = attn.softmax(dim=-1)
        return self.proj((attn @ v).transpose(1, 2).reshape(bw, n, c))


class SwinBlock(nn.Module):
    def __init__(self, dim, res, heads, ws, shift, mlp_ratio):
        super().__init__()
        self.res = res
        if min(res) <= ws:
            shift, ws = 0, min(res)
        self.ws, self.shift = ws, shift
        self.norm1 = nn.LayerNorm(dim)
        self.attn = WindowAttention(dim, ws, heads)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))
        mask = None
        if shift > 0:
            h, w = res
            img = torch.zeros(1, h, w, 1)
            region = 0
            for hs in (slice(0, -ws), slice(-ws, -shift), slice(-shift, None)):
                for wsl in (slice(0, -ws), slice(-ws, -shift), slice(-shift, None)):
                    img[:, hs, wsl, :] = region
                    region += 1
            mw = to_windows(img, ws).view(-1, ws * ws)
            mask = mw.unsqueeze(1) - mw.unsqueeze(2)
            mask = mask.masked_fill(mask != 0, -100.0).masked_fill(mask == 0, 0.0)
        self.register_buffer('attn_mask', mask)

    def forward(self, x):
        h, w = self.res
        b, l, c = x.shape
        y = self.norm1(x).view(b, h, w, c)
        if self.shift > 0:
            y = torch.roll(y, shifts=(-self.shift, -self.shift), dims=(1, 2))
        win = to_windows(y, self.ws).view(-1, self.ws * self.ws, c)
        win = self.attn(win, self.attn_mask).view(-1, self.ws, self.ws, c)
        y = from_windows(win, self.ws, h, w)
        if self.shift > 0:
            y = torch.roll(y, shifts=(self.shift, self.shift), dims=(1, 2))
        x = x + y.reshape(b, h * w, c)
        return x + self.mlp(self.norm2(x))


class PatchMerging(nn.Module):
    def __init__(self, res, dim):
        super().__init__()
        self.res = res
        self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False)
        self.norm = nn.LayerNorm(4 * dim)

    def forward(self, x):
        h, w = self.res
        b, _, c = x.shape
        x = x.view(b, h, w, c)
        x = torch.cat([x[:, 0::2, 0::2], x[:, 1::2, 0::2], x[:, 0::2, 1::2], x[:, 1::2, 1::2]], -1)
        return self.reduction(self.norm(x.view(b, -1, 4 * c)))


class BasicLayer(nn.Module):
    def __init__(self, dim, res, depth, heads, ws, mlp_ratio, downsample):
        super().__init__()
        self.blocks = nn.ModuleList([SwinBlock(dim, res, heads, ws, 0 if i % 2 == 0 else ws // 2, mlp_ratio) for i in range(depth)])
        self.downsample = PatchMerging(res, dim) if downsample else None

    def forward(self, x):
        for blk in self.blocks:
            x = blk(x)
        return self.downsample(x) if self.downsample is not None else x


class PatchEmbed(nn.Module):
    def __init__(self, patch, dim):
        super().__init__()
        self.proj = nn.Conv2d(3, dim, kernel_size=patch, stride=patch)
        self.norm = nn.LayerNorm(dim)

    def forward(self, x):
        return self.norm(self.proj(x).flatten(2).transpose(1, 2))


class SwinTransformer(nn.Module):
    def __init__(self, img_size, patch, embed_dim, depths, heads, ws, mlp_ratio):
        super().__init__()
        self.patch_embed = PatchEmbed(patch, embed_dim)
        grid = img_size // patch
        self.layers = nn.ModuleList([
            BasicLayer(embed_dim * 2 ** i, (grid // 2 ** i, grid // 2 ** i), d, heads[i], ws, mlp_ratio, i < len(depths) - 1)
            for i, d in enumerate(depths)])
        self.num_features = embed_dim * 2 ** (len(depths) - 1)
        self.norm = nn.LayerNorm(self.num_features)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    def forward(self, x):
        x = self.patch_embed(x)
        for layer in self.layers:
            x = layer(x)
        return self.norm(x)


# ---------------------------------------------------------------------------------------------
# ANFL head (AUNCE model/graph_au_pre.py, identical to ME-GraphAU's LinearBlock / GNN / Head)

class LinearBlock(nn.Module):
    def __init__(self, fin, fout):
        super().__init__()
        self.fc = nn.Linear(fin, fout)
        self.bn = nn.BatchNorm1d(fout)
        self.fc.weight.data.normal_(0, math.sqrt(2.0 / fout))

    def forward(self, x):
        return F.relu(self.bn(self.fc(x).permute(0, 2, 1))).permute(0, 2, 1)


def normalize_digraph(a):
    b, n, _ = a.shape
    dinv = a.sum(dim=-1) ** -0.5
    d = torch.eye(n).view(1, n, n) * dinv.view(b, n, 1)
    return torch.bmm(torch.bmm(d, a), d)


class GNN(nn.Module):
    def __init__(self, c, k, neighbors):
        super().__init__()
        self.neighbors = neighbors
        self.U = nn.Linear(c, c)
        self.V = nn.Linear(c, c)
        self.bnv = nn.BatchNorm1d(k)
        self.U.weight.data.normal_(0, math.sqrt(2.0 / c))
        self.V.weight.data.normal_(0, math.sqrt(2.0 / c))

    def forward(self, x):
        b, n, _ = x.shape
        si = x.detach()
        si = torch.einsum('b i j , b j k -> b i k', si, si.transpose(1, 2))
        thr = si.topk(k=self.neighbors, dim=-1, largest=True)[0][:, :, -1].view(b, n, 1)
        a = normalize_digraph((si >= thr).float())
        agg = torch.einsum('b i j, b j k->b i k', a, self.V(x))
        return F.relu(x + self.bnv(agg + self.U(x)))


class Head(nn.Module):
    def __init__(self, c, k, neighbors):
        super().__init__()
        self.class_linears = nn.ModuleList([LinearBlock(c, c) for _ in range(k)])
        self.gnn = GNN(c, k, neighbors)
        self.sc = nn.Parameter(torch.zeros(k, c))
        nn.init.xavier_uniform_(self.sc)

    def forward(self, x):
        f_v = torch.cat([blk(x).unsqueeze(1) for blk in self.class_linears], dim=1).mean(dim=-2)
        return F.normalize(self.gnn(f_v), p=2, dim=-1)  # [B, K, C]


class Encoder(nn.Module):
    """Graph_au_net_NCE; backbone None for the head-only export."""

    def __init__(self, backbone, c, k, neighbors):
        super().__init__()
        if backbone is not None:
            self.backbone = backbone
        self.global_linear = LinearBlock(c, c)
        self.head = Head(c, k, neighbors)

    def forward(self, x):
        if hasattr(self, 'backbone'):
            x = self.backbone(x)
        return self.head(self.global_linear(x))


# ---------------------------------------------------------------------------------------------

GRAD_PARAMS = ['global_linear.fc.weight', 'global_linear.bn.weight', 'head.class_linears.0.fc.weight', 'head.class_linears.5.fc.bias',
               'head.class_linears.5.bn.bias', 'head.gnn.U.weight', 'head.gnn.V.weight', 'head.gnn.V.bias', 'head.gnn.bnv.weight', 'head.gnn.bnv.bias']


def write_safetensors(path, tensors, metadata=None):
    header, blobs, offset = {}, [], 0
    if metadata:
        header['__metadata__'] = metadata
    for name, t in tensors.items():
        t = t.detach().contiguous().cpu()
        if t.dtype in (torch.int64, torch.int32, torch.bool):
            dtype, raw = 'I64', t.to(torch.int64).numpy().astype('<i8').tobytes()
        else:
            dtype, raw = 'F32', t.to(torch.float32).numpy().astype('<f4').tobytes()
        header[name] = {'dtype': dtype, 'shape': list(t.shape), 'data_offsets': [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    head = json.dumps(header, separators=(',', ':'))
    head += ' ' * ((8 - (8 + len(head.encode())) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(head.encode())))
        f.write(head.encode())
        for b in blobs:
            f.write(b)


def perturb(model):
    """Moves LayerNorm affines, biases and position-bias tables off their initial values."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith('relative_position_bias_table'):
                p.normal_(0, 0.5)
            elif name.endswith('norm.weight') or name.endswith('norm1.weight') or name.endswith('norm2.weight') or name.endswith('bn.weight') or name.endswith('bnv.weight'):
                p.copy_(1 + 0.2 * torch.randn_like(p))
            elif name.endswith('bias'):
                p.normal_(0, 0.1)


def calibrate(model, make_input, steps=3):
    """Running statistics from a few train-mode passes, then perturbed (means shifted, variances scaled)."""
    model.train()
    with torch.no_grad():
        for _ in range(steps):
            model(make_input())
        for m in model.modules():
            if isinstance(m, nn.BatchNorm1d):
                m.running_mean.add_(0.1 * m.running_var.sqrt() * torch.randn_like(m.running_mean))
                m.running_var.mul_(torch.empty_like(m.running_var).uniform_(0.8, 1.25))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--out', required=True)
    ap.add_argument('--name', required=True)
    ap.add_argument('--head-only', action='store_true')
    ap.add_argument('--img-size', type=int, default=112)
    ap.add_argument('--patch-size', type=int, default=4)
    ap.add_argument('--embed-dim', type=int, default=32)
    ap.add_argument('--depths', type=int, nargs='+', default=[2, 2, 2])
    ap.add_argument('--heads', type=int, nargs='+', default=[1, 2, 4])
    ap.add_argument('--window', type=int, default=7)
    ap.add_argument('--mlp-ratio', type=float, default=4.0)
    ap.add_argument('--channels', type=int, default=32, help='head width (head-only)')
    ap.add_argument('--tokens', type=int, default=49, help='tokens per sample (head-only)')
    ap.add_argument('--aus', type=int, default=12)
    ap.add_argument('--neighbors', type=int, default=4)
    ap.add_argument('--batch', type=int, default=2)
    ap.add_argument('--seed', type=int, default=3407)
    a = ap.parse_args()
    torch.manual_seed(a.seed)
    os.makedirs(a.out, exist_ok=True)
    base = os.path.join(a.out, a.name)

    if a.head_only:
        model = Encoder(None, a.channels, a.aus, a.neighbors)
        shape = (a.batch, a.tokens, a.channels)
    else:
        backbone = SwinTransformer(a.img_size, a.patch_size, a.embed_dim, a.depths, a.heads, a.window, a.mlp_ratio)
        model = Encoder(backbone, backbone.num_features, a.aus, a.neighbors)
        shape = (a.batch, 3, a.img_size, a.img_size)
    perturb(model)
    if a.head_only:
        # two AU blocks with identical weights give identical nodes: exact ties in the similarities
        model.head.class_linears[1].load_state_dict(model.head.class_linears[0].state_dict())
    calibrate(model, lambda: torch.randn(*shape))
    x = torch.randn(*shape)
    state = {k: v.clone() for k, v in model.state_dict().items()}  # a snapshot, not views of the live tensors
    write_safetensors(base + '_state.safetensors', state, {'format': 'pt', 'source': 'scripts/torch_export/export_encoder.py'})
    model.eval()
    with torch.no_grad():
        expected = {'features': model(x)}
    if a.head_only:
        write_safetensors(base + '_input.safetensors', {'tokens': x})
        # train mode: one batch, then the two halves as two batches (as the released code runs the views)
        for mode in ('one', 'two'):
            model.load_state_dict(state)
            model.train()
            with torch.no_grad():
                if mode == 'one':
                    y = model(x)
                else:
                    h = a.batch // 2
                    y = torch.cat([model(x[:h]), model(x[h:])], 0)
            expected[f'train_{mode}.features'] = y
            for k, v in model.state_dict().items():
                if 'running_' in k or 'num_batches_tracked' in k:
                    expected[f'train_{mode}.{k}'] = v.clone()
        # gradients of sum(features * r) in train mode (one batch) for the tokens and some parameters
        model.load_state_dict(state)
        model.train()
        xg = x.clone().requires_grad_(True)
        r = torch.randn(expected['features'].shape)
        (model(xg) * r).sum().backward()
        expected['grad.r'] = r
        expected['grad.tokens'] = xg.grad
        params = dict(model.named_parameters())
        for k in GRAD_PARAMS:
            expected[f'grad.{k}'] = params[k].grad
        model.load_state_dict(state)
    else:
        with torch.no_grad():
            expected['tokens'] = model.backbone(x)
        write_safetensors(base + '_input.safetensors', {'input': x})
        arch = {'backbone': {'type': 'swin', 'imgSize': a.img_size, 'patchSize': a.patch_size, 'embedDim': a.embed_dim,
                             'depths': a.depths, 'numHeads': a.heads, 'windowSize': a.window, 'mlpRatio': a.mlp_ratio},
                'head': {'type': 'anfl', 'numAUs': a.aus, 'neighbors': a.neighbors}}
        with open(base + '_arch.json', 'w') as f:
            json.dump(arch, f, indent=1)
            f.write('\n')
    write_safetensors(base + '_expected.safetensors', expected)
    n = sum(p.numel() for p in model.parameters())
    print(f'{a.name}: {n} parameters, {len(state)} state-dict tensors, input {list(x.shape)}, features {list(expected["features"].shape)}')


if __name__ == '__main__':
    main()
