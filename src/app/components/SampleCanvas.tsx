// The grid of samples, painted as pixels arrive. It reads the store transiently: a store
// subscription schedules one draw per animation frame, React never re-renders for pixels.
import { useEffect, useRef } from 'react';
import { drawingModel, statusRedraws, useStore, type Live } from '../store';
import { clearImage, gridLayout, paintRange, type GridLayout } from '../paint';

/** The cursor's colour for the sub-pixel decided next: grey for a grey model, R, G or B for a colour one. */
export function cursorColour(channels: number, channel: number): { fill: string; line: string } {
  if (channels !== 3) return { fill: 'rgba(56, 189, 248, 0.55)', line: '#38bdf8' };
  const rgb = [
    [248, 113, 113],
    [74, 222, 128],
    [96, 165, 250],
  ][channel];
  return { fill: `rgba(${rgb.join(', ')}, 0.45)`, line: `rgb(${rgb.join(', ')})` };
}

/** CSS pixels the grid may take. */
const TARGET_CSS = 520;

interface Surface {
  runId: number;
  layout: GridLayout;
  native: HTMLCanvasElement;
  img: ImageData;
  painted: number;
  /** device pixels per sample pixel, between tiles, and around the grid (room for the focus ring) */
  scale: number;
  gap: number;
  pad: number;
}

/** The surface last drawn, for mapping clicks to tiles. */
let shown: Surface | undefined;

function makeSurface(live: Live, canvas: HTMLCanvasElement, last: Surface | undefined): Surface {
  const layout = gridLayout(live);
  const dpr = window.devicePixelRatio || 1;
  const gapCss = layout.cols > 1 ? 6 : 0;
  const gap = Math.round(gapCss * dpr);
  // as large as fits (narrow screens), in whole device pixels per sample pixel (crisp)
  const room = Math.min(TARGET_CSS, canvas.parentElement?.clientWidth || TARGET_CSS);
  const scale = Math.max(1, Math.floor((room * dpr - (layout.cols + 1) * gap) / layout.width));
  const pad = layout.cols > 1 ? gap : 0;
  const width = layout.width * scale + (layout.cols - 1) * gap + 2 * pad;
  const height = layout.height * scale + (layout.rows - 1) * gap + 2 * pad;
  // the same grid again keeps its canvases: a new native canvas and a resized visible one
  // were a third of a run's last frame, and a resize clears and reallocates the canvas
  const same = last && last.layout.width === layout.width && last.layout.height === layout.height && last.scale === scale && last.gap === gap;
  if (same && canvas.width === width && canvas.height === height) {
    clearImage(last.img);
    return { ...last, runId: live.runId, layout, painted: 0 };
  }
  const native = document.createElement('canvas');
  native.width = layout.width;
  native.height = layout.height;
  const img = native.getContext('2d')!.createImageData(layout.width, layout.height);
  clearImage(img);
  canvas.width = width;
  canvas.height = height;
  canvas.style.width = `${width / dpr}px`;
  canvas.style.height = `${height / dpr}px`;
  return { runId: live.runId, layout, native, img, painted: 0, scale, gap, pad };
}

