// npx tsx scripts/digit-examples.ts [OUT]   (default models/mnist-ae/examples.json)
//
// The bundled source digits of the app's auto-encoder panel: the first MNIST test-split
// image of each class (never trained on), as src/io/digitExamples.ts writes them; beside
// them, each as a 28x28 grey PNG (examples/<digit>.png) for the CLI's --png/--from-png/--morph.
import fs from 'node:fs';
import path from 'node:path';
import { loadMnist } from '../src/data/mnist';
import { firstOfEachClass, writeDigitExamples } from '../src/io/digitExamples';
import { encodePng } from '../src/io/png';

const out = path.resolve(process.argv[2] ?? 'models/mnist-ae/examples.json');
const test = loadMnist('test');
const examples = firstOfEachClass(test.images, test.labels, test.width);
fs.writeFileSync(out, writeDigitExamples({ split: 'test', size: test.width, examples }));
const pngs = path.join(path.dirname(out), 'examples');
fs.mkdirSync(pngs, { recursive: true });
for (const e of examples) fs.writeFileSync(path.join(pngs, `${e.label}.png`), encodePng(e.pixels, test.width, test.width, 1));
process.stdout.write(`${out}: ${examples.length} test digits (indices ${examples.map((e) => e.index).join(', ')}), and ${pngs}/0..9.png\n`);
