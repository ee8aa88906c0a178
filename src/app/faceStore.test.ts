// The face panel's store without a browser: which examples file a model gets, and that a
// pick or a good upload conditions the sampler while a bad upload only sets the error
// line (the condition, and the run, stay as they were).
import { beforeEach, describe, expect, it } from 'vitest';
import { makeConfig } from '../model/config';
import { useStore } from './store';
import { connectFakes } from './fakeWorkers';
import { examplesUrl, useFaceStore } from './faceStore';
import { formatEmbeddingJson } from '../io/embedding';
import { encodeAnchors, parseAnchors } from '../faces/anchorsFile';
import { fitCondition } from '../faces/fitCondition';

const D = 128;
const config = makeConfig({ height: 2, width: 2, channels: 3, levels: 4, hidden: 6, layers: 1, headHidden: 6, conditioning: { type: 'vector', dim: D, nullable: true } });
let fakes: ReturnType<typeof connectFakes> | undefined;
const initial = useStore.getState();
const initialFace = useFaceStore.getState();
const vec = (k: number) => Float32Array.from({ length: D }, (_, i) => (i === k ? 1 : i / 1000));
const generated = () => fakes!.sampler.of('generate');
const file = (name: string, body: string | Uint8Array<ArrayBuffer>) => new File([body], name);

beforeEach(async () => {
  fakes?.close();
  useStore.setState(initial, true);
  useFaceStore.setState(initialFace, true);
  fakes = connectFakes({ model: 'random-faces' });
  await fakes.loaded(fakes.sampler, { source: 'random-faces', random: true, note: '', config, paramCount: 1, recommendedGuidance: 0, recommendedTemperature: 1 });
});

describe('examplesUrl', () => {
  it("is the model folder's examples.json; a random preset borrows models/faces's", () => {
    const base = 'http://127.0.0.1:5173/models/';
    expect(examplesUrl('faces', base)).toBe('http://127.0.0.1:5173/models/faces/examples.json');
    expect(examplesUrl('random-faces', base)).toBe('http://127.0.0.1:5173/models/faces/examples.json');
    expect(examplesUrl('random-faces-tiny', base)).toBe('http://127.0.0.1:5173/models/faces/examples.json');
    expect(examplesUrl('/elsewhere/mine/', base)).toBe('http://127.0.0.1:5173/elsewhere/mine/examples.json');
  });
});

describe('face store', () => {
  it('an example conditions the sampler on its descriptor', () => {
    useFaceStore.setState({ examples: [{ identity: 19, variant: 0, png: 'data:image/png;base64,', descriptor: vec(3) }] });
    useFaceStore.getState().pickExample(0);
    expect(useFaceStore.getState().condition).toMatchObject({ source: 'example', label: 'example: person 19' });
    expect(generated().at(-1)!.condition).toEqual({ kind: 'vector', values: Array.from(vec(3)) });
    useFaceStore.getState().pickExample(5); // no such example: nothing happens
    expect(generated()).toHaveLength(1);
  });

  it("a good upload conditions on its numbers; a bad one is one line and changes nothing", async () => {
    await useFaceStore.getState().uploadEmbedding(file('mine.json', formatEmbeddingJson(vec(7))));
    expect(useFaceStore.getState().condition).toMatchObject({ source: 'upload', label: 'embedding: mine.json', picture: null });
    expect(generated()).toHaveLength(1);
    expect(generated()[0].condition).toEqual({ kind: 'vector', values: Array.from(vec(7)) });
    const before = useFaceStore.getState().condition;
    for (const [name, body, line] of [
      ['nan.json', `[${Array(D).fill('NaN').join(',')}]`, /^nan\.json: not finite: element 0 is NaN$/],
      ['short.json', '[1, 2]', /^short\.json: wrong length/],
      ['x.npy', new Uint8Array([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]) as Uint8Array<ArrayBuffer>, /^x\.npy: broken \.npy header/],
    ] as const) {
      await useFaceStore.getState().uploadEmbedding(file(name, body));
      const s = useFaceStore.getState();
      expect(s.error).toMatch(line);
      expect(s.condition).toBe(before);
    }
    expect(generated()).toHaveLength(1);
    // the next good file clears the line
    await useFaceStore.getState().uploadEmbedding(file('again.json', formatEmbeddingJson(vec(1))));
    expect(useFaceStore.getState().error).toBeNull();
    expect(generated()).toHaveLength(2);
  });

  it('a file over 16 MB is refused by its size without being read whole', async () => {
    await useFaceStore.getState().uploadEmbedding(file('huge.json', new Uint8Array(17 * 1024 * 1024)));
    expect(useFaceStore.getState().error).toMatch(/^huge\.json: file is over 1 MB/);
    expect(generated()).toHaveLength(0);
  });

  it("with the model's anchors loaded, a face is fitted before drawing (the CLI's path) and the store names the people it was drawn from", async () => {
    const vectors = new Float32Array(3 * D);
    for (let p = 0; p < 3; p++) vectors.set(vec(p), p * D);
    const parsed = parseAnchors(encodeAnchors({ dim: D, count: 3, vectors, identities: [40, 41, 42], fit: { k: 2, near: 0.1, far: 0.2 }, source: 'test', thumbs: null }), D);
    if (!parsed.ok) throw new Error(parsed.error);
    useFaceStore.setState({ anchors: parsed.value });
    // far from every anchor: drawn from the mean of the nearest two, as fitCondition says
    const far = Float32Array.from(vec(9), (x) => x * 3);
    await useFaceStore.getState().uploadEmbedding(file('far.json', formatEmbeddingJson(far)));
    const want = fitCondition(parsed.value, far);
    const s = useFaceStore.getState();
    expect(s.condition!.vector).toEqual(far); // the download gives the face itself back
    expect(s.condition!.fitted!.summary).toBe(want.summary);
    expect(generated().at(-1)!.condition).toEqual({ kind: 'vector', values: Array.from(want.vector) });
    expect(s.neighbours!.map((n) => n.identity)).toEqual(want.fit.neighbours.map((n) => 40 + n.index));
    // an anchor itself is kept as it is, and no neighbours are claimed
    await useFaceStore.getState().uploadEmbedding(file('near.json', formatEmbeddingJson(vec(1))));
    expect(useFaceStore.getState().condition!.fitted!.fit.blend).toBe(0);
    expect(useFaceStore.getState().neighbours).toBeNull();
    expect(generated().at(-1)!.condition).toEqual({ kind: 'vector', values: Array.from(vec(1)) });
  });
});
