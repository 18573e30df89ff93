// The README's example: a small computation, its gradient, one read-back. Run: npx tsx examples/quickstart.ts
import { openDevice, Tensor } from '../src/index.js';

const device = await openDevice(); // the adapter's limits and optional features
console.log(`device: ${device.name}`);
const x = Tensor.from(device, [1, 2, 3, 4, 5, 6], [2, 3], { requiresGrad: true });
const w = Tensor.from(device, [0.5, -1, 2], [3], { requiresGrad: true });
const loss = x.mul(w).gelu().sum(); // recorded on the tape; nothing waits yet
loss.backward(); // reverse topological order, every gradient's shape checked
console.log(`loss ${(await loss.item()).toFixed(6)}`); // one submit, then a read-back
console.log(`dloss/dx ${Array.from(await x.grad!.toArray(), (v) => v.toFixed(4)).join(' ')}`);
console.log(`dloss/dw ${Array.from(await w.grad!.toArray(), (v) => v.toFixed(4)).join(' ')}`);
device.destroy(); // releases Dawn's handle: the process can exit
