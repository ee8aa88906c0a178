/// <reference types="@webgpu/types" />
// The fused kernels run on tfjs's own GPUDevice but outside tfjs: our buffers (read_write,
// updated in place), our pipelines (explicit layouts, compiled ahead with
// createComputePipelineAsync) and our submits, so a whole image row goes to the GPU as one
// command buffer. Only the model's masked weights and conditioning terms are computed with
// tfjs ops, then copied GPU to GPU. Every kernel sees the same per-dispatch uniforms (one
// 256-byte slot each, picked by a dynamic offset).
import * as tf from '@tensorflow/tfjs';

/** A storage binding: the name the WGSL uses, and whether the kernel writes it. */
export interface Binding {
  name: string;
  write: boolean;
}

/** One kernel: its WGSL body (defines `fn main()`), bindings, workgroups and threads per workgroup. */
export interface Kernel {
  label: string;
  bindings: Binding[];
  groups: number;
  wg: number;
  body: string;
}

/** The per-dispatch values every kernel reads (one slot of the uniform buffer each), in this order. */
export interface Slot {
  row: number;
  col: number;
  channel: number;
  /** which drawn sub-pixel this is (its uniform's row in the draws) */
  step: number;
  /** raster index of the sub-pixel drawn by the previous dispatch (-1: none); the mixture learns from it */
  pending: number;
  invTemp: number;
  guide: number;
}
export const SLOT_BYTES = 256;
const PARAMS = 'struct Params { row : i32, col : i32, channel : i32, step : i32, pending : i32, invTemp : f32, guide : f32, }';

export function writeSlot(view: DataView, i: number, s: Slot): void {
  const o = i * SLOT_BYTES;
  [s.row, s.col, s.channel, s.step, s.pending].forEach((v, j) => view.setInt32(o + 4 * j, v, true));
  view.setFloat32(o + 20, s.invTemp, true);
  view.setFloat32(o + 24, s.guide, true);
}

/** The whole WGSL of a kernel: uniforms at binding 0, storage buffers from binding 1 in order. */
export function kernelCode(k: Kernel): string {
  const decl = k.bindings.map((b, i) => `@group(0) @binding(${i + 1}) var<storage, ${b.write ? 'read_write' : 'read'}> ${b.name} : array<f32>;`);
  return `${PARAMS}
@group(0) @binding(0) var<uniform> uniforms : Params;
${decl.join('\n')}
var<private> workgroupId : vec3<u32>;
var<private> localId : vec3<u32>;
${k.body}
@compute @workgroup_size(${k.wg}, 1, 1)
fn _start(@builtin(workgroup_id) w : vec3<u32>, @builtin(local_invocation_id) l : vec3<u32>) {
  workgroupId = w;
  localId = l;
  main();
}`;
}

/** What the fused sampler has done, summed over every run (tests and the bench take differences). */
export const fusedCounts = { submits: 0, readbacks: 0, launches: 0, pipelines: 0 };

interface BackendLike {
  device?: GPUDevice;
  tensorMap?: { get(id: unknown): { resource?: unknown; values?: unknown } | undefined };
  commandEncoder?: GPUCommandEncoder | null;
  ensureCommandEncoderReady?(): void;
  endComputePassEncoder?(): void;
  submitQueue?(): void;
}

/** tfjs's GPUDevice; one line when tfjs is not on WebGPU. */
export function gpuDevice(): GPUDevice {
  const b = tf.backend() as unknown as BackendLike;
  if (tf.getBackend() !== 'webgpu' || !b.device) throw new Error(`the fused sampler needs the webgpu backend (current: ${tf.getBackend()})`);
  return b.device;
}

export function isWebGPUBackend(): boolean {
  return tf.getBackend() === 'webgpu';
}

// Pipelines by device and WGSL text: compiled once per model shape, kept for later runs.
const pipelines = new WeakMap<GPUDevice, Map<string, Promise<{ pipeline: GPUComputePipeline; layout: GPUBindGroupLayout }>>>();

function layoutOf(device: GPUDevice, k: Kernel): GPUBindGroupLayout {
  const entries: GPUBindGroupLayoutEntry[] = [
    { binding: 0, visibility: GPUShaderStage.COMPUTE, buffer: { type: 'uniform', hasDynamicOffset: true, minBindingSize: 32 } },
    ...k.bindings.map((b, i) => ({ binding: i + 1, visibility: GPUShaderStage.COMPUTE, buffer: { type: (b.write ? 'storage' : 'read-only-storage') as GPUBufferBindingType } })),
  ];
  return device.createBindGroupLayout({ label: k.label, entries });
}

