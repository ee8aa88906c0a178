// The page's single store. Data flows one way: clients' answers -> store -> components. The
// store holds state and calls the clients (samplerClient.ts, receptiveClient.ts), which own
// the workers and drop every answer a newer request replaced.
// Pixels arrive hundreds of times a second; they are written into `live` (a mutable
// buffer) and announced by bumping `liveTick`. No component selects `liveTick`, so React
// never re-renders per pixel: the canvas, chart and progress text subscribe to the store
// directly (useStore.subscribe) and draw in the next animation frame.
import { create } from 'zustand';
import type { Architecture } from '../model/config';
import type { BackendReport, GpuRunStats, ModelFiles, ModelInfo, PixelBatch, WireCondition } from '../worker/protocol';
import { DEFAULT_MODEL, filesSpec, isFilesSpec } from '../worker/catalog';
import { TOP } from '../sampler/pixelStats';
import { bestGuess, emptyDraw, toLevels, toScore, type DrawState } from './drawing';
import { canDraw, drawingModel, pickedName, runCondition, type ModelState, type ScorerState } from './modelState';
import type { SamplerClient } from './samplerClient';
import type { ReceptiveClient } from './receptiveClient';
import { isAbort } from './workerBridge';
import { UndoStack, paintSegment } from './brush';
import { frameDigit } from './picture';
import { receptiveConfig } from './receptive';
import { SPEEDS, flushUrl, randomSeed, writeModelUrl, writeUrl, type Settings } from './url';

// what components and tests read with the state, kept importable from here
export { bestGuess, toLevels, type DrawState, type Score } from './drawing';
export { canDraw, classesOf, drawingModel, pickedName, runCondition, startError, type ModelState, type ScorerState } from './modelState';

export type RunStatus = 'idle' | 'running' | 'paused' | 'done' | 'stopped' | 'error';

/**
 * Whether a change of status redraws a run's canvases: not its start, whose picture comes
 * with its first pixels (or with 'compiling'), so no empty frame is drawn beside the
 * sampling threads; the canvases keep the last picture until then.
 */
export function statusRedraws(s: { status: RunStatus }, prev: { status: RunStatus }): boolean {
  return s.status !== prev.status && s.status !== 'running';
}

/** A plain sample, a completion of the drawing's first rows, or an auto-encoder's morph strip (one code per image). */
export type RunKind = 'sample' | 'complete' | 'morph';

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
  /** the latest distribution the worker sent: of sub-pixel `probsAt` of image `probsOf`, [levels] (probsAt -1: none yet) */
  probs: Float32Array;
  probsOf: number;
  probsAt: number;
  /** [count, H, W, C] bits of each drawn sub-pixel's distribution; NaN where none was drawn (given or not yet) */
  entropy: Float32Array;
  /** [count, H, W, C, 3] its three likeliest levels, likeliest first, and their probabilities */
  top: Uint16Array;
  topP: Float32Array;
  elapsedMs: number;
  /** a fused WebGPU run's readbacks, submits, launches and compile ms, once it ended */
  gpu?: GpuRunStats;
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

export interface AppState {
  backend: BackendReport | null;
  model: ModelState;
  scorer: ScorerState;
  settings: Settings;
  runId: number;
  status: RunStatus;
  runMessage: string | null;
  /** the run waits for its GPU kernels to compile (until its first pixels) */
  compiling: boolean;
  /** live tensors in the sampling worker after its newest load or run ended */
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
  /** the model (its source) conditionVector was given for: an auto-encoder's code means nothing to another model */
  vectorFor: string | null;
  /** an auto-encoder's morph: one code per image of a 'morph' run, A's to B's; null before one */
  morphCodes: Float32Array[] | null;
  /** models the visitor gave as files, by spec (catalog.ts filesSpec): they never leave the page */
  userModels: Record<string, ModelFiles>;

