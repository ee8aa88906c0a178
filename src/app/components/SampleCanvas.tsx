// The grid of samples, painted as pixels arrive. It reads the store transiently: a store
// subscription schedules one draw per animation frame, React never re-renders for pixels.
import { useEffect, useRef } from 'react';
import { useStore, type Live } from '../store';
import { clearImage, gridLayout, paintRange, type GridLayout } from '../paint';

/** CSS pixels the grid may take. */
const TARGET_CSS = 448;

interface Surface {
  runId: number;
  layout: GridLayout;
  native: HTMLCanvasElement;
  img: ImageData;
  painted: number;
  /** device pixels per sample pixel, and between tiles */
  scale: number;
  gap: number;
}

function makeSurface(live: Live, canvas: HTMLCanvasElement): Surface {
  const layout = gridLayout(live);
  const native = document.createElement('canvas');
  native.width = layout.width;
  native.height = layout.height;
  const img = native.getContext('2d')!.createImageData(layout.width, layout.height);
  clearImage(img);
  const dpr = window.devicePixelRatio || 1;
  const gapCss = layout.cols > 1 ? 6 : 0;
  const gap = Math.round(gapCss * dpr);
  const scale = Math.max(1, Math.floor((TARGET_CSS * dpr - (layout.cols - 1) * gap) / layout.width));
  canvas.width = layout.width * scale + (layout.cols - 1) * gap;
  canvas.height = layout.height * scale + (layout.rows - 1) * gap;
  canvas.style.width = `${canvas.width / dpr}px`;
  canvas.style.height = `${canvas.height / dpr}px`;
  return { runId: live.runId, layout, native, img, painted: 0, scale, gap };
}

export function SampleCanvas() {
  const ref = useRef<HTMLCanvasElement>(null);
  const focus = useStore((s) => s.focus);
  const setFocus = useStore((s) => s.setFocus);
  const hasRun = useStore((s) => s.live !== null);

  useEffect(() => {
    const canvas = ref.current!;
    const ctx = canvas.getContext('2d')!;
    let surface: Surface | undefined;
    let raf = 0;

    const draw = () => {
      raf = 0;
      const { live, status, focus: focused } = useStore.getState();
      if (!live) return;
      if (!surface || surface.runId !== live.runId) surface = makeSurface(live, canvas);
      const s = surface;
      if (live.done > s.painted) {
        paintRange(s.img, live, s.layout, s.painted, live.done);
        s.painted = live.done;
        s.native.getContext('2d')!.putImageData(s.img, 0, 0);
      }
      ctx.clearRect(0, 0, canvas.width, canvas.height);
      ctx.imageSmoothingEnabled = false;
      const tileW = live.width * s.scale;
      const tileH = live.height * s.scale;
      const active = (status === 'running' || status === 'paused') && live.done < live.total;
      const pixel = Math.floor(live.done / live.channels);
      const line = Math.max(2, Math.round(s.scale / 5));
      for (let i = 0; i < live.count; i++) {
        const tx = i % s.layout.cols;
        const ty = Math.floor(i / s.layout.cols);
        const dx = tx * (tileW + s.gap);
        const dy = ty * (tileH + s.gap);
        ctx.drawImage(s.native, tx * live.width, ty * live.height, live.width, live.height, dx, dy, tileW, tileH);
        if (active) {
          // the pixel being decided next, in every tile
          const px = dx + (pixel % live.width) * s.scale;
          const py = dy + Math.floor(pixel / live.width) * s.scale;
          ctx.fillStyle = 'rgba(56, 189, 248, 0.55)';
          ctx.fillRect(px, py, s.scale, s.scale);
          ctx.strokeStyle = '#38bdf8';
          ctx.lineWidth = line;
          ctx.strokeRect(px - line / 2, py - line / 2, s.scale + line, s.scale + line);
        }
        if (live.count > 1 && i === focused) {
          ctx.strokeStyle = 'rgba(250, 204, 21, 0.9)';
          ctx.lineWidth = line;
          ctx.strokeRect(dx + line / 2, dy + line / 2, tileW - line, tileH - line);
        }
      }
    };
    const schedule = () => {
      if (!raf) raf = requestAnimationFrame(draw);
    };
    const unsubscribe = useStore.subscribe((st, prev) => {
      if (st.liveTick !== prev.liveTick || st.status !== prev.status || st.focus !== prev.focus) schedule();
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
    if (!live || live.count < 2) return;
    const rect = e.currentTarget.getBoundingClientRect();
    const { cols, rows } = gridLayout(live);
    const tx = Math.min(cols - 1, Math.floor(((e.clientX - rect.left) / rect.width) * cols));
    const ty = Math.min(rows - 1, Math.floor(((e.clientY - rect.top) / rect.height) * rows));
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
          <span className="canvas-empty-big">0–9</span>
          <span>Pick a digit and watch the network draw it, one pixel at a time.</span>
        </div>
      )}
    </div>
  );
}
