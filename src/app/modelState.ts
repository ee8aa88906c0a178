// Which model the page runs, as one union, and what the page reads from it (the header,
// the picker and every panel use these selectors, so none works it out on its own).
import type { ModelConfig } from '../model/config';
import type { ModelInfo, WireCondition } from '../worker/protocol';

/**
 * Which model the page runs, in one place (the header and the picker read it here):
 * - loading: the page's first model is on its way, none draws;
 * - ready: `model` is loaded in the sampler and draws;
 * - switching: `to` is loading in place of `from`, which stays loaded (null after a failed start);
 * - failed: loading `name` failed (`message`, one line); `model` still draws, or null when
 *   no model was ever loaded (the page shows the error instead of its panels).
 */
export type ModelState =
  | { kind: 'loading'; name: string }
  | { kind: 'ready'; model: ModelInfo }
  | { kind: 'switching'; from: ModelInfo | null; to: string }
  | { kind: 'failed'; name: string; message: string; model: ModelInfo | null };

/** A state that holds a ModelState (the store's). */
export interface HasModel {
  model: ModelState;
}

/** The scoring worker follows the sampler: it loads a model only once the sampler has it. */
export interface ScorerState {
  /** the sampler's model the scorer is loading or holds (identity: the scorer is asked for `for` only) */
  for: ModelInfo | null;
  status: 'loading' | 'ready' | 'failed';
  /** why it failed, one line */
  message: string | null;
}

/** The model that draws now (loaded in the sampler), if any. */
export function drawingModel(s: HasModel): ModelInfo | null {
  const m = s.model;
  return m.kind === 'ready' || m.kind === 'failed' ? m.model : m.kind === 'switching' ? m.from : null;
}

/** Whether a run may start: a model draws and none is on its way to replace it. */
export function canDraw(s: HasModel): boolean {
  return s.model.kind === 'ready' || (s.model.kind === 'failed' && s.model.model !== null);
}

/** The name the picker shows: the model asked for last, or after a failed switch the one still drawing. */
export function pickedName(s: HasModel): string {
  const m = s.model;
  if (m.kind === 'loading') return m.name;
  if (m.kind === 'ready') return m.model.source;
  if (m.kind === 'switching') return m.to;
  return m.model?.source ?? m.name;
}

/** The classes of a class model, 0 for any other (or none). */
export function classesOf(model: ModelInfo | null): number {
  const c = model?.config.conditioning;
  return c?.type === 'class' ? c.classes : 0;
}

/** Why the page has no model at all (its first load failed), or null. */
export function startError(s: HasModel): string | null {
  return s.model.kind === 'failed' && s.model.model === null ? s.model.message : null;
}

/**
 * The condition a run of this model starts with, or null when the page has not chosen one
 * yet (no class picked for a class model, no face for a vector model): then nothing runs.
 */
export function runCondition(config: ModelConfig, label: number | null, vector: Float32Array | null): WireCondition | null {
  const c = config.conditioning;
  if (c.type === 'class') return label === null || label >= c.classes ? null : { kind: 'class', label };
  if (c.type === 'vector') return vector === null || vector.length !== c.dim ? null : { kind: 'vector', values: Array.from(vector) };
  return { kind: 'none' };
}

