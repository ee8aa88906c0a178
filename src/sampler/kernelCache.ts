// A CPU kernel memory packed with one model's weights, kept from one run to the next
// (SampleOptions.kernelCache): packing them anew (masking, ~30 tfjs ops, a read-back of
// every weight) cost each run of the app 8-20 ms before a sampling thread could start,
// and its JavaScript was compiled again meanwhile. A kept memory takes only the new run's
// condition (CpuStepper.setCondition). Its owner knows when the weights change (a model
// switch, a training step) and clears it then; the sampler cannot tell.
import type { Condition, PixelCNN } from '../model';
import { CpuStepper } from './cpu';

/** A split run's helpers, as far as a kept memory cares: whether they have all left it. */
export interface Departures {
  /** waiting up to waitMs for the last to leave */
  ended(waitMs?: number): boolean;
}

/** How long a run waits for the last run's helpers to leave the kept memory (they leave within a pixel of its end) before packing a new one. */
const LEAVE_MS = 50;

interface Kept {
  model: PixelCNN;
  shared: boolean;
  stepper: CpuStepper;
  /** the board of its last run, if it split (rowBoard.ts): the memory is packed again only once every helper has left it */
  board?: Departures;
}

export class KernelCache {
  private kept: Kept | undefined;

  /** `minRows`: a new memory holds at least this many rows (the largest run its owner expects), so a later, larger run need not pack anew */
  constructor(private readonly minRows = 1) {}

  /**
   * A stepper of at least `rows` rows packed with `model`'s weights and `condition` on its
   * first rows: the kept one where it fits and no helper is still on it (it is out until
   * given back), else a new one.
   */
  take(model: PixelCNN, rows: number, condition: Condition | undefined, shared: boolean): CpuStepper {
    const k = this.kept;
    this.kept = undefined;
    // a shared memory serves a run on one thread too
    if (k && k.model === model && (k.shared || !shared) && k.stepper.capacity >= rows && (k.board?.ended(LEAVE_MS) ?? true)) {
      k.stepper.setCondition(condition, rows);
      return k.stepper;
    }
    k?.stepper.dispose();
    return new CpuStepper(model, Math.max(rows, this.minRows), condition, shared, rows);
  }

  /** Keeps a stepper taken from it for the next run, with the board of its run's helpers. */
  give(model: PixelCNN, stepper: CpuStepper, board?: Departures): void {
    if (this.kept && this.kept.stepper !== stepper) this.kept.stepper.dispose();
    this.kept = { model, shared: stepper.shared, stepper, board };
  }

  /** Forgets the kept memory (its model's weights changed or are gone); `model`: only if packed with that one's. */
  clear(model?: PixelCNN): void {
    if (model && this.kept?.model !== model) return;
    this.kept?.stepper.dispose();
    this.kept = undefined;
  }
}
