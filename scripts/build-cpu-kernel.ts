// npm run build:kernel
// Compiles the CPU sampling kernel (src/sampler/cpuKernel.as.ts, AssemblyScript) to
// WebAssembly with SIMD and writes its bytes into src/sampler/cpuKernelWasm.ts, so the
// app's workers and Node load it with no build step or fetch of their own. How it is
// compiled is src/sampler/cpuKernelCompile.ts, which src/sampler/cpuKernel.test.ts also
// runs to check the committed bytes match.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileCpuKernel, GENERATED, generatedSource } from '../src/sampler/cpuKernelCompile.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const b64 = compileCpuKernel();
const shared = compileCpuKernel(true);
fs.writeFileSync(GENERATED, generatedSource(b64, shared));
process.stdout.write(`${path.relative(root, GENERATED)}: ${Buffer.from(b64, 'base64').length} and ${Buffer.from(shared, 'base64').length} (shared memory) bytes of WebAssembly\n`);
