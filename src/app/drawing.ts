// The drawing pad's state and what a score of it says, without React or workers: the store
// holds a DrawState, the scorer's answer becomes a Score here.
import type { ModelConfig } from '../model/config';
import { posterior } from '../model/posterior';
import type { ScoreResult } from '../worker/protocol';

/** What one forward pass says about the drawing. */
export interface Score {
  /** the drawing's version this answers */
  version: number;
  /** rows of logp: the model's classes, or 1 for a model without classes */
  classes: number;
  /** log p (nats) of each sub-pixel, [classes * H * W * C] */
  logp: Float32Array;
  /** bits/dim of the whole drawing under each row */
  bitsPerDim: number[];
  /** p(class | drawing), uniform prior; null for a model without classes */
  probs: number[] | null;
  ms: number;
  /** live tensors in the scoring worker afterwards (flat when nothing leaks) */
  numTensors: number;
}

export interface DrawState {
  height: number;
  width: number;
  /** the pad's picture, [H * W] grey 0..255, white ink on black (as MNIST) */
  image: Uint8Array;
  /** bumped whenever image changes (the pad redraws on it) */
  version: number;
  /** whether there is ink on the pad */
  inked: boolean;
  canUndo: boolean;
  /** rows a completion keeps */
  keepRows: number;
  /** one line about the last picture loaded (e.g. that it was inverted), or its error */
  pictureNote: string | null;
  pictureError: string | null;
  score: Score | null;
  scoreError: string | null;
}

/** 8-bit grey -> the model's levels (as eval quantizes MNIST), repeated over its channels. */
export function toLevels(grey: Uint8Array, levels: number, channels: number): Uint8Array {
  const out = new Uint8Array(grey.length * channels);
  for (let i = 0; i < grey.length; i++) {
    const v = Math.floor((grey[i] * levels) / 256);
    for (let c = 0; c < channels; c++) out[i * channels + c] = v;
  }
  return out;
}

/** A blank pad of the model's size (a completion keeps its top half unless told otherwise). */
export function emptyDraw(height: number, width: number, keepRows = Math.floor(height / 2)): DrawState {
  return {
    height,
    width,
    image: new Uint8Array(height * width),
    version: 0,
    inked: false,
    canUndo: false,
    keepRows: Math.min(keepRows, height),
    pictureNote: null,
    pictureError: null,
    score: null,
    scoreError: null,
  };
}

/** The class the drawing is most likely to be, when the model has classes and has scored it. */
export function bestGuess(score: Score | null): number | null {
  if (!score?.probs) return null;
  return score.probs.indexOf(Math.max(...score.probs));
}

/** The score's sums and p(class | drawing) from the worker's log p of every sub-pixel. */
export function toScore(version: number, msg: ScoreResult, config: ModelConfig): { score: Score; scoreError: string | null } {
  const per = msg.logp.length / msg.classes;
  const nats: number[] = [];
  for (let k = 0; k < msg.classes; k++) {
    let sum = 0;
    for (let j = k * per; j < (k + 1) * per; j++) sum += msg.logp[j];
    nats.push(sum);
  }
  let probs: number[] | null = null;
  let scoreError: string | null = null;
  if (config.conditioning.type === 'class') {
    try {
      probs = Array.from(posterior(nats));
    } catch (e) {
      scoreError = (e as Error).message;
    }
  }
  return { score: { version, classes: msg.classes, logp: msg.logp, bitsPerDim: nats.map((n) => -n / per / Math.LN2), probs, ms: msg.ms, numTensors: msg.numTensors }, scoreError };
}

