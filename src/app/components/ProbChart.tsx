// The distribution the latest pixel was drawn from, as a live bar chart (one bar per
// level, the drawn level highlighted). Drawn transiently, like the sample canvas.
import { useEffect, useRef } from 'react';
import { useStore } from '../store';

const CSS_W = 320;
const CSS_H = 120;

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

export function ProbChart() {
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const captionRef = useRef<HTMLSpanElement>(null);

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
      // a completion's given rows were not drawn from any distribution
      if (!live || live.done <= live.given) {
        caption.textContent = 'waiting for the first pixel';
        delete canvas.dataset.channel;
        ctx.fillStyle = '#334155';
        ctx.fillRect(0, plotH, W, Math.max(1, Math.round(dpr)));
        return;
      }
      const L = live.levels;
      const i = Math.min(focus, live.count - 1);
      const probs = live.probs.subarray(i * L, (i + 1) * L);
      const chosen = live.image[i * live.total + live.done - 1];
      let max = 0;
      for (let k = 0; k < L; k++) max = Math.max(max, probs[k]);
      const bw = W / L;
      // the sub-pixel this distribution decided: R, G or B of a colour pixel
      const C = live.channels;
      const channel = (live.done - 1) % C;
      const palette = channelPalette(C, channel);
      canvas.dataset.channel = C === 3 ? CHANNEL_NAMES[channel] : 'grey';
      for (let k = 0; k < L; k++) {
        // log heights over four decades: a confident pixel still shows its alternatives
        const rel = max > 0 ? Math.min(1, Math.max(0, 1 + Math.log10(probs[k] / max) / 4)) : 0;
        const h = Math.max(probs[k] > 0 ? dpr : 0, rel * (plotH - 2 * dpr));
        ctx.fillStyle = k === chosen ? '#facc15' : palette.bar;
        ctx.fillRect(k * bw, plotH - h, Math.max(1, bw - (bw > 3 ? dpr : 0)), h);
      }
      // what each level looks like
      for (let k = 0; k < L; k++) {
        ctx.fillStyle = palette.level(k / (L - 1));
        ctx.fillRect(k * bw, H - strip, Math.ceil(bw), strip);
      }
      const pixel = Math.floor((live.done - 1) / live.channels);
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
        title="probability of each level of the sub-pixel just drawn (grey, or its R, G or B channel; bar height: log scale, four decades); yellow: the level drawn"
      />
      <figcaption>
        <span ref={captionRef} />
      </figcaption>
    </figure>
  );
}
