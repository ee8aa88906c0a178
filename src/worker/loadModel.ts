// Finds the model the page asked for: a shipped one under /models/<name>/, a folder URL,
// or a randomly initialised preset. A missing default model falls back to random weights
// (said so in the note); a broken model file is an error with a readable message.
import { makeConfig, initParams, type ModelConfig, type PixelCNN } from '../model';
import { parseModelArtifacts, MODEL_JSON } from '../io/weights';
import type { ModelInfo } from './protocol';

/** The model the app loads when the URL names none. */
export const DEFAULT_MODEL = 'mnist';

/** Random-weight presets, for trying the app before training and for fast e2e tests. */
export const RANDOM_PRESETS: Record<string, () => ModelConfig> = {
  // the shipped MNIST model's shape, class-conditional, untrained
  random: () => makeConfig({ conditioning: { type: 'class', classes: 10 } }),
  // small enough that a 2x2 grid samples in seconds even on software WebGPU
  'random-tiny': () =>
    makeConfig({
      height: 8,
      width: 8,
      levels: 16,
      hidden: 8,
      layers: 2,
      firstKernel: 5,
      headHidden: 16,
      conditioning: { type: 'class', classes: 10 },
    }),
  // models/faces's shape (its model.json config), conditioned on a 128-d face embedding through a spatial map
  'random-faces': () =>
    makeConfig({
      height: 32,
      width: 32,
      channels: 3,
      levels: 256,
      hidden: 48,
      layers: 10,
      firstKernel: 7,
      kernel: 3,
      headHidden: 96,
      dilations: [1, 1, 1, 1, 1, 1, 1, 2, 4, 8],
      // the location-dependent form s = m(h): it beat V^T h at the same budget (models/faces card)
      spatialChannels: 32,
      conditioning: { type: 'vector', dim: 128, nullable: true, spatial: true },
    }),
  // the same conditioning and colour at 8x8, for e2e runs to "done" on software WebGPU
  'random-faces-tiny': () =>
    makeConfig({
      height: 8,
      width: 8,
      channels: 3,
      levels: 16,
      hidden: 6,
      layers: 2,
      firstKernel: 5,
      headHidden: 12,
      conditioning: { type: 'vector', dim: 128, nullable: true },
    }),
};

function paramCount(model: PixelCNN): number {
  return Object.values(model.params).reduce((s, t) => s + t.size, 0);
}

function randomModel(preset: string, note: string): { model: PixelCNN; info: ModelInfo } {
  const config = RANDOM_PRESETS[preset]();
  const model: PixelCNN = { config, params: initParams(config, 1) };
  return { model, info: { source: preset, random: true, note, config, paramCount: paramCount(model), recommendedGuidance: 0, recommendedTemperature: 1 } };
}

/** URL of the folder holding model.json for a spec (a name under modelsBase, or a path/URL). */
export function modelFolder(spec: string, modelsBase: string): string {
  const isPath = spec.startsWith('/') || spec.startsWith('./') || /^https?:\/\//.test(spec);
  const folder = isPath ? new URL(spec, modelsBase).href : new URL(`${encodeURIComponent(spec)}/`, modelsBase).href;
  return folder.endsWith('/') ? folder : `${folder}/`;
}

export async function loadModel(spec: string, modelsBase: string): Promise<{ model: PixelCNN; info: ModelInfo }> {
  if (spec in RANDOM_PRESETS) {
    return randomModel(spec, 'random weights, asked for in the URL: samples are noise');
  }
  const folder = modelFolder(spec, modelsBase);
  const jsonUrl = `${folder}${MODEL_JSON}`;
  let res: Response;
  try {
    res = await fetch(jsonUrl);
  } catch (e) {
    throw new Error(`model "${spec}": cannot fetch ${jsonUrl} (${(e as Error).message})`);
  }
  if (res.status === 404 && spec === DEFAULT_MODEL) {
    return randomModel(
      'random',
      `models/${DEFAULT_MODEL} is not built yet: using a randomly initialised class-conditional model (samples are noise)`,
    );
  }
  if (!res.ok) throw new Error(`model "${spec}": ${jsonUrl} answered HTTP ${res.status}`);
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`model "${spec}": ${MODEL_JSON} is not valid JSON (${(e as Error).message})`);
  }
  let model: PixelCNN;
  try {
    model = await parseModelArtifacts(json, async (path) => {
      const r = await fetch(new URL(path, folder).href);
      if (!r.ok) throw new Error(`HTTP ${r.status}`);
      return r.arrayBuffer();
    });
  } catch (e) {
    throw new Error(`model "${spec}": ${(e as Error).message}`);
  }
  // metadata written by the trainer (src/train/trainer.ts); all optional
  const meta = (json as { metadata?: Record<string, unknown> }).metadata ?? {};
  const bpd = typeof meta.valBitsPerDim === 'number' ? `, ${meta.valBitsPerDim.toFixed(3)} bits/dim on validation` : '';
  const seen = typeof meta.trainedImages === 'number' ? `, trained on ${Math.round(meta.trainedImages / 1000)}k images` : '';
  const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
  const g = num(meta.recommendedGuidance);
  const t = num(meta.recommendedTemperature);
  return {
    model,
    info: {
      source: spec,
      random: false,
      note: `trained weights from ${folder.replace(location.origin, '')}${bpd}${seen}`,
      config: model.config,
      paramCount: paramCount(model),
      recommendedGuidance: g !== undefined && g >= 0 ? g : 0,
      // the slider's range
      recommendedTemperature: t !== undefined && t >= 0.05 && t <= 2 ? t : 1,
      testBitsPerDim: num(meta.testBitsPerDim),
      valBitsPerDim: num(meta.valBitsPerDim),
    },
  };
}
