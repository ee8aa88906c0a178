// The page's single store. Data flows one way: worker messages -> store -> components.
// Pixels arrive hundreds of times a second; they are written into `live` (a mutable
// buffer) and announced by bumping `liveTick`. No component selects `liveTick`, so React
// never re-renders per pixel: the canvas, chart and progress text subscribe to the store
// directly (useStore.subscribe) and draw in the next animation frame.
import { create } from 'zustand';
import type { Architecture } from '../model/config';
import type { BackendReport, FromWorker, ModelInfo, ToWorker, WireCondition } from '../worker/protocol';
import type { FromReceptive, ToReceptive } from '../worker/receptiveProtocol';
import { DEFAULT_MODEL } from '../worker/loadModel';
import type { ModelConfig } from '../model/config';
import { posterior } from '../model/classify';
import { UndoStack, paintSegment } from './brush';
import { frameDigit } from './picture';
import { receptiveConfig } from './receptive';
import { SPEEDS, randomSeed, writeModelUrl, writeUrl, type PageOptions, type Settings } from './url';

export type RunStatus = 'idle' | 'running' | 'paused' | 'done' | 'stopped' | 'error';

/** A plain sample, or a completion of the drawing's first rows. */
export type RunKind = 'sample' | 'complete';

/** One run's pixels, mutated in place as batches arrive. */
export interface Live {
  runId: number;
  count: number;
  height: number;
  width: number;
  channels: number;
  levels: number;
  kind: RunKind;
  /** what the run was started with (a finished portrait is compared with it) */
  condition: WireCondition;
  /** sub-pixels of each image given by the drawing (a completion's kept rows), not drawn */
  given: number;
  /** [count, H, W, C] chosen levels; only the first `done` sub-pixels of each image are decided */
  image: Uint8Array;
  done: number;
  total: number;
  /** distribution of the last decided sub-pixel, [count * levels] */
  probs: Float32Array;
  elapsedMs: number;
}

export interface ReceptiveState {
  arch: Architecture;
  layers: number;
  /** the pixel whose receptive field is shown */
  target: { row: number; col: number } | null;
  /** [H * W] influence for `shownFor`, or null before the first answer */
  field: Float32Array | null;
  shownFor: { arch: Architecture; layers: number; row: number; col: number; height: number; width: number } | null;
  ms: number;
  /** live tensors in the receptive-field worker after the last answer */
  numTensors: number | null;
  error: string | null;
  backend: BackendReport | null;
}

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

export interface AppState {
  page: PageOptions;
  phase: 'starting' | 'ready' | 'init-error';
  initError: string | null;
  backend: BackendReport | null;
  model: ModelInfo | null;
  settings: Settings;
  runId: number;
  status: RunStatus;
  runMessage: string | null;
  /** live tensors in the sampling worker after the last run ended */
  numTensors: number | null;
  live: Live | null;
  liveTick: number;
  /** which sample of the grid the distribution chart follows */
  focus: number;
  rf: ReceptiveState;
  draw: DrawState;
  /** what `update` repeats when a setting changes */
  lastKind: RunKind;
  /** the face panel's embedding, for a vector-conditioned model; null before one is chosen */
  conditionVector: Float32Array | null;
  /** the model being loaded in place of `model` (switchModel), or null */
  switching: string | null;
  /** why the last switch failed (the old model stays), one line; null otherwise */
  switchError: string | null;

  pick(label: number): void;
  /** conditions a vector model on this embedding and starts a new sample run (as pick does for a class) */
  setConditionVector(v: Float32Array): void;
  /** loads another model (a name under /models/ or a random preset) without reloading the page */
  switchModel(name: string): void;
  /** completes the drawing's first keepRows rows for the picked class (or the best guess) */
  complete(): void;
  beginStroke(): void;
  strokeTo(from: { x: number; y: number }, to: { x: number; y: number }): void;
  endStroke(): void;
  clearDrawing(): void;
  undoDrawing(): void;
  loadDrawing(pixels: Uint8Array, note: string | null): void;
  pictureFailed(message: string): void;
  setKeepRows(rows: number): void;
  /** scales and centres the drawing as MNIST frames its digits (undoable) */
  frameDrawing(): void;
  update(patch: Partial<Omit<Settings, 'label' | 'speed'>>): void;
  setSpeed(speed: number): void;
  pause(): void;
  resume(): void;
  stop(): void;
  regenerate(): void;
  setFocus(index: number): void;
  setReceptive(patch: Partial<Pick<ReceptiveState, 'arch' | 'layers' | 'target'>>): void;
  receive(msg: FromWorker | FromReceptive): void;
}

