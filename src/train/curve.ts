// The learning curve of a training run, drawn from its train.log (JSON lines) as an SVG:
// training loss (averaged per tenth of an epoch), validation on subsets (dots) and on the
// whole validation split (rings), the learning rate below, and growth events as
// vertical lines. Pure functions; `npm run curve` (src/cli/curve.ts) reads and writes files.

export interface LogEvent {
  event: string;
  [key: string]: unknown;
}

/** One JSON object per line; a bad line is a one-line error naming its number. */
export function parseLog(text: string, name = 'train.log'): LogEvent[] {
  const events: LogEvent[] = [];
  const lines = text.split('\n');
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    let e: unknown;
    try {
      e = JSON.parse(line);
    } catch {
      throw new Error(`${name} line ${i + 1}: not JSON`);
    }
    if (typeof e !== 'object' || e === null || typeof (e as LogEvent).event !== 'string') {
      throw new Error(`${name} line ${i + 1}: not a log event (no "event" field)`);
    }
    events.push(e as LogEvent);
  });
  return events;
}

export interface Point {
  epoch: number;
  value: number;
}

export interface Curve {
  stepsPerEpoch: number;
  /** mean training loss (bits/dim) per bin of binSteps updates */
  train: Point[];
  binSteps: number;
  /** validation on a subset of the validation split */
  valSubset: Point[];
  /** validation on the whole split (the most images any val event used) */
  valFull: Point[];
  lr: Point[];
  grows: { epoch: number; label: string }[];
  lastEpoch: number;
}

const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** binSteps: training-loss bin width in updates (default a tenth of an epoch). */
export function curveOf(events: LogEvent[], name = 'train.log', binSteps?: number): Curve {
  const spe = events.find((e) => finite(e.stepsPerEpoch))?.stepsPerEpoch as number | undefined;
  if (spe === undefined || spe <= 0) throw new Error(`${name}: no start or resume event with stepsPerEpoch`);
  const progress = events.filter((e) => e.event === 'progress' && finite(e.step) && finite(e.trainBitsPerDim));
  if (progress.length === 0) throw new Error(`${name}: no progress events to draw`);
  const epochOf = (step: number) => step / spe;

  // training loss: mean per bin, a tenth of an epoch by default (the log keeps one line every few steps)
  const bins = new Map<number, { sum: number; n: number; stepSum: number }>();
  const bin = binSteps ?? Math.max(1, Math.round(spe / 10));
  for (const e of progress) {
    const k = Math.floor((e.step as number) / bin);
    const b = bins.get(k) ?? { sum: 0, n: 0, stepSum: 0 };
    b.sum += e.trainBitsPerDim as number;
    b.stepSum += e.step as number;
    b.n++;
    bins.set(k, b);
  }
  const train = [...bins.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([, b]) => ({ epoch: epochOf(b.stepSum / b.n), value: b.sum / b.n }));

  const vals = events.filter((e) => e.event === 'val' && finite(e.step) && finite(e.bitsPerDim) && finite(e.images));
  const fullImages = Math.max(0, ...vals.map((e) => e.images as number));
  const point = (e: LogEvent, key: string) => ({ epoch: epochOf(e.step as number), value: e[key] as number });
  const lr = progress.filter((e) => finite(e.lr)).map((e) => point(e, 'lr'));
  const grows = events
    .filter((e) => e.event === 'grow' && finite(e.step))
    .map((e) => {
      const added = finite(e.addedLayers) ? `+${e.addedLayers} layers` : 'grown';
      const d = Array.isArray(e.dilations) && finite(e.addedLayers) ? ` (dilations ${e.dilations.slice(-e.addedLayers).join(', ')})` : '';
      return { epoch: epochOf(e.step as number), label: `${added}${d}` };
    });
  const lastStep = Math.max(...progress.map((e) => e.step as number), ...vals.map((e) => e.step as number));
  return {
    stepsPerEpoch: spe,
    binSteps: bin,
    train,
    valSubset: vals.filter((e) => e.images !== fullImages).map((e) => point(e, 'bitsPerDim')),
    valFull: vals.filter((e) => e.images === fullImages).map((e) => point(e, 'bitsPerDim')),
    lr,
    grows,
    lastEpoch: epochOf(lastStep),
  };
}

