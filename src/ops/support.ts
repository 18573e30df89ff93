/**
 * What every op file uses: input checks that name the op and the shapes, kernel lookup, launch
 * geometry for 1-D work larger than one grid dimension, and shapes packed for uniforms.
 */
import type { Device } from '../runtime/device.js';
import type { Kernel, OverrideValues } from '../runtime/kernels.js';
import { shapeStr } from '../tensor/shape.js';
import type { DType, Tensor } from '../tensor/tensor.js';

/** Highest rank the strided kernels handle (shapes travel as two vec4<u32>). */
export const MAX_RANK = 8;

/** Checks that inputs live on one alive device, are not disposed and have the dtype wanted. */
export function checkInputs(op: string, inputs: readonly Tensor[], dtype: DType | null = 'f32'): Device {
  const device = inputs[0]!.device;
  device.assertAlive(op);
  for (const t of inputs) {
    if (t.device !== device) {
      throw new Error(`${op}: inputs are on different devices (${inputs.map((x) => `${x.describe()} on device ${x.device.id}`).join(', ')})`);
    }
    if (t.disposed) throw new Error(`${op}: input ${t.describe()} was disposed`);
    if (dtype && t.dtype !== dtype) {
      throw new TypeError(`${op}: expects ${dtype} inputs, got ${inputs.map((x) => x.describe()).join(', ')}`);
    }
    if (t.rank > MAX_RANK) throw new RangeError(`${op}: rank ${t.rank} of ${t.describe()} exceeds ${MAX_RANK}`);
  }
  return device;
}

export function kernel(device: Device, file: string, entry: string, overrides?: OverrideValues): Kernel {
  return device.kernels.get(file, entry, overrides);
}

/**
 * Workgroup counts for `n` items handled `perGroup` at a time, folded into two dimensions when
 * one would exceed the per-dimension limit. Kernels rebuild the linear index as
 * `gid.x + gid.y * (nwg.x * WG)` (see kernels/common notes in each file).
 */
export function grid1d(device: Device, n: number, perGroup: number): [number, number] {
  const groups = Math.ceil(n / perGroup);
  const maxX = device.limits.maxComputeWorkgroupsPerDimension ?? 65535;
  if (groups <= maxX) return [groups, groups === 0 ? 0 : 1];
  return [maxX, Math.ceil(groups / maxX)];
}

/** A shape (or strides) padded to MAX_RANK u32 values, leading dims first; `fill` pads the front. */
/**
 * The bindings named in `names` renamed to their vec4 twins (name + '4'): the kernels that read 4
 * values per invocation declare `x4: array<vec4<f32>>` next to `x: array<f32>`.
 */
export function vec4Bindings(buffers: Record<string, GPUBuffer>, names: readonly string[]): Record<string, GPUBuffer> {
  return Object.fromEntries(Object.entries(buffers).map(([k, b]) => [names.includes(k) ? `${k}4` : k, b]));
}

export function packDims(dims: readonly number[], fill = 1): number[] {
  if (dims.length > MAX_RANK) throw new RangeError(`rank ${dims.length} exceeds ${MAX_RANK}`);
  return [...new Array<number>(MAX_RANK - dims.length).fill(fill), ...dims];
}

export function describeShapes(tensors: readonly Tensor[]): string {
  return tensors.map((t) => shapeStr(t.shape)).join(' and ');
}
