// The fused WebGPU sampler in Node (Dawn on the machine's Vulkan driver: SwiftShader here)
// against the portable cached sampler on the cpu backend: same images, same distributions,
// every level drawn on the GPU as drawLevel draws it, one submit and one readback per image
// row, no tensor or GPU buffer left behind. Tiny models (each shape compiles its kernels
// once, seconds on SwiftShader) and one shipped model on its last rows.
import * as tf from '@tensorflow/tfjs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { initWebGPUNode } from '../backend/webgpuNode';
import { countGpuTraffic } from '../backend/webgpuCount';
import { loadModel } from '../io/weightsNode';
import { disposeParams, initParams, makeConfig, type Conditioning, type PixelCNN } from '../model';
import { checkFused, type FusedCheck } from './webgpu/check';
import type { SampleOptions } from './types';
import { sample } from './index';
import { fusedCounts } from './webgpu';

let counter: ReturnType<typeof countGpuTraffic>;
const backends = { fused: 'webgpu', reference: 'cpu' };

beforeAll(async () => {
  await initWebGPUNode();
  counter = countGpuTraffic();
});

function tiny(channels: number, conditioning: Conditioning, dilations?: number[]) {
  const config = makeConfig({ height: 5, width: 6, channels, levels: 16, hidden: 12, layers: 3, firstKernel: 5, kernel: 3, headHidden: 12, conditioning, spatialChannels: 3, dilations });
  return async (): Promise<PixelCNN> => ({ config, params: initParams(config, 3) });
}

const dispose = (m: PixelCNN) => disposeParams(m.params);

/** extraReads: readbacks a run makes besides its rows (the mixture's posterior over a prefix: one). */
function expectExact(c: FusedCheck, maxLogDiff: number, extraReads = 0): void {
  console.log(`${c.name}: max |log p diff| ${c.maxLogDiff.toExponential(2)}, expected flips per draw ${c.flipRate.toExponential(2)}, ${c.events} sub-pixels, ${c.readbacks} readbacks, ${c.submits} submits over ${c.rows} rows`);
  expect(c.events, c.name).toBeGreaterThan(0);
  expect(c.maxLogDiff, c.name).toBeLessThan(maxLogDiff);
  expect(c.drawMismatches, c.name).toBe(0);
  expect(c.sameImages, c.name).toBe(true);
  // one readback per image row; one submit per row, besides the few that compute and copy
  // the weights and conditioning terms (tfjs ops) before the first row
  expect(c.readbacks, c.name).toBe(c.rows + extraReads);
  expect(c.submits, c.name).toBeGreaterThanOrEqual(c.rows);
  expect(c.submits, c.name).toBeLessThanOrEqual(c.rows + 12);
  expect(c.leakedTensors, c.name).toBe(0);
  expect(c.leakedBuffers, c.name).toBe(0);
}

