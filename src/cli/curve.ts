// npm run curve -- --log STATE_DIR/train.log --svg OUT.svg [--title TEXT]
// The learning curve of a training run (src/train/curve.ts) as an SVG picture: training
// loss, validation, learning rate and growth events against epochs.
import { checkWritable, writeFilesAtomic } from '../io/atomicWrite';
import { curveOf, curveSvg, parseLog } from '../train/curve';
import { parseArgs, usage, UsageError, type FlagSpec } from './args';
import { extOf, readInputFile } from './common';

const spec = {
  log: { type: 'string', required: true, help: 'a run\'s train.log (JSON lines), e.g. models/mnist.train/train.log' },
  svg: { type: 'string', required: true, help: 'output picture (.svg)' },
  title: { type: 'string', help: 'title above the chart' },
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
  const curve = curveOf(parseLog(text, a.log!), a.log!);
  await writeFilesAtomic([{ path: a.svg!, data: curveSvg(curve, { title: a.title }) }]);
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
    }) + '\n',
  );
}
