#!/usr/bin/env python3
"""PyTorch CPU runner of the kernel benchmark harness.

Reads the shared case list (bench/cases.json, or the JSON given by --cases, '-' for stdin),
times torch.matmul on each case after a warm-up, and prints one JSON row per line on stdout in the
format of bench/types.ts (the TypeScript harness spawns this script and merges its rows).
Wall time with time.perf_counter(); matmul on CPU tensors is synchronous.

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
    run = lambda: torch.matmul(a, b, out=out)
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
    for c in cases:
        if c['op'] != 'matmul':
            continue
        try:
            samples = measure(torch, c, args.repeats, args.budget_ms)
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
