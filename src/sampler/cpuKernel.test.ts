// The committed WebAssembly (cpuKernelWasm.ts) is what its AssemblyScript source compiles
// to, so the two cannot drift apart; what it computes is checked against the naive sampler
// in sampler.test.ts and guided.test.ts (mode 'cpu'). A call on some batch rows writes
// only theirs: threads step their own rows of one memory (kernelThreads.ts).
import { describe, expect, it } from 'vitest';
import { compileCpuKernel, generatedSource, GENERATED } from './cpuKernelCompile';
import fs from 'node:fs';
import { CPU_KERNEL_SHARED_WASM, CPU_KERNEL_WASM } from './cpuKernelWasm';
import { initParams, makeConfig } from '../model';
import { CpuStepper } from './cpu';
import { heapBase, layout } from './cpuRows';

describe('the CPU sampling kernel', () => {
  it('cpuKernelWasm.ts holds what cpuKernel.as.ts compiles to (npm run build:kernel)', () => {
    const fresh = compileCpuKernel();
    const shared = compileCpuKernel(true);
    expect(fresh.length).toBeGreaterThan(1000);
    expect(CPU_KERNEL_WASM === fresh && CPU_KERNEL_SHARED_WASM === shared, 'cpuKernelWasm.ts is stale: run npm run build:kernel').toBe(true);
    expect(fs.readFileSync(GENERATED, 'utf8')).toBe(generatedSource(fresh, shared));
  });

  it('is valid WebAssembly with SIMD, importing only its memory', () => {
    for (const wasm of [CPU_KERNEL_WASM, CPU_KERNEL_SHARED_WASM]) {
      const m = new WebAssembly.Module(Buffer.from(wasm, 'base64'));
      expect(WebAssembly.Module.imports(m)).toEqual([{ module: 'env', name: 'memory', kind: 'memory' }]);
      expect(WebAssembly.Module.exports(m).map((e) => e.name).sort()).toEqual(['advance', 'heapBase', 'layer', 'memory', 'row', 'step']);
    }
    // the shared build takes a shared memory only
    const shared = new WebAssembly.Module(Buffer.from(CPU_KERNEL_SHARED_WASM, 'base64'));
    expect(() => new WebAssembly.Instance(shared, { env: { memory: new WebAssembly.Memory({ initial: 1 }) } })).toThrow();
    expect(new WebAssembly.Instance(shared, { env: { memory: new WebAssembly.Memory({ initial: 1, maximum: 4, shared: true }) } })).toBeDefined();
  });

  it("a call for fewer columns (a prefix's warm-up asks for one) leaves other rows' outputs alone", async () => {
    const config = makeConfig({ height: 4, width: 4, channels: 1, levels: 8, hidden: 4, layers: 2, firstKernel: 3, kernel: 3, headHidden: 4, conditioning: { type: 'class', classes: 2 } });
    const params = initParams(config, 1);
    const stepper = new CpuStepper({ config, params }, 4, { labels: [0, 1, 0, 1] });
    const [a, b] = [stepper.view(0, 2), stepper.view(2, 4)];
    const x = new Uint8Array(2 * 16).fill(3);
    a.startRow(0, x);
    const probs = await a.probs(0, 0, 0, x, 1);
    // rows 2-3 warm up on two given pixels: steps that ask the head for one column
    await b.warm(x, 2);
    const out = new Float32Array(stepper.packed.memory.buffer, layout(config, 4, heapBase(false)).out, 2 * config.levels);
    expect(Array.from(out)).toEqual(Array.from(probs));
    Object.values(params).forEach((t) => t.dispose());
  });
});
