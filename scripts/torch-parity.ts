// The TypeScript side of the PyTorch parity tests (training/tests): runs jobs from a JSON
// file and writes what TypeScript computes, for Python to compare with its own numbers.
//   npx tsx scripts/torch-parity.ts JOBS.json
// Jobs:
//   {"kind": "logits", "model": DIR, "images": X.npy (uint8 [B,H,W,C]), "labels"?: [..],
//    "embeddings"?: E.npy (float32 [B,D]), "unconditional"?: [..], "out": OUT.npy}
//     -> forward() logits [B, H, W, C, K], float32
//   {"kind": "init", "config": {...}, "seed": S, "out": OUT.npy} -> initParams, flat in paramSpecs order
//   {"kind": "presets", "out": OUT.json} -> every preset of src/train/presets.ts
//   {"kind": "classifier", "dir": DIR, "images": X.npy (uint8 [B,28,28,1]), "out": OUT.npy} -> logits [B, 10]
//   {"kind": "encode", "model": DIR, "images": X.npy (uint8 [B,H,W,C]), "out": OUT.npy} -> the auto-encoder's codes [B, d]
//   {"kind": "validate", "configs": [{...}, ...], "out": OUT.json} -> validateConfig's message per config (null: valid)
//   {"kind": "rng", "keys": [..], "draws": N, "bounds": [n, ..], "out": OUT.json}
//     -> {"uint32": N draws of Rng.fromKeys(...keys), "ints": a fresh one's int(n) per bound}
//   {"kind": "order", "seed": S, "epoch": E, "count": C, "out": OUT.json} -> epochOrder(S, E, C)
//   {"kind": "lr", "hyper": {...}, "steps": [..], "total": T | null, "start": S, "out": OUT.json}
//     -> learningRate(hyper, step, T, S) per step
import fs from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { initNodeBackend } from '../src/backend/node.ts';
import { decodeNpy, encodeNpy } from '../src/io/npy.ts';
import { loadModel } from '../src/io/weightsNode.ts';
import { classifierLogits, disposeClassifier, loadClassifier } from '../src/eval/classifier.ts';
import { condTensor, encode, forward, initParams, makeConfig, paramSpecs, disposeParams, validateConfig, type Condition } from '../src/model/index.ts';
import { getPreset, presetNames, type TrainHyper } from '../src/train/presets.ts';
import { Rng } from '../src/util/rng.ts';
import { epochOrder, learningRate } from '../src/train/trainer.ts';

type Job = Record<string, unknown> & { kind: string; out: string };

async function main() {
  const file = process.argv[2];
  if (!file) throw new Error('usage: tsx scripts/torch-parity.ts JOBS.json');
  await initNodeBackend('cpu');
  const jobs = JSON.parse(fs.readFileSync(file, 'utf8')) as Job[];
  for (const job of jobs) {
    if (job.kind === 'presets') {
      const all = Object.fromEntries(presetNames().map((n) => [n, getPreset(n)]));
      fs.writeFileSync(job.out, JSON.stringify(all));
    } else if (job.kind === 'init') {
      const config = makeConfig(job.config as never);
      const params = initParams(config, job.seed as number);
      const parts = paramSpecs(config).map((s) => params[s.name].dataSync() as Float32Array);
      const flat = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
      let off = 0;
      for (const p of parts) {
        flat.set(p, off);
        off += p.length;
      }
      disposeParams(params);
      fs.writeFileSync(job.out, encodeNpy(flat, [flat.length]));
    } else if (job.kind === 'logits') {
      const model = await loadModel(job.model as string);
      const x = decodeNpy(new Uint8Array(fs.readFileSync(job.images as string)));
      const B = x.shape[0];
      const condition: Condition = {};
      if (job.labels) condition.labels = job.labels as number[];
      if (job.embeddings) {
        const e = decodeNpy(new Uint8Array(fs.readFileSync(job.embeddings as string)));
        const D = e.shape[1];
        condition.embeddings = Array.from({ length: B }, (_, b) => Float32Array.from(e.data.subarray(b * D, (b + 1) * D)));
      }
      if (job.unconditional) (condition as Record<string, unknown>).unconditional = job.unconditional;
      const logits = tf.tidy(() => {
        const h = condTensor(model.config, condition, B);
        const xt = tf.tensor4d(Float32Array.from(x.data), x.shape as [number, number, number, number]);
        return forward(model, xt, h);
      });
      const out = (await logits.data()) as Float32Array;
      fs.writeFileSync(job.out, encodeNpy(out, logits.shape));
      logits.dispose();
      disposeParams(model.params);
    } else if (job.kind === 'classifier') {
      const c = loadClassifier(job.dir as string);
      const x = decodeNpy(new Uint8Array(fs.readFileSync(job.images as string)));
      const logits = tf.tidy(() => classifierLogits(c, tf.tensor4d(Float32Array.from(x.data), x.shape as [number, number, number, number])));
      fs.writeFileSync(job.out, encodeNpy((await logits.data()) as Float32Array, logits.shape));
      logits.dispose();
      disposeClassifier(c);
    } else if (job.kind === 'encode') {
      const model = await loadModel(job.model as string);
      const x = decodeNpy(new Uint8Array(fs.readFileSync(job.images as string)));
      const codes = tf.tidy(() => encode(model.params, model.config, tf.tensor4d(Float32Array.from(x.data), x.shape as [number, number, number, number])));
      fs.writeFileSync(job.out, encodeNpy((await codes.data()) as Float32Array, codes.shape));
      codes.dispose();
      disposeParams(model.params);
    } else if (job.kind === 'validate') {
      const messages = (job.configs as unknown[]).map((c) => {
        try {
          validateConfig(c);
          return null;
        } catch (e) {
          return (e as Error).message;
        }
      });
      fs.writeFileSync(job.out, JSON.stringify(messages));
    } else if (job.kind === 'rng') {
      const keys = job.keys as number[];
      const r = Rng.fromKeys(...keys);
      const uint32 = Array.from({ length: job.draws as number }, () => r.nextUint32());
      const q = Rng.fromKeys(...keys);
      const ints = (job.bounds as number[]).map((n) => q.int(n));
      fs.writeFileSync(job.out, JSON.stringify({ uint32, ints }));
    } else if (job.kind === 'order') {
      fs.writeFileSync(job.out, JSON.stringify(Array.from(epochOrder(job.seed as number, job.epoch as number, job.count as number))));
    } else if (job.kind === 'lr') {
      const hyper = job.hyper as TrainHyper;
      const rates = (job.steps as number[]).map((s) => learningRate(hyper, s, job.total as number | null, job.start as number));
      fs.writeFileSync(job.out, JSON.stringify(rates));
    } else {
      throw new Error(`unknown job kind ${job.kind}`);
    }
  }
}

main().catch((e) => {
  console.error(`torch-parity: ${(e as Error).message}`);
  process.exit(1);
});