describe('fused WebGPU sampler in Node', () => {
  it('colour, class, dilations and temperature; then a prefix ending inside a pixel', async () => {
    const load = tiny(3, { type: 'class', classes: 3 }, [1, 2, 3]);
    const opts: SampleOptions = { count: 2, seed: 5, temperature: 0.9, condition: { labels: [2, 1] } };
    expectExact(await checkFused('RGB class', load, opts, backends, counter, dispose), 1e-4);
    // the given sub-pixels: the first run's images up to row 1, column 2, channel 1
    const m = await load();
    const given = await sample(m, { ...opts, mode: 'fused' });
    dispose(m);
    const prefix = { images: given, length: 6 * 3 + 2 * 3 + 1 };
    const compiles = fusedCounts.pipelines;
    expectExact(await checkFused('RGB class, prefix', load, { ...opts, seed: 9, prefix }, backends, counter, dispose), 1e-4);
    // the same shape: the kernels compiled by the first run serve
    expect(fusedCounts.pipelines).toBe(compiles);
  });

  it('guidance with the null condition on a spatial vector model', async () => {
    const load = tiny(1, { type: 'vector', dim: 4, nullable: true, spatial: true });
    const opts: SampleOptions = { count: 2, seed: 5, temperature: 1, guidance: 3, condition: { embeddings: [new Float32Array([0.5, -1, 2, 0])] } };
    expectExact(await checkFused('spatial vector, null, g = 3', load, opts, backends, counter, dispose), 1e-3);
  });

  it('guidance by the class mixture, from a prefix ending inside a row', async () => {
    const load = tiny(1, { type: 'class', classes: 3 });
    const images = Uint8Array.from({ length: 30 }, (_, i) => (i * 7) % 16);
    const opts: SampleOptions = { count: 2, seed: 3, temperature: 1, guidance: 1, unconditional: 'mixture', condition: { labels: [0, 2] }, prefix: { images, length: 8 } };
    expectExact(await checkFused('class mixture, g = 1, prefix', load, opts, backends, counter, dispose), 1e-3, 1);
  });

  it('models/mnist on its last row', async () => {
    const dir = path.resolve(__dirname, '../../models/mnist');
    const load = () => loadModel(dir);
    // a bar down the middle, then a row to draw
    const images = Uint8Array.from({ length: 28 * 28 }, (_, i) => (Math.abs((i % 28) - 14) < 2 && i > 4 * 28 ? 255 : 0));
    const opts: SampleOptions = { count: 2, seed: 4, condition: { labels: [3, 7] }, prefix: { images, length: 27 * 28 } };
    expectExact(await checkFused('models/mnist', load, opts, backends, counter, dispose), 2e-3);
    expect(tf.getBackend()).toBe('webgpu');
  });
});

describe('fused WebGPU sampler faults', () => {
  it('an adapter without a limit the kernels need is refused in one line before anything is drawn', async () => {
    const { missingLimit } = await import('./webgpu/kernel');
    const limits = { maxStorageBuffersPerShaderStage: 8, maxComputeInvocationsPerWorkgroup: 256, maxComputeWorkgroupSizeX: 256, maxComputeWorkgroupStorageSize: 16384, maxStorageBufferBindingSize: 2 ** 27, minUniformBufferOffsetAlignment: 256 };
    const k = { label: 'pixel', bindings: Array.from({ length: 7 }, (_, i) => ({ name: `b${i}`, write: false })), groups: 1, wg: 128, body: '' };
    expect(missingLimit({ limits } as unknown as GPUDevice, [k], 1000, 1000)).toBeNull();
    expect(missingLimit({ limits: { ...limits, maxStorageBuffersPerShaderStage: 4 } } as unknown as GPUDevice, [k], 1000, 1000)).toBe('7 storage buffers per kernel (the adapter allows 4)');
    expect(missingLimit({ limits } as unknown as GPUDevice, [k], 20000, 1000)).toBe('20 KB of workgroup memory (the adapter allows 16 KB)');
  });

  // last: it destroys tfjs's device for the rest of this file
  it('a device lost mid-run ends the run with one line (GPUFault), and its buffers are freed', async () => {
    const m = await tiny(1, { type: 'class', classes: 3 })();
    const live = counter().liveBuffers;
    const it = (await import('./index')).samplePixels(m, { count: 2, seed: 1, mode: 'fused', condition: { labels: [0, 1] } });
    await it.next();
    // the rows submitted ahead finish and map before the loss: the run then finds their
    // staging buffers destroyed when it reads them (under load the suite met this order by chance)
    const device = (tf.backend() as unknown as { device: GPUDevice }).device;
    await device.queue.onSubmittedWorkDone();
    await new Promise((resolve) => setTimeout(resolve, 20));
    device.destroy();
    const err = await (async () => {
      for (;;) if ((await it.next()).done) return null;
    })().catch((e: Error) => e);
    expect(err?.name, `${err?.stack}`).toBe('GPUFault');
    expect(err?.message).toMatch(/^the GPU device was lost: |^reading back row \d+ failed: |^the fused sampler's kernels failed: /);
    expect(err?.message.includes('\n')).toBe(false);
    expect(counter().liveBuffers).toBe(live);
  });
});
