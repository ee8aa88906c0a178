// tfjs-backend-webgpu in Node through the `webgpu` package (Dawn's Node bindings). It needs a
// Vulkan driver: the machine's own where it has a GPU device node, else the SwiftShader one that Debian's
// chromium package installs (VK_ICD_FILENAMES is pointed at it when the caller set none).
// Every failure is one line that says why (no bindings, no libvulkan, no adapter).
import * as tf from '@tensorflow/tfjs';
import fs from 'node:fs';

/** The Vulkan ICD tried when VK_ICD_FILENAMES is unset and the loader finds no GPU driver. */
export const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

export interface AdapterInfo {
  vendor: string;
  architecture: string;
  description: string;
  device: string;
}

interface GpuLike {
  requestAdapter(o?: object): Promise<{ info?: Partial<AdapterInfo>; limits?: Record<string, number> } | null>;
}

/** navigator.gpu from Dawn's bindings, with the WebGPU globals (GPUBufferUsage, ...) tfjs reads. */
async function dawnGpu(): Promise<GpuLike> {
  let mod: { create: (flags: string[]) => GpuLike; globals: object };
  try {
    mod = (await import('webgpu')) as unknown as typeof mod;
  } catch (e) {
    const why = (e as Error).message.split('\n')[0];
    throw new Error(`webgpu backend: Dawn's Node bindings (npm package "webgpu") failed to load: ${why}${/libvulkan/.test(why) ? ' (install libvulkan1)' : ''}`);
  }
  Object.assign(globalThis, mod.globals);
  const g = globalThis as { navigator?: { gpu?: GpuLike } };
  const gpu = mod.create([]);
  // Node 21+ has a read-only navigator; 20 has none
  if (g.navigator === undefined) Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
  else if (!g.navigator.gpu) Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true });
  return g.navigator!.gpu!;
}

let info: AdapterInfo | null = null;

/**
 * Starts tfjs on WebGPU in Node; returns the adapter's description. Throws one line when
 * there is no adapter (no Vulkan driver, or one Dawn refuses).
 */
export async function initWebGPUNode(): Promise<AdapterInfo> {
  if (info && tf.getBackend() === 'webgpu') return info;
  if (process.env.VK_ICD_FILENAMES === undefined && fs.existsSync(SWIFTSHADER_ICD) && !hasGpuDevice()) {
    process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
  }
  const gpu = await dawnGpu();
  const adapter = await gpu.requestAdapter();
  if (!adapter) {
    const icd = process.env.VK_ICD_FILENAMES ?? 'the loader\'s default drivers';
    throw new Error(`webgpu backend: no WebGPU adapter (Vulkan driver tried: ${icd}; on Debian install chromium for SwiftShader, or a GPU's Vulkan driver)`);
  }
  const a = adapter.info ?? {};
  info = { vendor: a.vendor ?? '', architecture: a.architecture ?? '', description: a.description ?? '', device: a.device ?? '' };
  await import('@tensorflow/tfjs-backend-webgpu');
  if (!(await tf.setBackend('webgpu'))) throw new Error('webgpu backend: tfjs could not start on the WebGPU adapter');
  await tf.ready();
  return info;
}

/** The adapter tfjs runs on, once initWebGPUNode has succeeded. */
export function webgpuAdapterInfo(): AdapterInfo | null {
  return info;
}

/** A GPU device node (NVIDIA's, or a DRM render node): then the loader's own drivers serve, not SwiftShader. */
function hasGpuDevice(): boolean {
  try {
    if (fs.existsSync('/dev/nvidia0')) return true;
    return fs.readdirSync('/dev/dri').some((f) => f.startsWith('renderD'));
  } catch {
    return false;
  }
}
