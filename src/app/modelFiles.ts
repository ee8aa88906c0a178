// The files of a model the visitor gave the page (the store's userModels) answer the page's
// own readers of a model folder (examples.json, anchors.json and its atlas) as if fetched:
// the face and auto-encoder panels read them as they read a served model's, and no request
// is made. Any other URL is fetched as usual.
import { isFilesSpec } from '../worker/catalog';
import { useStore } from './store';

/** fetch, except that a file of a files model's folder (modelFolder of 'files:NAME') comes from its bytes. */
export async function modelFetch(url: RequestInfo | URL): Promise<Response> {
  const u = new URL(url instanceof Request ? url.url : String(url), location.href);
  const parts = u.pathname.split('/');
  const spec = parts.length >= 2 ? decodeURIComponent(parts[parts.length - 2]) : '';
  if (!isFilesSpec(spec)) return fetch(url);
  const files = useStore.getState().userModels[spec];
  const bytes = files?.[decodeURIComponent(parts[parts.length - 1])];
  // a file the folder did not have reads as a served folder's missing file does
  return bytes ? new Response(bytes.slice(0), { status: 200 }) : new Response(null, { status: 404 });
}
