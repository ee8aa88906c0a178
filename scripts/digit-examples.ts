// npx tsx scripts/digit-examples.ts [OUT]   (default models/mnist-ae/examples.json)
//
// The bundled source digits of the app's auto-encoder panel: the first MNIST test-split
// image of each class (never trained on), as src/io/digitExamples.ts writes them.
import fs from 'node:fs';
import path from 'node:path';
import { loadMnist } from '../src/data/mnist';
import { firstOfEachClass, writeDigitExamples } from '../src/io/digitExamples';

const out = path.resolve(process.argv[2] ?? 'models/mnist-ae/examples.json');
const test = loadMnist('test');
const examples = firstOfEachClass(test.images, test.labels, test.width);
fs.writeFileSync(out, writeDigitExamples({ split: 'test', size: test.width, examples }));
process.stdout.write(`${out}: ${examples.length} test digits (indices ${examples.map((e) => e.index).join(', ')})\n`);
