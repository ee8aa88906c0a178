// Where the model was unsure: each drawn sub-pixel's entropy in bits (of the distribution it
// was drawn from) for the selected image, filled in as the run goes, one map per channel for
// colour. Pointing at a pixel names its entropy and its three likeliest levels (the worker
// sends both for every image, so any selection works mid-run). Drawn transiently.
import { useEffect, useRef } from 'react';
import { drawingModel, useStore, type Live } from '../store';
import { useInside } from '../insideStore';
import { ENTROPY_GRADIENT, entropyColour } from '../inside';
import { CHANNEL_NAMES } from './ProbChart';
import { TOP } from '../../sampler/pixelStats';

const HINT = 'Point at a pixel: its entropy and three likeliest levels.';

/** CSS pixels the maps may take side by side. */
const ROOM_CSS = 300;
const GAP_CSS = 6;

interface Geometry {
  scale: number;
  gap: number;
  H: number;
  W: number;
  C: number;
}

function geometry(live: Pick<Live, 'height' | 'width' | 'channels'>, dpr: number): Geometry {
  const { height: H, width: W, channels: C } = live;
  const gap = Math.round(GAP_CSS * dpr);
  const scale = Math.max(1, Math.min(Math.round(6 * dpr), Math.floor((ROOM_CSS * dpr - (C - 1) * gap) / (C * W))));
  return { scale, gap, H, W, C };
}

/** What the hover line says about sub-pixel (row, col, channel) of image i. */
export function describe(live: Live, i: number, row: number, col: number, channel: number): string {
  const C = live.channels;
  const at = (row * live.width + col) * C + channel;
  const slot = i * live.total + at;
  const name = `pixel (${row}, ${col})${C === 3 ? ` ${CHANNEL_NAMES[channel]}` : ''}`;
  const bits = live.entropy[slot];
  if (Number.isNaN(bits)) return `${name}: ${at < live.given ? 'given by the drawing' : 'not drawn yet'}`;
  const top: string[] = [];
  for (let j = 0; j < Math.min(TOP, live.levels); j++) {
    const p = live.topP[slot * TOP + j];
    top.push(`${live.top[slot * TOP + j]} (${(p * 100).toFixed(p < 0.1 ? 1 : 0)}%)`);
  }
  return `${name}: ${bits.toFixed(2)} bits · likeliest ${top.join(', ')} · drew ${live.image[slot]}`;
}

/** One opaque RGBA pixel, and the same bytes as a word in the platform's byte order. */
const rgba = new Uint8Array([0, 0, 0, 255]);
const rgbaWord = new Uint32Array(rgba.buffer);

