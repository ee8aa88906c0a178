import { afterEach, describe, expect, it, vi } from 'vitest';
import { useStore } from './store';
import { modelFetch } from './modelFiles';
import { modelFolder } from '../worker/catalog';

describe('the files of a model given as files', () => {
  afterEach(() => {
    vi.unstubAllGlobals();
    useStore.setState({ userModels: {} });
  });

  it("answer the panels' reads of its folder without a request; other URLs are fetched", async () => {
    vi.stubGlobal('location', { href: 'http://127.0.0.1:5173/' });
    const fetched: string[] = [];
    vi.stubGlobal('fetch', async (u: string | URL) => {
      fetched.push(String(u));
      return new Response('served');
    });
    const examples = new TextEncoder().encode('{"examples": []}');
    useStore.setState({ userModels: { 'files:my faces': { 'model.json': new ArrayBuffer(2), 'examples.json': examples.buffer as ArrayBuffer } } });
    const folder = modelFolder('files:my faces', 'http://127.0.0.1:5173/models/');
    expect(folder).toBe('http://127.0.0.1:5173/models/files%3Amy%20faces/');
    const got = await modelFetch(`${folder}examples.json`);
    expect([got.status, await got.text()]).toEqual([200, '{"examples": []}']);
    expect((await modelFetch(new URL('anchors.json', folder))).status).toBe(404); // not in the folder: as a served folder without it
    expect((await modelFetch(`${modelFolder('files:other', 'http://127.0.0.1:5173/models/')}examples.json`)).status).toBe(404);
    expect(fetched).toEqual([]);
    expect(await (await modelFetch('http://127.0.0.1:5173/models/faces/examples.json')).text()).toBe('served');
    expect(fetched).toEqual(['http://127.0.0.1:5173/models/faces/examples.json']);
  });
});
