// The face panel's copy of a face model's anchors (src/faces/anchorsFile.ts): the training
// descriptors a real face is fitted onto before drawing, fetched with the example faces
// from the same model folder, and their thumbnail atlas, fetched only once a face has been
// fitted (the panel shows the people it was drawn from). Each failure is one line.
import { ANCHORS_FILE, MAX_ANCHORS_BYTES, decodeAtlas, parseAnchors, type AnchorAtlas, type FaceAnchors } from '../faces/anchorsFile';
import { modelFetch } from './modelFiles';

export type Fetched<T> = { ok: true; value: T } | { ok: false; error: string };

/** anchors.json of the folder `folderUrl` (ending in /), checked for descriptors of `dim`. */
export async function fetchAnchors(folderUrl: string, dim: number): Promise<Fetched<FaceAnchors>> {
  try {
    const res = await modelFetch(new URL(ANCHORS_FILE, folderUrl));
    if (res.status === 404) return { ok: false, error: `${ANCHORS_FILE} not found: faces are drawn as given, not fitted` };
    if (!res.ok) return { ok: false, error: `${ANCHORS_FILE}: HTTP ${res.status}` };
    const text = await res.text();
    if (text.length > MAX_ANCHORS_BYTES) return { ok: false, error: `${ANCHORS_FILE}: over ${MAX_ANCHORS_BYTES >> 20} MB` };
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      return { ok: false, error: `${ANCHORS_FILE}: not JSON` };
    }
    return parseAnchors(json, dim);
  } catch (e) {
    return { ok: false, error: `${ANCHORS_FILE}: ${(e as Error).message}` };
  }
}

/** The thumbnail atlas the anchors name, from the same folder. */
export async function fetchAtlas(folderUrl: string, anchors: FaceAnchors): Promise<Fetched<AnchorAtlas>> {
  if (!anchors.thumbs) return { ok: false, error: `${ANCHORS_FILE} names no thumbnails` };
  const file = anchors.thumbs.file;
  try {
    const res = await modelFetch(new URL(file, folderUrl));
    if (!res.ok) return { ok: false, error: `${file}: HTTP ${res.status}` };
    return decodeAtlas(anchors, new Uint8Array(await res.arrayBuffer()));
  } catch (e) {
    return { ok: false, error: `${file}: ${(e as Error).message}` };
  }
}
