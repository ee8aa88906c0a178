// npx tsx scripts/demo-embeddings.ts [OUT_DIR]   (default models/faces/demo-photos)
//
// The descriptors of face-api's six demo photos (node_modules/@vladmandic/face-api/demo/
// sample*.jpg) exactly as the app computes them: each photo goes through the face panel's
// photo button in Chromium (detector, crop rule, 32x32 area resize, faceDescriptors in the
// face-api worker), and the panel's own "Embedding .json" download is kept, with the 32x32
// crop the descriptor was taken of. Node has no JPEG decoder and no canvas, so this is the
// one faithful way. Writes OUT_DIR/sampleN.json (128 numbers) and OUT_DIR/sampleN.png.
import fs from 'node:fs';
import path from 'node:path';
import { buildApp, launch, open, repoRoot, serve } from '../e2e/harness';

const out = path.resolve(process.argv[2] ?? path.join(repoRoot, 'models/faces/demo-photos'));
const DEMO = path.join(repoRoot, 'node_modules/@vladmandic/face-api/demo');
const testid = (id: string) => `[data-testid="${id}"]`;

const photos = fs.readdirSync(DEMO).filter((f) => /^sample\d+\.jpg$/.test(f)).sort();
if (photos.length === 0) throw new Error(`${DEMO}: no sample*.jpg`);
fs.mkdirSync(out, { recursive: true });
const dir = await buildApp();
const server = await serve(dir);
const browser = await launch({ webgpu: false });
try {
  const { page, errors } = await open(browser, `${server.url}/?model=random-faces-tiny&n=1&speed=0&guidance=0&seed=1`);
  await page.waitForSelector(testid('face-example'), { timeout: 120_000 });
  for (const name of photos) {
    await page.waitForSelector(`${testid('photo-file')}:not([disabled])`, { state: 'attached', timeout: 180_000 });
    await page.setInputFiles(testid('photo-file'), { name, mimeType: 'image/jpeg', buffer: fs.readFileSync(path.join(DEMO, name)) });
    try {
      await page.waitForFunction((n) => document.querySelector('[data-testid="face-condition-label"]')?.textContent === `photo: ${n}`, name, { timeout: 180_000 });
    } catch (e) {
      const error = await page.locator(testid('condition-error')).textContent().catch(() => null);
      throw new Error(`${name}: the panel did not take the photo (${error ?? (e as Error).message}); page errors: ${errors.join(' | ')}`);
    }
    const [download] = await Promise.all([page.waitForEvent('download'), page.click(testid('condition-download'))]);
    const vector = JSON.parse(fs.readFileSync(await download.path(), 'utf8')) as number[];
    if (vector.length !== 128 || !vector.every(Number.isFinite)) throw new Error(`${name}: the downloaded embedding is not 128 finite numbers`);
    // the 32x32 crop the descriptor was taken of: the condition's picture
    const png = await page.evaluate(() => (document.querySelector('[data-testid="face-condition"] canvas') as HTMLCanvasElement).toDataURL('image/png'));
    const base = name.replace(/\.jpg$/, '');
    fs.writeFileSync(path.join(out, `${base}.json`), JSON.stringify(vector) + '\n');
    fs.writeFileSync(path.join(out, `${base}.png`), Buffer.from(png.split(',')[1], 'base64'));
    console.error(`${name}: ${path.relative(repoRoot, path.join(out, base))}.json / .png`);
  }
} finally {
  await browser.close();
  await server.close();
  fs.rmSync(dir, { recursive: true, force: true });
}
