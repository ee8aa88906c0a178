// npx tsx scripts/convert-weights.ts IN_DIR OUT_DIR --dtype float16|float32
// Re-saves a model folder with another storage precision, keeping its metadata; used to
// measure what float16 storage costs in bits/dim (see models/mnist/README.md).
import fs from 'node:fs';
import path from 'node:path';
import { initNodeBackend } from '../src/backend/node';
import { disposeParams } from '../src/model';
import { loadModel, saveModel } from '../src/io/weightsNode';

async function main() {
  const [inDir, outDir, flag, dtype] = process.argv.slice(2);
  if (!inDir || !outDir || flag !== '--dtype' || (dtype !== 'float16' && dtype !== 'float32')) {
    throw new Error('usage: convert-weights IN_DIR OUT_DIR --dtype float16|float32');
  }
  await initNodeBackend('cpu');
  const model = await loadModel(inDir);
  const json = JSON.parse(fs.readFileSync(path.join(inDir, 'model.json'), 'utf8')) as { metadata?: Record<string, unknown> };
  try {
    await saveModel(outDir, model, { dtype, metadata: { ...(json.metadata ?? {}), storage: dtype } });
  } finally {
    disposeParams(model.params);
  }
  console.error(`wrote ${outDir} (${dtype})`);
}

main().catch((e) => {
  console.error(`convert-weights: ${(e as Error).message.split('\n')[0]}`);
  process.exit(1);
});
