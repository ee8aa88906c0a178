// The face panel's own store: the example faces of the loaded model, the condition the
// portraits are drawn from (an example, an uploaded embedding or a photo's face), one error
// line, the photo's crop, face-api's weight download, and each finished portrait's distance
// to its condition. It conditions the sampler through the app store's setConditionVector,
// with the face fitted onto the model's training descriptors first (faces/fitCondition.ts,
// the path `npm run sample --embedding` takes too), and keeps what the fit did for the
// panel to say; a bad file or photo only sets `error`: the previous condition and the
// portraits stay.
import { create } from 'zustand';
import { EXAMPLES_FILE, MAX_EXAMPLES_BYTES, parseFaceExamples, type FaceExample } from '../faces/examples';
import { modelFolder } from '../worker/catalog';
import { CROP_SIZE, PREVIEW_SIZE } from '../worker/faceapiProtocol';
import { MAX_EMBEDDING_BYTES, displayName, parseEmbeddingFile } from '../io/embedding';
import { distancesTo, levelsTo8bit } from './faceDistance';
import { FaceJobError, describeImages, detectPhoto, onFaceWorker } from './faceWorker';
import { anchorThumb, type AnchorAtlas, type FaceAnchors } from '../faces/anchorsFile';
import { fitCondition, type FittedCondition } from '../faces/fitCondition';
import { fetchAnchors, fetchAtlas } from './faceAnchors';
import { modelFetch } from './modelFiles';
import { drawingModel, useStore, type Live } from './store';

/** The model a random-weights preset borrows its example faces from. */
const EXAMPLES_MODEL = 'faces';

export type FacePicture = { kind: 'url'; url: string } | { kind: 'rgb'; rgb: Uint8Array; size: number };

export interface FaceCondition {
  source: 'example' | 'upload' | 'photo';
  /** what it is, in a few words: "example: person 19", a file name */
  label: string;
  vector: Float32Array;
  /** the face as a picture (an example's thumbnail, a photo's 32x32 crop); null for an uploaded embedding */
  picture: FacePicture | null;
  /** what the model draws from: `vector` fitted onto the anchors; null when the model has none */
  fitted: FittedCondition | null;
}

/** One of the training people a fitted face was drawn from. */
export interface FitNeighbour {
  identity: number;
  distance: number;
  weight: number;
  /** its thumbnail, `size` square RGB, once the atlas is in; null before or without one */
  thumb: { rgb: Uint8Array; size: number } | null;
}

export interface FaceState {
  /** the model source the examples were asked for */
  examplesFor: string | null;
  examples: FaceExample[] | null;
  examplesError: string | null;
  condition: FaceCondition | null;
  /** one line: the last upload or photo that was refused */
  error: string | null;
  /** one line about the last photo (several faces found) */
  note: string | null;
  /** the last photo's crop, PREVIEW_SIZE square RGB */
  crop: { rgb: Uint8Array; size: number; name: string; faces: number; score: number; ms: number } | null;
  /** a photo is being read */
  busy: boolean;
  /** face-api's weights while they download (null before and after) */
  weights: { loaded: number; total: number } | null;
  /** distance of each portrait of run `runId` to the condition it was drawn from */
  distances: { runId: number; values: number[] } | null;
  distanceError: string | null;
  /** live tensors in the face-api worker after its last job (flat when nothing leaks) */
  numTensors: number | null;
  /** the training descriptors faces are fitted onto (null before they load, or without them) */
  anchors: FaceAnchors | null;
  anchorsError: string | null;
  /** the people the current condition was drawn from, when it was fitted (blend > 0) */
  neighbours: FitNeighbour[] | null;

  loadExamples(source: string, dim: number): Promise<void>;
  pickExample(index: number): void;
  uploadEmbedding(file: File): Promise<void>;
  uploadPhoto(file: File): Promise<void>;
  /** a file dropped on the panel: a picture goes the photo way, anything else is read as an embedding */
  dropFile(file: File): Promise<void>;
  portraitsDone(live: Live): Promise<void>;
}