  /** wires the store to the workers' clients and loads the page's first model */
  start(clients: Clients, model: string): void;
  pick(label: number): void;
  /** conditions a vector model on this embedding and starts a new sample run (as pick does for a class) */
  setConditionVector(v: Float32Array): void;
  /** an auto-encoder's code of a picture ([H * W * C] 8-bit grey, the pad's kind) from the sampling worker */
  encode(image: Uint8Array): Promise<Float32Array>;
  /** draws a strip of images, image i from codes[i] (an auto-encoder's morph) */
  morph(codes: Float32Array[]): void;
  /** loads another model (a name under /models/ or a random preset) without reloading the page */
  switchModel(name: string): void;
  /** loads a model folder the visitor gave as files (file name -> bytes), listed as "your model: NAME" */
  loadModelFiles(name: string, files: ModelFiles): void;
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
  /** the backend the sampling worker runs on (when none works, every load fails with why) */
  samplerBackend(report: BackendReport): void;
  /** the receptive-field worker's backend, or why it has none */
  receptiveBackend(report: BackendReport | null, initError?: string): void;
  samplerTensors(numTensors: number): void;
}

/** The workers' clients; the scorer is started on first use (after the sampler's first model). */
export interface Clients {
  sampler: Pick<SamplerClient, 'load' | 'run' | 'stop' | 'pause' | 'resume' | 'speed' | 'watch' | 'encode'>;
  scorer(): Pick<SamplerClient, 'load' | 'score'>;
  receptive: Pick<ReceptiveClient, 'field'>;
}

const NO_CLIENTS: Clients = {
  sampler: {
    load: () => Promise.reject(new Error('no sampling worker')),
    run: () => Promise.reject(new Error('no sampling worker')),
    stop: () => undefined,
    pause: () => undefined,
    resume: () => undefined,
    speed: () => undefined,
    watch: () => undefined,
    encode: () => Promise.reject(new Error('no sampling worker')),
  },
  scorer: () => ({ load: () => Promise.reject(new Error('no scoring worker')), score: () => Promise.reject(new Error('no scoring worker')) }),
  receptive: { field: () => Promise.reject(new Error('no receptive-field worker')) },
};

