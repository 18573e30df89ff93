/**
 * The part of TF.js used by the two TF.js runners, typed here so that type checking does not need
 * bench/node_modules, and the one place that loads @tensorflow/tfjs-core (both backends must
 * register with the same copy).
 */
import { importOptional } from '../optional.js';

export interface TfTensor {
  dispose(): void;
  data(): Promise<ArrayLike<number>>;
}

export interface TfTimingInfo {
  kernelMs: number | { error: string };
  wallMs: number;
}

export interface Tf {
  version_core: string;
  tensor(values: Float32Array, shape: number[], dtype: 'float32'): TfTensor;
  matMul(a: TfTensor, b: TfTensor, transposeA: boolean, transposeB: boolean): TfTensor;
  add(a: TfTensor, b: TfTensor): TfTensor;
  sub(a: TfTensor, b: TfTensor): TfTensor;
  mul(a: TfTensor, b: TfTensor | number): TfTensor;
  sum(x: TfTensor, axis?: number, keepDims?: boolean): TfTensor;
  softmax(x: TfTensor, dim?: number): TfTensor;
  reshape(x: TfTensor, shape: number[]): TfTensor;
  tidy<T extends TfTensor | TfTensor[]>(f: () => T): T;
  setBackend(name: string): Promise<boolean>;
  ready(): Promise<void>;
  getBackend(): string;
  backend(): unknown;
  removeBackend(name: string): void;
  findBackend(name: string): unknown;
  time(f: () => void): Promise<TfTimingInfo>;
  env(): { set(flag: string, value: unknown): void; getAsync(flag: string): Promise<unknown> };
}

let loaded: Promise<Tf> | null = null;

/** Loads tfjs-core once. */
export function loadTfCore(): Promise<Tf> {
  loaded ??= importOptional<Tf & { default?: Tf }>('@tensorflow/tfjs-core').then((mod) => mod.default ?? mod);
  return loaded;
}
