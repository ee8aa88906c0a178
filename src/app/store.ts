// The page's single store. Data flows one way: worker messages -> store -> components.
// Pixels arrive hundreds of times a second; they are written into `live` (a mutable
// buffer) and announced by bumping `liveTick`. No component selects `liveTick`, so React
// never re-renders per pixel: the canvas, chart and progress text subscribe to the store
// directly (useStore.subscribe) and draw in the next animation frame.
import { create } from 'zustand';
import type { Architecture } from '../model/config';
import type { BackendReport, FromWorker, ModelInfo, ToWorker } from '../worker/protocol';
import { receptiveConfig } from './receptive';
import { SPEEDS, randomSeed, writeUrl, type PageOptions, type Settings } from './url';

export type RunStatus = 'idle' | 'running' | 'paused' | 'done' | 'stopped' | 'error';

/** One run's pixels, mutated in place as batches arrive. */
export interface Live {
  runId: number;
  count: number;
  height: number;
  width: number;
  channels: number;
  levels: number;
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

  pick(label: number): void;
  update(patch: Partial<Omit<Settings, 'label' | 'speed'>>): void;
  setSpeed(speed: number): void;
  pause(): void;
  resume(): void;
  stop(): void;
  regenerate(): void;
  setFocus(index: number): void;
  setReceptive(patch: Partial<Pick<ReceptiveState, 'arch' | 'layers' | 'target'>>): void;
  receive(msg: FromWorker): void;
}

interface Channels {
  sampler(msg: ToWorker): void;
  receptive(msg: ToWorker): void;
}

let channels: Channels = { sampler: () => undefined, receptive: () => undefined };
let rfReqId = 0;
/** what each receptive-field request asked for, so an answer is labelled with its own question */
const rfAsked = new Map<number, { arch: Architecture; layers: number }>();

/** Connects the store to the workers (done once at start-up, and by tests). */
export function connect(c: Channels): void {
  channels = c;
}

export const useStore = create<AppState>()((set, get) => {
  /** Starts a new run with the current settings; the worker stops the old one first. */
  function generate(): void {
    const { settings, model, phase } = get();
    if (phase !== 'ready' || !model || settings.label === null) return;
    const { height, width, channels: ch, levels } = model.config;
    const runId = get().runId + 1;
    const total = height * width * ch;
    set({
      runId,
      focus: Math.min(get().focus, settings.count - 1),
      status: 'running',
      runMessage: null,
      live: {
        runId,
        count: settings.count,
        height,
        width,
        channels: ch,
        levels,
        image: new Uint8Array(settings.count * total),
        done: 0,
        total,
        probs: new Float32Array(settings.count * levels),
        elapsedMs: 0,
      },
      liveTick: get().liveTick + 1,
    });
    channels.sampler({
      type: 'generate',
      runId,
      label: settings.label,
      count: settings.count,
      seed: settings.seed,
      temperature: settings.temperature,
      delayMs: SPEEDS[settings.speed],
    });
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
    settings: { label: null, count: 4, seed: 0, temperature: 1, speed: 1 },
    runId: 0,
    status: 'idle',
    runMessage: null,
    numTensors: null,
    live: null,
    liveTick: 0,
    focus: 0,
    rf: { arch: 'masked', layers: 4, target: null, field: null, shownFor: null, ms: 0, numTensors: null, error: null, backend: null },

    pick(label) {
      changeSettings({ label });
      generate();
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
        case 'ready':
          if (msg.role === 'receptive') {
            set({ rf: { ...s.rf, backend: msg.backend } });
            requestReceptive();
            return;
          }
          {
            const config = msg.model!.config;
            const rf: ReceptiveState = {
              ...s.rf,
              layers: Math.min(config.layers, 12),
              target: { row: Math.floor(config.height / 2), col: Math.floor(config.width / 2) },
            };
            set({ phase: 'ready', backend: msg.backend, model: msg.model!, rf });
            requestReceptive();
            if (get().settings.label !== null) generate();
          }
          return;
        case 'init-error':
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
      }
    },
  };
});
