// npm run build-faces -- --identities N --variants V --seed S --out DIR [--workers 2]
// Cartoon people (facesjs), rendered to 32x32 RGB, with their face-api descriptors,
// split by identity into train/val/test (src/faces/build.ts). Resumable: run the same
// command again after an interruption.
import { parseArgs, usage, UsageError, type FlagSpec } from './args';
import { Progress } from './progress';

const spec = {
  identities: { type: 'int', min: 3, required: true, help: 'people to draw (at least 3: one each for val and test)' },
  variants: { type: 'int', min: 1, required: true, help: 'pictures of each person (mouth, brow/eye angle, glasses, accessories, shirt change)' },
  seed: { type: 'int', min: 0, max: 2 ** 32 - 1, required: true, help: 'the same seed gives the same data set' },
  out: { type: 'string', required: true, help: 'output folder (new or empty, or an unfinished build of the same flags to resume)' },
  workers: { type: 'int', min: 1, max: 2, help: 'worker threads (default 1; 2 uses both cores)' },
  chunk: { type: 'int', min: 1, help: 'identities per chunk, the unit of work and of resume (default 8; part of the build: a resume needs the same)' },
} satisfies FlagSpec;

export async function runBuildFaces(argv: string[]): Promise<void> {
  const a = parseArgs(argv, spec);
  if (a.help) {
    process.stdout.write(usage('build-faces', '--identities N --variants V --seed S --out DIR [--workers 2] [--chunk 8]', spec) + '\n');
    return;
  }
  if (a.identities! * a.variants! > 2 ** 31 - 1) throw new UsageError('--identities x --variants: too many images');
  const { buildFaces } = await import('../faces/build');
  let bar: Progress | undefined;
  // Ctrl-C stops after the chunks being drawn are saved, so the next run resumes there; a second one quits at once.
  const stop = new AbortController();
  const onSignal = () => {
    if (stop.signal.aborted) process.exit(130);
    stop.abort();
    process.stderr.write('build-faces: stopping once the chunks in progress are saved (again to quit now)\n');
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const summary = await buildFaces({
    signal: stop.signal,
    identities: a.identities!,
    variants: a.variants!,
    seed: a.seed!,
    out: a.out!,
    workers: a.workers ?? 1,
    chunkIdentities: a.chunk,
    onProgress: (done, total) => {
      if (!bar) {
        const before = a.identities! * a.variants! - total;
        bar = new Progress(before > 0 ? `build-faces (resuming: ${before} images were built before)` : 'build-faces', total);
      }
      bar.update(done);
      if (done === total) bar.finish();
    },
  }).finally(() => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  });
  if (summary.alreadyBuilt) process.stderr.write(`build-faces: ${a.out} already holds this build; nothing to do\n`);
  process.stdout.write(JSON.stringify(summary) + '\n');
}
