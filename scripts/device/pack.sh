#!/usr/bin/env bash
# Packs, into .device-pack/ (git-ignored), what the benchmark needs on a lent GPU machine: an
# x86-64 Linux box with a GPU driver but no Node.js and no network (see the device tool's README).
#
#   bash scripts/device/pack.sh        # here, once per session that has a GPU (about a minute)
#
# then, through the device tool: run with carry [".device-pack"] and the command
# `bash scripts/device/bench.sh` (scripts/device/README.md). The pack holds:
#   node.tar.xz           this machine's node binary (self-contained but for glibc and libstdc++)
#   modules.tar.xz        node_modules (mocha and chai too, for the kernel tests there) without
#                         TypeScript's compiler and types, Dawn for linux-x64 only
#   bench-modules.tar.xz  TF.js core, CPU and WebGPU backends from bench/node_modules (not the
#                         WASM backend or onnxruntime: CPU references mean little next to a GPU)
#   debs/                 the Vulkan loader (libvulkan1), for images that lack it
set -euo pipefail
cd "$(dirname "$0")/../.."
PACK=.device-pack
[ -d node_modules ] || { echo "pack: run npm ci first (node_modules is missing)" >&2; exit 1; }
[ -d bench/node_modules/@tensorflow/tfjs-backend-webgpu ] || { echo "pack: run npm run bench:setup first (bench/node_modules lacks TF.js)" >&2; exit 1; }
[ "$(uname -m)" = x86_64 ] || { echo "pack: the GPU machines are x86-64; this one is $(uname -m), so its node binary would not run there" >&2; exit 1; }
rm -rf "$PACK"
mkdir -p "$PACK/debs"
node_bin=$(command -v node)
echo "pack: node $(node --version) from $node_bin"
tar -C "$(dirname "$node_bin")" -cf - "$(basename "$node_bin")" | xz -T0 -6 > "$PACK/node.tar.xz"
tar -cf - --exclude='node_modules/webgpu/dist/darwin-*' --exclude='node_modules/webgpu/dist/win32-*' \
  --exclude='node_modules/webgpu/dist/linux-arm64' --exclude='node_modules/typescript' --exclude='node_modules/@types' \
  node_modules | xz -T0 -6 > "$PACK/modules.tar.xz"
prod_list() { (cd "$1" && npm ls --omit=dev --parseable --all 2>/dev/null | sed "s|^$PWD/||" | grep '^node_modules/' | sort -u); }
prod_list bench | grep -v -e onnxruntime -e tfjs-backend-wasm -e adm-zip -e global-agent > "$PACK/.bench.list"
(cd bench && tar -cf - -T "../$PACK/.bench.list") | xz -T0 -6 > "$PACK/bench-modules.tar.xz"
rm -f "$PACK/.bench.list"
(cd "$PACK/debs" && apt-get download libvulkan1 >/dev/null) || echo "pack: could not download libvulkan1 (no Debian mirror?); the GPU image must have its own Vulkan loader" >&2
du -sh "$PACK"/* | sed 's/^/pack: /'
echo "pack: $(du -sm "$PACK" | cut -f1) MiB in $PACK (the device tool carries at most 64 MiB with the working tree)"
