// npm run curve -- --log STATE_DIR/train.log --svg OUT.svg [--title TEXT]
// The learning curve of a training run (src/train/curve.ts) as an SVG picture: training
// loss, validation, learning rate and growth events against epochs.
import { checkWritable, writeFilesAtomic } from '../io/atomicWrite';
import path from 'node:path';
import { compareCurves, curveOf, curveSvg, parseLog } from '../train/curve';
import { parseArgs, usage, UsageError, type FlagSpec } from './args';
import { extOf, readInputFile } from './common';

const spec = {
  log: { type: 'string', required: true, help: 'a run\'s train.log (JSON lines), e.g. models/mnist.train/train.log' },
  svg: { type: 'string', required: true, help: 'output picture (.svg)' },
  title: { type: 'string', help: 'title above the chart' },
  compare: { type: 'string', help: "another run's train.log: its training loss drawn on the same axes (e.g. the other trainer's)" },
  labels: { type: 'string', help: 'legend names of --log and --compare, comma-separated (default: the two folders)' },
  'bin-steps': { type: 'int', min: 1, help: 'updates per training-loss bin (default a tenth of an epoch)' },
} satisfies FlagSpec;

export async function runCurve(argv: string[]): Promise<void> {
  const a = parseArgs(argv, spec);
  if (a.help) {
    process.stdout.write(usage('curve', '--log STATE_DIR/train.log --svg OUT.svg [--title TEXT]', spec) + '\n');
    return;
  }
  if (extOf(a.svg!) !== '.svg') throw new UsageError(`--svg: expected a .svg file name, got ${JSON.stringify(a.svg)}`);
  await checkWritable(a.svg!);
  const text = (await readInputFile(a.log!)).toString('utf8');
  const curve = curveOf(parseLog(text, a.log!), a.log!, a['bin-steps']);
  const compare = a.compare ? curveOf(parseLog((await readInputFile(a.compare)).toString('utf8'), a.compare), a.compare, a['bin-steps']) : undefined;
  const folder = (f: string) => path.basename(path.dirname(path.resolve(f)));
  const labels = (a.labels?.split(',') ?? [folder(a.log!), a.compare ? folder(a.compare) : '']) as [string, string];
  if (labels.length !== 2) throw new UsageError(`--labels: expected two names separated by a comma, got ${JSON.stringify(a.labels)}`);
  await writeFilesAtomic([{ path: a.svg!, data: curveSvg(curve, { title: a.title, compare, labels }) }]);
  const pairs = compare ? compareCurves(curve, compare) : [];
  const last = curve.valFull.at(-1);
  process.stdout.write(
    JSON.stringify({
      svg: a.svg,
      epochs: Number(curve.lastEpoch.toFixed(3)),
      trainPoints: curve.train.length,
      valFull: curve.valFull.length,
      valSubset: curve.valSubset.length,
      grows: curve.grows.length,
      lastValFullBitsPerDim: last?.value ?? null,
      ...(compare
        ? {
            // bin by bin: the compared run's training loss minus this run's, bits/dim
            compare: {
              bins: pairs.length,
              meanDifference: pairs.reduce((s, p) => s + (p.b - p.a), 0) / Math.max(1, pairs.length),
              meanAbsDifference: pairs.reduce((s, p) => s + Math.abs(p.b - p.a), 0) / Math.max(1, pairs.length),
              lastBins: pairs.slice(-5).map((p) => ({ epoch: Number(p.epoch.toFixed(4)), [labels[0]]: p.a, [labels[1]]: p.b })),
            },
          }
        : {}),
    }) + '\n',
  );
}
