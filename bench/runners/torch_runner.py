#!/usr/bin/env python3
"""PyTorch CPU runner of the kernel benchmark harness.

Reads the shared case list (bench/cases.json, or the JSON given by --cases, '-' for stdin),
times each case after a warm-up, and prints one JSON row per line on stdout in the format of
bench/types.ts (the TypeScript harness spawns this script and merges its rows). Wall time with
time.perf_counter(); work on CPU tensors is synchronous.

matmul cases: torch.matmul into a pre-allocated output.
aunce cases: the AUNCE loss forward + backward in float32 as a user of the official code would run
it: `au_infonce_loss` of ../shared/AUNCE_SPEC.md §4.2 in the linear domain (scores = exp(C/τ),
masks, scores**β, max / mean / aug positives, -log(pos / (pos + neg)).mean), on the two views
[B, D, K] as the training script passes them, with the case's fixed positive type per AU in place
of the random draw. Paper-mode cases use the same formulation with the paper's pools (spec §3.5:
the anchor left out of its positives; centroid = exp(<z_a, mean of its positives>/τ)) and β.

Without torch it prints one line saying how to install it and exits with status 3.
"""
import argparse
import json
import os
import platform
import sys
import time

MISSING_EXIT = 3
MIN_REPEATS = 3


def cpu_model():
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    return ' '.join(line.split(':', 1)[1].split())
    except OSError:
        pass
    return platform.processor() or 'unknown CPU'


def blas_library():
    """The BLAS shared library this process mapped (Debian switches it with update-alternatives)."""
    try:
        with open('/proc/self/maps') as f:
            paths = {line.split()[-1] for line in f if 'blas' in line.lower() and '/' in line}
    except OSError:
        return 'unknown BLAS'
    real = sorted({os.path.realpath(p) for p in paths})
    return ', '.join(os.path.basename(os.path.dirname(p)) + '/' + os.path.basename(p) for p in real) or 'no BLAS library mapped'


def shape_key(c):
    if c['op'] == 'aunce':
        return f"{2 * c['b']}x{c['k']}x{c['d']}"
    dims = f"{c['m']}x{c['k']}x{c['n']}"
    if c['batch'] != 1:
        dims = f"{c['batch']}x{dims}"
    if c.get('transA') or c.get('transB'):
        dims += ' ' + ('T' if c.get('transA') else 'N') + ('T' if c.get('transB') else 'N')
    return dims


def operands(torch, c):
    lead = [] if c['batch'] == 1 else [c['batch']]
    a_shape = lead + ([c['k'], c['m']] if c.get('transA') else [c['m'], c['k']])
    b_shape = lead + ([c['n'], c['k']] if c.get('transB') else [c['k'], c['n']])
    g = torch.Generator().manual_seed(1)
    a = torch.rand(a_shape, generator=g) * 2 - 1
    b = torch.rand(b_shape, generator=g) * 2 - 1
    # a transposed view, as a user would write a @ b.transpose(-1, -2)
    if c.get('transA'):
        a = a.transpose(-1, -2)
    if c.get('transB'):
        b = b.transpose(-1, -2)
    return a, b


def measure(torch, c, repeats, budget_ms):
    a, b = operands(torch, c)
    out = torch.empty(c['batch'], c['m'], c['n']) if c['batch'] != 1 else torch.empty(c['m'], c['n'])
    return time_samples(lambda: torch.matmul(a, b, out=out), repeats, budget_ms)