/**
 * The kernel's pipeline, compiled without blocking (createComputePipelineAsync); the first
 * time compiles (the run times it: FusedStats.compileMs; fusedCounts.pipelines counts them). A shader that fails to compile
 * rejects with one line.
 */
export function pipelineFor(device: GPUDevice, k: Kernel): Promise<{ pipeline: GPUComputePipeline; layout: GPUBindGroupLayout }> {
  let byCode = pipelines.get(device);
  if (!byCode) pipelines.set(device, (byCode = new Map()));
  const code = kernelCode(k);
  let p = byCode.get(code);
  if (!p) {
    const layout = layoutOf(device, k);
    const module = device.createShaderModule({ label: k.label, code });
    p = device
      .createComputePipelineAsync({ label: k.label, layout: device.createPipelineLayout({ bindGroupLayouts: [layout] }), compute: { module, entryPoint: '_start' } })
      .then((pipeline) => {
        fusedCounts.pipelines++;
        return { pipeline, layout };
      })
      .catch(async (e: Error) => {
        byCode!.delete(code);
        const info = await module.getCompilationInfo().catch(() => null);
        const first = info?.messages.find((m) => m.type === 'error');
        const why = first ? `line ${first.lineNum}: ${first.message}` : String(e.message);
        throw new Error(`the fused sampler's ${k.label} kernel did not compile: ${why.split('\n')[0]}`);
      });
    byCode.set(code, p);
  }
  return p;
}

/** True once every kernel of this list is compiled on this device (no compile wait ahead). */
export function compiled(device: GPUDevice, ks: Kernel[]): boolean {
  const byCode = pipelines.get(device);
  return ks.every((k) => byCode?.has(kernelCode(k)));
}

/**
 * A new storage buffer holding a tensor's values, copied on the GPU when the tensor lives
 * there (tfjs's pending work is submitted first, so the copy sees it), else written from
 * its CPU values. No readback either way.
 */
export function bufferFromTensor(device: GPUDevice, t: tf.Tensor, minFloats = 1): GPUBuffer {
  const bytes = Math.max(t.size, minFloats) * 4;
  const out = device.createBuffer({ label: 'fused', size: bytes, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC });
  const b = tf.backend() as unknown as BackendLike;
  const data = b.tensorMap?.get(t.dataId);
  const res = data?.resource as GPUBuffer | undefined;
  if (res && typeof res.size === 'number' && b.ensureCommandEncoderReady && b.endComputePassEncoder && b.submitQueue) {
    b.ensureCommandEncoderReady();
    b.endComputePassEncoder();
    b.commandEncoder!.copyBufferToBuffer(res, 0, out, 0, t.size * 4);
    b.submitQueue();
    fusedCounts.submits++;
  } else {
    const values = data?.values instanceof Float32Array ? data.values : (t.dataSync() as Float32Array);
    device.queue.writeBuffer(out, 0, values.buffer, values.byteOffset, t.size * 4);
  }
  return out;
}

/** What a kernel needs that a device may lack: one line naming the limit, or null. */
export function missingLimit(device: GPUDevice, ks: Kernel[], sharedBytes: number, bufferBytes: number): string | null {
  const l = device.limits;
  const storage = Math.max(...ks.map((k) => k.bindings.length));
  const wg = Math.max(...ks.map((k) => k.wg));
  if (storage > l.maxStorageBuffersPerShaderStage) return `${storage} storage buffers per kernel (the adapter allows ${l.maxStorageBuffersPerShaderStage})`;
  if (wg > l.maxComputeInvocationsPerWorkgroup || wg > l.maxComputeWorkgroupSizeX) return `${wg} threads per workgroup (the adapter allows ${Math.min(l.maxComputeInvocationsPerWorkgroup, l.maxComputeWorkgroupSizeX)})`;
  if (sharedBytes > l.maxComputeWorkgroupStorageSize) return `${Math.ceil(sharedBytes / 1024)} KB of workgroup memory (the adapter allows ${l.maxComputeWorkgroupStorageSize / 1024} KB)`;
  if (bufferBytes > l.maxStorageBufferBindingSize) return `a ${Math.ceil(bufferBytes / 2 ** 20)} MB buffer (the adapter allows ${Math.floor(l.maxStorageBufferBindingSize / 2 ** 20)} MB)`;
  if (SLOT_BYTES % l.minUniformBufferOffsetAlignment !== 0) return `uniform offsets of ${SLOT_BYTES} bytes (the adapter aligns to ${l.minUniformBufferOffsetAlignment})`;
  return null;
}