export function EntropyMap() {
  const ref = useRef<HTMLCanvasElement>(null);
  const hoverRef = useRef<HTMLParagraphElement>(null);
  const levels = useStore((s) => drawingModel(s)?.config.levels ?? 256);
  const maxBits = Math.log2(levels);
  const colour = useStore((s) => drawingModel(s)?.config.channels === 3);
  const hover = useRef<{ row: number; col: number; channel: number } | null>(null);

  useEffect(() => {
    const canvas = ref.current!;
    const ctx = canvas.getContext('2d')!;
    const dpr = window.devicePixelRatio || 1;
    let raf = 0;
    /** what the canvas shows: a run's image, its pixels and how far they are painted */
    let shown: { runId: number; image: number; img: ImageData; painted: number; drawn: number } | undefined;
    const draw = () => {
      raf = 0;
      const { live, focus } = useStore.getState();
      if (!live) {
        shown = undefined;
        canvas.width = canvas.height = 0;
        return;
      }
      const g = geometry(live, dpr);
      const w = g.C * g.W * g.scale + (g.C - 1) * g.gap;
      const h = g.H * g.scale;
      if (canvas.width !== w || canvas.height !== h) {
        canvas.width = w;
        canvas.height = h;
        canvas.style.width = `${w / dpr}px`;
        canvas.style.height = `${h / dpr}px`;
      }
      const i = Math.min(focus, live.count - 1);
      // a new run, image or size paints every sub-pixel; otherwise only those drawn since the
      // last frame, put back as the rows they touch (the page rasters what it is given)
      const fresh = !shown || shown.runId !== live.runId || shown.image !== i || shown.img.width !== w || shown.img.height !== h;
      // a fresh paint writes every sub-pixel's cells, and the gaps are never written: the same size keeps its image
      const keep = shown && shown.img.width === w && shown.img.height === h ? shown.img : undefined;
      if (fresh) shown = { runId: live.runId, image: i, img: keep ?? ctx.createImageData(w, h), painted: 0, drawn: 0 };
      const m = shown!;
      // m.drawn counts the sub-pixels drawn from a distribution (not given, not still to come)
      const from = fresh ? 0 : m.painted;
      const to = fresh ? live.total : live.done;
      const maxBits = Math.log2(live.levels);
      const rgb: [number, number, number] = [0, 0, 0];
      // a cell's device pixels as whole RGBA words, one fill a row of it (a run's first frame runs this cold)
      const words = new Uint32Array(m.img.data.buffer, m.img.data.byteOffset, m.img.data.length / 4);
      for (let idx = from; idx < to; idx++) {
        const bits = live.entropy[i * live.total + idx];
        if (!Number.isNaN(bits)) m.drawn++;
        entropyColour(bits, maxBits, rgb);
        rgba.set(rgb);
        const colour = rgbaWord[0];
        const c = idx % g.C;
        const r = Math.floor(idx / g.C / g.W);
        const x = Math.floor(idx / g.C) % g.W;
        const x0 = c * (g.W * g.scale + g.gap) + x * g.scale;
        for (let dy = 0; dy < g.scale; dy++) {
          const o = (r * g.scale + dy) * w + x0;
          words.fill(colour, o, o + g.scale);
        }
      }
      m.painted = Math.max(m.painted, live.done);
      if (fresh || to > from) {
        const r0 = Math.floor(from / g.C / g.W);
        const r1 = Math.floor((Math.max(from, to - 1)) / g.C / g.W) + 1;
        ctx.putImageData(m.img, 0, 0, 0, r0 * g.scale, w, (r1 - r0) * g.scale);
      }
      const drawn = m.drawn;
      canvas.dataset.drawn = String(drawn);
      canvas.dataset.image = String(i);
      const p = hover.current;
      if (p && p.row < live.height && p.col < live.width && p.channel < live.channels) hoverRef.current!.textContent = describe(live, i, p.row, p.col, p.channel);
    };
    const schedule = () => {
      if (!raf) raf = requestAnimationFrame(draw);
    };
    const unsubscribe = useStore.subscribe((s, prev) => {
      // another model: the pixel pointed at means nothing to it
      if (drawingModel(s) !== drawingModel(prev)) {
        hover.current = null;
        hoverRef.current!.textContent = HINT;
        useInside.getState().point(null);
      }
      if (s.liveTick !== prev.liveTick || s.focus !== prev.focus) schedule();
    });
    schedule();
    const pointTo = (e: PointerEvent) => {
      const { live } = useStore.getState();
      if (!live) return;
      const g = geometry(live, dpr);
      const rect = canvas.getBoundingClientRect();
      const x = ((e.clientX - rect.left) / rect.width) * canvas.width;
      const y = ((e.clientY - rect.top) / rect.height) * canvas.height;
      const channel = Math.min(g.C - 1, Math.floor(x / (g.W * g.scale + g.gap)));
      const col = Math.floor((x - channel * (g.W * g.scale + g.gap)) / g.scale);
      const row = Math.floor(y / g.scale);
      if (col < 0 || col >= g.W || row < 0 || row >= g.H) return;
      hover.current = { row, col, channel };
      useInside.getState().point({ row, col, channel });
      schedule();
    };
    canvas.addEventListener('pointermove', pointTo);
    canvas.addEventListener('pointerdown', pointTo);
    return () => {
      unsubscribe();
      canvas.removeEventListener('pointermove', pointTo);
      canvas.removeEventListener('pointerdown', pointTo);
      if (raf) cancelAnimationFrame(raf);
    };
  }, []);

  return (
    <section className="card entropy" aria-labelledby="entropy-title">
      <h2 id="entropy-title">Where the model was unsure</h2>
      <canvas ref={ref} data-testid="entropy-map" role="img" aria-label="entropy of each drawn sub-pixel of the selected sample; point at a pixel for its likeliest levels" />
      <div className="entropy-legend" aria-hidden="true">
        <span>0</span>
        <i style={{ background: ENTROPY_GRADIENT }} />
        <span>{maxBits.toFixed(0)} bits</span>
        {colour && <span>· R, G, B side by side</span>}
      </div>
      <p className="entropy-hover" data-testid="entropy-hover" aria-live="polite" ref={hoverRef}>
        {HINT}
      </p>
    </section>
  );
}
