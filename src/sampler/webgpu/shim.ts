// The few parts of tfjs-backend-webgpu the fused sampler uses: running a hand-written program
// and reading back a prefix of its output. We do not import the backend's types, so this
// module loads on any backend and fails with a clear message off WebGPU.
import * as tf from '@tensorflow/tfjs';

/** Minimal shape of tfjs-backend-webgpu's program interface. */
export interface Program {
  variableNames: string[];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number];
  uniforms?: string;
  getUserCode: () => string;
}

interface WebGPUBackendLike {
  device?: GPUDeviceLike;
  tensorMap?: { get(id: unknown): { resource?: unknown } | undefined };
  bufferManager?: { acquireBuffer(size: number, usage: number): GPUBufferLike; releaseBuffer(b: GPUBufferLike): void };
  commandEncoder?: { copyBufferToBuffer(src: unknown, so: number, dst: unknown, o: number, size: number): void };
  ensureCommandEncoderReady?(): void;
  endComputePassEncoder?(): void;
  submitQueue?(): void;
  runWebGPUProgram(
    program: Program,
    inputs: tf.TensorInfo[],
    dtype: 'float32',
    uniforms?: { type: 'int32' | 'float32'; data: number[] }[],
  ): tf.TensorInfo;
}

type GPUDeviceLike = object;
interface GPUBufferLike {
  size: number;
  mapAsync(mode: number): Promise<void>;
  getMappedRange(): ArrayBuffer;
  unmap(): void;
}

/** The per-dispatch values every fused kernel reads; declared and passed in this order. */
export interface Uniforms {
  row: number;
  col: number;
  channel: number;
  invTemp: number;
  guide: number;
}
const UNIFORMS = 'row : i32, col : i32, channel : i32, invTemp : f32, guide : f32,';

/** `groups` workgroups of `wg` threads, a flat float output of `size` floats. */
export function program(key: string, inputs: string[], groups: number, size: number, wg: number, code: () => string): Program {
  return {
    variableNames: inputs,
    outputShape: [size],
    shaderKey: key,
    dispatchLayout: { x: [0] },
    dispatch: [groups, 1, 1],
    workgroupSize: [wg, 1, 1],
    uniforms: UNIFORMS,
    getUserCode: code,
  };
}

export function isWebGPUBackend(): boolean {
  return tf.getBackend() === 'webgpu';
}

/** One dispatch of `prog` on the current (WebGPU) backend; the output as a tensor. */
export function runProgram(prog: Program, inputs: tf.Tensor[], u: Uniforms): tf.Tensor {
  const backend = tf.backend() as unknown as WebGPUBackendLike;
  // runWebGPUProgram overwrites program.shaderKey with its extended cache key: give it a
  // fresh copy each time, or the key grows on every call and every dispatch recompiles
  const info = backend.runWebGPUProgram({ ...prog }, inputs, 'float32', [
    { type: 'int32', data: [u.row] },
    { type: 'int32', data: [u.col] },
    { type: 'int32', data: [u.channel] },
    { type: 'float32', data: [u.invTemp] },
    { type: 'float32', data: [u.guide] },
  ]);
  return tf.engine().makeTensorFromTensorInfo(info);
}

/**
 * The first `floats` values of a tensor on the WebGPU backend: a copy of just that range
 * into a staging buffer (tfjs's data() would map the whole buffer, every stream's state
 * included). Falls back to data() where the backend's internals are not as expected.
 */
export async function readFirst(t: tf.Tensor, floats: number): Promise<{ data: Float32Array; read: number }> {
  const b = tf.backend() as unknown as WebGPUBackendLike;
  const src = b.tensorMap?.get(t.dataId)?.resource as { size?: number } | undefined;
  const usage = (globalThis as { GPUBufferUsage?: { COPY_DST: number; MAP_READ: number } }).GPUBufferUsage;
  const mode = (globalThis as { GPUMapMode?: { READ: number } }).GPUMapMode;
  if (!src || typeof src.size !== 'number' || !b.bufferManager || !b.ensureCommandEncoderReady || !b.endComputePassEncoder || !b.submitQueue || !usage || !mode) {
    const all = (await t.data()) as Float32Array;
    return { data: all.slice(0, floats), read: all.length };
  }
  const bytes = floats * 4;
  const staging = b.bufferManager.acquireBuffer(bytes, usage.COPY_DST | usage.MAP_READ);
  b.ensureCommandEncoderReady();
  b.endComputePassEncoder();
  b.commandEncoder!.copyBufferToBuffer(src, 0, staging, 0, bytes);
  b.submitQueue();
  await staging.mapAsync(mode.READ);
  const out = new Float32Array(staging.getMappedRange().slice(0, bytes));
  staging.unmap();
  b.bufferManager.releaseBuffer(staging);
  return { data: out, read: floats };
}
