// The models the app knows by name, without tfjs: the page's picker lists them and the
// worker's loadModel.ts finds them. The shipped ones live under /models/<name>/.
import { makeConfig, type ModelConfig } from '../model/config';

/** The model the app loads when the URL names none. */
export const DEFAULT_MODEL = 'mnist';

/** The tiny trunk of the e2e presets: small enough that a 2x2 grid samples in seconds even on software WebGPU. */
const TINY = { height: 8, width: 8, levels: 16, hidden: 8, layers: 2, firstKernel: 5, headHidden: 16 };

/** Random-weight presets, for trying the app before training and for fast e2e tests. */
export const RANDOM_PRESETS: Record<string, () => ModelConfig> = {
  // the shipped MNIST model's shape, class-conditional, untrained
  random: () => makeConfig({ conditioning: { type: 'class', classes: 10 } }),
  'random-tiny': () => makeConfig({ ...TINY, conditioning: { type: 'class', classes: 10 } }),
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
  // an auto-encoder (models/mnist-ae's kind: a conv encoder whose code conditions the decoder) at 8x8, for fast e2e runs
  'random-ae-tiny': () =>
    makeConfig({ ...TINY, conditioning: { type: 'vector', dim: 4, nullable: true }, encoder: { type: 'conv', channels: [4], code: 4 } }),
};

/** The shipped models under /models/, as the picker names them. */
export const SHIPPED_MODELS: readonly { name: string; label: string }[] = [
  { name: 'mnist', label: 'digits (mnist)' },
  { name: 'faces', label: 'faces' },
  { name: 'mnist-ae', label: 'digit variations (mnist-ae)' },
];

/** URL of the folder holding model.json for a spec (a name under modelsBase, or a path/URL). */
export function modelFolder(spec: string, modelsBase: string): string {
  const isPath = spec.startsWith('/') || spec.startsWith('./') || /^https?:\/\//.test(spec);
  const folder = isPath ? new URL(spec, modelsBase).href : new URL(`${encodeURIComponent(spec)}/`, modelsBase).href;
  return folder.endsWith('/') ? folder : `${folder}/`;
}

/**
 * A model the visitor gave the page as files (its folder as the trainers write it) is named
 * `files:NAME`: no shipped name or path looks like it, and it is never written into the URL
 * (the files are not on the server).
 */
export const FILES_PREFIX = 'files:';

export const filesSpec = (name: string) => `${FILES_PREFIX}${name}`;
export const isFilesSpec = (spec: string) => spec.startsWith(FILES_PREFIX);
/** How the picker names it. */
export const filesLabel = (spec: string) => `your model: ${spec.slice(FILES_PREFIX.length)}`;
/** A model's name on the page: a files model by its label, any other by its spec. */
export const modelName = (spec: string) => (isFilesSpec(spec) ? filesLabel(spec) : spec);
