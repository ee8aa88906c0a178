// The command line: `npx tsx src/cli/main.ts <command> [flags]` (npm scripts wrap it).
// Every failure ends as ONE line on stderr and a non-zero exit code:
// 2 for bad arguments, 1 for anything else (bad files, runtime errors).
import { UsageError } from './args';

type Runner = (argv: string[]) => Promise<void>;

const COMMANDS: Record<string, { help: string; load: () => Promise<Runner> }> = {
  sample: { help: 'draw images from a model; write a PNG grid and/or .npy', load: async () => (await import('./sample')).runSample },
  encode: { help: "an auto-encoder's codes of pictures (.png) or images (.npy)", load: async () => (await import('./encode')).runEncode },
  eval: { help: 'negative log-likelihood (bits/dim) of a model on an MNIST split', load: async () => (await import('./eval')).runEval },
  receptive: { help: 'which input pixels reach one output pixel (gated vs masked)', load: async () => (await import('./receptive')).runReceptive },
  bench: { help: 'sampler benchmark: naive vs cached, kernel launches per pixel', load: async () => (await import('./bench')).runBench },
  train: { help: 'train a model (see --help)', load: async () => (await import('./train')).runTrain },
  grow: { help: 'append (dilated) layers to a training run without changing its model', load: async () => (await import('./grow')).runGrow },
  curve: { help: 'draw a training run\'s learning curve (train.log) as an SVG', load: async () => (await import('./curve')).runCurve },
  'bench-train': { help: 'training-speed benchmark', load: async () => (await import('./train')).runBenchTrain },
  fidelity: { help: 'does the model draw the class asked for? agreement and diversity per guidance', load: async () => (await import('./fidelity')).runFidelity },
  'build-faces': { help: 'cartoon faces with face-api descriptors, split by identity (issue 15)', load: async () => (await import('./buildFaces')).runBuildFaces },
  'face-examples': { help: 'example faces (thumbnail + descriptor) of a build-faces split for the app, e.g. models/faces/examples.json', load: async () => (await import('./faceExamples')).runFaceExamples },
  'eval-faces': { help: 'identity check: do portraits drawn from a face descriptor look like that person to face-api?', load: async () => (await import('./evalFaces')).runEvalFaces },
};

function topUsage(): string {
  const lines = ['usage: npx tsx src/cli/main.ts <command> [flags]   (or: npm run <command> -- [flags])', '', 'commands:'];
  for (const [name, c] of Object.entries(COMMANDS)) lines.push(`  ${name.padEnd(12)} ${c.help}`);
  lines.push('', 'run a command with --help for its flags');
  return lines.join('\n');
}

function oneLine(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.split('\n').map((s) => s.trim()).filter((s) => s.length > 0)[0] ?? 'failed';
}

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    (cmd === undefined ? process.stderr : process.stdout).write(topUsage() + '\n');
    return cmd === undefined ? 2 : 0;
  }
  const command = COMMANDS[cmd];
  if (!command) {
    process.stderr.write(`error: unknown command ${JSON.stringify(cmd)} (commands: ${Object.keys(COMMANDS).join(', ')})\n`);
    return 2;
  }
  try {
    const run = await command.load();
    await run(rest);
    return 0;
  } catch (e) {
    const usage = e instanceof UsageError;
    process.stderr.write(`${cmd}: ${usage ? 'bad arguments: ' : 'error: '}${oneLine(e)}\n`);
    return usage ? 2 : 1;
  }
}

// Exit explicitly: a backend may keep the event loop alive after the work is done.
main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`error: ${oneLine(e)}\n`);
    process.exit(1);
  },
);
