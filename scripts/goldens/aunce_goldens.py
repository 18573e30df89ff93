#!/usr/bin/python3
"""Golden values for the AUNCE loss, the WCE losses and the positive-type sampler, computed by an
independent PyTorch implementation (float64, CPU, gradients by autograd).

Run from anywhere with Debian's interpreter (torch 1.13):  /usr/bin/python3 scripts/goldens/aunce_goldens.py
It rewrites, deterministically (fixed seeds), three files under test/data/goldens/:
  aunce.json    cases {name, options, labels, z, loss, perAU, grad}; options use the field names of
                AunceOptions in src/ref/aunce.ts.
  wce.json      {"wce": [...], "auSoftmax": [...]}, cases {name, logits, labels, weight, reduction, loss, grad}.
  sampler.json  torch.manual_seed(seed) then torch.rand(shape) per step, as PyTorch's CPU generator
                produces them, plus the official code's mapping of those uniforms to positive types.

The formulas come straight from ../shared/AUNCE_SPEC.md, written without looking at src/ref/aunce.ts:
  official mode: the released au_infonce_loss in the linear domain (spec §4.2): scores = exp(C/τ),
                 label masks, scores**β, max / mean over the same-label mask, −log(pos/(pos+neg)).
  paper mode:    the per-step algorithm of spec §3.8 (log domain, one anchor at a time), R2 of spec
                 §3.3, the re-normalised centroid of spec §3.5, the β flags of spec §3.4.
  WCE:           Eq (1) of spec §2.1 on logits (p̂ = sigmoid) and au_softmax_loss of spec §2.2.
Layout: z is [N, K, D] with N = 2B, rows 0..B-1 view 1, rows B..2B-1 view 2, partner a ± B.
"""
import json
import math
import os

import torch

torch.set_default_dtype(torch.float64)
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
OUT = os.path.join(ROOT, 'test', 'data', 'goldens')

DEFAULTS = {
    'tau': 0.5,
    'betaActive': 1.2,
    'betaInactive': {'paper': 0.4, 'official': 0.8},  # spec §3.4 (paper), §4.3 C-HEAD (official)
}


def positive_type(opts, a, k):
    """opts['positive'] is [K] names (per AU, spec §3.6) or [N][K] names (per anchor)."""
    pos = opts['positive']
    return pos[a][k] if isinstance(pos[0], list) else pos[k]


# ---------------------------------------------------------------------------------------------
# OFFICIAL mode: the released au_infonce_loss (spec §4.2), with the positive type injected
# ---------------------------------------------------------------------------------------------
def official_loss(z, labels, opts):
    N, K, _ = z.shape
    B = N // 2
    tau = opts.get('tau', DEFAULTS['tau'])
    b_act = opts.get('betaActive', DEFAULTS['betaActive'])
    b_inact = opts.get('betaInactive', DEFAULTS['betaInactive']['official'])
    lab = torch.tensor(labels, dtype=torch.float64)
    t_target = torch.cat([lab, lab], 0)  # [N, K]
    # scores[a, b, k] = exp(<z_a,k, z_b,k>/τ), diagonal included (row 4)
    scores = torch.exp(torch.einsum('akd,bkd->abk', z, z) / tau)
    labels_b = t_target.unsqueeze(0)  # [1, N, K]
    anchor_labels = t_target.unsqueeze(1)  # [N, 1, K]
    occur = (t_target == 1).double()
    unoccur = (t_target == 0).double()
    relation_pos = (labels_b == anchor_labels).double()  # Same(a): self and partner included
    relation_neg = (labels_b != anchor_labels).double()
    # one-hot masks of the injected types, [N, K] (rows 9-18: exactly one term is non-zero)
    m = {t: torch.tensor([[1.0 if positive_type(opts, a, k) == t else 0.0 for k in range(K)] for a in range(N)])
         for t in ('max', 'mean', 'aug')}
    pos_max = (relation_pos * scores).max(dim=-2)[0] * m['max']
    pos_mean = (relation_pos * scores).mean(dim=-2) * m['mean']  # divides by N = 2B, not by |Same(a)|
    e = torch.exp(torch.sum(z[:B] * z[B:], dim=-1) / tau)  # the partner score, computed apart
    pos_ori = torch.cat([e, e], 0) * m['aug']
    pos = pos_max + pos_mean + pos_ori
    neg = (relation_neg * scores ** b_act).sum(-2) * occur + (relation_neg * scores ** b_inact).sum(-2) * unoccur
    t_loss = -torch.log(pos / (pos + neg)).mean(dim=-2)  # [K]
    per_au = t_loss
    if opts.get('auWeight') is not None:  # C-ORIG, or HEAD with --probability False
        t_loss = t_loss * torch.tensor(opts['auWeight'])
    loss = t_loss.sum() if opts.get('reduction', 'mean') == 'sum' else t_loss.mean()
    return loss, per_au


