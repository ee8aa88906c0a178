// Picks the fastest tfjs backend that really works here, trying each in turn and keeping
// the reason every skipped one was not used (the page shows them). A software GPU
// (SwiftShader) is skipped unless asked for: wasm is several times faster on the same
// cores. wasm runs tfjs's threaded SIMD binary, one thread a core, where the page is
// cross-origin isolated (SharedArrayBuffer); `threads: 1` keeps the single-thread binary.
import * as tf from '@tensorflow/tfjs';
import { BACKEND_ORDER, type BackendName, type BackendReport } from './protocol';

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

interface AdapterLike {
  /** older Chromium: on the adapter itself */
  isFallbackAdapter?: boolean;
  info?: { vendor?: string; architecture?: string; description?: string; isFallbackAdapter?: boolean };
}

/** The WebGPU adapter found by precheck, described for the page. */
let adapterInfo: { device?: string; software?: boolean } = {};

/** How the wasm backend runs: its .wasm folder, and threads (undefined: one a core where possible). */
export interface WasmOptions {
  base: string;
  threads?: number;
}

const SOFTWARE_GPU = /swiftshader|llvmpipe|softpipe|software|basic render/i;

/** Why a backend cannot run here, or undefined if it is worth trying; `auto`: no backend was asked for. */
async function precheck(name: BackendName, wasmOpts: WasmOptions, auto: boolean): Promise<string | undefined> {
  if (name === 'webgpu') {
    const gpu = (navigator as unknown as { gpu?: { requestAdapter(): Promise<AdapterLike | null> } }).gpu;
    if (!gpu) return 'navigator.gpu is missing (WebGPU is off in this browser)';
    const adapter = await gpu.requestAdapter();
    if (!adapter) return 'no WebGPU adapter (requestAdapter returned null)';
    const info = adapter.info ?? {};
    const device = [info.vendor, info.architecture, info.description].filter(Boolean).join(' ');
    adapterInfo = { device: device || undefined, software: info.isFallbackAdapter === true || adapter.isFallbackAdapter === true || SOFTWARE_GPU.test(device) };
    if (auto && adapterInfo.software) return `software adapter (${device || 'fallback'}): wasm is faster on this CPU; ?backend=webgpu forces it`;
    await import('@tensorflow/tfjs-backend-webgpu');
  } else if (name === 'webgl') {
    if (typeof OffscreenCanvas === 'undefined') return 'OffscreenCanvas is missing in workers';
    const gl = new OffscreenCanvas(1, 1).getContext('webgl2');
    if (!gl) return 'no WebGL2 context';
    if (auto) {
      const dbg = gl.getExtension('WEBGL_debug_renderer_info');
      const renderer = String(dbg ? gl.getParameter(dbg.UNMASKED_RENDERER_WEBGL) : gl.getParameter(gl.RENDERER));
      if (adapterInfo.software || SOFTWARE_GPU.test(renderer)) return `software renderer (${renderer}): wasm is faster on this CPU; ?backend=webgl forces it`;
    }
  } else if (name === 'wasm') {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    wasm.setWasmPaths(wasmOpts.base);
    // the single-thread SIMD binary when asked for, or where threads cannot run anyway
    const want = wasmOpts.threads ?? Math.min(8, Math.max(1, navigator.hardwareConcurrency || 1));
    if (want === 1) tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
    else {
      wasm.setThreadsCount(want);
      // tfjs caps its pool at hardwareConcurrency / 2 (it takes every core for two
      // hyperthreads), which on a 2-core machine is one thread: it reads the count when its
      // module starts, so it sees twice the threads wanted until then (see withCores)
      coresForTfjs = 2 * want;
    }
  }
  return undefined;
}

/** What tfjs-wasm's start-up reads as navigator.hardwareConcurrency (undefined: the real one). */
let coresForTfjs: number | undefined;

/** Runs `f` (a backend start) with navigator.hardwareConcurrency reading coresForTfjs. */
async function withCores<T>(f: () => Promise<T>): Promise<T> {
  if (coresForTfjs === undefined || typeof navigator === 'undefined') return f();
  Object.defineProperty(navigator, 'hardwareConcurrency', { configurable: true, get: () => coresForTfjs });
  try {
    return await f();
  } finally {
    delete (navigator as { hardwareConcurrency?: number }).hardwareConcurrency; // the prototype's getter again
  }
}

/** A small op read back: catches backends that initialise but compute nothing. */
async function smokeTest(): Promise<string | undefined> {
  const t = tf.tidy(() => tf.add(tf.tensor1d([1, 2]), tf.tensor1d([3, 4])));
  const v = await t.data();
  t.dispose();
  return v[0] === 4 && v[1] === 6 ? undefined : `a test add returned [${Array.from(v)}]`;
}

/** Threads the wasm backend runs, and why only one when so. */
async function wasmThreads(): Promise<Pick<BackendReport, 'threads' | 'threadsNote'>> {
  // asked of the module after the smoke test's first op (getThreadsCount() is read at start-up)
  const live = (tf.backend() as unknown as { wasm?: { tfjs?: { getThreadsCount?: () => number } } }).wasm?.tfjs?.getThreadsCount?.();
  const threads = Math.max(1, live ?? (await import('@tensorflow/tfjs-backend-wasm')).getThreadsCount());
  if (threads > 1) return { threads };
  if (!(await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT'))) {
    const isolated = (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true;
    return { threads, threadsNote: isolated ? 'one thread: the single-thread binary was asked for (threads=1)' : 'one thread: the page is not cross-origin isolated (no COOP/COEP headers), so no SharedArrayBuffer' };
  }
  return { threads, threadsNote: 'one thread: this machine reports one core' };
}

/**
 * Tries `first` (if given) and then the rest of BACKEND_ORDER; returns the backend in use
 * and why the earlier ones were skipped. Throws if none works. `threads` for wasm: 1 keeps
 * the single-thread path; undefined uses every core where the page is isolated.
 */
export async function selectBackend(wasmBase: string, first?: BackendName, only?: readonly BackendName[], threads?: number): Promise<BackendReport> {
  const base = only ?? BACKEND_ORDER;
  const order = first ? [first, ...base.filter((b) => b !== first)] : [...base];
  const skipped: BackendReport['skipped'] = [];
  for (const name of order) {
    try {
      const why = await precheck(name, { base: wasmBase, threads }, first !== name);
      if (why) {
        skipped.push({ name, reason: why });
        continue;
      }
      const started = await withCores(async () => (await tf.setBackend(name)) && (await tf.ready(), true));
      if (!started) {
        skipped.push({ name, reason: 'tf.setBackend returned false' });
        continue;
      }
      const bad = await smokeTest();
      if (bad) {
        skipped.push({ name, reason: bad });
        continue;
      }
      if (name === 'wasm') return { name, skipped, ...(await wasmThreads()) };
      return name === 'webgpu' ? { name, skipped, ...adapterInfo } : { name, skipped };
    } catch (e) {
      skipped.push({ name, reason: message(e) });
    }
  }
  throw new Error(`no tfjs backend works here: ${skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')}`);
}
