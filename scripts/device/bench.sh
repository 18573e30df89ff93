#!/usr/bin/env bash
# Runs the kernel tests and the benchmark on a lent GPU machine (see scripts/device/README.md),
# from the repository root, with .device-pack (scripts/device/pack.sh) carried. Writes at most 8
# files to $OUT, the most the device tool brings back: env.txt, tests.txt, and per part a table
# (.txt) and, for matmul and attention, the rows (.json).
# Each part gets its own time limit, so that a slow part costs only itself; BUDGET_S (default 500)
# is the whole run's. AUNCE_DEVICE_QUICK=1 runs only the smallest cases (to try the script here).
set -uo pipefail
cd "$(dirname "$0")/../.."
PACK=.device-pack
OUT=${OUT:-/tmp/aunce-device-out}
BUDGET_S=${BUDGET_S:-500}
START=$(date +%s)
mkdir -p "$OUT" /tmp/aunce-node
[ -f "$PACK/node.tar.xz" ] || { echo "bench.sh: $PACK is missing: run scripts/device/pack.sh here and carry it" >&2; exit 1; }
xz -dc "$PACK/node.tar.xz" | tar -C /tmp/aunce-node -xf -
export PATH=/tmp/aunce-node:$PATH
[ -d node_modules/webgpu ] || xz -dc "$PACK/modules.tar.xz" | tar -xf -
[ -d bench/node_modules/@tensorflow/tfjs-core ] || xz -dc "$PACK/bench-modules.tar.xz" | tar -C bench -xf -
if ! ldconfig -p | grep -q 'libvulkan.so.1'; then
  for f in "$PACK"/debs/*.deb; do [ -f "$f" ] && dpkg -x "$f" /; done
  ldconfig
fi
icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
if [ -z "${VK_DRIVER_FILES:-}" ] && [ -f "$icd" ]; then export VK_DRIVER_FILES=$icd; fi
{
  echo "# $(date -u +%FT%TZ) $(uname -srm), node $(node --version) at $(command -v node)"
  nvidia-smi -L 2>&1 || true
  echo "VK_DRIVER_FILES=${VK_DRIVER_FILES:-}"
  node bin/aunce.js doctor 2>&1
} > "$OUT/env.txt"
left() { echo $((BUDGET_S - ($(date +%s) - START))); }
# part NAME SHARE JSON ARGS...: `aunce bench ARGS` within SHARE% of the time left; JSON=json also
# keeps the rows (8 files come back at most)
part() {
  local name=$1 share=$2 json=$3
  shift 3
  local limit=$(( $(left) * share / 100 ))
  if [ "$limit" -lt 20 ]; then echo "bench.sh: no time left for $name" >> "$OUT/env.txt"; return; fi
  echo "bench.sh: $name, at most ${limit} s" >&2
  local rows=()
  [ "$json" = json ] && rows=(--json "$OUT/$name.json")
  timeout "$limit" node bin/aunce.js bench "$@" "${rows[@]}" > "$OUT/$name.txt" 2>&1
  echo "bench.sh: $name exited $? after $(( $(date +%s) - START )) s in all" >> "$OUT/env.txt"
}
if [ "${AUNCE_DEVICE_QUICK:-0}" = 1 ]; then
  part square 100 json --op matmul --quick --impl ours,tfjs-webgpu --repeats 3
  exit 0
fi
# shares of the time left when each part starts: the kernel tests (correctness where subgroups
# are not 8 lanes wide, which this project's CI cannot see), every matmul case (the 1024^3 row of
# issue 3, the Swin-shaped Linear rows), the fused attention, the AUNCE loss, the encoder
tests() {
  local limit=$(( $(left) * 20 / 100 ))
  timeout "$limit" node node_modules/mocha/bin/mocha.js 'test/ops/**/*.test.ts' > "$OUT/tests.txt" 2>&1
  echo "bench.sh: kernel tests exited $? after $(( $(date +%s) - START )) s in all" >> "$OUT/env.txt"
}
tests
part matmul 45 json --op matmul --impl ours,naive,tfjs-webgpu --rounds 2
part attention 40 json --op attention --impl ours,naive,tfjs-webgpu --rounds 3
part aunce 40 table --op aunce --impl ours,naive
part encoder 100 table --op encoder --impl ours