def time_samples(run, repeats, budget_ms):
    """One warm-up, one run that estimates the cost, then as many repetitions as fit the budget."""
    run()
    t0 = time.perf_counter()
    run()
    estimate = (time.perf_counter() - t0) * 1e3
    n = repeats if estimate <= 0 else max(min(MIN_REPEATS, repeats), min(repeats, int(budget_ms // estimate)))
    samples = []
    for _ in range(n):
        t0 = time.perf_counter()
        run()
        samples.append((time.perf_counter() - t0) * 1e3)
    return samples


def aunce_labels(torch, c):
    """[B, K] float labels: 1 where (5b + 3k) mod 7 < 3, as aunceLabels() in bench/cases.ts."""
    b = torch.arange(c['b']).unsqueeze(1)
    k = torch.arange(c['k']).unsqueeze(0)
    return ((5 * b + 3 * k) % 7 < 3).float()


def aunce_views(torch, c):
    """The two views [B, D, K] (official layout), unit vectors along D unless the case normalises."""
    g = torch.Generator().manual_seed(1)
    views = []
    for _ in range(2):
        v = torch.rand([c['b'], c['d'], c['k']], generator=g) * 2 - 1
        if not c['normalize']:
            v = v / v.norm(dim=1, keepdim=True)
        views.append(v.requires_grad_(True))
    return views


def aunce_loss(torch, view1, view2, target, positive, mode, tau=0.5, beta_act=1.2, beta_inact=None):
    """AUNCE loss of two views [B, D, K] and labels [B, K] in the linear domain (see the top).
    positive: one of max | mean | aug (official) or max | aug | centroid (paper) per AU."""
    official = mode == 'official'
    if beta_inact is None:
        beta_inact = 0.8 if official else 0.4
    out = torch.cat([view1, view2], 0)                                        # [N, D, K]
    n, dt = out.shape[0], out.dtype
    is_type = lambda t: torch.tensor([1.0 if p == t else 0.0 for p in positive], dtype=dt)
    t_target = torch.cat([target, target], 0)                                 # [N, K]
    gram = torch.einsum('ijk,jlk->ilk', out, out.transpose(0, 1))             # [N, N, K]
    scores = torch.exp(gram / tau)
    labels = t_target.unsqueeze(0)
    anchor_labels = t_target.unsqueeze(1)
    occur = (t_target == 1).to(dt)
    unoccur = (t_target == 0).to(dt)
    relation_pos = (labels == anchor_labels).to(dt)
    if not official:  # Pos(a): the anchor is not its own positive
        relation_pos = relation_pos * (1 - torch.eye(n, dtype=dt)).unsqueeze(-1)
    pos_max = (relation_pos * scores).max(dim=-2)[0] * is_type('max')
    e = torch.exp(torch.sum(view1 * view2, dim=-2) / tau)
    pos_ori = torch.cat([e, e], 0) * is_type('aug')
    if official:  # the arithmetic mean of the scores over all N columns, the anchor included
        pos_mean = (relation_pos * scores).mean(dim=-2) * is_type('mean')
    else:  # exp(<z_a, mu_a> / tau), mu_a the mean of the positives: <z_a, mu_a> from the Gram matrix
        weights = relation_pos / relation_pos.sum(dim=-2, keepdim=True)
        pos_mean = torch.exp((weights * gram).sum(dim=-2) / tau) * is_type('centroid')
    pos = pos_max + pos_mean + pos_ori
    relation_neg = (labels != anchor_labels).to(dt)
    neg = (relation_neg * scores ** beta_act).sum(-2) * occur + (relation_neg * scores ** beta_inact).sum(-2) * unoccur
    t_loss = -torch.log(pos / (pos + neg)).mean(dim=-2)
    return t_loss.mean()


def measure_aunce(torch, c, repeats, budget_ms):
    view1, view2 = aunce_views(torch, c)
    target = aunce_labels(torch, c)

    def run():
        with torch.enable_grad():
            v1, v2 = view1, view2
            if c['normalize']:
                v1 = torch.nn.functional.normalize(view1, dim=1)
                v2 = torch.nn.functional.normalize(view2, dim=1)
            aunce_loss(torch, v1, v2, target, c['positive'], c['mode']).backward()
        view1.grad = None
        view2.grad = None
    return time_samples(run, repeats, budget_ms)


def median(xs):
    s = sorted(xs)
    h = len(s) // 2
    return s[h] if len(s) % 2 else 0.5 * (s[h - 1] + s[h])


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--cases', default=os.path.join(here, '..', 'cases.json'), help="case list JSON ('-' for stdin)")
    p.add_argument('--repeats', type=int, default=10)
    p.add_argument('--budget-ms', type=float, default=3000.0)
    p.add_argument('--threads', type=int, default=os.cpu_count() or 1)
    args = p.parse_args()

    try:
        import torch
    except ImportError:
        print(f'torch: PyTorch is not importable by {sys.executable}; install it with `apt-get install python3-torch libopenblas0-pthread` '
              '(Debian/Ubuntu) or `pip install torch`', file=sys.stderr)
        return MISSING_EXIT

    data = json.load(sys.stdin if args.cases == '-' else open(args.cases))
    cases = data['cases'] if isinstance(data, dict) else data
    torch.set_num_threads(args.threads)
    torch.set_grad_enabled(False)
    a = torch.ones(64, 64)
    (a @ a).sum().item()  # maps the BLAS library, so that the row can name it
    blas = blas_library()
    if 'openblas' not in blas and 'mkl' not in blas.lower():
        print(f'torch: the BLAS in use ({blas}) may be the slow reference one; on Debian/Ubuntu '
              '`apt-get install libopenblas0-pthread` switches libblas.so.3 to OpenBLAS', file=sys.stderr)
    device = f'{cpu_model()} ({os.cpu_count()} threads), torch {torch.__version__}, {blas}'
    variant = f'cpu {torch.get_num_threads()} threads'
    measures = {'matmul': measure, 'aunce': measure_aunce}
    for c in cases:
        if c['op'] not in measures:
            print(f"torch: {c['name']}: skipped (no {c['op']} here)", file=sys.stderr)
            continue
        try:
            samples = measures[c['op']](torch, c, args.repeats, args.budget_ms)
        except Exception as err:  # one failing case must not end the run
            print(f"torch: {c['name']}: failed: {err}", file=sys.stderr)
            continue
        ms = median(samples)
        row = {
            'op': c['op'], 'case': c['name'], 'shape': shape_key(c), 'impl': 'torch', 'variant': variant,
            'medianMs': ms, 'minMs': min(samples), 'repeats': len(samples),
            'gflops': c['flops'] / ms / 1e6, 'gbps': c['bytes'] / ms / 1e6,
            'clock': 'wall', 'device': device, 'roofPct': None,
        }
        print(json.dumps(row), flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
