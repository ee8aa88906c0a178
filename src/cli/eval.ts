// npm run eval -- --model DIR --split test|val|train [--limit N] [--batch B] [--classify]
// Prints progress on stderr and, as the last line of stdout, one JSON object. An
// auto-encoder (config.encoder) is scored given each image's own code.
import type { MnistSplit } from '../data/mnist';
import { quantize } from '../io/digits';
import { parseArgs, usage, UsageError, type FlagSpec } from './args';
import { backendFlag, startBackend } from './common';
import { Progress } from './progress';

const spec = {
  model: { type: 'string', required: true, help: 'model folder (model.json + shards)' },
  split: { type: 'enum', values: ['test', 'val', 'train'] as const, help: 'MNIST split (default test)' },
  limit: { type: 'int', min: 1, help: 'evaluate only the first N images of the split' },
  batch: { type: 'int', min: 1, max: 1024, help: 'images per forward pass (default 32)' },
  classify: { type: 'bool', help: 'also classify each image by Bayes from the ten class likelihoods (uniform prior): classifyAccuracy' },
  backend: backendFlag,
  threads: { type: 'int', min: 1, max: 256, help: "--classify: threads that classify, each its own share of a batch (default: the machine's cores)" },
} satisfies FlagSpec;

export { quantize } from '../io/digits';

/** Level ranges for the breakdown: black (0), up to 8 equal-width grey ranges, white (K-1). */
export function levelBins(levels: number): { lo: number; hi: number }[] {
  const bins = [{ lo: 0, hi: 0 }];
  const greys = levels - 2;
  const width = Math.ceil(greys / 8);
  for (let lo = 1; lo <= greys; lo += width) bins.push({ lo, hi: Math.min(lo + width - 1, greys) });
  bins.push({ lo: levels - 1, hi: levels - 1 });
  return bins;
}

