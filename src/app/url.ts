// The URL holds every setting that decides the picture, so a link reproduces it.
import { BACKEND_ORDER, type BackendName } from '../worker/protocol';

export const GRID_SIZES = [1, 4, 16] as const;
export type GridSize = (typeof GRID_SIZES)[number];

/** Pause after each sub-pixel, ms, from "as fast as possible" to "watch every pixel". */
export const SPEEDS = [0, 2, 10, 40, 150] as const;
export const SPEED_NAMES = ['max', 'fast', 'brisk', 'slow', 'pixel by pixel'] as const;

export interface Settings {
  /** class being generated; null before the first pick (checked against the model's classes once it is loaded) */
  label: number | null;
  count: GridSize;
  seed: number;
  /** softmax temperature; null until the model's recommended value is known */
  temperature: number | null;
  /** classifier-free guidance g >= 0; null until the model's recommended value is known */
  guidance: number | null;
  /** index into SPEEDS */
  speed: number;
}

/** Options of the page's workers: the backend is fixed for the page's lifetime; the model changes with switchModel. */
export interface PageOptions {
  model?: string;
  backend?: BackendName;
  /** wasm threads per worker (?threads=N); 1 keeps the single-thread binary, unset: one a core */
  threads?: number;
}

/** The guidance slider's range. */
export const MAX_GUIDANCE = 10;

export function randomSeed(): number {
  return Math.floor(Math.random() * 1_000_000);
}

function int(v: string | null, lo: number, hi: number): number | undefined {
  if (v === null || !/^-?\d+$/.test(v)) return undefined;
  const n = Number(v);
  return n >= lo && n <= hi ? n : undefined;
}

export function readUrl(search: string): { settings: Settings; page: PageOptions } {
  const q = new URLSearchParams(search);
  const count = int(q.get('n'), 1, 16);
  const t = Number(q.get('temp'));
  const g = Number(q.get('guidance'));
  const backend = q.get('backend');
  return {
    settings: {
      label: int(q.get('class'), 0, 9999) ?? null,
      count: (GRID_SIZES as readonly number[]).includes(count ?? -1) ? (count as GridSize) : 4,
      seed: int(q.get('seed'), 0, 2 ** 31 - 1) ?? randomSeed(),
      temperature: q.has('temp') && q.get('temp') !== '' && Number.isFinite(t) && t >= 0.05 && t <= 2 ? t : null,
      guidance: q.has('guidance') && q.get('guidance') !== '' && Number.isFinite(g) && g >= 0 && g <= MAX_GUIDANCE ? g : null,
      speed: int(q.get('speed'), 0, SPEEDS.length - 1) ?? 1,
    },
    page: {
      model: q.get('model') ?? undefined,
      backend: (BACKEND_ORDER as readonly string[]).includes(backend ?? '') ? (backend as BackendName) : undefined,
      threads: int(q.get('threads'), 1, 64),
    },
  };
}

/** The address bar's query, edited by `edit`, written in place (no history entry) if it changed. */
function replaceQuery(edit: (q: URLSearchParams) => void): void {
  const q = new URLSearchParams(location.search);
  edit(q);
  const url = `${location.pathname}?${q.toString()}${location.hash}`;
  if (url !== `${location.pathname}${location.search}${location.hash}`) history.replaceState(null, '', url);
}

/** Writes the model's name into the address bar (a link opens the same model). */
export function writeModelUrl(model: string): void {
  if (typeof history === 'undefined') return; // not in a browser (unit tests)
  replaceQuery((q) => q.set('model', model));
}

/** How long the settings rest before the address bar is written. */
export const URL_SETTLE_MS = 300;
let pendingWrite: ReturnType<typeof setTimeout> | undefined;
let pendingSettings: Settings | undefined;

/**
 * Writes the settings into the address bar without adding history entries, once they have
 * rested URL_SETTLE_MS or the run they started ends (flushUrl), whichever comes first: a
 * dragged slider writes it once (Chrome throttles replaceState), and a click's run starts
 * without the browser's work for a new address (~13 ms of its CPU in a page's first run,
 * the icon fetched again among it) beside the sampling threads.
 */
export function writeUrl(s: Settings): void {
  if (typeof history === 'undefined') return; // not in a browser (unit tests)
  clearTimeout(pendingWrite);
  pendingSettings = s;
  pendingWrite = setTimeout(flushUrl, URL_SETTLE_MS);
}

/** Writes the settings waiting for writeUrl's pause now, if any (a run ended: its link is ready). */
export function flushUrl(): void {
  clearTimeout(pendingWrite);
  const s = pendingSettings;
  pendingSettings = undefined;
  if (s) replaceSettings(s);
}

function replaceSettings(s: Settings): void {
  replaceQuery((q) => {
    if (s.label === null) q.delete('class');
    else q.set('class', String(s.label));
    q.set('n', String(s.count));
    q.set('seed', String(s.seed));
    if (s.temperature === null) q.delete('temp');
    else q.set('temp', String(s.temperature));
    if (s.guidance === null) q.delete('guidance');
    else q.set('guidance', String(s.guidance));
    q.set('speed', String(s.speed));
  });
}