/** About `count` round tick values covering [lo, hi]. */
export function ticks(lo: number, hi: number, count: number): number[] {
  const span = hi - lo;
  if (!(span > 0)) return [lo];
  const raw = span / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const fmt = (v: number) => Number(v.toPrecision(4)).toString();

export interface CurveOptions {
  title?: string;
  width?: number;
  /** a second run's curve, its training loss drawn on the same axes (e.g. the other trainer) */
  compare?: Curve;
  /** legend names of the run and the compared run */
  labels?: [string, string];
}

/** Training loss of two runs bin by bin (bins at the same steps): where they differ, and by how much. */
export function compareCurves(a: Curve, b: Curve): { epoch: number; a: number; b: number }[] {
  const byEpoch = new Map(b.train.map((p) => [p.epoch.toFixed(6), p.value]));
  return a.train.filter((p) => byEpoch.has(p.epoch.toFixed(6))).map((p) => ({ epoch: p.epoch, a: p.value, b: byEpoch.get(p.epoch.toFixed(6))! }));
}

/**
 * The picture. The loss axis spans the validation values and the training loss from the
 * first whole-split validation on (the first epoch falls from ~8 bits/dim and would flatten
 * everything else); earlier training loss runs off the top, clipped.
 */
export function curveSvg(c: Curve, opts: CurveOptions = {}): string {
  const W = opts.width ?? 860;
  const left = 64;
  const right = 20;
  const top = opts.title ? 40 : 16;
  const lossH = 300;
  const gap = 44;
  const lrH = 90;
  const bottom = 48;
  const H = top + lossH + gap + lrH + bottom;
  const plotW = W - left - right;

  const x0 = 0;
  const x1 = Math.max(c.lastEpoch, opts.compare?.lastEpoch ?? 0, 1e-9);
  const X = (e: number) => left + ((e - x0) / (x1 - x0)) * plotW;

  const settleEpoch = c.valFull[0]?.epoch ?? c.lastEpoch * 0.1;
  const trains = [...c.train, ...(opts.compare?.train ?? [])];
  const inView = [...c.valFull, ...c.valSubset, ...trains.filter((p) => p.epoch >= settleEpoch)].map((p) => p.value);
  let lo = Math.min(...inView);
  let hi = Math.max(...inView);
  const pad = Math.max((hi - lo) * 0.06, 0.005);
  lo -= pad;
  hi += pad;
  const Y = (v: number) => top + (1 - (v - lo) / (hi - lo)) * lossH;

  const lrTop = top + lossH + gap;
  const lrMax = Math.max(...c.lr.map((p) => p.value), 1e-12);
  const YL = (v: number) => lrTop + (1 - v / lrMax) * lrH;

  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<defs><clipPath id="loss"><rect x="${left}" y="${top}" width="${plotW}" height="${lossH}"/></clipPath></defs>`,
  );
  if (opts.title) out.push(`<text x="${left}" y="24" font-size="15" font-weight="bold">${esc(opts.title)}</text>`);

  // axes and grid
  for (const v of ticks(lo, hi, 6)) {
    out.push(`<line x1="${left}" x2="${left + plotW}" y1="${Y(v).toFixed(1)}" y2="${Y(v).toFixed(1)}" stroke="#eee"/>`);
    out.push(`<text x="${left - 6}" y="${(Y(v) + 4).toFixed(1)}" text-anchor="end">${fmt(v)}</text>`);
  }
  for (const v of ticks(0, lrMax, 2)) {
    out.push(`<line x1="${left}" x2="${left + plotW}" y1="${YL(v).toFixed(1)}" y2="${YL(v).toFixed(1)}" stroke="#eee"/>`);
    out.push(`<text x="${left - 6}" y="${(YL(v) + 4).toFixed(1)}" text-anchor="end">${v === 0 ? '0' : v.toExponential(0)}</text>`);
  }
  for (const e of ticks(x0, x1, 10)) {
    for (const [y0, h] of [
      [top, lossH],
      [lrTop, lrH],
    ]) {
      out.push(`<line x1="${X(e).toFixed(1)}" x2="${X(e).toFixed(1)}" y1="${y0}" y2="${y0 + h}" stroke="#eee"/>`);
    }
    out.push(`<text x="${X(e).toFixed(1)}" y="${lrTop + lrH + 16}" text-anchor="middle">${fmt(e)}</text>`);
  }
  out.push(`<rect x="${left}" y="${top}" width="${plotW}" height="${lossH}" fill="none" stroke="#888"/>`);
  out.push(`<rect x="${left}" y="${lrTop}" width="${plotW}" height="${lrH}" fill="none" stroke="#888"/>`);
  out.push(`<text x="${left + plotW / 2}" y="${H - 10}" text-anchor="middle">epoch</text>`);
  out.push(`<text transform="translate(16 ${top + lossH / 2}) rotate(-90)" text-anchor="middle">bits/dim</text>`);
  out.push(`<text transform="translate(16 ${lrTop + lrH / 2}) rotate(-90)" text-anchor="middle">lr</text>`);

  // growth events
  for (const g of c.grows) {
    const x = X(g.epoch).toFixed(1);
    out.push(`<line class="grow" x1="${x}" x2="${x}" y1="${top}" y2="${lrTop + lrH}" stroke="#c60" stroke-dasharray="5 4"/>`);
    out.push(`<text x="${(X(g.epoch) - 4).toFixed(1)}" y="${top + lossH - 8}" text-anchor="end" fill="#c60">${esc(g.label)}</text>`);
  }

  const poly = (pts: Point[], y: (v: number) => number, attrs: string) =>
    `<polyline ${attrs} fill="none" points="${pts.map((p) => `${X(p.epoch).toFixed(1)},${y(p.value).toFixed(1)}`).join(' ')}"/>`;
  out.push(`<g clip-path="url(#loss)">`);
  out.push(poly(c.train, Y, 'class="train" stroke="#7aa6d6" stroke-width="1.5"'));
  if (opts.compare) out.push(poly(opts.compare.train, Y, 'class="train-compare" stroke="#e07b00" stroke-width="1.5" stroke-dasharray="6 3"'));
  for (const p of c.valSubset) out.push(`<circle class="val-subset" cx="${X(p.epoch).toFixed(1)}" cy="${Y(p.value).toFixed(1)}" r="2.2" fill="#999"/>`);
  out.push(poly(c.valFull, Y, 'stroke="#1b5e20" stroke-width="1"'));
  for (const p of c.valFull) {
    out.push(`<circle class="val-full" cx="${X(p.epoch).toFixed(1)}" cy="${Y(p.value).toFixed(1)}" r="4.5" fill="#fff" stroke="#1b5e20" stroke-width="2"/>`);
  }
  out.push(`</g>`);
  const last = c.valFull.at(-1);
  if (last) {
    out.push(
      `<text x="${(X(last.epoch) - 8).toFixed(1)}" y="${(Y(last.value) - 10).toFixed(1)}" text-anchor="end" fill="#1b5e20">${last.value.toFixed(4)}</text>`,
    );
  }
  out.push(poly(c.lr, YL, 'class="lr" stroke="#555" stroke-width="1.2"'));

  // legend
  const [nameA, nameB] = opts.labels ?? ['', 'compared run'];
  const binText = c.binSteps === Math.max(1, Math.round(c.stepsPerEpoch / 10)) ? 'mean per 0.1 epoch' : `mean per ${c.binSteps} updates`;
  // a run's name only when there is another run to tell it from
  const trainText = `${opts.compare && nameA ? `${nameA}: ` : ''}training loss (${binText})`;
  const compareText = `${nameB}: training loss`;
  const subsetText = 'validation, subset';
  const fullText = 'validation, whole split (epoch ends)';
  // wide enough for its longest line (about 6.6 px a character at 12 px sans-serif), within the plot
  const longest = Math.max(...[trainText, subsetText, fullText, ...(opts.compare ? [compareText] : [])].map((t) => t.length));
  const lw = Math.min(plotW, Math.max(250, Math.ceil(36 + 6.6 * longest)));
  const lx = left + plotW - lw + 8;
  const ly = top + 12;
  out.push(`<rect class="legend" x="${lx - 8}" y="${ly - 10}" width="${lw}" height="${opts.compare ? 76 : 58}" fill="#fff" stroke="#ccc"/>`);
  out.push(`<line x1="${lx}" x2="${lx + 20}" y1="${ly}" y2="${ly}" stroke="#7aa6d6" stroke-width="2"/>`);
  out.push(`<text x="${lx + 28}" y="${ly + 4}">${esc(trainText)}</text>`);
  if (opts.compare) {
    out.push(`<line x1="${lx}" x2="${lx + 20}" y1="${ly + 54}" y2="${ly + 54}" stroke="#e07b00" stroke-width="2" stroke-dasharray="6 3"/>`);
    out.push(`<text x="${lx + 28}" y="${ly + 58}">${esc(compareText)}</text>`);
  }
  out.push(`<circle cx="${lx + 10}" cy="${ly + 18}" r="2.2" fill="#999"/>`);
  out.push(`<text x="${lx + 28}" y="${ly + 22}">${subsetText}</text>`);
  out.push(`<circle cx="${lx + 10}" cy="${ly + 36}" r="4.5" fill="#fff" stroke="#1b5e20" stroke-width="2"/>`);
  out.push(`<text x="${lx + 28}" y="${ly + 40}">${fullText}</text>`);
  out.push('</svg>');
  return out.join('\n') + '\n';
}
