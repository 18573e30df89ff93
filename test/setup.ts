// Root hooks: one device for the whole run (on this machine and in CI: lavapipe). A missing
// adapter fails the run; GPU tests never skip.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDevice, type Device } from '../src/index.js';

// Measured kernel choices made by tests go to a fresh folder, never the user's cache.
process.env.AUNCE_CACHE_DIR = mkdtempSync(join(tmpdir(), 'aunce-test-cache-'));
delete process.env.AUNCE_MATMUL_VARIANT;

let device: Device | null = null;

export async function sharedDevice(): Promise<Device> {
  device ??= await openDevice();
  return device;
}

export const mochaHooks = {
  async beforeAll(this: Mocha.Context) {
    this.timeout(120000);
    await sharedDevice();
  },
  async afterAll() {
    device?.destroy();
    device = null;
  },
};