interface Channels {
  sampler(msg: ToWorker): void;
  receptive(msg: ToReceptive): void;
  scorer(msg: ToWorker): void;
}

let channels: Channels = { sampler: () => undefined, receptive: () => undefined, scorer: () => undefined };
/** whether the scoring worker has its model (requests made before then wait for it) */
let scorerReady = false;
let scoreReqId = 0;
/** the newest model switch asked of the workers (0: the model they were started with) */
let loadId = 0;
/** the last switch the sampler and the scorer each failed (both then still hold the old model) */
let samplerFailed = -1;
let scorerFailed = -1;

/** The switch a worker started now should answer to (its init carries it). */
export function currentLoadId(): number {
  return loadId;
}
/** the drawing version each score request was made for */
const scoreAsked = new Map<number, number>();
/** pictures before each change of the pad, for undo */
const undo = new UndoStack();

/** 8-bit grey -> the model's levels (as eval quantizes MNIST), repeated over its channels. */
export function toLevels(grey: Uint8Array, levels: number, channels: number): Uint8Array {
  const out = new Uint8Array(grey.length * channels);
  for (let i = 0; i < grey.length; i++) {
    const v = Math.floor((grey[i] * levels) / 256);
    for (let c = 0; c < channels; c++) out[i * channels + c] = v;
  }
  return out;
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

function emptyDraw(height: number, width: number, keepRows = Math.floor(height / 2)): DrawState {
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
let rfReqId = 0;
/** what each receptive-field request asked for, so an answer is labelled with its own question */
const rfAsked = new Map<number, { arch: Architecture; layers: number }>();

/** Connects the store to the workers (done once at start-up, and by tests). */
export function connect(c: Channels): void {
  channels = c;
  scorerReady = false;
  loadId = 0;
  samplerFailed = scorerFailed = -1;
}

export const useStore = create<AppState>()((set, get) => {
  /**
   * Starts a new run with the current settings; the worker stops the old one first. A
   * completion keeps the drawing's first keepRows rows (given, not drawn) and samples the rest.
   */
  function generate(kind: RunKind = get().lastKind): void {
    const { settings, model, phase, draw, conditionVector, switching } = get();
    if (phase !== 'ready' || !model || switching !== null) return;
    const condition = runCondition(model.config, settings.label, conditionVector);
    if (!condition) return;
    const { height, width, channels: ch, levels } = model.config;
    const runId = get().runId + 1;
    const total = height * width * ch;
    const image = new Uint8Array(settings.count * total);
    let prefix: { values: Uint8Array; length: number } | undefined;
    if (kind === 'complete') {
      const values = toLevels(draw.image, levels, ch);
      prefix = { values, length: draw.keepRows * width * ch };
      for (let i = 0; i < settings.count; i++) image.set(values.subarray(0, prefix.length), i * total);
    }
    const given = prefix?.length ?? 0;
    set({
      runId,
      lastKind: kind,
      focus: Math.min(get().focus, settings.count - 1),
      status: 'running',
      runMessage: null,
      live: {
        runId,
        kind,
        condition,
        given,
        count: settings.count,
        height,
        width,
        channels: ch,
        levels,
        image,
        done: given,
        total,
        probs: new Float32Array(settings.count * levels),
        elapsedMs: 0,
      },
      liveTick: get().liveTick + 1,
    });
    channels.sampler({
      type: 'generate',
      runId,
      condition,
      guidance: settings.guidance ?? model.recommendedGuidance,
      ...(prefix ? { prefix } : {}),
      count: settings.count,
      seed: settings.seed,
      temperature: settings.temperature ?? model.recommendedTemperature,
      delayMs: SPEEDS[settings.speed],
    });
  }

  /** Asks the worker to score the drawing as it is now (nothing to score on an empty pad). */
  function requestScore(): void {
    const { draw, model, phase } = get();
    if (phase !== 'ready' || !model) return;
    if (!draw.inked) {
      set({ draw: { ...draw, score: null, scoreError: null } });
      return;
    }
    if (!scorerReady) return; // asked again when it is
    scoreAsked.set(++scoreReqId, draw.version);
    channels.scorer({ type: 'score', reqId: scoreReqId, image: toLevels(draw.image, model.config.levels, model.config.channels) });
  }

  /** Replaces the pad's picture (the old one goes on the undo stack unless told otherwise). */
  function setDrawing(image: Uint8Array, patch: Partial<DrawState> = {}, remember = true): void {
    const { draw } = get();
    if (remember) undo.push(draw.image);
    set({
      draw: { ...draw, ...patch, image, version: draw.version + 1, inked: image.some((v) => v > 0), canUndo: undo.size > 0 },
    });
    requestScore();
  }

  function requestReceptive(): void {
    const { rf, model } = get();
    if (!model || !rf.backend || !rf.target) return;
    const config = receptiveConfig(model.config, rf.arch, rf.layers);
    rfAsked.set(++rfReqId, { arch: rf.arch, layers: rf.layers });
    channels.receptive({ type: 'receptive', reqId: rfReqId, config, row: rf.target.row, col: rf.target.col });
  }

  function changeSettings(patch: Partial<Settings>): void {
    const settings = { ...get().settings, ...patch };
    set({ settings });
    writeUrl(settings);
  }

  return {
    page: {},
    phase: 'starting',
    initError: null,
    backend: null,
    model: null,
    settings: { label: null, count: 4, seed: 0, temperature: null, guidance: null, speed: 1 },
    runId: 0,
    status: 'idle',
    runMessage: null,
    numTensors: null,
    live: null,
    liveTick: 0,
    focus: 0,
    rf: { arch: 'masked', layers: 4, target: null, field: null, shownFor: null, ms: 0, numTensors: null, error: null, backend: null },
    draw: emptyDraw(28, 28),
    lastKind: 'sample',
    conditionVector: null,
    switching: null,
    switchError: null,

    pick(label) {
      changeSettings({ label });
      generate('sample');
    },
    setConditionVector(v) {
      const c = get().model?.config.conditioning;
      if (c?.type === 'vector' && v.length !== c.dim) {
        // the face panel checks its input; this keeps the previous face if one slips through
        set({ runMessage: `condition: got ${v.length} numbers, the model reads ${c.dim}` });
        return;
      }
      set({ conditionVector: Float32Array.from(v) });
      generate('sample');
    },
    switchModel(name) {
      const { page, model, switching, status, runId } = get();
      const now = switching ?? page.model ?? model?.source ?? DEFAULT_MODEL;
      if (name === now) return;
      // the run in progress stops now; the worker frees the old weights once the new ones are in
      if (status === 'running' || status === 'paused') channels.sampler({ type: 'stop', runId });
      loadId++;
      set({ page: { ...page, model: name }, switching: name, switchError: null });
      writeModelUrl(name);
      channels.sampler({ type: 'load', loadId, model: name });
      // drawings are scored again once the scorer has the new model too
      scorerReady = false;
      channels.scorer({ type: 'load', loadId, model: name });
    },
    complete() {
      const { settings, draw, phase } = get();
      if (phase !== 'ready') return;
      if (settings.label === null) changeSettings({ label: bestGuess(draw.score) ?? 0 });
      generate('complete');
    },
    beginStroke() {
      undo.push(get().draw.image);
      set({ draw: { ...get().draw, canUndo: true } });
    },
    strokeTo(from, to) {
      const { draw } = get();
      // painted in place: the pad redraws on `version` without a React render per move
      if (paintSegment(draw.image, draw.width, draw.height, from, to)) {
        set({ draw: { ...draw, version: draw.version + 1, inked: true } });
      }
    },
    endStroke() {
      requestScore();
    },
    clearDrawing() {
      const { draw } = get();
      if (!draw.inked) return;
      setDrawing(new Uint8Array(draw.image.length), { pictureNote: null, pictureError: null });
    },
    undoDrawing() {
      const before = undo.pop();
      if (before) setDrawing(before, { pictureError: null }, false);
    },
    loadDrawing(pixels, note) {
      const { draw } = get();
      if (pixels.length !== draw.image.length) {
        set({ draw: { ...draw, pictureError: `picture: got ${pixels.length} pixels, the pad has ${draw.image.length}`, pictureNote: null } });
        return;
      }
      setDrawing(pixels.slice(), { pictureNote: note, pictureError: null });
    },
    pictureFailed(message) {
      // the drawing stays as it was
      set({ draw: { ...get().draw, pictureError: message, pictureNote: null } });
    },
    frameDrawing() {
      const { draw } = get();
      if (!draw.inked || draw.width !== draw.height) return;
      const framed = frameDigit(Float32Array.from(draw.image), draw.width, draw.height, draw.width, true);
      if (framed.some((v, i) => v !== draw.image[i])) setDrawing(framed, { pictureError: null });
    },
    setKeepRows(rows) {
      const { draw } = get();
      const keepRows = Math.max(0, Math.min(draw.height, Math.round(rows)));
      if (keepRows !== draw.keepRows) set({ draw: { ...draw, keepRows } });
    },
    update(patch) {
      changeSettings(patch);
      // the picture always shows the current settings: restart any run already made
      if (get().status !== 'idle') generate();
    },
    setSpeed(speed) {
      changeSettings({ speed });
      const { status, runId } = get();
      if (status === 'running' || status === 'paused') channels.sampler({ type: 'speed', runId, delayMs: SPEEDS[speed] });
    },
    pause() {
      if (get().status === 'running') channels.sampler({ type: 'pause', runId: get().runId });
    },
    resume() {
      if (get().status === 'paused') channels.sampler({ type: 'resume', runId: get().runId });
    },
    stop() {
      const { status, runId } = get();
      if (status === 'running' || status === 'paused') channels.sampler({ type: 'stop', runId });
    },
    regenerate() {
      changeSettings({ seed: randomSeed() });
      generate();
    },
    setFocus(focus) {
      set({ focus });
    },
    setReceptive(patch) {
      const rf = { ...get().rf, ...patch };
      set({ rf });
      requestReceptive();
    },

    receive(msg) {
      const s = get();
      switch (msg.type) {
        case 'receptive-ready':
          set({ rf: { ...s.rf, backend: msg.backend } });
          requestReceptive();
          return;
        case 'receptive-init-error':
          set({ rf: { ...s.rf, error: `no receptive fields: ${msg.message}` } });
          return;
        case 'ready':
          // an answer to a load the page has since replaced by another
          if ((msg.loadId ?? 0) !== loadId) return;
          if (msg.role === 'scorer') {
            scorerReady = true;
            requestScore();
            return;
          }
          {
            const config = msg.model!.config;
            const c = config.conditioning;
            scoreAsked.clear(); // answers about the old model's drawing
            // a class or a face the new model cannot read is dropped
            const label = s.settings.label;
            // (a face waits through a digits model for the next face model that reads it)
            const keepVector = c.type !== 'vector' || s.conditionVector?.length === c.dim;
            const rf: ReceptiveState = {
              ...s.rf,
              layers: Math.min(config.layers, 12),
              target: { row: Math.floor(config.height / 2), col: Math.floor(config.width / 2) },
            };
            undo.clear();
            const draw = emptyDraw(config.height, config.width);
            set({
              phase: 'ready',
              initError: null,
              backend: msg.backend,
              model: msg.model!,
              rf,
              draw,
              switching: null,
              switchError: null,
              conditionVector: keepVector ? s.conditionVector : null,
              live: null,
              status: 'idle',
              runMessage: null,
              lastKind: 'sample',
              focus: 0,
              liveTick: s.liveTick + 1,
              ...(msg.numTensors !== undefined ? { numTensors: msg.numTensors } : {}),
            });
            if (c.type === 'class' && label !== null && label >= c.classes) set({ settings: { ...get().settings, label: null } });
            // the guidance and temperature a link did not set are the model's own recommendation;
            // a switch to another model takes that model's (one model's settings mean little to another)
            const { guidance, temperature } = get().settings;
            if ((msg.loadId ?? 0) > 0) {
              changeSettings({ guidance: msg.model!.recommendedGuidance, temperature: msg.model!.recommendedTemperature });
            } else if (guidance === null || temperature === null) {
              changeSettings({
                guidance: guidance ?? msg.model!.recommendedGuidance,
                temperature: temperature ?? msg.model!.recommendedTemperature,
              });
            }
            requestReceptive();
            // runs when the page has a condition for this model (an unconditional one always has)
            generate('sample');
          }
          return;
        case 'load-error':
          if (msg.loadId !== loadId) return;
          if (msg.role === 'scorer') {
            scorerFailed = msg.loadId;
            // both failed: both still hold the old model, which the page still shows
            if (samplerFailed === msg.loadId) {
              scorerReady = true;
              requestScore();
            } else set({ draw: { ...s.draw, scoreError: `no scores: ${msg.message}` } });
            return;
          }
          samplerFailed = msg.loadId;
          if (scorerFailed === msg.loadId) {
            scorerReady = true;
            set({ draw: { ...s.draw, scoreError: null } });
            requestScore();
          }
          if (!s.model) {
            // nothing loaded before either: the page has no model to fall back on
            set({ phase: 'init-error', initError: msg.message, switching: null, status: 'error' });
            return;
          }
          // the old model is still loaded and usable
          set({ switching: null, switchError: msg.message, page: { ...s.page, model: s.model.source }, numTensors: msg.numTensors });
          writeModelUrl(s.model.source);
          return;
        case 'init-error':
          if (msg.role === 'scorer') {
            set({ draw: { ...s.draw, scoreError: `no scores: ${msg.message}` } });
            return;
          }
          set({ phase: 'init-error', initError: msg.message, backend: msg.backend ?? null, status: 'error' });
          return;
        case 'pixels': {
          const live = s.live;
          if (msg.runId !== s.runId || !live || live.runId !== msg.runId) return; // a replaced run
          const n = msg.values.length / live.count;
          for (let k = 0; k < n; k++) {
            const idx = msg.start + k;
            for (let i = 0; i < live.count; i++) live.image[i * live.total + idx] = msg.values[k * live.count + i];
          }
          live.done = msg.done;
          live.total = msg.total;
          live.probs = msg.probs;
          live.elapsedMs = msg.elapsedMs;
          set({ liveTick: s.liveTick + 1 });
          return;
        }
        case 'started':
          return;
        case 'paused':
        case 'resumed':
          if (msg.runId === s.runId) set({ status: msg.type === 'paused' ? 'paused' : 'running' });
          return;
        case 'done':
          if (s.live && msg.runId === s.runId) s.live.elapsedMs = msg.elapsedMs;
          set({ numTensors: msg.numTensors, ...(msg.runId === s.runId ? { status: 'done', liveTick: s.liveTick + 1 } : {}) });
          return;
        case 'stopped':
          set({ numTensors: msg.numTensors, ...(msg.runId === s.runId ? { status: 'stopped' } : {}) });
          return;
        case 'error':
          set({ numTensors: msg.numTensors, ...(msg.runId === s.runId ? { status: 'error', runMessage: msg.message } : {}) });
          return;
        case 'receptive': {
          const { model, rf } = s;
          const asked = rfAsked.get(msg.reqId);
          // requests before this one were dropped by the worker in favour of newer ones
          for (const id of rfAsked.keys()) if (id <= msg.reqId) rfAsked.delete(id);
          if (!model || !asked) return;
          set({
            rf: {
              ...rf,
              field: msg.field,
              shownFor: { ...asked, row: msg.row, col: msg.col, height: model.config.height, width: model.config.width },
              ms: msg.ms,
              numTensors: msg.numTensors,
              error: null,
            },
          });
          return;
        }
        case 'receptive-error':
          rfAsked.delete(msg.reqId);
          set({ rf: { ...s.rf, error: msg.message } });
          return;
        case 'score': {
          const version = scoreAsked.get(msg.reqId);
          for (const id of scoreAsked.keys()) if (id <= msg.reqId) scoreAsked.delete(id);
          const { draw, model } = s;
          // an answer for a drawing that has changed since is dropped (a newer one is coming)
          if (version === undefined || !model || version !== draw.version) return;
          const per = msg.logp.length / msg.classes;
          const nats: number[] = [];
          for (let k = 0; k < msg.classes; k++) {
            let sum = 0;
            for (let j = k * per; j < (k + 1) * per; j++) sum += msg.logp[j];
            nats.push(sum);
          }
          let probs: number[] | null = null;
          let scoreError: string | null = null;
          if (model.config.conditioning.type === 'class') {
            try {
              probs = Array.from(posterior(nats));
            } catch (e) {
              scoreError = (e as Error).message;
            }
          }
          const score: Score = { version, classes: msg.classes, logp: msg.logp, bitsPerDim: nats.map((n) => -n / per / Math.LN2), probs, ms: msg.ms, numTensors: msg.numTensors };
          set({ draw: { ...draw, score, scoreError } });
          return;
        }
        case 'score-error':
          scoreAsked.delete(msg.reqId);
          set({ draw: { ...s.draw, scoreError: msg.message } });
          return;
      }
    },
  };
});