# ---------------------------------------------------------------------------------------------
# PAPER mode: spec §3.8, one anchor at a time
# ---------------------------------------------------------------------------------------------
def paper_beta(opts, y_a, k):
    """β of an anchor with label y_a for AU k (spec §3.4)."""
    b_act = opts.get('betaActive', DEFAULTS['betaActive'])
    b_inact = opts.get('betaInactive', DEFAULTS['betaInactive']['paper'])
    if opts.get('betaBy', 'label') == 'frequency':
        minority = 1 if opts['auRate'][k] < 0.5 else 0  # β_act goes to the class with training rate < 0.5
        return b_act if y_a == minority else b_inact
    if opts.get('betaSwap', False):  # §III-B reading: y=0 → β_act, y=1 → β_inact
        return b_act if y_a == 0 else b_inact
    return b_act if y_a == 1 else b_inact


def paper_loss(z, labels, opts):
    N, K, _ = z.shape
    B = N // 2
    tau = opts.get('tau', DEFAULTS['tau'])
    r2 = opts.get('negWeighting', 'R1') == 'R2'
    y = lambda a, k: labels[a % B][k]
    per_au = []
    for k in range(K):
        Zk = z[:, k, :]
        C = Zk @ Zk.T  # N×N cosine logits
        ells = []
        for a in range(N):
            ya = y(a, k)
            beta = paper_beta(opts, ya, k)
            partner = a + B if a < B else a - B
            neg = [b for b in range(N) if y(b, k) != ya]
            if neg:
                cn = C[a, neg]
                if r2:  # spec §3.3 R2: Q = n Σ e^{(1+β)c/τ} / Σ e^{βc/τ}
                    logQ = math.log(len(neg)) + torch.logsumexp((1 + beta) * cn / tau, 0) - torch.logsumexp(beta * cn / tau, 0)
                else:  # R1: Q = Σ e^{βc/τ}
                    logQ = torch.logsumexp(beta * cn / tau, 0)
            else:
                logQ = None
            pool = [b for b in range(N) if b != a and y(b, k) == ya]  # Pos(a): self excluded, partner in
            if opts.get('excludePartnerFromPool', False):
                pool = [b for b in pool if b != partner] or [partner]
            t = positive_type(opts, a, k)
            if t == 'max':
                c_plus = C[a, pool].max()
            elif t == 'min':
                c_plus = C[a, pool].min()
            elif t == 'aug':
                c_plus = C[a, partner]
            elif t == 'centroid':
                mu = Zk[pool].mean(0)  # Eq 10: the plain mean of the pool's features
                if opts.get('centroidRenormalise', False):
                    mu = mu / torch.linalg.norm(mu)
                c_plus = Zk[a] @ mu
            else:
                raise ValueError(f'paper mode has no positive type {t}')
            logP = c_plus / tau
            if logQ is None:  # no negatives: ℓ = log(1 + 0) = 0, still counted in the mean
                ells.append(torch.zeros(()))
            else:
                ells.append(torch.logaddexp(logP, logQ) - logP)
        per_au.append(torch.stack(ells).mean())
    per_au = torch.stack(per_au)
    w = torch.tensor(opts['auWeight']) if opts.get('auWeight') is not None else torch.ones(K)
    total = (w * per_au).sum()
    loss = total if opts.get('reduction', 'mean') == 'sum' else total / K
    return loss, per_au


