// npm run receptive -- --arch gated|masked --pixel R,C --size H,W [--layers L] [--dilations D,D,..] [--json]
// Which input pixels reach the logits at (R, C): an ASCII picture, or JSON with `field`.
import { makeConfig, type ModelConfig } from '../model';
import { parseArgs, parseIntList, usage, UsageError, type FlagSpec } from './args';
import { backendFlag, startBackend } from './common';

const spec = {
  arch: { type: 'enum', values: ['gated', 'masked'] as const, help: 'two-stack Gated PixelCNN or plain masked stack (default gated)' },
  pixel: { type: 'ints', count: 2, min: 0, required: true, help: 'output pixel ROW,COL' },
  size: { type: 'ints', count: 2, min: 2, help: 'image HEIGHT,WIDTH (default 16,16)' },
  layers: { type: 'int', min: 1, max: 64, help: 'layers including the first (default 5)' },
  kernel: { type: 'int', min: 1, help: 'kernel size of later layers, odd (default 3)' },
  'first-kernel': { type: 'int', min: 1, help: 'kernel size of the first layer, odd (default 7)' },
  dilations: { type: 'string', help: 'dilation of each layer, comma-separated (default all 1), e.g. 1,1,2,4,8' },
  json: { type: 'bool', help: 'print one JSON object instead of a picture' },
  backend: { ...backendFlag, help: 'tfjs backend (default cpu: the field needs input gradients only)' },
} satisfies FlagSpec;

export interface FieldSummary {
  /** influence > 0 */
  reached: number;
  /** past pixels inside the field's bounding box that never reach the output */
  blindSpot: number;
  /** total influence of the pixel itself and later pixels (0 for a causal model) */
  futureInfluence: number;
  kind: string[][];
}

/** Classifies each input pixel: 'pixel' | 'future' | 'reached' | 'blind' | 'out'. */
export function classify(field: number[][], row: number, col: number): FieldSummary {
  const H = field.length;
  const W = field[0].length;
  const isPast = (r: number, c: number) => r < row || (r === row && c < col);
  let minR = row;
  let minC = col;
  let maxC = col;
  let futureInfluence = 0;
  for (let r = 0; r < H; r++) {
    for (let c = 0; c < W; c++) {
      if (field[r][c] > 0 && isPast(r, c)) {
        minR = Math.min(minR, r);
        minC = Math.min(minC, c);
        maxC = Math.max(maxC, c);
      }
      if (!isPast(r, c)) futureInfluence += field[r][c];
    }
  }
  let reached = 0;
  let blindSpot = 0;
  const kind = field.map((line, r) =>
    line.map((v, c) => {
      if (r === row && c === col) return 'pixel';
      if (!isPast(r, c)) return 'future';
      if (v > 0) {
        reached++;
        return 'reached';
      }
      if (r >= minR && c >= minC && c <= maxC) {
        blindSpot++;
        return 'blind';
      }
      return 'out';
    }),
  );
  return { reached, blindSpot, futureInfluence, kind };
}

const SHADES = ':-=+*#%@'; // weak -> strong influence (log scale over 4 decades)

export function asciiField(field: number[][], row: number, col: number): string {
  const { kind } = classify(field, row, col);
  // shades are relative to the strongest past pixel (future cells are ignored)
  const max = Math.max(...field.flatMap((line, r) => line.filter((_, c) => kind[r][c] === 'reached')));
  const lines = field.map((line, r) =>
    line
      .map((v, c) => {
        switch (kind[r][c]) {
          case 'pixel':
            return 'X';
          case 'future':
            return ' ';
          case 'blind':
            return 'o';
          case 'out':
            return '.';
          default: {
            const t = Math.max(0, 1 + Math.log10(v / max) / 4); // 1e-4 of max -> 0, max -> 1
            return SHADES[Math.min(SHADES.length - 1, Math.floor(t * SHADES.length))];
          }
        }
      })
      .join(' '),
  );
  lines.push('');
  lines.push(`legend: ${SHADES.split('').join('')} influence (weak -> strong, log scale)  X the pixel  o blind spot (past, never reaches it)  . past, out of reach  (blank) future`);
  return lines.join('\n');
}

export async function runReceptive(argv: string[]): Promise<void> {
  const a = parseArgs(argv, spec);
  if (a.help) {
    process.stdout.write(usage('receptive', '--arch gated|masked --pixel R,C [--size H,W] [--layers L] [--dilations D,D,..] [--json]', spec) + '\n');
    return;
  }
  const [H, W] = a.size ?? [16, 16];
  const [row, col] = a.pixel!;
  if (row >= H || col >= W) throw new UsageError(`--pixel ${row},${col} is outside the ${H}x${W} image`);
  if (H * W > 128 * 128) throw new UsageError(`--size ${H},${W} is too large for this tool (at most 128x128 pixels)`);
  let config: ModelConfig;
  try {
    // the field depends only on the wiring, so a narrow network gives the same picture
    config = makeConfig({
      arch: a.arch ?? 'gated',
      height: H,
      width: W,
      channels: 1,
      levels: 2,
      hidden: 2,
      headHidden: 2,
      layers: a.layers ?? 5,
      kernel: a.kernel ?? 3,
      firstKernel: a['first-kernel'] ?? 7,
      dilations: a.dilations === undefined ? undefined : parseIntList('dilations', a.dilations, 1),
      conditioning: { type: 'none' },
    });
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError(
      (e as Error).message.replace(/^config\.firstKernel/, '--first-kernel').replace(/^config\.kernel/, '--kernel').replace(/^config\.dilations/, '--dilations'),
    );
  }
  await startBackend(a.backend ?? 'cpu');
  const { receptiveField } = await import('../model');
  const field = receptiveField(config, row, col);
  const s = classify(field, row, col);
  if (a.json) {
    const out = {
      arch: config.arch,
      size: [H, W],
      pixel: [row, col],
      layers: config.layers,
      firstKernel: config.firstKernel,
      kernel: config.kernel,
      dilations: config.dilations ?? null,
      reached: s.reached,
      blindSpot: s.blindSpot,
      futureInfluence: s.futureInfluence,
      field,
    };
    process.stdout.write(JSON.stringify(out) + '\n');
  } else {
    process.stdout.write(
      `${config.arch} PixelCNN, ${config.layers} layers (first ${config.firstKernel}x${config.firstKernel}, then ${config.kernel}x${config.kernel}` +
        `${config.dilations ? `, dilations ${config.dilations.join(',')}` : ''}), ` +
        `pixel (${row}, ${col}) of ${H}x${W}: ${s.reached} pixels reach it, blind spot ${s.blindSpot}\n\n`,
    );
    process.stdout.write(asciiField(field, row, col) + '\n');
  }
}
