/**
 * Learning-rate schedules, as functions of the 1-based epoch (and, for cosine, the step within the
 * run). `released` is the released training code's `step` schedule (spec §6.3):
 * lr = base · gamma^⌊epoch / stepSize⌋, where the released code passes its `--init_lr` only in
 * epoch 1 and the function default (1e-5) afterwards; `quirk: false` uses `base` throughout.
 */

export type Schedule =
  | { kind: 'constant'; lr: number }
  | { kind: 'step'; lr: number; gamma: number; stepSize: number; quirk?: boolean; defaultLr?: number }
  | { kind: 'cosine'; lr: number; minLr?: number; warmupSteps?: number; totalSteps: number };

/** The released code's schedule: 1e-5, × 0.1 every 60 epochs, with its init-lr quirk. */
export const RELEASED_SCHEDULE: Schedule = { kind: 'step', lr: 1e-5, gamma: 0.1, stepSize: 60, quirk: true, defaultLr: 1e-5 };

/** lr at 1-based `epoch`, and 0-based `step` counted over the whole run (cosine only). */
export function learningRate(s: Schedule, epoch: number, step = 0): number {
  if (!Number.isInteger(epoch) || epoch < 1) throw new RangeError(`learningRate: epoch must be an integer >= 1, got ${epoch}`);
  switch (s.kind) {
    case 'constant':
      return s.lr;
    case 'step': {
      const base = s.quirk && epoch > 1 ? (s.defaultLr ?? 1e-5) : s.lr;
      return base * Math.pow(s.gamma, Math.floor(epoch / s.stepSize));
    }
    case 'cosine': {
      const warm = s.warmupSteps ?? 0;
      const min = s.minLr ?? 0;
      if (step < warm) return (s.lr * (step + 1)) / warm;
      const span = Math.max(1, s.totalSteps - warm);
      const t = Math.min(1, (step - warm) / span);
      return min + 0.5 * (s.lr - min) * (1 + Math.cos(Math.PI * t));
    }
  }
}

/** Validates a schedule object from a config file; errors name the field. */
export function parseSchedule(v: unknown, where = 'schedule'): Schedule {
  if (typeof v !== 'object' || v === null) throw new TypeError(`${where}: expected an object with a 'kind'`);
  const o = v as Record<string, unknown>;
  const num = (key: string, opt = false): number | undefined => {
    const x = o[key];
    if (x === undefined && opt) return undefined;
    if (typeof x !== 'number' || !Number.isFinite(x) || x < 0) throw new TypeError(`${where}.${key}: expected a finite number >= 0, got ${JSON.stringify(x)}`);
    return x;
  };
  switch (o.kind) {
    case 'constant':
      return { kind: 'constant', lr: num('lr')! };
    case 'step': {
      const stepSize = num('stepSize')!;
      if (!Number.isInteger(stepSize) || stepSize < 1) throw new TypeError(`${where}.stepSize: expected a positive integer, got ${stepSize}`);
      return { kind: 'step', lr: num('lr')!, gamma: num('gamma')!, stepSize, quirk: o.quirk === true, defaultLr: num('defaultLr', true) };
    }
    case 'cosine':
      return { kind: 'cosine', lr: num('lr')!, minLr: num('minLr', true), warmupSteps: num('warmupSteps', true), totalSteps: num('totalSteps')! };
    default:
      throw new TypeError(`${where}.kind: expected 'constant', 'step' or 'cosine', got ${JSON.stringify(o.kind)}`);
  }
}
