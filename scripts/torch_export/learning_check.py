#!/usr/bin/python3
"""An independent check of how fast the encoder learns: the same Swin + ANFL encoder, built in PyTorch
from export_encoder.py's modules, trained on a native dataset (an `aunce synth` output or a converted
benchmark) with the released WCE baseline or the official AUNCE loss, then measured the way the demo
measures it. It shares no code with the TypeScript engine, so when both learn (or fail to learn) at the
same rate, the cause is the model, the data and the step budget, not the engine.

  --job wce      the one-stage baseline (spec 6.5): encoder + Linear(C,32) -> Linear(32,2) per AU,
                 au_softmax_loss with the training AU weights; test F1 of its own predictions
  --job aunce    pre-training with the official au_infonce_loss (spec 4.2: tau 0.5, betas 1.2/0.8,
                 pi = (0.2 max, 0.2 aug, 0.6 mean), no AU weight), the two views as two forward passes;
                 then the strict linear probe below on the frozen encoder
  --job random   the strict linear probe on the untrained encoder

The strict linear probe: encoder in eval mode on centre crops, per-AU features standardised with the
fitting set's statistics, one logistic unit per AU trained with the AU-weighted cross-entropy (Adam,
lr 0.01, batch 256, 200 epochs), the epoch chosen on validation subjects (every fifth training subject,
by index: this script's own hold-out, not the TypeScript one's seeded draw).

Augmentation is the released recipe's geometry only (a random crop of 224/256 of the side and a
horizontal flip), without colour jitter, grayscale or blur. Metrics follow spec 6.4: P(active) >= 0.5,
F1 per AU over the whole test split, the mean over AUs; the all-positive predictor's F1 beside it.

Run with /usr/bin/python3 (Debian's torch 1.13), for example on the demo's data:
  /usr/bin/python3 scripts/torch_export/learning_check.py --data demo-out/data --job wce --steps 300
  /usr/bin/python3 scripts/torch_export/learning_check.py --data demo-out/data --job aunce --steps 1000 --eval-at 300 1000
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from export_encoder import Encoder, SwinTransformer  # noqa: E402

CIFAR_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR_STD = (0.2023, 0.1994, 0.2010)


def read_native(root):
    """Every frame of a native dataset: subjects [n], labels and mask [n, A] (u8), images [n, S, S, 3] (u8)."""
    path = os.path.join(root, 'manifest.json')
    with open(path) as f:
        man = json.load(f)
    if man.get('format') != 'aunce-native' or man.get('version') != 1:
        sys.exit(f'{path}: not an aunce-native version 1 manifest')
    meta = man['meta']
    a, lm, s, rb = len(meta['aus']), meta['landmarks'], meta['imageSize'], man['recordBytes']
    lab_at = 16
    img_at = (16 + 3 * a + 3) // 4 * 4 + 8 * lm
    subjects, labels, mask, images = [], [], [], []
    for sh in man['shards']:
        raw = np.fromfile(os.path.join(root, sh['file']), np.uint8)
        if raw[:8].tobytes() != b'AUNCSHRD' or raw.size != 32 + sh['frames'] * rb:
            sys.exit(f"{os.path.join(root, sh['file'])}: bad header or size (expected {32 + sh['frames'] * rb} bytes)")
        rec = raw[32:].reshape(sh['frames'], rb)
        subjects.append(rec[:, 0:4].copy().view('<u4')[:, 0])
        labels.append(rec[:, lab_at:lab_at + a])
        mask.append(rec[:, lab_at + a:lab_at + 2 * a])
        images.append(rec[:, img_at:img_at + 3 * s * s].reshape(-1, s, s, 3))
    return meta, np.concatenate(subjects), np.concatenate(labels), np.concatenate(mask), np.concatenate(images)


class PerAuHead(nn.Module):
    """The released Linear_Net: per AU, Linear(C, 32) -> Linear(32, 2) with no nonlinearity between."""

    def __init__(self, k, c):
        super().__init__()
        self.fc1 = nn.ModuleList([nn.Linear(c, 32) for _ in range(k)])
        self.fc2 = nn.ModuleList([nn.Linear(32, 2) for _ in range(k)])

    def forward(self, z):  # [B, K, C] -> [B, K, 2]
        return torch.stack([f2(f1(z[:, i])) for i, (f1, f2) in enumerate(zip(self.fc1, self.fc2))], 1)


def au_weights(y):
    """Spec 2.1: w_k proportional to 1 / (positive rate of AU k), normalised to sum to K."""
    pos = y.sum(0)
    w = np.where(pos > 0, len(y) / np.maximum(pos, 1), 0)
    return torch.tensor(w * len(w) / w.sum(), dtype=torch.float32)


def f1_scores(p_active, y):
    p = p_active >= 0.5
    yb = y > 0
    tp = (p & yb).sum(0).float()
    fp = (p & ~yb).sum(0).float()
    fn = (~p & yb).sum(0).float()
    prec, rec = tp / (tp + fp + 1e-20), tp / (tp + fn + 1e-20)
    return 2 * prec * rec / (prec + rec + 1e-20)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--data', required=True)
    ap.add_argument('--fold', type=int, default=0)
    ap.add_argument('--job', choices=['wce', 'aunce', 'random'], required=True)
    ap.add_argument('--steps', type=int, default=300)
    ap.add_argument('--eval-at', type=int, nargs='*', help='steps after which to evaluate (default: the last)')
    ap.add_argument('--lr', type=float, default=1e-3)
    ap.add_argument('--batch', type=int, default=32)
    ap.add_argument('--embed-dim', type=int, default=32)
    ap.add_argument('--depths', type=int, nargs='+', default=[2, 2, 2])
    ap.add_argument('--heads', type=int, nargs='+', default=[1, 2, 4])
    ap.add_argument('--window', type=int, default=7)
    ap.add_argument('--seed', type=int, default=3407)
    ap.add_argument('--threads', type=int, default=2)
    o = ap.parse_args()
    if o.job != 'random' and o.steps < 1:
        ap.error('--steps must be at least 1 for --job wce or aunce')
    torch.set_num_threads(o.threads)
    torch.manual_seed(o.seed)
    rng = np.random.default_rng(o.seed)

    meta, subj, labels, mask, images = read_native(o.data)
    test_subjects = set(meta['folds'][o.fold])
    train_subjects = sorted(set(subj.tolist()) - test_subjects)
    val_subjects = set(train_subjects[::5])
    full = mask.min(1) == 1  # frames with every AU labelled, as the TypeScript trainers use
    split = {
        'fit': np.flatnonzero(full & ~np.isin(subj, list(test_subjects | val_subjects))),
        'val': np.flatnonzero(full & np.isin(subj, list(val_subjects))),
        'test': np.flatnonzero(full & np.isin(subj, list(test_subjects))),
    }
    mean = torch.tensor(CIFAR_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(CIFAR_STD).view(1, 3, 1, 1)
    x = {k: (torch.from_numpy(images[v]).permute(0, 3, 1, 2).float() / 255 - mean) / std for k, v in split.items()}
    y = {k: torch.from_numpy(labels[v].astype(np.float32)) for k, v in split.items()}
    side = meta['imageSize']
    crop = round(side * 224 / 256)
    K = len(meta['aus'])
    w = au_weights(y['fit'].numpy())
    print(f"{o.data}: fold {o.fold}, {len(split['fit'])} fitting, {len(split['val'])} validation, {len(split['test'])} test frames; "
          f"{side} px, crops of {crop}; {o.job}, {o.steps} steps, lr {o.lr}, batch {o.batch}", flush=True)

    def centre(xb):
        c = (side - crop) // 2
        return xb[:, :, c:c + crop, c:c + crop]

    def augment(xb):
        out = torch.empty(xb.shape[0], 3, crop, crop)
        for i in range(xb.shape[0]):
            r, c = rng.integers(0, side - crop + 1, 2)
            v = xb[i, :, r:r + crop, c:c + crop]
            out[i] = v.flip(-1) if rng.random() < 0.5 else v
        return out

    backbone = SwinTransformer(crop, 4, o.embed_dim, o.depths, o.heads, o.window, 4)
    enc = Encoder(backbone, backbone.num_features, K, 4)
    head = PerAuHead(K, backbone.num_features) if o.job == 'wce' else None

    def wce_logits(xb):  # [B, K, 2]; channel 0 = active
        return head(enc(xb))

    def au_softmax_loss(logits, yb):
        p = torch.softmax(logits, -1).clamp(min=1e-3)
        return -((yb * p[..., 0].log() + (1 - yb) * p[..., 1].log()) * w).mean()

    def au_infonce_loss(z1, z2, yb, tau=0.5):
        z = torch.cat([z1, z2], 0)
        yy = torch.cat([yb, yb], 0)
        s = torch.exp(torch.einsum('akd,bkd->abk', z, z) / tau)
        same = (yy[None, :, :] == yy[:, None, :]).float()
        u = torch.rand(K)
        p_max = (same * s).max(1)[0]
        p_mean = (same * s).mean(1)
        p_aug = torch.exp((z1 * z2).sum(-1) / tau).repeat(2, 1)
        pos = torch.where(u < 0.2, p_max, torch.where(u < 0.8, p_mean, p_aug))
        beta = torch.where(yy > 0, torch.tensor(1.2), torch.tensor(0.8))
        neg = ((1 - same) * s ** beta[:, None, :]).sum(1)
        return torch.log1p(neg / pos).mean()

    def features(xs):
        enc.eval()
        with torch.no_grad():
            return torch.cat([enc(centre(xs[i:i + 128])) for i in range(0, len(xs), 128)])

    def evaluate(tag):
        trivial = f1_scores(torch.ones_like(y['test']), y['test']).mean().item()
        if o.job == 'wce':
            enc.eval()
            with torch.no_grad():
                p = torch.cat([torch.softmax(wce_logits(centre(x['test'][i:i + 128])), -1)[..., 0] for i in range(0, len(x['test']), 128)])
            print(f'{tag}: WCE test mean F1 {100 * f1_scores(p, y["test"]).mean():.1f} (all-positive {100 * trivial:.1f})', flush=True)
            return
        f = {k: features(x[k]) for k in x}
        mu, sd = f['fit'].mean(0), f['fit'].std(0) + 1e-6
        f = {k: (v - mu) / sd for k, v in f.items()}
        W = torch.zeros(K, f['fit'].shape[-1], requires_grad=True)
        b = torch.zeros(K, requires_grad=True)
        opt = torch.optim.Adam([W, b], lr=0.01)
        best = (-1.0, 0.0, 0)
        for ep in range(200):
            perm = torch.randperm(len(f['fit']))
            for i in range(0, len(perm), 256):
                j = perm[i:i + 256]
                loss = (F.binary_cross_entropy_with_logits((f['fit'][j] * W).sum(-1) + b, y['fit'][j], reduction='none') * w).mean()
                opt.zero_grad()
                loss.backward()
                opt.step()
            with torch.no_grad():
                v = f1_scores(torch.sigmoid((f['val'] * W).sum(-1) + b), y['val']).mean().item()
                if v > best[0]:
                    best = (v, f1_scores(torch.sigmoid((f['test'] * W).sum(-1) + b), y['test']).mean().item(), ep + 1)
        print(f'{tag}: linear probe test mean F1 {100 * best[1]:.1f} (epoch {best[2]}, validation {100 * best[0]:.1f}; all-positive {100 * trivial:.1f})', flush=True)

    if o.job == 'random':
        evaluate('untrained encoder')
        return
    params = list(enc.parameters()) + (list(head.parameters()) if head else [])
    opt = torch.optim.AdamW(params, lr=o.lr, weight_decay=1e-6)
    eval_at = set(o.eval_at or [o.steps])
    n = len(split['fit'])
    per_epoch = n // o.batch
    order = rng.permutation(n)
    t0 = time.time()
    for step in range(o.steps):
        if step % per_epoch == 0:
            order = rng.permutation(n)
        ids = order[(step % per_epoch) * o.batch:][:o.batch]
        enc.train()
        xb, yb = x['fit'][ids], y['fit'][ids]
        if o.job == 'wce':
            loss = au_softmax_loss(wce_logits(augment(xb)), yb)
        else:
            loss = au_infonce_loss(enc(augment(xb)), enc(augment(xb)), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 50 == 0 or step + 1 == o.steps:
            print(f'step {step + 1}: loss {loss.item():.4f} ({time.time() - t0:.0f} s)', flush=True)
        if step + 1 in eval_at:
            evaluate(f'after {step + 1} steps')
    if not math.isfinite(loss.item()):
        sys.exit('the loss is not finite')


if __name__ == '__main__':
    main()
