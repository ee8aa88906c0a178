#!/usr/bin/env bash
# Packs what a GPU machine without network or npm needs to run the fused sampler's bench on
# its own Vulkan driver, into .gpu-pack/ (ignored by git): bench.mjs (scripts/gpu-bench.ts
# bundled by esbuild, tfjs and the webgpu package inside), Dawn's dawn.node, this machine's
# Node binary and libvulkan.so.1 (used only where the machine has none), models/faces, and
# run.sh; the three binaries xz-compressed. At most 64 MiB (checked).
#   bash scripts/gpu-pack.sh            # pack
#   bash .gpu-pack/run.sh [--rows R]    # on the GPU machine (or here, on SwiftShader)
# With the device tool: run(command="bash .gpu-pack/run.sh", carry=[".gpu-pack"]).
set -euo pipefail
cd "$(dirname "$0")/.."
out=.gpu-pack
rm -rf "$out"
mkdir -p "$out/dist/linux-x64" "$out/models/faces"
npx esbuild scripts/gpu-bench.ts --bundle --platform=node --format=esm --target=node18 --log-level=warning \
  --outfile="$out/bench.mjs" --external:@tensorflow/tfjs-node --external:@tensorflow/tfjs-backend-wasm \
  --banner:js="import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);"
# the webgpu package loads dist/<platform>-<arch>/dawn.node beside its own file: beside bench.mjs here
xz -T0 -6 -c node_modules/webgpu/dist/linux-x64/dawn.node > "$out/dist/linux-x64/dawn.node.xz"
xz -T0 -6 -c "$(command -v node)" > "$out/node.xz"
cp -L /usr/lib/x86_64-linux-gnu/libvulkan.so.1 "$out/libvulkan.so.1"
cp models/faces/model.json models/faces/group1-shard1of1.bin "$out/models/faces/"
cat > "$out/run.sh" <<'RUN'
#!/usr/bin/env bash
# Runs the fused sampler's bench here: the machine's Node (>= 18) if it has one, else the
# packed one; the machine's libvulkan if it has one, else the packed loader; the vendor's
# Vulkan driver (NVIDIA's where the device tool mounts it), else whatever the loader finds.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
[ -f "$here/dist/linux-x64/dawn.node" ] || xz -dkc "$here/dist/linux-x64/dawn.node.xz" > "$here/dist/linux-x64/dawn.node"
node=node
# GPU_PACK_OWN_NODE=1 uses the packed Node even where the machine has one (to test the pack)
if [ -n "${GPU_PACK_OWN_NODE:-}" ] || ! command -v node >/dev/null 2>&1 || [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 18 ]; then
  [ -x "$here/node" ] || { xz -dkc "$here/node.xz" > "$here/node"; chmod +x "$here/node"; }
  node="$here/node"
fi
ldconfig -p 2>/dev/null | grep -q libvulkan.so.1 || export LD_LIBRARY_PATH="$here${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
nv=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
if [ -z "${VK_ICD_FILENAMES:-}" ] && [ -f "$nv" ]; then export VK_ICD_FILENAMES="$nv" VK_DRIVER_FILES="$nv"; fi
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}"
command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi --query-gpu=name,driver_version --format=csv,noheader >&2 || true
echo "node $("$node" --version), VK_ICD_FILENAMES=${VK_ICD_FILENAMES:-(loader default)}" >&2
"$node" "$here/bench.mjs" --models "$here/models" "$@"
RUN
chmod +x "$out/run.sh"
size=$(du -sb "$out" | cut -f1)
echo "packed $out: $((size / 1048576)) MiB" >&2
ls -la "$out" "$out/dist/linux-x64" >&2
[ "$size" -le $((64 * 1048576)) ] || { echo "gpu-pack: $out is over 64 MiB" >&2; exit 1; }
