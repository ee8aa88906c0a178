// The distribution the latest pixel was drawn from, as a live bar chart (one bar per
// level, the drawn level highlighted), on a linear or a log scale (most of 256 levels carry
// a millionth of the mass: only a log scale shows them). Drawn transiently, like the sample canvas.
import { useEffect, useRef, useState } from 'react';
import { useStore } from '../store';

const CSS_W = 320;
const CSS_H = 120;

/** Decades of probability the log scale shows below the tallest bar: down to a millionth of it. */
export const LOG_DECADES = 6;

/** A bar's height as a fraction of the plot: p / max (linear), or 1 + log10(p / max) / LOG_DECADES (log). */
export function barHeight(p: number, max: number, log: boolean): number {
  if (!(max > 0) || !(p > 0)) return 0;
  return log ? Math.min(1, Math.max(0, 1 + Math.log10(p / max) / LOG_DECADES)) : p / max;
}

/** A colour model's sub-pixels in order; a grey model's one channel has no name. */
export const CHANNEL_NAMES = ['R', 'G', 'B'] as const;

/** Bar colours and the level strip's colour at level fraction f, for channel c of a C-channel model. */
export function channelPalette(C: number, c: number): { bar: string; level: (f: number) => string } {
  if (C !== 3) {
    return {
      bar: '#38bdf8',
      level: (f) => {
        const g = Math.round(f * 255);
        return `rgb(${g},${g},${g})`;
      },
    };
  }
  const bar = ['#f87171', '#4ade80', '#60a5fa'][c];
  return {
    bar,
    level: (f) => {
      const rgb = [0, 0, 0];
      rgb[c] = Math.round(f * 255);
      return `rgb(${rgb.join(',')})`;
    },
  };
}

/** The strip under the bars (each level's colour), kept per levels, channel and size. */
const strips = new Map<string, HTMLCanvasElement>();
function levelStrip(L: number, C: number, channel: number, W: number, strip: number, bw: number): HTMLCanvasElement {
  const key = `${L} ${C} ${channel} ${W} ${strip}`;
  let canvas = strips.get(key);
  if (canvas) return canvas;
  canvas = document.createElement('canvas');
  canvas.width = W;
  canvas.height = strip;
  const ctx = canvas.getContext('2d')!;
  const palette = channelPalette(C, channel);
  for (let k = 0; k < L; k++) {
    ctx.fillStyle = palette.level(k / (L - 1));
    ctx.fillRect(k * bw, 0, Math.ceil(bw), strip);
  }
  strips.set(key, canvas);
  return canvas;
}

