// The app's Content-Security-Policy: the page and its workers may connect to their own
// origin only, so neither a bug nor a dependency can send a drawing or a photo anywhere
// (issue 17 §4). What each directive allows, and why the app needs it:
//
// - connect-src 'self': fetch / XHR / WebSocket / sendBeacon / EventSource go to the
//   app's own origin only (the models under /models/, tfjs's .wasm under /tfjs-wasm/).
// - script-src 'self' blob: 'wasm-unsafe-eval': scripts from the app's own files (and the
//   blob:s above) only (no inline script, no eval); 'wasm-unsafe-eval' lets
//   tfjs-backend-wasm and the sampler's CPU kernel compile their .wasm.
// - worker-src 'self' blob:: the sampling, receptive-field, scoring and face-api workers
//   are files of the app; tfjs-backend-wasm's threaded binary starts its pthread workers
//   from blob: URLs of code inside those files (it has no option to load them from a
//   file), so blob: is allowed for workers, and for scripts (a pthread worker imports
//   tfjs's wasm glue from a blob: as well). A blob: is made in the page or its workers
//   from their own code: nothing comes from another host, and connect-src still binds them.
// - img-src 'self' blob: data:: pictures the user loads are read from blob: / data: URLs
//   made in the page; no image from another host.
// - style-src 'self': the built CSS is a file (React's style props go through the CSSOM,
//   which CSP does not restrict).
// - object-src 'none', base-uri 'none', form-action 'none', frame-src 'none': no plugins,
//   no <base> that would redirect relative URLs, no form posts, no frames.
//
// Delivered two ways, because a <meta> policy binds only the document it is in:
// - as <meta http-equiv> in the built index.html (vite.config.ts injects it), so a static
//   copy of dist/ on any host still restricts the page;
// - as an HTTP header from `vite preview` (npm start) on every response, which is what
//   restricts the workers: a dedicated worker loaded from a URL takes its policy from its
//   own script's response, not from the page. A host that serves dist/ should send the
//   same header (CSP_HEADER below); frame-ancestors only works as a header.
//
// Cross-origin isolation (ISOLATION_HEADERS below) is what lets tfjs-wasm run threads: a
// SharedArrayBuffer exists only where crossOriginIsolated is true, in the page and in each
// worker, and that needs Cross-Origin-Opener-Policy: same-origin and
// Cross-Origin-Embedder-Policy: require-corp on the page's response and on every worker
// script's. The app loads nothing from another origin, so require-corp costs nothing.
// Both servers send them on every response; a host that serves dist/ must too (headers
// only: no <meta> form exists). Without them the app still runs, on one thread a worker.
//
// The dev server (`npm run dev`) sends DEV_CSP_HEADER instead: the same connect-src, but
// inline scripts and styles are allowed, since Vite injects React Refresh's preamble as
// an inline script and CSS as <style> elements; its HMR WebSocket is on the same origin.

const common: [string, string][] = [
  ['default-src', "'self'"],
  ['connect-src', "'self'"],
  ['worker-src', "'self' blob:"],
  ['img-src', "'self' blob: data:"],
  ['font-src', "'self'"],
  ['object-src', "'none'"],
  ['base-uri', "'none'"],
  ['form-action', "'none'"],
  ['frame-src', "'none'"],
];

const join = (entries: [string, string][]) => entries.map(([k, v]) => `${k} ${v}`).join('; ');

/** The policy of the built app (also the <meta> tag's content). */
export const CSP = join([...common, ['script-src', "'self' blob: 'wasm-unsafe-eval'"], ['style-src', "'self'"]]);

/** The header adds what a <meta> policy may not hold. */
export const CSP_HEADER = `${CSP}; frame-ancestors 'none'`;

/** Development server: React Refresh's inline preamble and Vite's injected <style>s. */
export const DEV_CSP_HEADER = join([
  ...common,
  ['script-src', "'self' blob: 'unsafe-inline' 'wasm-unsafe-eval'"],
  ['style-src', "'self' 'unsafe-inline'"],
]);

/** Cross-origin isolation (above): both servers send these on every response, as a host of dist/ should. */
export const ISOLATION_HEADERS: Record<string, string> = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};
