// Reading a measured receptive field: which past pixels reach the target, which past
// pixels inside the field's reach never do (the blind spot), and which lie beyond reach.
import type { Architecture, ModelConfig } from '../model/config';

/** The config whose receptive field the visualizer shows: the loaded model's, re-shaped. */
export function receptiveConfig(model: ModelConfig, arch: Architecture, layers: number): ModelConfig {
  // the width of the stacks does not change which pixels connect: keep it small so a
  // hover is answered within a frame or two
  const ch = model.channels;
  // a dilated model keeps its first `layers` dilations (a prefix of valid dilations is
  // valid); layers beyond the model's own are undilated
  const dilations = model.dilations && Array.from({ length: layers }, (_, l) => model.dilations![l] ?? 1);
  // no condition, so no encoder either (an auto-encoder's code is its condition)
  return { ...model, arch, layers, dilations, hidden: 4 * ch, headHidden: 4 * ch, levels: 2, conditioning: { type: 'none' }, encoder: undefined };
}

export const enum Cell {
  /** a past pixel farther away than any pixel that reaches the target */
  OutOfReach = 0,
  /** a past pixel with a path to the target */
  Influence = 1,
  /** a past pixel inside the reach of the field with no path to the target */
  Blind = 2,
  Target = 3,
  /** the target's future in raster order (never allowed to influence it) */
  Future = 4,
}

export interface FieldReading {
  cells: Uint8Array;
  /** log-scaled influence in [0, 1] for Influence cells, 0 elsewhere */
  strength: Float32Array;
  influence: number;
  blind: number;
  /** future pixels with influence > 0 (a causality bug if ever non-zero) */
  leaks: number;
}

/**
 * field: [H * W] non-negative influence of each input pixel on the target (row, col), as
 * returned by receptiveField. "Reach" is the bounding box of the pixels that do influence
 * the target, clipped to the past: a past pixel inside it with zero influence is a hole in
 * the field, i.e. the blind spot; past pixels outside it are merely too far for this depth.
 */
export function readField(field: ArrayLike<number>, H: number, W: number, row: number, col: number): FieldReading {
  if (field.length !== H * W) throw new Error(`receptive field: expected ${H * W} values, got ${field.length}`);
  const target = row * W + col;
  let rmin = row;
  let cmin = col;
  let cmax = col;
  let lo = Infinity;
  let hi = 0;
  let leaks = 0;
  for (let i = 0; i < H * W; i++) {
    const v = field[i];
    if (!(v > 0)) continue;
    if (i > target) {
      leaks++;
      continue;
    }
    if (i === target) continue;
    const r = Math.floor(i / W);
    const c = i % W;
    rmin = Math.min(rmin, r);
    cmin = Math.min(cmin, c);
    cmax = Math.max(cmax, c);
    lo = Math.min(lo, Math.log(v));
    hi = Math.max(hi, Math.log(v));
  }
  const cells = new Uint8Array(H * W);
  const strength = new Float32Array(H * W);
  let influence = 0;
  let blind = 0;
  for (let i = 0; i < H * W; i++) {
    if (i === target) cells[i] = Cell.Target;
    else if (i > target) cells[i] = Cell.Future;
    else if (field[i] > 0) {
      cells[i] = Cell.Influence;
      strength[i] = hi > lo ? (Math.log(field[i]) - lo) / (hi - lo) : 1;
      influence++;
    } else {
      const r = Math.floor(i / W);
      const c = i % W;
      const inside = r >= rmin && c >= cmin && c <= cmax;
      cells[i] = inside ? Cell.Blind : Cell.OutOfReach;
      if (inside) blind++;
    }
  }
  return { cells, strength, influence, blind, leaks };
}
