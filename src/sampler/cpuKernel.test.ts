// The committed WebAssembly (cpuKernelWasm.ts) is what its AssemblyScript source compiles
// to, so the two cannot drift apart; what it computes is checked against the naive sampler
// in sampler.test.ts and guided.test.ts (mode 'cpu').
import { describe, expect, it } from 'vitest';
import { compileCpuKernel, generatedSource, GENERATED } from './cpuKernelCompile';
import fs from 'node:fs';
import { CPU_KERNEL_SHARED_WASM, CPU_KERNEL_WASM } from './cpuKernelWasm';

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
});
