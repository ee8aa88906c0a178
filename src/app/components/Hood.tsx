// Under the hood: what the cached sampler keeps for the sub-pixel being drawn (or, when no
// run draws, the pixel pointed at on the entropy map), one small grid per layer: the rows of
// its input the vertical stack keeps (blue; its kernel's rows darker) and the window of the
// current row the horizontal stack reads (yellow; its taps darker), dilation included. The
// figures are src/sampler/work.ts's, the sizes the sampler allocates; the counter is the
// multiply-adds done so far against one forward pass per sub-pixel. Drawn transiently.
import { useEffect, useMemo, useRef } from 'react';
import { drawingModel, statusRedraws, useStore } from '../store';
import { useInside } from '../insideStore';
import { cacheFigures, cacheFloats, streamsPerImage, workSoFar } from '../../sampler/work';
import { layerWindows, workText } from '../inside';

/** CSS pixels a layer's grid may take. */
const CELL_CSS = 64;

export function Hood() {
  const model = useStore(drawingModel);
  const config = model?.config;
  const figures = useMemo(() => (config ? cacheFigures(config) : null), [config]);
  const canvases = useRef<(HTMLCanvasElement | null)[]>([]);
  const workRef = useRef<HTMLElement>(null);
  const targetRef = useRef<HTMLSpanElement>(null);

  useEffect(() => {
    if (!config) return;
    const { height: H, width: W, channels: C } = config;
    const dpr = window.devicePixelRatio || 1;
    const scale = Math.max(1, Math.floor((CELL_CSS * dpr) / Math.max(H, W)));
    let raf = 0;

    const draw = () => {
      raf = 0;
      const { live, status, settings, focus } = useStore.getState();
      const p = useInside.getState().pointed;
      const pointed = p && p.row < H && p.col < W && p.channel < C ? p : null;
      const running = live && (status === 'running' || status === 'paused') && live.done < live.total;
      // the sub-pixel being drawn, else the one pointed at, else the last one drawn
      let at: number;
      if (running) at = live.done;
      else if (pointed) at = (pointed.row * W + pointed.col) * C + pointed.channel;
      else at = live && live.done > 0 ? live.done - 1 : 0;
      const pixel = Math.floor(at / C);
      const row = Math.floor(pixel / W);
      const col = pixel % W;
      const channel = at % C;
      targetRef.current!.textContent = `${running ? 'drawing' : pointed ? 'pointed at' : 'last drawn'}: pixel (${row}, ${col})${C === 3 ? ` ${'RGB'[channel]}` : ''}${live && live.count > 1 ? `, sample ${Math.min(focus, live.count - 1) + 1}` : ''}`;
      figures?.forEach((f, l) => {
        const canvas = canvases.current[l];
        if (!canvas) return;
        canvas.width = W * scale;
        canvas.height = H * scale;
        const ctx = canvas.getContext('2d')!;
        // decided pixels lighter than the future
        ctx.fillStyle = '#0a0f1c';
        ctx.fillRect(0, 0, canvas.width, canvas.height);
        ctx.fillStyle = '#1c2536';
        ctx.fillRect(0, 0, W * scale, row * scale);
        ctx.fillRect(0, row * scale, col * scale, scale);
        const win = layerWindows(f, row, col, H, W);
        const fillRow = (r: number, colour: string) => {
          ctx.fillStyle = colour;
          ctx.fillRect(0, r * scale, W * scale, scale);
        };
        const fillCell = (c: number, colour: string) => {
          ctx.fillStyle = colour;
          ctx.fillRect(c * scale, row * scale, scale, scale);
        };
        win.keptRows.forEach((r) => fillRow(r, 'rgba(56, 189, 248, 0.3)'));
        win.tappedRows.forEach((r) => fillRow(r, 'rgba(56, 189, 248, 0.75)'));
        win.keptCols.forEach((c) => fillCell(c, 'rgba(250, 204, 21, 0.35)'));
        win.tappedCols.forEach((c) => fillCell(c, 'rgba(250, 204, 21, 0.9)'));
        ctx.strokeStyle = '#f43f5e';
        ctx.lineWidth = Math.max(1, Math.round(dpr));
        ctx.strokeRect(col * scale + 0.5, row * scale + 0.5, scale - 1, scale - 1);
      });
      // multiply-adds of this run so far: every image, and every guidance stream
      const el = workRef.current!;
      if (live) {
        const streams = streamsPerImage(config, settings.guidance ?? model!.recommendedGuidance);
        const w = workSoFar(config, live.done, live.given);
        const rows = live.count * streams;
        el.textContent = workText(w.cached * rows, w.naive * rows);
        el.dataset.cached = String(w.cached * rows);
        el.dataset.naive = String(w.naive * rows);
      } else {
        el.textContent = workText(0, 0);
        el.dataset.cached = el.dataset.naive = '0';
      }
    };
    const schedule = () => {
      if (!raf) raf = requestAnimationFrame(draw);
    };
    const unsubscribe = useStore.subscribe((s, prev) => {
      if (s.liveTick !== prev.liveTick || s.focus !== prev.focus || statusRedraws(s, prev)) schedule();
    });
    const unpoint = useInside.subscribe(schedule);
    schedule();
    return () => {
      unsubscribe();
      unpoint();
      if (raf) cancelAnimationFrame(raf);
    };
  }, [config, figures, model]);

  if (!config) return null;
  const floats = cacheFloats(config);
  return (
    <section className="card hood" data-testid="hood" aria-labelledby="hood-title">
      <h2 id="hood-title">Under the hood</h2>
      <p className="muted hood-intro">
        What the cached sampler keeps per layer: the rows of the layer&apos;s input its vertical stack holds (<i className="key key-v" /> its
        kernel&apos;s rows darker) and the part of the current row its horizontal stack reads (<i className="key key-h" /> taps darker).
      </p>
      <p className="hood-target">
        <span ref={targetRef} />
      </p>
      {figures ? (
        <ol className="hood-layers">
          {figures.map((f, l) => (
            <li
              key={l}
              data-testid="hood-layer"
              data-layer={l}
              data-rows={f.vertical.rows}
              data-cols={f.vertical.cols}
              data-channels={f.channels}
              data-hcols={f.horizontal.cols}
              data-dilation={f.dilation}
              title={`layer ${l}: kernel ${f.kernel}, dilation ${f.dilation}; the vertical stack keeps ${f.vertical.rows} rows x ${f.vertical.cols} columns x ${f.channels} channels and reads ${f.taps} of the rows; the horizontal stack keeps ${f.horizontal.kept} columns and the current one (${f.channels} channels) and reads ${f.taps} of them`}
            >
              <canvas
                ref={(el) => {
                  canvases.current[l] = el;
                }}
                style={{ width: `${config.width * Math.max(1, Math.floor(CELL_CSS / Math.max(config.height, config.width)))}px` }}
                aria-hidden="true"
              />
              <span>
                L{l} {f.vertical.rows}×{f.vertical.cols}×{f.channels}
                {f.dilation > 1 ? ` d${f.dilation}` : ''}
              </span>
            </li>
          ))}
        </ol>
      ) : (
        <p className="muted">The masked baseline keeps no caches: every sub-pixel runs the whole network.</p>
      )}
      <p className="hood-work">
        multiply-adds this run: <b data-testid="hood-work" ref={workRef} />
      </p>
      <p className="muted hood-note">
        caches {(floats * 4 / 1024).toFixed(1)} KB an image ({floats.toLocaleString('en')} floats); naive = the whole network once per sub-pixel
      </p>
    </section>
  );
}