def aunce_case(name, z, labels, opts):
    z = z.detach().clone().requires_grad_(True)
    loss, per_au = (paper_loss if opts['mode'] == 'paper' else official_loss)(z, labels, opts)
    if loss.requires_grad:
        loss.backward()
    else:  # every AU without negatives (e.g. B = 1 in paper mode): L is the constant 0
        z.grad = torch.zeros_like(z)
    return {
        'name': name,
        'options': opts,
        'labels': labels,
        'z': z.detach().tolist(),
        'loss': loss.item(),
        'perAU': per_au.detach().tolist(),
        'grad': z.grad.tolist(),
    }


# ---------------------------------------------------------------------------------------------
# Batches (spec §5.9 recipe)
# ---------------------------------------------------------------------------------------------
def round_sig(t, digits=12):
    """Rounds every entry to `digits` significant digits, so the JSON holds z exactly and compactly."""
    return torch.tensor([float(f'{x:.{digits}g}') for x in t.flatten().tolist()]).reshape(t.shape)


def make_batch(seed, B, K, D, unit=True, scale=1.0, all_zero=(), single=(), p1=0.35):
    """Gaussian features (rows normalised when unit), labels with P(y=1) = p1; both classes forced
    present in every AU except those in all_zero (all 0: no negatives) and single (exactly one y=1)."""
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(2 * B, K, D, generator=g)
    if unit:
        z = z / torch.linalg.norm(z, dim=-1, keepdim=True)
    z = round_sig(z * scale)
    lab = (torch.rand(B, K, generator=g) < p1).long()
    for k in range(K):
        if k in all_zero:
            lab[:, k] = 0
        elif k in single:
            lab[:, k] = 0
            lab[B // 2, k] = 1
        elif B >= 2:
            lab[0, k] = 1
            lab[1, k] = 0
    return z, lab.tolist()


def random_types(seed, N, K, names):
    g = torch.Generator().manual_seed(seed)
    idx = torch.randint(len(names), (N, K), generator=g)
    return [[names[i] for i in row] for row in idx.tolist()]


def weights(seed, K):
    g = torch.Generator().manual_seed(seed)
    return [float(f'{x:.6g}') for x in (0.5 + torch.rand(K, generator=g)).tolist()]


def selection_gap(z, labels, opts):
    """Smallest lead of the selected max/min logit over the runner-up, over every anchor whose
    positive is max or min: unseen cases keep it large so float32 kernels select the same index."""
    N, K, _ = z.shape
    B = N // 2
    gap = math.inf
    for k in range(K):
        C = z[:, k, :] @ z[:, k, :].T
        for a in range(N):
            t = positive_type(opts, a, k)
            if t not in ('max', 'min'):
                continue
            ya = labels[a % B][k]
            pool = [b for b in range(N) if labels[b % B][k] == ya and (opts['mode'] == 'official' or b != a)]
            if len(pool) < 2:
                continue
            v = sorted(C[a, pool].tolist(), reverse=(t == 'max'))
            gap = min(gap, abs(v[0] - v[1]))
    return gap


def aunce_cases():
    cases = []
    add = lambda name, zl, opts: cases.append(aunce_case(name, zl[0], zl[1], opts))
    O, P = 'official', 'paper'
    # ---- official mode (B = 6, K = 4, D = 8 unless named) ----
    add('official mixed types, AU 3 without negatives, defaults', make_batch(11, 6, 4, 8, all_zero=(3,)),
        {'mode': O, 'positive': ['max', 'mean', 'aug', 'mean']})
    add('official max', make_batch(12, 6, 4, 8), {'mode': O, 'positive': ['max'] * 4, 'tau': 0.5, 'betaActive': 1.2, 'betaInactive': 0.8})
    add('official mean', make_batch(13, 6, 4, 8), {'mode': O, 'positive': ['mean'] * 4, 'tau': 0.5})
    add('official aug', make_batch(14, 6, 4, 8), {'mode': O, 'positive': ['aug'] * 4})
    add('official C-ORIG: auWeight, betaInactive 0.4', make_batch(15, 6, 4, 8),
        {'mode': O, 'positive': ['mean', 'max', 'aug', 'mean'], 'betaInactive': 0.4, 'auWeight': weights(115, 4)})
    add('official auWeight, reduction sum, tau 0.3', make_batch(16, 6, 4, 8, all_zero=(2,)),
        {'mode': O, 'positive': ['aug', 'mean', 'max', 'mean'], 'tau': 0.3, 'auWeight': weights(116, 4), 'reduction': 'sum'})
    add('official un-normalised features, mixed types', make_batch(17, 6, 4, 8, unit=False, scale=0.6),
        {'mode': O, 'positive': ['mean', 'aug', 'max', 'mean']})
    add('official un-normalised features, max', make_batch(18, 6, 4, 8, unit=False, scale=0.7),
        {'mode': O, 'positive': ['max'] * 4, 'auWeight': weights(118, 4)})
    add('official per-anchor types', make_batch(19, 6, 4, 8, all_zero=(3,)),
        {'mode': O, 'positive': random_types(119, 12, 4, ['max', 'mean', 'aug']), 'auWeight': weights(119, 4)})
    add('official tau 0.2, betas 1.5 / 0.6', make_batch(20, 6, 4, 8),
        {'mode': O, 'positive': ['mean', 'mean', 'aug', 'max'], 'tau': 0.2, 'betaActive': 1.5, 'betaInactive': 0.6})
    add('official B = 1', make_batch(21, 1, 3, 8), {'mode': O, 'positive': ['max', 'mean', 'aug']})
    add('official K = 1', make_batch(22, 5, 1, 8), {'mode': O, 'positive': ['mean']})
    add('official one activated image', make_batch(23, 6, 3, 8, single=(0, 1)),
        {'mode': O, 'positive': ['mean', 'max', 'aug']})
    # ---- paper mode ----
    add('paper mixed types, AU 4 without negatives, defaults', make_batch(31, 6, 5, 8, all_zero=(4,)),
        {'mode': P, 'positive': ['max', 'aug', 'centroid', 'min', 'centroid']})
    add('paper max', make_batch(32, 6, 4, 8), {'mode': P, 'positive': ['max'] * 4, 'tau': 0.5, 'betaActive': 1.2, 'betaInactive': 0.4})
    add('paper aug', make_batch(33, 6, 4, 8), {'mode': P, 'positive': ['aug'] * 4})
    add('paper centroid, auWeight', make_batch(34, 6, 4, 8), {'mode': P, 'positive': ['centroid'] * 4, 'auWeight': weights(134, 4)})
    add('paper min', make_batch(35, 6, 4, 8), {'mode': P, 'positive': ['min'] * 4})
    add('paper R2, auWeight', make_batch(36, 6, 4, 8, all_zero=(3,)),
        {'mode': P, 'positive': ['centroid', 'max', 'aug', 'min'], 'negWeighting': 'R2', 'auWeight': weights(136, 4)})
    add('paper R2, reduction sum', make_batch(37, 6, 4, 8),
        {'mode': P, 'positive': ['aug', 'centroid', 'min', 'max'], 'negWeighting': 'R2', 'reduction': 'sum'})
    add('paper R1 explicit, reduction sum, auWeight', make_batch(38, 6, 4, 8),
        {'mode': P, 'positive': ['centroid', 'centroid', 'max', 'aug'], 'negWeighting': 'R1', 'reduction': 'sum', 'auWeight': weights(138, 4)})
    add('paper betaSwap', make_batch(39, 6, 4, 8), {'mode': P, 'positive': ['centroid', 'max', 'aug', 'min'], 'betaSwap': True})
    add('paper betaBy frequency', make_batch(40, 6, 4, 8),
        {'mode': P, 'positive': ['centroid', 'aug', 'max', 'centroid'], 'betaBy': 'frequency', 'auRate': [0.2, 0.7, 0.45, 0.55]})
    add('paper excludePartnerFromPool, with a one-image class', make_batch(41, 6, 4, 8, single=(1, 2)),
        {'mode': P, 'positive': ['max', 'centroid', 'min', 'min'], 'excludePartnerFromPool': True})
    add('paper centroidRenormalise, with a one-image class', make_batch(42, 6, 4, 8, single=(3,)),
        {'mode': P, 'positive': ['centroid'] * 4, 'centroidRenormalise': True, 'auWeight': weights(142, 4)})
    add('paper centroidRenormalise with excludePartnerFromPool', make_batch(43, 6, 3, 8, single=(0,)),
        {'mode': P, 'positive': ['centroid', 'centroid', 'aug'], 'centroidRenormalise': True, 'excludePartnerFromPool': True})
    add('paper per-anchor types', make_batch(44, 6, 4, 8, all_zero=(2,)),
        {'mode': P, 'positive': random_types(144, 12, 4, ['max', 'aug', 'centroid', 'min']), 'auWeight': weights(144, 4)})
    add('paper per-anchor types, R2, renormalised centroid', make_batch(45, 6, 3, 8),
        {'mode': P, 'positive': random_types(145, 12, 3, ['max', 'aug', 'centroid', 'min']), 'negWeighting': 'R2', 'centroidRenormalise': True})
    add('paper tau 0.1, betas 1.8 / 0.2', make_batch(46, 6, 4, 8),
        {'mode': P, 'positive': ['centroid', 'max', 'min', 'aug'], 'tau': 0.1, 'betaActive': 1.8, 'betaInactive': 0.2})
    add('paper B = 1', make_batch(47, 1, 2, 8), {'mode': P, 'positive': ['centroid', 'aug']})
    add('paper K = 1', make_batch(48, 4, 1, 8), {'mode': P, 'positive': ['centroid'], 'auWeight': [1.3]})
    # ---- unseen: larger batches for the GPU tests (unit rows; max/min selections lead by >= 2e-4) ----
    unseen = [
        ('unseen official B=8 K=3 D=24', O, 8, 3, 24, lambda N, K, s: ['max', 'mean', 'aug'], {}),
        ('unseen paper B=12 K=4 D=40 auWeight', P, 12, 4, 40, lambda N, K, s: ['max', 'aug', 'centroid', 'min'], {'auWeight': weights(212, 4)}),
        ('unseen paper B=16 K=5 D=48 per-anchor types', P, 16, 5, 48,
         lambda N, K, s: random_types(s, N, K, ['max', 'aug', 'centroid', 'min']), {'auWeight': weights(216, 5)}),
        ('unseen official B=10 K=5 D=32 per-anchor types, auWeight', O, 10, 5, 32,
         lambda N, K, s: random_types(s, N, K, ['max', 'mean', 'aug']), {'auWeight': weights(210, 5), 'betaInactive': 0.4}),
    ]
    for i, (name, mode, B, K, D, types, extra) in enumerate(unseen):
        for attempt in range(500):
            seed = 1000 + 100 * i + attempt
            z, labels = make_batch(seed, B, K, D)
            opts = {'mode': mode, 'positive': types(2 * B, K, seed), **extra}
            if selection_gap(z, labels, opts) >= 2e-4:
                break
        else:
            raise RuntimeError(f'{name}: no seed gives a clear max/min selection')
        cases.append(aunce_case(name, z, labels, opts))
    return cases


# ---------------------------------------------------------------------------------------------
# WCE: Eq (1) on logits (spec §2.1) and the official au_softmax_loss (spec §2.2)
# ---------------------------------------------------------------------------------------------
def wce_case(name, logits, labels, weight, reduction):
    x = logits.detach().clone().requires_grad_(True)
    p = torch.tensor(labels, dtype=torch.float64)
    w = torch.tensor(weight) if weight is not None else torch.ones(x.shape[1])
    # log p̂ and log(1 − p̂) with p̂ = sigmoid(x), in the stable form log σ(x), log σ(−x)
    ell = -w * (p * torch.nn.functional.logsigmoid(x) + (1 - p) * torch.nn.functional.logsigmoid(-x))
    loss = ell.sum() if reduction == 'sum' else ell.mean()  # mean over B·K: Eq (1)'s 1/m, averaged over the batch
    loss.backward()
    return {'name': name, 'logits': x.detach().tolist(), 'labels': labels, 'weight': weight, 'reduction': reduction,
            'loss': loss.item(), 'grad': x.grad.tolist()}


def au_softmax_case(name, logits, labels, weight, reduction):
    x = logits.detach().clone().requires_grad_(True)
    y = torch.tensor(labels, dtype=torch.float64)
    prob = torch.softmax(x, dim=1)  # channel 0 = P(active), channel 1 = P(inactive)
    ell = -(y * torch.log(torch.clamp(prob[:, 0, :], min=1e-3)) + (1 - y) * torch.log(torch.clamp(prob[:, 1, :], min=1e-3)))
    if weight is not None:
        ell = ell * torch.tensor(weight)
    loss = ell.sum() if reduction == 'sum' else ell.mean()  # size_average=True: mean over B·K
    loss.backward()
    return {'name': name, 'logits': x.detach().tolist(), 'labels': labels, 'weight': weight, 'reduction': reduction,
            'loss': loss.item(), 'grad': x.grad.tolist()}


def wce_cases():
    def data(seed, shape, scale, K):
        g = torch.Generator().manual_seed(seed)
        x = round_sig(scale * torch.randn(*shape, generator=g))
        lab = (torch.rand(shape[0], K, generator=g) < 0.4).long().tolist()
        return x, lab

    wce = []
    for name, seed, B, K, scale, w, red in [
        ('wce mean, no weight', 1, 5, 4, 1.5, None, 'mean'),
        ('wce mean, weight', 2, 6, 12, 2.0, weights(302, 12), 'mean'),
        ('wce sum, weight', 3, 4, 8, 2.0, weights(303, 8), 'sum'),
        ('wce B = 1, K = 1', 4, 1, 1, 1.0, [1.7], 'mean'),
        ('wce large logits (|x| up to ~23)', 5, 4, 3, 12.0, weights(305, 3), 'mean'),
        ('wce unseen B=33 K=12', 6, 33, 12, 3.0, weights(306, 12), 'mean'),
    ]:
        x, lab = data(seed, (B, K), scale, K)
        wce.append(wce_case(name, x, lab, w, red))

    soft = []
    for name, seed, B, K, scale, w, red in [
        ('au_softmax mean, weight', 11, 6, 12, 2.0, weights(311, 12), 'mean'),
        ('au_softmax mean, no weight', 12, 5, 4, 1.5, None, 'mean'),
        ('au_softmax sum, weight', 13, 4, 8, 2.0, weights(313, 8), 'sum'),
        ('au_softmax B = 1, K = 1', 14, 1, 1, 1.0, [0.8], 'mean'),
        ('au_softmax unseen B=33 K=8', 15, 33, 8, 3.0, weights(315, 8), 'mean'),
    ]:
        x, lab = data(seed, (B, 2, K), scale, K)
        soft.append(au_softmax_case(name, x, lab, w, red))
    # clamp region (spec §2.2): selected probability < 1e-3 gives a zero gradient for that element
    x, lab = data(16, (4, 2, 5), 1.0, 5)
    lab[0][0], lab[1][1], lab[2][2], lab[3][3] = 1, 0, 1, 0
    x[0, 0, 0], x[0, 1, 0] = -4.0, 4.0  # y=1, P0 = σ(−8) ≈ 3.4e-4: clamped
    x[1, 0, 1], x[1, 1, 1] = 5.0, -3.0  # y=0, P1 = σ(−8): clamped
    x[2, 0, 2], x[2, 1, 2] = -3.0, 3.0  # y=1, P0 = σ(−6) ≈ 2.5e-3: not clamped
    x[3, 0, 3], x[3, 1, 3] = 9.0, -9.0  # y=0, P1 = σ(−18): clamped
    soft.append(au_softmax_case('au_softmax clamp region: selected probability below 1e-3', x, lab, weights(316, 5), 'mean'))
    zero = [(0, 0), (1, 1), (3, 3)]
    assert all(soft[-1]['grad'][b][c][k] == 0.0 for b, k in zero for c in (0, 1)), 'clamped elements must have zero gradient'
    return {'wce': wce, 'auSoftmax': soft}


# ---------------------------------------------------------------------------------------------
# Sampler: PyTorch CPU generator streams (spec §5.8 RNG)
# ---------------------------------------------------------------------------------------------
def sampler_streams():
    streams = []
    for seed, shape, steps in [(3407, [12], 4), (0, [1], 6), (1, [8], 3), (42, [5], 5), (2024, [12], 2),
                               (3407, [64, 12], 1), (123456789, [17], 2), (4294967301, [4], 2), (7, [12], 60)]:
        torch.manual_seed(seed)
        draws = [torch.rand(shape, dtype=torch.float32) for _ in range(steps)]  # the official default dtype
        # the official code's mapping (spec §4.2 rows 9-17): comparisons of a float32 tensor with
        # Python floats, done by PyTorch in float32
        official = []
        for p in draws:
            t = torch.where(p < 0.2, 0, torch.where((p >= 0.2) & (p < 0.8), 1, 2))
            official.append([['max', 'mean', 'aug'][i] for i in t.flatten().tolist()])
        streams.append({'seed': seed, 'shape': shape, 'uniforms': [d.flatten().tolist() for d in draws], 'official': official})
    # float32 threshold semantics: u = m/2^24 against t = (m + 0.3)/2^24 (t rounds down to u in float32)
    m = 13421772
    u = torch.tensor([m / 2 ** 24], dtype=torch.float32)
    t = (m + 0.3) / 2 ** 24
    probe = {'u': float(u[0]), 't': t, 'uLessThanT': bool((u < t).item())}
    return {'torch': torch.__version__, 'streams': streams, 'thresholdProbe': probe}


def write(name, obj):
    path = os.path.join(OUT, name)
    with open(path, 'w') as f:
        json.dump(obj, f, separators=(',', ':'))
        f.write('\n')
    return path, os.path.getsize(path)


def main():
    os.makedirs(OUT, exist_ok=True)
    a = aunce_cases()
    path, size = write('aunce.json', a)
    print(f'wrote {os.path.relpath(path, ROOT)}: {len(a)} cases, {size} bytes')
    for c in a:
        N, K, D = len(c['z']), len(c['z'][0]), len(c['z'][0][0])
        print(f'  {c["name"]:<62} N={N:<3} K={K} D={D:<3} loss={c["loss"]:.17g}')
    w = wce_cases()
    path, size = write('wce.json', w)
    print(f'wrote {os.path.relpath(path, ROOT)}: {len(w["wce"])} wce + {len(w["auSoftmax"])} au_softmax cases, {size} bytes')
    for c in w['wce'] + w['auSoftmax']:
        print(f'  {c["name"]:<62} loss={c["loss"]:.17g}')
    s = sampler_streams()
    path, size = write('sampler.json', s)
    print(f'wrote {os.path.relpath(path, ROOT)}: {len(s["streams"])} torch {s["torch"]} streams, {size} bytes')


if __name__ == '__main__':
    main()