export function ProbChart() {
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const captionRef = useRef<HTMLSpanElement>(null);
  const [log, setLog] = useState(true);
  const logRef = useRef(log);
  const redraw = useRef<() => void>(() => undefined);

  useEffect(() => {
    const canvas = canvasRef.current!;
    const caption = captionRef.current!;
    const dpr = window.devicePixelRatio || 1;
    canvas.width = Math.round(CSS_W * dpr);
    canvas.height = Math.round(CSS_H * dpr);
    canvas.style.width = `${CSS_W}px`;
    canvas.style.height = `${CSS_H}px`;
    const ctx = canvas.getContext('2d')!;
    let raf = 0;

    const draw = () => {
      raf = 0;
      const { live, focus } = useStore.getState();
      const W = canvas.width;
      const H = canvas.height;
      ctx.clearRect(0, 0, W, H);
      const strip = Math.round(8 * dpr);
      const plotH = H - strip - Math.round(4 * dpr);
      // a completion's given rows were not drawn from any distribution; after a change of
      // selection the chart waits for the newly watched image's next sub-pixel
      const i = live ? Math.min(focus, live.count - 1) : 0;
      if (!live || live.probsAt < 0 || live.probsOf !== i) {
        caption.textContent = 'waiting for the first pixel';
        delete canvas.dataset.channel;
        ctx.fillStyle = '#334155';
        ctx.fillRect(0, plotH, W, Math.max(1, Math.round(dpr)));
        return;
      }
      const L = live.levels;
      const at = live.probsAt;
      const probs = live.probs;
      const chosen = live.image[i * live.total + at];
      const logScale = logRef.current;
      canvas.dataset.scale = logScale ? 'log' : 'linear';
      let max = 0;
      for (let k = 0; k < L; k++) max = Math.max(max, probs[k]);
      const bw = W / L;
      // the sub-pixel this distribution decided: R, G or B of a colour pixel
      const C = live.channels;
      const channel = at % C;
      const palette = channelPalette(C, channel);
      canvas.dataset.channel = C === 3 ? CHANNEL_NAMES[channel] : 'grey';
      if (logScale) {
        // a faint line at each decade below the tallest bar
        ctx.fillStyle = '#1e293b';
        for (let d = 1; d < LOG_DECADES; d++) ctx.fillRect(0, Math.round(plotH - (1 - d / LOG_DECADES) * (plotH - 2 * dpr)), W, Math.max(1, Math.round(dpr / 2)));
      }
      // the bars as one path and the drawn level's: two fills a frame, not one per level (the
      // page rasters every draw call it records, on the cores the sampling threads need)
      ctx.beginPath();
      for (let k = 0; k < L; k++) {
        const h = Math.max(probs[k] > 0 && logScale ? dpr : 0, barHeight(probs[k], max, logScale) * (plotH - 2 * dpr));
        if (k !== chosen) ctx.rect(k * bw, plotH - h, Math.max(1, bw - (bw > 3 ? dpr : 0)), h);
      }
      ctx.fillStyle = palette.bar;
      ctx.fill();
      const hc = Math.max(probs[chosen] > 0 && logScale ? dpr : 0, barHeight(probs[chosen], max, logScale) * (plotH - 2 * dpr));
      ctx.fillStyle = '#facc15';
      ctx.fillRect(chosen * bw, plotH - hc, Math.max(1, bw - (bw > 3 ? dpr : 0)), hc);
      // what each level looks like: drawn once per channel and size, then copied
      ctx.drawImage(levelStrip(L, C, channel, W, strip, bw), 0, H - strip);
      const pixel = Math.floor(at / live.channels);
      const row = Math.floor(pixel / live.width);
      const col = pixel % live.width;
      const sample = live.count > 1 ? `sample ${i + 1}, ` : '';
      const which = C === 3 ? ` ${CHANNEL_NAMES[channel]}` : '';
      caption.textContent = `${sample}pixel (${row}, ${col})${which}: drew ${chosen} of ${L - 1}, p = ${(probs[chosen] * 100).toFixed(probs[chosen] < 0.1 ? 1 : 0)}%`;
      caption.dataset.channel = canvas.dataset.channel;
    };
    const schedule = () => {
      if (!raf) raf = requestAnimationFrame(draw);
    };
    redraw.current = schedule;
    const unsubscribe = useStore.subscribe((s, prev) => {
      if (s.liveTick !== prev.liveTick || s.focus !== prev.focus) schedule();
    });
    schedule();
    return () => {
      unsubscribe();
      if (raf) cancelAnimationFrame(raf);
    };
  }, []);

  return (
    <figure className="chart">
      <canvas
        ref={canvasRef}
        data-testid="probs"
        aria-label="distribution of the current pixel"
        title={`probability of each level of the sub-pixel just drawn (grey, or its R, G or B channel; bar height: ${log ? `log scale, ${LOG_DECADES} decades below the likeliest level, a faint line a decade` : 'linear, the likeliest level full height'}); yellow: the level drawn`}
      />
      <figcaption>
        <span ref={captionRef} />
        <label className="check">
          <input
            type="checkbox"
            data-testid="probs-log"
            checked={log}
            onChange={(e) => {
              logRef.current = e.target.checked;
              setLog(e.target.checked);
              redraw.current();
            }}
          />
          log scale
        </label>
      </figcaption>
    </figure>
  );
}