export async function runEval(argv: string[]): Promise<void> {
  const a = parseArgs(argv, spec);
  if (a.help) {
    process.stdout.write(usage('eval', '--model DIR [--split test|val|train] [--limit N] [--batch B] [--classify]', spec) + '\n');
    return;
  }
  const split = (a.split ?? 'test') as MnistSplit;
  const batch = a.batch ?? 32;
  const backend = await startBackend(a.backend ?? 'wasm');
  const [tf, { loadMnist }, { bitsPerDim, condTensor, disposeParams, encodeImages, isNullable, subpixelLogProbs }, { loadModel }] = await Promise.all([
    import('@tensorflow/tfjs'),
    import('../data/mnist'),
    import('../model'),
    import('../io/weightsNode'),
  ]);
  // --classify's threads boot now, beside the likelihood pass
  const threads = a.classify ? await import('./sampleThreads') : undefined;
  const pool = threads?.SampleThreads.start(a.threads ?? threads.cores(), backend);
  const model = await loadModel(a.model!);
  try {
    const { config } = model;
    const data = loadMnist(split);
    if (config.height !== data.height || config.width !== data.width || config.channels !== data.channels) {
      throw new UsageError(
        `the model is for ${config.height}x${config.width}x${config.channels} images; MNIST is ${data.height}x${data.width}x${data.channels}`,
      );
    }
    const autoencoder = config.encoder !== undefined;
    if (config.conditioning.type === 'vector' && !autoencoder) throw new UsageError('eval on MNIST needs a class-conditional, unconditional or auto-encoder model');
    if (config.conditioning.type === 'class' && config.conditioning.classes < 10) {
      throw new UsageError(`the model knows ${config.conditioning.classes} classes; MNIST has 10`);
    }
    if (a.classify && config.conditioning.type !== 'class') throw new UsageError('--classify needs a class-conditional model');
    const n = Math.min(a.limit ?? data.count, data.count);
    const per = data.height * data.width * data.channels;
    const progress = new Progress(`eval ${split} (${n} images, ${backend})`, n);
    const t0 = performance.now();
    const tensorsBefore = tf.memory().numTensors;
    let total = 0;
    // a nullable model also gives p(x) (the null condition): what the label is worth in bits
    const nullable = isNullable(config.conditioning);
    let totalUnconditional = 0;
    // where the bits go: nats and sub-pixel counts per range of true levels
    const bins = levelBins(config.levels);
    const binOf = new Int32Array(config.levels);
    bins.forEach(({ lo, hi }, j) => binOf.fill(j, lo, hi + 1));
    const binNats = new Float64Array(bins.length);
    const binCount = new Float64Array(bins.length);
    for (let i = 0; i < n; i += batch) {
      const b = Math.min(batch, n - i);
      const levels = quantize(data.images.subarray(i * per, (i + b) * per), config.levels);
      const x = tf.tensor4d(levels, [b, data.height, data.width, data.channels]);
      const labels = Array.from(data.labels.subarray(i, i + b));
      // an auto-encoder's condition is each image's own code
      const given = autoencoder ? { embeddings: await encodeImages(model, levels, b) } : config.conditioning.type === 'class' ? { labels } : undefined;
      const cond = condTensor(config, given, b);
      const logp = subpixelLogProbs(model, x, cond);
      const v = await logp.data();
      if (nullable) {
        const ucond = condTensor(config, { unconditional: [true] }, b);
        const ulogp = subpixelLogProbs(model, x, ucond);
        const u = await ulogp.data();
        tf.dispose([ulogp, ...(ucond ? [ucond] : [])]);
        for (let k = 0; k < b; k++) {
          let nats = 0;
          for (let j = k * per; j < (k + 1) * per; j++) nats -= u[j];
          if (!Number.isFinite(nats)) throw new Error(`image ${i + k} of ${split}: the model gives a non-finite unconditional likelihood (${nats})`);
          totalUnconditional += nats;
        }
      }
      tf.dispose([x, logp, ...(cond ? [cond] : [])]);
      for (let k = 0; k < b; k++) {
        let nats = 0;
        for (let j = k * per; j < (k + 1) * per; j++) {
          nats -= v[j];
          binNats[binOf[levels[j]]] -= v[j];
          binCount[binOf[levels[j]]]++;
        }
        if (!Number.isFinite(nats)) throw new Error(`image ${i + k} of ${split}: the model gives a non-finite likelihood (${nats})`);
        total += nats;
      }
      progress.update(i + b);
    }
    progress.finish();
    const subpixels = n * per;
    const byLevel = bins.map(({ lo, hi }, j) => ({
      levels: lo === hi ? `${lo}` : `${lo}-${hi}`,
      share: binCount[j] / subpixels,
      bitsPerSubpixel: binCount[j] ? binNats[j] / binCount[j] / Math.LN2 : 0,
      bitsPerDim: binNats[j] / subpixels / Math.LN2,
    }));
    process.stderr.write(
      'true level   share   bits each   bits/dim\n' +
        byLevel
          .map((r) => `${r.levels.padEnd(10)} ${(100 * r.share).toFixed(1).padStart(6)}%  ${r.bitsPerSubpixel.toFixed(3).padStart(9)}  ${r.bitsPerDim.toFixed(4).padStart(9)}`)
          .join('\n') +
        '\n',
    );
    const seconds = (performance.now() - t0) / 1000; // the likelihood pass only
    // the generative classifier: argmax_c p(x | c), each image scored under all ten classes
    let classified = {};
    if (a.classify) {
      const classes = config.conditioning.type === 'class' ? config.conditioning.classes : 0;
      const cp = new Progress(`classify ${split} (${n} images x ${classes} classes)`, n);
      const right = new Float64Array(classes);
      const seen = new Float64Array(classes);
      for (let i = 0; i < n; i += batch) {
        const b = Math.min(batch, n - i);
        const levels = quantize(data.images.subarray(i * per, (i + b) * per), config.levels);
        // each image is `classes` images in the forward pass
        const predicted = await pool!.classify(model, a.model!, Uint8Array.from(levels), b, Math.max(1, Math.ceil(batch / classes)));
        predicted.forEach((p, k) => {
          const y = data.labels[i + k];
          seen[y]++;
          if (p === y) right[y]++;
        });
        cp.update(i + b);
      }
      cp.finish();
      const accuracy = right.reduce((s, v) => s + v, 0) / n;
      process.stderr.write(`classified ${n} images by Bayes from the class likelihoods: ${(100 * accuracy).toFixed(1)}% right\n`);
      classified = { classifyAccuracy: accuracy, classifyAccuracyByClass: Array.from(seen, (m, c) => (m ? right[c] / m : null)), classifyThreads: pool!.threads };
    }
    const natsPerImage = total / n;
    const unconditional = nullable ? { unconditionalBitsPerDim: bitsPerDim(totalUnconditional / n, config) } : {};
    if (nullable) {
      const c = bitsPerDim(natsPerImage, config);
      const u = unconditional.unconditionalBitsPerDim!;
      process.stderr.write(`the ${autoencoder ? 'code' : 'label'} is worth ${(u - c).toFixed(4)} bits/dim: ${u.toFixed(4)} without it (null condition), ${c.toFixed(4)} with it\n`);
    }
    const result = {
      split,
      images: n,
      natsPerImage,
      bitsPerDim: bitsPerDim(natsPerImage, config),
      ...unconditional,
      levels: config.levels,
      quantization: config.levels === 256 ? 'none' : `floor(pixel * ${config.levels} / 256)`,
      conditioning: autoencoder ? "each image's own code" : config.conditioning.type === 'class' ? 'MNIST labels' : 'none',
      batch,
      backend,
      seconds,
      imagesPerSecond: n / seconds,
      byLevel,
      ...classified,
      leakedTensors: tf.memory().numTensors - tensorsBefore,
    };
    process.stdout.write(JSON.stringify(result) + '\n');
  } finally {
    await pool?.close();
    disposeParams(model.params);
  }
}
