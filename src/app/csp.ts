// The app's Content-Security-Policy: the page and its workers may connect to their own
// origin only, so neither a bug nor a dependency can send a drawing or a photo anywhere
// (issue 17 §4). What each directive allows, and why the app needs it:
//
// - connect-src 'self': fetch / XHR / WebSocket / sendBeacon / EventSource go to the
//   app's own origin only (the models under /models/, tfjs's .wasm under /tfjs-wasm/).
// - script-src 'self' 'wasm-unsafe-eval': scripts from the app's own files only (no
//   inline script, no eval); 'wasm-unsafe-eval' lets tfjs-backend-wasm compile its .wasm.
// - worker-src 'self': the sampling, receptive-field and scoring workers are files of the
//   app (module workers; none is made from a blob: URL).
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
// The dev server (`npm run dev`) sends DEV_CSP_HEADER instead: the same connect-src, but
// inline scripts and styles are allowed, since Vite injects React Refresh's preamble as
// an inline script and CSS as <style> elements; its HMR WebSocket is on the same origin.

const common: [string, string][] = [
  ['default-src', "'self'"],
  ['connect-src', "'self'"],
  ['worker-src', "'self'"],
  ['img-src', "'self' blob: data:"],
  ['font-src', "'self'"],
  ['object-src', "'none'"],
  ['base-uri', "'none'"],
  ['form-action', "'none'"],
  ['frame-src', "'none'"],
];

const join = (entries: [string, string][]) => entries.map(([k, v]) => `${k} ${v}`).join('; ');

/** The policy of the built app (also the <meta> tag's content). */
export const CSP = join([...common, ['script-src', "'self' 'wasm-unsafe-eval'"], ['style-src', "'self'"]]);

/** The header adds what a <meta> policy may not hold. */
export const CSP_HEADER = `${CSP}; frame-ancestors 'none'`;

/** Development server: React Refresh's inline preamble and Vite's injected <style>s. */
export const DEV_CSP_HEADER = join([
  ...common,
  ['script-src', "'self' 'unsafe-inline' 'wasm-unsafe-eval'"],
  ['style-src', "'self' 'unsafe-inline'"],
]);
