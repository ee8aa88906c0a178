// Picks the fastest tfjs backend that really works here, trying each in turn and keeping
// the reason every skipped one was not used (the page shows them).
import * as tf from '@tensorflow/tfjs';
import { BACKEND_ORDER, type BackendName, type BackendReport } from './protocol';

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

interface AdapterLike {
  info?: { vendor?: string; architecture?: string; description?: string; isFallbackAdapter?: boolean };
}

/** The WebGPU adapter found by precheck, described for the page. */
let adapterInfo: { device?: string; software?: boolean } = {};

/** Why a backend cannot run here, or undefined if it is worth trying. */
async function precheck(name: BackendName, wasmBase: string): Promise<string | undefined> {
  if (name === 'webgpu') {
    const gpu = (navigator as unknown as { gpu?: { requestAdapter(): Promise<AdapterLike | null> } }).gpu;
    if (!gpu) return 'navigator.gpu is missing (WebGPU is off in this browser)';
    const adapter = await gpu.requestAdapter();
    if (!adapter) return 'no WebGPU adapter (requestAdapter returned null)';
    const info = adapter.info ?? {};
    const device = [info.vendor, info.architecture, info.description].filter(Boolean).join(' ');
    adapterInfo = { device: device || undefined, software: info.isFallbackAdapter === true || /swiftshader/i.test(device) };
    await import('@tensorflow/tfjs-backend-webgpu');
  } else if (name === 'webgl') {
    if (typeof OffscreenCanvas === 'undefined') return 'OffscreenCanvas is missing in workers';
    const gl = new OffscreenCanvas(1, 1).getContext('webgl2');
    if (!gl) return 'no WebGL2 context';
  } else if (name === 'wasm') {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    wasm.setWasmPaths(wasmBase);
  }
  return undefined;
}

/** A small op read back: catches backends that initialise but compute nothing. */
async function smokeTest(): Promise<string | undefined> {
  const t = tf.tidy(() => tf.add(tf.tensor1d([1, 2]), tf.tensor1d([3, 4])));
  const v = await t.data();
  t.dispose();
  return v[0] === 4 && v[1] === 6 ? undefined : `a test add returned [${Array.from(v)}]`;
}

/**
 * Tries `first` (if given) and then the rest of BACKEND_ORDER; returns the backend in use
 * and why the earlier ones were skipped. Throws if none works.
 */
export async function selectBackend(wasmBase: string, first?: BackendName, only?: readonly BackendName[]): Promise<BackendReport> {
  const base = only ?? BACKEND_ORDER;
  const order = first ? [first, ...base.filter((b) => b !== first)] : [...base];
  const skipped: BackendReport['skipped'] = [];
  for (const name of order) {
    try {
      const why = await precheck(name, wasmBase);
      if (why) {
        skipped.push({ name, reason: why });
        continue;
      }
      if (!(await tf.setBackend(name))) {
        skipped.push({ name, reason: 'tf.setBackend returned false' });
        continue;
      }
      await tf.ready();
      const bad = await smokeTest();
      if (bad) {
        skipped.push({ name, reason: bad });
        continue;
      }
      return name === 'webgpu' ? { name, skipped, ...adapterInfo } : { name, skipped };
    } catch (e) {
      skipped.push({ name, reason: message(e) });
    }
  }
  throw new Error(`no tfjs backend works here: ${skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')}`);
}