export const useStore = create<AppState>()((set, get) => {
  let clients = NO_CLIENTS;
  /** pictures before each change of the pad, for undo */
  const undo = new UndoStack();
  /** loads asked for so far: the first keeps a link's guidance and temperature, later ones take the model's */
  let loads = 0;

  /**
   * Starts a new run with the current settings; the client stops the old one first. A
   * completion keeps the drawing's first keepRows rows (given, not drawn) and samples the rest.
   */
  function generate(kind: RunKind = get().lastKind): void {
    const s = get();
    const model = drawingModel(s);
    if (!model || !canDraw(s)) return;
    const { settings, draw, conditionVector, morphCodes } = s;
    const morph = kind === 'morph' ? morphCodes : null;
    if (kind === 'morph' && !morph) return;
    const condition: WireCondition | null = morph ? { kind: 'vectors', values: morph.map((c) => Array.from(c)) } : runCondition(model.config, settings.label, conditionVector);
    if (!condition) return;
    // a morph draws one image per code; every other run fills the grid
    const count = morph ? morph.length : settings.count;
    const { height, width, channels: ch, levels } = model.config;
    const runId = s.runId + 1;
    const total = height * width * ch;
    const image = new Uint8Array(count * total);
    let prefix: { values: Uint8Array; length: number } | undefined;
    if (kind === 'complete') {
      const values = toLevels(draw.image, levels, ch);
      prefix = { values, length: draw.keepRows * width * ch };
      for (let i = 0; i < count; i++) image.set(values.subarray(0, prefix.length), i * total);
    }
    const given = prefix?.length ?? 0;
    const focus = Math.min(s.focus, count - 1);
    const live: Live = {
      runId, kind, condition, given, count, height, width, channels: ch, levels, image, done: given, total,
      probs: new Float32Array(levels), probsOf: focus, probsAt: -1,
      entropy: new Float32Array(count * total).fill(NaN), top: new Uint16Array(count * total * TOP), topP: new Float32Array(count * total * TOP),
      elapsedMs: 0,
    };
    // no liveTick: the run's picture comes with its first pixels (statusRedraws)
    set({ runId, lastKind: kind, focus, status: 'running', runMessage: null, compiling: false, live });
    const mine = () => get().runId === runId;
    clients.sampler
      .run(
        {
          condition,
          guidance: settings.guidance ?? model.recommendedGuidance,
          ...(prefix ? { prefix } : {}),
          count,
          seed: settings.seed,
          temperature: settings.temperature ?? model.recommendedTemperature,
          delayMs: SPEEDS[settings.speed],
          watch: focus,
        },
        {
          pixels: (msg) => {
            if (!mine()) return;
            if (get().compiling) set({ compiling: false });
            addPixels(live, msg);
          },
          // a first WebGPU run compiles for seconds: its empty picture is drawn meanwhile
          compiling: () => mine() && set({ compiling: true, liveTick: get().liveTick + 1 }),
          // the GPU failed: its one line stays beside the stopped run; the header says the worker went on on wasm
          fault: (message) => mine() && set({ runMessage: message, compiling: false }),
          paused: (paused) => mine() && set({ status: paused ? 'paused' : 'running' }),
        },
      )
      .then(
        (end) => {
          if (!mine()) return;
          flushUrl(); // before the status says so: a link copied at "done" reproduces the picture
          if (end.type === 'done') live.elapsedMs = end.elapsedMs;
          if (end.gpu) live.gpu = end.gpu;
          set({ status: end.type, compiling: false, liveTick: get().liveTick + 1 });
        },
        (e: Error) => {
          // a replaced or stopped run: whoever replaced or stopped it has set the status
          if (isAbort(e) || !mine()) return;
          set({ status: 'error', runMessage: e.message });
        },
      );
  }

  function addPixels(live: Live, msg: PixelBatch): void {
    const n = msg.values.length / live.count;
    for (let k = 0; k < n; k++) {
      const idx = msg.start + k;
      for (let i = 0; i < live.count; i++) {
        const at = i * live.total + idx;
        const slot = k * live.count + i;
        live.image[at] = msg.values[slot];
        live.entropy[at] = msg.entropy[slot];
        // element by element: two views a sub-pixel and image were most of a run's last frame (and its garbage)
        for (let t = 0; t < TOP; t++) {
          live.top[at * TOP + t] = msg.top[slot * TOP + t];
          live.topP[at * TOP + t] = msg.topP[slot * TOP + t];
        }
      }
    }
    live.done = msg.done;
    live.total = msg.total;
    // the chart shows the batch's last sub-pixel: one a batch when the run is slowed down
    if (n > 0) {
      live.probs = msg.probs;
      live.probsOf = msg.watch;
      live.probsAt = msg.start + n - 1;
    }
    live.elapsedMs = msg.elapsedMs;
    set({ liveTick: get().liveTick + 1 });
  }

  /** Asks the scorer about the drawing as it is now (nothing to score on an empty pad). */
  function requestScore(): void {
    const s = get();
    const model = drawingModel(s);
    const { draw, scorer } = s;
    if (!model || !canDraw(s)) return; // a switch is under way: the new pad is scored once the scorer has its model
    if (!draw.inked) {
      set({ draw: { ...draw, score: null, scoreError: null } });
      return;
    }
    // the scorer is asked about this model's drawings only once it holds this model
    if (scorer.for !== model) return;
    if (scorer.status === 'failed') {
      set({ draw: { ...draw, scoreError: `no scores: ${scorer.message}` } });
      return;
    }
    if (scorer.status !== 'ready') return; // asked again when it is
    const version = draw.version;
    // an answer counts only for the drawing and the model it was asked about
    const wanted = () => get().draw.version === version && drawingModel(get()) === model;
    clients
      .scorer()
      .score(toLevels(draw.image, model.config.levels, model.config.channels))
      .then(
        (msg) => {
          if (wanted()) set({ draw: { ...get().draw, ...toScore(version, msg, model.config) } });
        },
        (e: Error) => {
          if (!isAbort(e) && wanted()) set({ draw: { ...get().draw, scoreError: e.message } });
        },
      );
  }

  /** The scorer loads the model the sampler has just loaded, then scores the pad. */
  function followWithScorer(model: ModelInfo): void {
    set({ scorer: { for: model, status: 'loading', message: null } });
    const mine = () => get().scorer.for === model;
    clients
      .scorer()
      .load(model.source, get().userModels[model.source])
      .then(
        () => {
          if (!mine()) return;
          set({ scorer: { for: model, status: 'ready', message: null } });
          requestScore();
        },
        (e: Error) => {
          if (isAbort(e) || !mine()) return;
          set({ scorer: { for: model, status: 'failed', message: e.message } });
          set({ draw: { ...get().draw, scoreError: `no scores: ${e.message}` } });
        },
      );
  }

  /** The sampler has `model`: a fresh pad, settings it can read, its first run when it has a condition. */
  function loaded(model: ModelInfo, numTensors: number, first: boolean): void {
    const s = get();
    const config = model.config;
    const c = config.conditioning;
    // a class or a face the new model cannot read is dropped
    // (a face waits through a digits model for the next face model that reads it; an
    // auto-encoder's code is kept only for the model that made it)
    const keepVector = c.type !== 'vector' || (s.conditionVector?.length === c.dim && (config.encoder === undefined || s.vectorFor === model.source));
    undo.clear();
    set({
      model: { kind: 'ready', model },
      numTensors,
      rf: { ...s.rf, layers: Math.min(config.layers, 12), target: { row: Math.floor(config.height / 2), col: Math.floor(config.width / 2) } },
      draw: emptyDraw(config.height, config.width),
      conditionVector: keepVector ? s.conditionVector : null,
      morphCodes: null,
      live: null,
      status: 'idle',
      runMessage: null,
      lastKind: 'sample',
      focus: 0,
      liveTick: s.liveTick + 1,
    });
    const { label, guidance, temperature } = get().settings;
    if (c.type === 'class' && label !== null && label >= c.classes) changeSettings({ label: null });
    // the guidance and temperature a link did not set are the model's own recommendation;
    // a switch to another model takes that model's (one model's settings mean little to another)
    if (!first) changeSettings({ guidance: model.recommendedGuidance, temperature: model.recommendedTemperature });
    else if (guidance === null || temperature === null) {
      changeSettings({ guidance: guidance ?? model.recommendedGuidance, temperature: temperature ?? model.recommendedTemperature });
    }
    followWithScorer(model);
    requestReceptive();
    // runs when the page has a condition for this model (an unconditional one always has)
    generate('sample');
  }

  /** One path for the first model and every switch: the sampler loads `name`, then the scorer follows. */
  function load(name: string): void {
    const s = get();
    const from = drawingModel(s);
    const first = loads++ === 0;
    // the run in progress stops now; the worker frees the old weights once the new ones are in
    if (s.status === 'running' || s.status === 'paused') {
      clients.sampler.stop();
      set({ status: 'stopped' });
    }
    set({ model: from || s.model.kind !== 'loading' ? { kind: 'switching', from, to: name } : { kind: 'loading', name } });
    // a model given as files cannot come back from a link: the URL keeps naming the last served one
    const remember = (spec: string) => !isFilesSpec(spec) && writeModelUrl(spec);
    if (!first) remember(name);
    clients.sampler.load(name, s.userModels[name]).then(
      ({ info, numTensors }) => loaded(info, numTensors, first),
      (e: Error) => {
        if (isAbort(e)) return; // a newer switch replaced this one
        // the old model is still loaded and usable (or there never was one); files that failed are forgotten
        const { [name]: _failed, ...userModels } = get().userModels;
        set({ model: { kind: 'failed', name, message: e.message, model: from }, userModels });
        if (from) remember(from.source);
        requestScore(); // a drawing made during the switch, on the model that stays
      },
    );
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
    const { rf } = get();
    const model = drawingModel(get());
    if (!model || !rf.backend || !rf.target) return;
    const asked = { arch: rf.arch, layers: rf.layers };
    const { height, width } = model.config;
    clients.receptive.field({ config: receptiveConfig(model.config, rf.arch, rf.layers), row: rf.target.row, col: rf.target.col }).then(
      (msg) => {
        if (drawingModel(get()) !== model) return;
        set({ rf: { ...get().rf, field: msg.field, shownFor: { ...asked, row: msg.row, col: msg.col, height, width }, ms: msg.ms, numTensors: msg.numTensors, error: null } });
      },
      (e: Error) => {
        if (!isAbort(e)) set({ rf: { ...get().rf, error: e.message } });
      },
    );
  }

  function changeSettings(patch: Partial<Settings>): void {
    const settings = { ...get().settings, ...patch };
    set({ settings });
    writeUrl(settings);
  }

  return {
    backend: null,
    model: { kind: 'loading', name: DEFAULT_MODEL },
    scorer: { for: null, status: 'loading', message: null },
    settings: { label: null, count: 4, seed: 0, temperature: null, guidance: null, speed: 1 },
    runId: 0,
    status: 'idle',
    runMessage: null,
    compiling: false,
    numTensors: null,
    live: null,
    liveTick: 0,
    focus: 0,
    rf: { arch: 'masked', layers: 4, target: null, field: null, shownFor: null, ms: 0, numTensors: null, error: null, backend: null },
    draw: emptyDraw(28, 28),
    lastKind: 'sample',
    conditionVector: null,
    vectorFor: null,
    morphCodes: null,
    userModels: {},

    start(c, model) {
      clients = c;
      loads = 0;
      load(model);
    },
    pick(label) {
      changeSettings({ label });
      generate('sample');
    },
    setConditionVector(v) {
      const c = drawingModel(get())?.config.conditioning;
      if (c?.type === 'vector' && v.length !== c.dim) {
        // the face panel checks its input; this keeps the previous face if one slips through
        set({ runMessage: `condition: got ${v.length} numbers, the model reads ${c.dim}` });
        return;
      }
      set({ conditionVector: Float32Array.from(v), vectorFor: drawingModel(get())?.source ?? null });
      generate('sample');
    },
    async encode(image) {
      const model = drawingModel(get());
      if (!model || !canDraw(get())) throw new Error('encode: no model is ready yet');
      const { code } = await clients.sampler.encode(toLevels(image, model.config.levels, model.config.channels));
      return code;
    },
    morph(codes) {
      const c = drawingModel(get())?.config.conditioning;
      if (c?.type !== 'vector' || codes.length === 0 || codes.some((v) => v.length !== c.dim)) {
        set({ runMessage: `morph: the model reads ${c?.type === 'vector' ? `${c.dim}-number codes` : 'no codes'}` });
        return;
      }
      set({ morphCodes: codes.map((v) => Float32Array.from(v)) });
      generate('morph');
    },
    switchModel(name) {
      if (name !== pickedName(get())) load(name);
    },
    loadModelFiles(name, files) {
      // a second folder of the same name is another model: "NAME (2)", never in place of the first
      const taken = get().userModels;
      let spec = filesSpec(name);
      for (let k = 2; spec in taken; k++) spec = filesSpec(`${name} (${k})`);
      set({ userModels: { ...get().userModels, [spec]: files } });
      load(spec);
    },
    complete() {
      const { settings, draw } = get();
      if (!canDraw(get())) return;
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
      const { status } = get();
      if (status === 'running' || status === 'paused') clients.sampler.speed(SPEEDS[speed]);
    },
    pause() {
      if (get().status === 'running') clients.sampler.pause();
    },
    resume() {
      if (get().status === 'paused') clients.sampler.resume();
    },
    stop() {
      const { status } = get();
      if (status !== 'running' && status !== 'paused') return;
      clients.sampler.stop();
      set({ status: 'stopped' });
    },
    regenerate() {
      changeSettings({ seed: randomSeed() });
      generate();
    },
    setFocus(focus) {
      set({ focus });
      // the run's batches follow the newly selected image's distributions from now on
      const { status } = get();
      if (status === 'running' || status === 'paused') clients.sampler.watch(focus);
    },
    setReceptive(patch) {
      const rf = { ...get().rf, ...patch };
      set({ rf });
      requestReceptive();
    },


    samplerBackend(backend) {
      set({ backend });
    },
    receptiveBackend(backend, initError) {
      set({ rf: { ...get().rf, backend, ...(initError ? { error: `no receptive fields: ${initError}` } : {}) } });
      requestReceptive();
    },
    samplerTensors(numTensors) {
      set({ numTensors });
    },
  };
});
