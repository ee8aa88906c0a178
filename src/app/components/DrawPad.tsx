// The drawing pad: the model's own grid (28 x 28 for MNIST) drawn large, painted with a
// soft brush by mouse, touch or pen (pointer events), with the completion line: the rows
// above it are kept, the rows below are what "complete" samples. The pad redraws from
// the store transiently (on draw.version), never through a React render per move.
import { useEffect, useRef } from 'react';
import { drawingModel, useStore } from '../store';

/** CSS pixels of the pad's side. */
export const PAD_CSS = 280;

type Point = { x: number; y: number };

export function DrawPad() {
  const ref = useRef<HTMLCanvasElement>(null);
  const height = useStore((s) => s.draw.height);
  const width = useStore((s) => s.draw.width);
  const ready = useStore((s) => drawingModel(s) !== null);
  const last = useRef<Point | null>(null);

  useEffect(() => {
    const canvas = ref.current!;
    const ctx = canvas.getContext('2d')!;
    const dpr = window.devicePixelRatio || 1;
    const cell = Math.max(1, Math.floor((PAD_CSS * dpr) / Math.max(width, height)));
    canvas.width = width * cell;
    canvas.height = height * cell;
    canvas.style.width = `${canvas.width / dpr}px`;
    canvas.style.height = `${canvas.height / dpr}px`;
    const native = document.createElement('canvas');
    native.width = width;
    native.height = height;
    const nctx = native.getContext('2d')!;
    const img = nctx.createImageData(width, height);
    let raf = 0;

    const draw = () => {
      raf = 0;
      const { draw: d } = useStore.getState();
      if (d.width !== width || d.height !== height) return;
      for (let i = 0; i < d.image.length; i++) {
        const v = d.image[i];
        img.data[4 * i] = img.data[4 * i + 1] = img.data[4 * i + 2] = v;
        img.data[4 * i + 3] = 255;
      }
      nctx.putImageData(img, 0, 0);
      ctx.imageSmoothingEnabled = false;
      ctx.drawImage(native, 0, 0, canvas.width, canvas.height);
      // a faint pixel grid: the pad is the model's own resolution
      ctx.strokeStyle = 'rgba(148, 163, 184, 0.08)';
      ctx.lineWidth = 1;
      ctx.beginPath();
      for (let k = 1; k < width; k++) {
        ctx.moveTo(k * cell + 0.5, 0);
        ctx.lineTo(k * cell + 0.5, canvas.height);
      }
      for (let k = 1; k < height; k++) {
        ctx.moveTo(0, k * cell + 0.5);
        ctx.lineTo(canvas.width, k * cell + 0.5);
      }
      ctx.stroke();
      // rows below the line are the ones a completion samples
      const y = d.keepRows * cell;
      ctx.fillStyle = 'rgba(56, 189, 248, 0.08)';
      ctx.fillRect(0, y, canvas.width, canvas.height - y);
      ctx.strokeStyle = '#38bdf8';
      ctx.lineWidth = Math.max(2, Math.round(dpr * 2));
      ctx.setLineDash([6 * dpr, 4 * dpr]);
      ctx.beginPath();
      ctx.moveTo(0, Math.min(canvas.height - 1, Math.max(1, y)));
      ctx.lineTo(canvas.width, Math.min(canvas.height - 1, Math.max(1, y)));
      ctx.stroke();
      ctx.setLineDash([]);
      canvas.dataset.version = String(d.version);
      canvas.dataset.inked = String(d.inked);
    };
    const schedule = () => {
      if (!raf) raf = requestAnimationFrame(draw);
    };
    const unsubscribe = useStore.subscribe((s, prev) => {
      if (s.draw.version !== prev.draw.version || s.draw.keepRows !== prev.draw.keepRows || s.draw.image !== prev.draw.image) schedule();
    });
    schedule();
    return () => {
      unsubscribe();
      if (raf) cancelAnimationFrame(raf);
    };
  }, [width, height]);

  /** pointer position in pixels of the picture */
  const at = (e: { clientX: number; clientY: number }): Point => {
    const rect = ref.current!.getBoundingClientRect();
    return { x: ((e.clientX - rect.left) / rect.width) * width, y: ((e.clientY - rect.top) / rect.height) * height };
  };

  const onDown = (e: React.PointerEvent<HTMLCanvasElement>) => {
    if (!ready || (e.pointerType === 'mouse' && e.button !== 0)) return;
    e.currentTarget.setPointerCapture(e.pointerId);
    const p = at(e);
    last.current = p;
    const st = useStore.getState();
    st.beginStroke();
    st.strokeTo(p, p);
  };
  const onMove = (e: React.PointerEvent<HTMLCanvasElement>) => {
    if (!last.current) return;
    // every position the pointer passed since the last event, not just the newest
    const events = e.nativeEvent.getCoalescedEvents?.() ?? [];
    for (const ev of events.length > 0 ? events : [e.nativeEvent]) {
      const p = at(ev);
      useStore.getState().strokeTo(last.current, p);
      last.current = p;
    }
  };
  const onUp = () => {
    if (!last.current) return;
    last.current = null;
    useStore.getState().endStroke();
  };

  return (
    <canvas
      ref={ref}
      className="draw-pad"
      data-testid="draw-pad"
      aria-label={`drawing pad, ${width} by ${height} pixels`}
      width={1}
      height={1}
      style={{ width: PAD_CSS, height: PAD_CSS }}
      onPointerDown={onDown}
      onPointerMove={onMove}
      onPointerUp={onUp}
      onPointerCancel={onUp}
      onLostPointerCapture={onUp}
    />
  );
}
