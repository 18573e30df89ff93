/** Errors raised by the runtime. Each names the kernel (`file:entry`) or op it concerns. */

export class GpuError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** No WebGPU adapter could be found; the message says how to get one. */
export class NoAdapterError extends GpuError {}

/** WGSL that does not parse or validate; names file, entry (where known), line and column. */
export class KernelCompileError extends GpuError {
  constructor(
    readonly kernel: string,
    readonly line: number,
    readonly column: number,
    detail: string,
  ) {
    super(`${kernel}:${line}:${column}: ${detail}`);
  }
}

/** Bindings handed to a kernel that do not match what its WGSL declares. */
export class KernelBindingError extends GpuError {}

/** The device was destroyed or lost before the call. */
export class DeviceLostError extends GpuError {}