/** The examples file that goes with a model: its own folder's, or models/faces's for a random preset. */
export function examplesUrl(source: string, modelsBase: string): string {
  const spec = source.startsWith('random') ? EXAMPLES_MODEL : source;
  return `${modelFolder(spec, modelsBase)}${EXAMPLES_FILE}`;
}

const isPicture = (f: File) => f.type.startsWith('image/') || /\.(png|jpe?g|gif|webp|bmp|avif)$/i.test(f.name);

/** The folder a model's examples.json and anchors.json lie in. */
function folderOf(url: string): string {
  return url.slice(0, url.lastIndexOf('/') + 1);
}

function modelsBase(): string {
  return new URL('models/', new URL(import.meta.env.BASE_URL, location.href)).href;
}

export const useFaceStore = create<FaceState>()((set, get) => {
  onFaceWorker({
    weights: (loaded, total, done) => set({ weights: done ? null : { loaded, total } }),
    ready: () => undefined,
  });

  // settles once the examples' model's anchors are in (or known to be missing): a photo or
  // an upload waits for it, so that it is fitted as the command line fits it
  let anchorsLoaded: Promise<void> = Promise.resolve();
  let atlas: { folder: string; value: Promise<AnchorAtlas | null> } | null = null;
  let anchorsFolder = '';

  function condition(c: Omit<FaceCondition, 'fitted'>): void {
    const anchors = get().anchors;
    const fitted = anchors && anchors.dim === c.vector.length ? fitCondition(anchors, c.vector) : null;
    const neighbours =
      fitted && fitted.fit.blend > 0 ? fitted.fit.neighbours.map((n) => ({ identity: Number(anchors!.identities[n.index]), distance: n.distance, weight: n.weight, thumb: null })) : null;
    const full = { ...c, fitted };
    set({ condition: full, error: null, distances: null, distanceError: null, neighbours });
    useStore.getState().setConditionVector(fitted ? fitted.vector : c.vector);
    if (neighbours && anchors!.thumbs) void showThumbs(anchors!, full);
  }

  /** Puts the neighbours' thumbnails in once the atlas is fetched (once per model folder). */
  async function showThumbs(anchors: FaceAnchors, c: FaceCondition): Promise<void> {
    if (atlas?.folder !== anchorsFolder) {
      const folder = anchorsFolder;
      atlas = { folder, value: fetchAtlas(folder, anchors).then((r) => (r.ok ? r.value : null)) };
    }
    const a = await atlas.value;
    if (!a || get().condition !== c || !c.fitted) return;
    set({
      neighbours: c.fitted.fit.neighbours.map((n, i) => {
        const rgb = anchorThumb(a, anchors.count, n.index);
        return { ...get().neighbours![i], thumb: rgb ? { rgb, size: a.size } : null };
      }),
    });
  }

  const refuse = (message: string) => set({ error: message, note: null });

  return {
    examplesFor: null,
    examples: null,
    examplesError: null,
    condition: null,
    error: null,
    note: null,
    crop: null,
    busy: false,
    weights: null,
    distances: null,
    distanceError: null,
    numTensors: null,
    anchors: null,
    anchorsError: null,
    neighbours: null,

    async loadExamples(source, dim) {
      if (get().examplesFor === source) return;
      set({ examplesFor: source, examples: null, examplesError: null });
      const url = examplesUrl(source, modelsBase());
      // the anchors first: an example shown can be clicked, and is fitted as any face is
      anchorsFolder = folderOf(url);
      anchorsLoaded = fetchAnchors(anchorsFolder, dim).then((r) => {
        if (get().examplesFor === source) set(r.ok ? { anchors: r.value, anchorsError: null } : { anchors: null, anchorsError: r.error });
      });
      await anchorsLoaded;
      let error: string;
      try {
        const res = await modelFetch(url);
        if (res.status === 404) error = `no example faces for this model (${EXAMPLES_FILE} not found)`;
        else if (!res.ok) error = `${EXAMPLES_FILE}: HTTP ${res.status}`;
        else {
          const text = await res.text();
          if (text.length > MAX_EXAMPLES_BYTES) error = `${EXAMPLES_FILE}: over 1 MB`;
          else {
            let json: unknown;
            try {
              json = JSON.parse(text);
            } catch {
              json = undefined;
            }
            const parsed = json === undefined ? { ok: false as const, error: `${EXAMPLES_FILE}: not JSON` } : parseFaceExamples(json, CROP_SIZE, dim);
            if (parsed.ok) {
              if (get().examplesFor === source) set({ examples: parsed.value.examples });
              return;
            }
            error = parsed.error;
          }
        }
      } catch (e) {
        error = `${EXAMPLES_FILE}: ${(e as Error).message}`;
      }
      if (get().examplesFor === source) set({ examplesError: error });
    },

    pickExample(index) {
      const e = get().examples?.[index];
      if (!e) return;
      condition({ source: 'example', label: `example: person ${e.identity}`, vector: e.descriptor, picture: { kind: 'url', url: e.png } });
    },

    async uploadEmbedding(file) {
      const dim = drawingModel(useStore.getState())?.config.conditioning;
      const d = dim?.type === 'vector' ? dim.dim : 128;
      // a huge file is refused by its size without reading it all
      const bytes = new Uint8Array(await (file.size > 16 * MAX_EMBEDDING_BYTES ? file.slice(0, MAX_EMBEDDING_BYTES + 1) : file).arrayBuffer());
      const r = parseEmbeddingFile(file.name, bytes, d);
      if (!r.ok) return refuse(r.error);
      await anchorsLoaded;
      condition({ source: 'upload', label: `embedding: ${displayName(file.name)}`, vector: r.vector, picture: null });
      set({ note: null });
    },

    async uploadPhoto(file) {
      if (get().busy) return;
      set({ busy: true, note: null });
      try {
        const { face, ms, numTensors } = await detectPhoto(file, displayName(file.name));
        await anchorsLoaded;
        set({
          numTensors,
          crop: { rgb: face.preview, size: PREVIEW_SIZE, name: displayName(file.name), faces: face.faces, score: face.score, ms },
          note: face.faces > 1 ? `${face.faces} faces in the photo: used the largest` : null,
        });
        condition({ source: 'photo', label: `photo: ${displayName(file.name)}`, vector: face.descriptor, picture: { kind: 'rgb', rgb: face.crop, size: CROP_SIZE } });
      } catch (e) {
        if (e instanceof FaceJobError && e.numTensors !== null) set({ numTensors: e.numTensors });
        refuse(e instanceof Error ? e.message : String(e));
      } finally {
        set({ busy: false, weights: null });
      }
    },

    async dropFile(file) {
      return isPicture(file) ? get().uploadPhoto(file) : get().uploadEmbedding(file);
    },

    async portraitsDone(live) {
      const c = live.condition;
      if (c.kind !== 'vector' || live.channels !== 3 || live.height !== live.width) return;
      if (get().distances?.runId === live.runId) return;
      const reference = Float32Array.from(c.values);
      const pixels = levelsTo8bit(live.image, live.levels);
      try {
        const { descriptors, numTensors } = await describeImages(pixels, live.count, live.height);
        // a newer run may have finished meanwhile: keep the newest
        if ((get().distances?.runId ?? -1) > live.runId) return;
        set({ distances: { runId: live.runId, values: distancesTo(reference, descriptors, live.count) }, distanceError: null, numTensors });
      } catch (e) {
        if (e instanceof FaceJobError && e.numTensors !== null) set({ numTensors: e.numTensors });
        set({ distanceError: `distances: ${e instanceof Error ? e.message : String(e)}` });
      }
    },
  };
});
