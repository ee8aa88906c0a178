// Finds the model the page asked for: a shipped one under /models/<name>/, a folder URL,
// a folder the visitor gave as files (read from the bytes the page sent, never fetched), or
// a randomly initialised preset. A missing default model falls back to random weights
// (said so in the note); a broken model file is an error with a readable message. The
// names it knows are catalog.ts's (no tfjs there, so the page can list them).
import { initParams, type PixelCNN } from '../model';
import { parseModelArtifacts, MODEL_JSON } from '../io/weights';
import { DEFAULT_MODEL, FILES_PREFIX, RANDOM_PRESETS, isFilesSpec, modelFolder } from './catalog';
import type { ModelFiles, ModelInfo } from './protocol';

export { DEFAULT_MODEL, RANDOM_PRESETS, modelFolder } from './catalog';

function paramCount(model: PixelCNN): number {
  return Object.values(model.params).reduce((s, t) => s + t.size, 0);
}

function randomModel(preset: string, note: string): { model: PixelCNN; info: ModelInfo } {
  const config = RANDOM_PRESETS[preset]();
  const model: PixelCNN = { config, params: initParams(config, 1) };
  return { model, info: { source: preset, random: true, note, config, paramCount: paramCount(model), recommendedGuidance: 0, recommendedTemperature: 1 } };
}

/** A folder given as files: the same strict parser as a served model, its shards read from the files by name. */
async function modelFromFiles(spec: string, files: ModelFiles): Promise<{ model: PixelCNN; info: ModelInfo }> {
  const name = spec.slice(FILES_PREFIX.length);
  const where = `your model "${name}"`;
  const names = Object.keys(files);
  const jsonBytes = files[MODEL_JSON];
  if (!jsonBytes) {
    throw new Error(`${where}: no ${MODEL_JSON} among the ${names.length} file(s) given (${names.slice(0, 4).join(', ')}${names.length > 4 ? ', …' : ''}): give the folder the trainer wrote`);
  }
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(jsonBytes));
  } catch (e) {
    throw new Error(`${where}: ${MODEL_JSON} is not valid JSON (${(e as Error).message})`);
  }
  let model: PixelCNN;
  try {
    model = await parseModelArtifacts(json, async (path) => {
      // the manifest names shards relative to model.json: a file of the same name
      const bytes = files[path.slice(path.lastIndexOf('/') + 1)];
      if (!bytes) throw new Error('not among the files given');
      return bytes;
    });
  } catch (e) {
    throw new Error(`${where}: ${(e as Error).message}`);
  }
  return { model, info: infoOf(spec, model, json, `your own weights, from ${names.length} files that stay in this page`) };
}

/** What the page shows of a loaded model: model.json's metadata (written by the trainers; all optional). */
function infoOf(spec: string, model: PixelCNN, json: unknown, from: string): ModelInfo {
  const meta = (json as { metadata?: Record<string, unknown> }).metadata ?? {};
  const bpd = typeof meta.valBitsPerDim === 'number' ? `, ${meta.valBitsPerDim.toFixed(3)} bits/dim on validation` : '';
  const seen = typeof meta.trainedImages === 'number' ? `, trained on ${Math.round(meta.trainedImages / 1000)}k images` : '';
  const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
  const g = num(meta.recommendedGuidance);
  const t = num(meta.recommendedTemperature);
  return {
    source: spec,
    random: false,
    note: `${from}${bpd}${seen}`,
    config: model.config,
    paramCount: paramCount(model),
    recommendedGuidance: g !== undefined && g >= 0 ? g : 0,
    // the slider's range
    recommendedTemperature: t !== undefined && t >= 0.05 && t <= 2 ? t : 1,
    testBitsPerDim: num(meta.testBitsPerDim),
    valBitsPerDim: num(meta.valBitsPerDim),
  };
}

export async function loadModel(spec: string, modelsBase: string, files?: ModelFiles): Promise<{ model: PixelCNN; info: ModelInfo }> {
  if (spec in RANDOM_PRESETS) {
    return randomModel(spec, 'random weights, asked for in the URL: samples are noise');
  }
  if (isFilesSpec(spec)) {
    if (!files) throw new Error(`${spec}: the page sent no files with it`);
    return modelFromFiles(spec, files);
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
  return { model, info: infoOf(spec, model, json, `trained weights from ${folder.replace(location.origin, '')}`) };
}
