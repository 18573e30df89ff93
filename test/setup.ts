// Root hooks: one device for the whole run (on this machine and in CI: lavapipe). A missing
// adapter fails the run; GPU tests never skip.
import { openDevice, type Device } from '../src/index.js';

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