export function SampleCanvas() {
  const ref = useRef<HTMLCanvasElement>(null);
  const focus = useStore((s) => s.focus);
  const setFocus = useStore((s) => s.setFocus);
  const hasRun = useStore((s) => s.live !== null);
  const conditioning = useStore((s) => drawingModel(s)?.config.conditioning);

  useEffect(() => {
    const canvas = ref.current!;
    const ctx = canvas.getContext('2d')!;
    let surface: Surface | undefined;
    let raf = 0;

    const draw = () => {
      raf = 0;
      const { live, status, focus: focused } = useStore.getState();
      if (!live) return;
      if (!surface || surface.runId !== live.runId) surface = makeSurface(live, canvas, surface);
      const s = surface;
      shown = s;
      if (live.done > s.painted) {
        paintRange(s.img, live, s.layout, s.painted, live.done);
        s.painted = live.done;
        s.native.getContext('2d')!.putImageData(s.img, 0, 0);
      }
      // where the tiles are, for tests that read pixels back
      Object.assign(canvas.dataset, { scale: String(s.scale), gap: String(s.gap), pad: String(s.pad), cols: String(s.layout.cols), kind: live.kind, given: String(live.given) });
      ctx.clearRect(0, 0, canvas.width, canvas.height);
      ctx.imageSmoothingEnabled = false;
      const tileW = live.width * s.scale;
      const tileH = live.height * s.scale;
      const active = (status === 'running' || status === 'paused') && live.done < live.total;
      const pixel = Math.floor(live.done / live.channels);
      const cursor = cursorColour(live.channels, live.done % live.channels);
      const line = Math.max(2, Math.round(s.scale / 5));
      for (let i = 0; i < live.count; i++) {
        const tx = i % s.layout.cols;
        const ty = Math.floor(i / s.layout.cols);
        const dx = s.pad + tx * (tileW + s.gap);
        const dy = s.pad + ty * (tileH + s.gap);
        ctx.drawImage(s.native, tx * live.width, ty * live.height, live.width, live.height, dx, dy, tileW, tileH);
        if (active) {
          // the pixel being decided next, in every tile
          const px = dx + (pixel % live.width) * s.scale;
          const py = dy + Math.floor(pixel / live.width) * s.scale;
          ctx.fillStyle = cursor.fill;
          ctx.fillRect(px, py, s.scale, s.scale);
          ctx.strokeStyle = cursor.line;
          ctx.lineWidth = line;
          ctx.strokeRect(px - line / 2, py - line / 2, s.scale + line, s.scale + line);
        }
        if (live.given > 0 && live.given < live.total) {
          // a completion: the kept rows end at this line
          const y = dy + Math.floor(live.given / (live.width * live.channels)) * s.scale;
          ctx.strokeStyle = 'rgba(56, 189, 248, 0.85)';
          ctx.lineWidth = Math.max(1, Math.round(s.scale / 6));
          ctx.setLineDash([s.scale, s.scale / 2]);
          ctx.beginPath();
          ctx.moveTo(dx, y);
          ctx.lineTo(dx + tileW, y);
          ctx.stroke();
          ctx.setLineDash([]);
        }
        if (live.count > 1 && i === focused) {
          // a ring in the gap around the tile, never over its pixels
          const w = Math.max(1, Math.round(s.gap / 2));
          ctx.strokeStyle = 'rgba(250, 204, 21, 0.9)';
          ctx.lineWidth = w;
          ctx.strokeRect(dx - s.gap / 2, dy - s.gap / 2, tileW + s.gap, tileH + s.gap);
        }
      }
    };
    const schedule = () => {
      if (!raf) raf = requestAnimationFrame(draw);
    };
    const unsubscribe = useStore.subscribe((st, prev) => {
      if (st.liveTick !== prev.liveTick || statusRedraws(st, prev) || st.focus !== prev.focus) schedule();
    });
    schedule();
    return () => {
      unsubscribe();
      if (raf) cancelAnimationFrame(raf);
    };
  }, []);

  /** clicking a tile shows its distribution in the chart */
  const onClick = (e: React.MouseEvent<HTMLCanvasElement>) => {
    const live = useStore.getState().live;
    const s = shown;
    if (!live || !s || live.count < 2) return;
    const rect = e.currentTarget.getBoundingClientRect();
    const x = ((e.clientX - rect.left) / rect.width) * e.currentTarget.width - s.pad;
    const y = ((e.clientY - rect.top) / rect.height) * e.currentTarget.height - s.pad;
    const { cols, rows } = s.layout;
    const tx = Math.min(cols - 1, Math.max(0, Math.floor(x / (live.width * s.scale + s.gap))));
    const ty = Math.min(rows - 1, Math.max(0, Math.floor(y / (live.height * s.scale + s.gap))));
    setFocus(Math.min(live.count - 1, ty * cols + tx));
  };

  return (
    <div className="canvas-wrap">
      <canvas
        ref={ref}
        data-testid="samples"
        className="samples"
        onClick={onClick}
        width={1}
        height={1}
        aria-label={`generated samples${focus > 0 ? `, sample ${focus + 1} selected` : ''}`}
      />
      {!hasRun && (
        <div className="canvas-empty">
          {conditioning?.type === 'vector' ? (
            <span>Pick a face and watch the network paint a portrait of it, one sub-pixel (R, G, B) at a time.</span>
          ) : conditioning?.type === 'class' ? (
            <>
              <span className="canvas-empty-big">0–{conditioning.classes - 1}</span>
              <span>Pick a class and watch the network draw it, one pixel at a time.</span>
            </>
          ) : (
            <span>{conditioning ? 'This model is unconditional: it draws as soon as it is loaded.' : 'Loading the model…'}</span>
          )}
        </div>
      )}
    </div>
  );
}
