// The auto-encoder panel's own store: the bundled test digits of the loaded model, the
// source the variations are drawn from (an example, a picture file, or the pad's drawing),
// its code from the sampling worker, and a morph's two ends. Each source is encoded in the
// worker (the app store's encode: one request at a time, a newer one replaces an older,
// and an answer for a source or a model no longer wanted is dropped), then the app store
// draws its variations (setConditionVector) or a strip from A's code to B's (morph).
// A picture or drawing that cannot be read only sets `error`: the source and the run stay.
import { create } from 'zustand';
import { parseDigitExamples, type DigitExample } from '../io/digitExamples';
import { interpolateCodes } from '../model/codes';
import { modelFolder } from '../worker/catalog';
import { browserDecoder, frameDigit, readPicture, type Decoder } from './picture';
import { canDraw, drawingModel, useStore } from './store';
import { isAbort } from './workerBridge';

/** The model whose examples a random-weights auto-encoder preset borrows. */
const EXAMPLES_MODEL = 'mnist-ae';
export const EXAMPLES_FILE = 'examples.json';
/** Steps of a morph strip, A and B included. */
export const MORPH_STEPS = 8;

export type SourceKind = 'example' | 'file' | 'drawing';

export interface AeSource {
  kind: SourceKind;
  /** what it is in a few words: "test digit 7", a file name, "your drawing" */
  label: string;
  /** [H * W] 8-bit grey at the model's size, white ink on black: what was encoded */
  pixels: Uint8Array;
  code: Float32Array;
}

export interface AeState {
  /** the model source the examples were asked for (a new one resets the panel) */
  examplesFor: string | null;
  examples: DigitExample[] | null;
  examplesError: string | null;
  source: AeSource | null;
  /** the source being encoded, in a few words; null when none is */
  encoding: string | null;
  /** one line: the last picture, drawing or encode that was refused */
  error: string | null;
  morphA: AeSource | null;
  morphB: AeSource | null;

  /** the examples of model `source` (its folder's examples.json), framed at the model's `size` */
  loadExamples(source: string, size: number, modelsBase: string, fetcher?: typeof fetch): Promise<void>;
  pickExample(index: number): Promise<void>;
  uploadPicture(file: File, decode?: Decoder): Promise<void>;
  useDrawing(): Promise<void>;
  /** the current source becomes the morph's A or B */
  setMorphEnd(end: 'a' | 'b'): void;
  /** draws the strip from A's code to B's */
  morph(): void;
}

/** The examples file of an auto-encoder model: its own folder's, or models/mnist-ae's for a random preset. */
export function examplesUrl(source: string, modelsBase: string): string {
  const spec = source.startsWith('random') ? EXAMPLES_MODEL : source;
  return `${modelFolder(spec, modelsBase)}${EXAMPLES_FILE}`;
}

/** A grey square picture at `size` (the examples are 28x28; a smaller model reads them framed smaller). */
function atSize(pixels: Uint8Array, from: number, size: number): Uint8Array {
  return from === size ? pixels : frameDigit(Float32Array.from(pixels), from, from, size);
}

const EMPTY: Pick<AeState, 'examples' | 'examplesError' | 'source' | 'encoding' | 'error' | 'morphA' | 'morphB'> = {
  examples: null,
  examplesError: null,
  source: null,
  encoding: null,
  error: null,
  morphA: null,
  morphB: null,
};

export const useAeStore = create<AeState>()((set, get) => {
  /** encodes asked for: an answer counts only for the newest */
  let asked = 0;
  const decoder = browserDecoder();

  /** Encodes `pixels` in the worker, then draws its variations; a refusal is one line and changes nothing. */
  async function encodeSource(kind: SourceKind, label: string, pixels: Uint8Array): Promise<void> {
    const app = useStore.getState();
    const model = drawingModel(app);
    if (!model || !canDraw(app)) {
      set({ error: 'the model is still loading: try again in a moment' });
      return;
    }
    const mine = ++asked;
    const wanted = () => mine === asked && drawingModel(useStore.getState()) === model;
    set({ encoding: label });
    let code: Float32Array;
    try {
      code = await app.encode(pixels);
    } catch (e) {
      if (isAbort(e) || !wanted()) return; // a newer source or model took its place
      set({ encoding: null, error: `${label}: ${(e as Error).message.split('\n')[0]}` });
      return;
    }
    if (!wanted()) return;
    set({ source: { kind, label, pixels, code }, encoding: null, error: null });
    useStore.getState().setConditionVector(code);
  }

  /** The model's pad size, or null (with the error line set) when no model draws. */
  function modelSize(): number | null {
    const config = drawingModel(useStore.getState())?.config;
    if (!config) {
      set({ error: 'the model is still loading: try again in a moment' });
      return null;
    }
    return config.width;
  }

  return {
    examplesFor: null,
    ...EMPTY,

    async loadExamples(source, size, modelsBase, fetcher = fetch) {
      if (get().examplesFor === source) return;
      asked++; // an encode for the previous model is not wanted any more
      set({ examplesFor: source, ...EMPTY });
      let examples: DigitExample[] | null = null;
      let error: string | null = null;
      try {
        const res = await fetcher(examplesUrl(source, modelsBase));
        if (res.status === 404) error = `no bundled digits for this model (${EXAMPLES_FILE} not found): use a picture or the pad`;
        else if (!res.ok) error = `${EXAMPLES_FILE}: HTTP ${res.status}`;
        else {
          const file = parseDigitExamples(await res.text());
          examples = file.examples.map((e) => ({ ...e, pixels: atSize(e.pixels, file.size, size) }));
        }
      } catch (e) {
        error = (e as Error).message.split('\n')[0];
      }
      if (get().examplesFor === source) set({ examples, examplesError: error });
    },

    async pickExample(index) {
      const e = get().examples?.[index];
      if (e) await encodeSource('example', `test digit ${e.label} (#${e.index})`, e.pixels);
    },

    async uploadPicture(file, decode = decoder) {
      const size = modelSize();
      if (size === null) return;
      let pixels: Uint8Array;
      try {
        // framed as the CLI frames a --png and the pad frames a loaded picture
        pixels = (await readPicture(file, size, decode)).pixels;
      } catch (e) {
        set({ error: (e as Error).message.split('\n')[0] });
        return;
      }
      if (!pixels.some((v) => v > 0)) {
        set({ error: `picture "${file.name}": no ink found (a blank picture has no digit to encode)` });
        return;
      }
      await encodeSource('file', file.name, pixels);
    },

    async useDrawing() {
      const { draw } = useStore.getState();
      if (modelSize() === null) return;
      if (!draw.inked) {
        set({ error: 'the pad is empty: draw a digit first' });
        return;
      }
      // the encoder learned MNIST's framing: the drawing is framed the same way before it is read
      const pixels = draw.width === draw.height ? frameDigit(Float32Array.from(draw.image), draw.width, draw.height, draw.width, true) : draw.image.slice();
      await encodeSource('drawing', 'your drawing', pixels);
    },

    setMorphEnd(end) {
      const { source } = get();
      if (!source) return;
      set(end === 'a' ? { morphA: source } : { morphB: source });
    },

    morph() {
      const { morphA, morphB } = get();
      if (!morphA || !morphB) {
        set({ error: 'morph: choose A and B first (each takes the current source)' });
        return;
      }
      set({ error: null });
      useStore.getState().morph(interpolateCodes(morphA.code, morphB.code, MORPH_STEPS));
    },
  };
});
