// The blind-spot visualizer: pick an architecture and a depth, point at a pixel, and see
// which input pixels reach it, measured on the model (receptiveField in the worker).
import { useEffect, useMemo, useRef } from 'react';
import { drawingModel, useStore } from '../store';
import { Cell, readField } from '../receptive';

const CSS_SIZE = 300;

/** Device pixels per grid cell and the canvas's CSS size: one rule for the first render and every redraw. */
function fieldLayout(H: number, W: number) {
  const dpr = window.devicePixelRatio || 1;
  const cell = Math.max(2, Math.floor((CSS_SIZE * dpr) / Math.max(H, W, 1)));
  return { dpr, cell, cssWidth: (W * cell) / dpr, cssHeight: (H * cell) / dpr };
}
const MAX_LAYERS = 12;

const COLORS = {
  outOfReach: '#1c2433',
  future: '#0b0f17',
  futureHatch: '#1a2130',
  blind: '#f43f5e',
  target: '#facc15',
};

/** Weak to strong influence: deep teal to bright sky. */
function influenceColor(t: number): string {
  const a = [14, 58, 79];
  const b = [125, 211, 252];
  const m = (i: number) => Math.round(a[i] + (b[i] - a[i]) * t);
  return `rgb(${m(0)},${m(1)},${m(2)})`;
}

export function ReceptivePanel() {
  const rf = useStore((s) => s.rf);
  const config = useStore((s) => drawingModel(s)?.config);
  const setReceptive = useStore((s) => s.setReceptive);
  const canvasRef = useRef<HTMLCanvasElement>(null);

  const H = config?.height ?? 0;
  const W = config?.width ?? 0;
  const shown = rf.shownFor;
  const layout = fieldLayout(H, W);
  const reading = useMemo(
    () => (rf.field && shown && shown.height === H && shown.width === W ? readField(rf.field, H, W, shown.row, shown.col) : null),
    [rf.field, shown, H, W],
  );

  useEffect(() => {
    const canvas = canvasRef.current;
    if (!canvas || !reading || !shown) return;
    const { dpr, cell } = fieldLayout(H, W);
    canvas.width = W * cell;
    canvas.height = H * cell;
    const ctx = canvas.getContext('2d')!;
    const gap = cell >= 6 ? Math.max(1, Math.round(dpr)) : 0;
    ctx.fillStyle = '#0b0f17';
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    for (let i = 0; i < H * W; i++) {
      const x = (i % W) * cell;
      const y = Math.floor(i / W) * cell;
      const kind = reading.cells[i];
      if (kind === Cell.Future) {
        ctx.fillStyle = COLORS.future;
        ctx.fillRect(x, y, cell - gap, cell - gap);
        ctx.strokeStyle = COLORS.futureHatch;
        ctx.lineWidth = Math.max(1, dpr);
        ctx.beginPath();
        ctx.moveTo(x, y + cell - gap);
        ctx.lineTo(x + cell - gap, y);
        ctx.stroke();
        continue;
      }
      ctx.fillStyle =
        kind === Cell.Influence
          ? influenceColor(reading.strength[i])
          : kind === Cell.Blind
            ? COLORS.blind
            : kind === Cell.Target
              ? COLORS.target
              : COLORS.outOfReach;
      ctx.fillRect(x, y, cell - gap, cell - gap);
    }
  }, [reading, shown, H, W]);

  const pointTo = (e: React.PointerEvent<HTMLCanvasElement>) => {
    if (!H || !W) return;
    const rect = e.currentTarget.getBoundingClientRect();
    const col = Math.min(W - 1, Math.max(0, Math.floor(((e.clientX - rect.left) / rect.width) * W)));
    const row = Math.min(H - 1, Math.max(0, Math.floor(((e.clientY - rect.top) / rect.height) * H)));
    const t = useStore.getState().rf.target;
    if (!t || t.row !== row || t.col !== col) setReceptive({ target: { row, col } });
  };
  const onKey = (e: React.KeyboardEvent) => {
    const t = rf.target;
    if (!t) return;
    const move: Record<string, [number, number]> = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };
    const d = move[e.key];
    if (!d) return;
    e.preventDefault();
    setReceptive({ target: { row: Math.min(H - 1, Math.max(0, t.row + d[0])), col: Math.min(W - 1, Math.max(0, t.col + d[1])) } });
  };

  const gated = rf.arch === 'gated';
  const stale = !shown || shown.arch !== rf.arch || shown.layers !== rf.layers || shown.row !== rf.target?.row || shown.col !== rf.target?.col;

  return (
    <section className="card rf" aria-labelledby="rf-title">
      <div className="card-head">
        <h2 id="rf-title">Blind spot</h2>
        <p>
          Which input pixels can change the prediction for one pixel? Point at a pixel. Measured by back-propagating through the
          real network with every weight positive, so any path shows up.
        </p>
      </div>
      <div className="rf-body">
        <div className="rf-controls">
          <button
            type="button"
            role="switch"
            aria-checked={gated}
            data-testid="rf-toggle"
            className="switch"
            onClick={() => setReceptive({ arch: gated ? 'masked' : 'gated' })}
          >
            <span className={!gated ? 'on' : ''}>Masked PixelCNN</span>
            <span className={gated ? 'on' : ''}>Gated PixelCNN</span>
          </button>
          <label className="control">
            <span className="control-label">
              Depth <output data-testid="rf-layers">{rf.layers}</output> layers
            </span>
            <input
              type="range"
              min={1}
              max={MAX_LAYERS}
              value={rf.layers}
              data-testid="rf-depth"
              onChange={(e) => setReceptive({ layers: Number(e.target.value) })}
            />
          </label>
          <ul className="legend">
            <li>
              <i style={{ background: 'linear-gradient(90deg, rgb(14,58,79), rgb(125,211,252))' }} /> reaches it (weak → strong)
            </li>
            <li>
              <i style={{ background: COLORS.blind }} /> blind spot: past pixels that never reach it
            </li>
            <li>
              <i style={{ background: COLORS.target }} /> the pixel being predicted
            </li>
            <li>
              <i className="hatch" /> the future (not yet drawn)
            </li>
            <li>
              <i style={{ background: COLORS.outOfReach }} /> too far for this depth
            </li>
          </ul>
          <p className="rf-stats" aria-live="polite">
            {rf.error ? (
              <span className="error-text">{rf.error}</span>
            ) : reading && shown ? (
              <>
                Pixel ({shown.row}, {shown.col}): <b>{reading.influence}</b> past pixels reach it;{' '}
                <span className={reading.blind > 0 ? 'blind-count' : 'ok-count'}>
                  blind spot <b data-testid="rf-blind">{reading.blind}</b>
                </span>
                {reading.leaks > 0 && <span className="error-text"> · {reading.leaks} future pixels leak in!</span>}
                <span className="muted"> · {rf.ms.toFixed(0)} ms on {rf.backend?.name}</span>
              </>
            ) : (
              'measuring…'
            )}
          </p>
        </div>
        <canvas
          ref={canvasRef}
          className={`rf-canvas ${stale ? 'stale' : ''}`}
          data-testid="rf-canvas"
          // sized from the first render, before any field arrives: the default 300 x 150 canvas
          // would otherwise change shape under the pointer when the first drawing resizes it
          style={H && W ? { width: `${layout.cssWidth}px`, height: `${layout.cssHeight}px` } : undefined}
          data-arch={shown?.arch}
          data-layers={shown?.layers}
          data-target={shown ? `${shown.row},${shown.col}` : undefined}
          data-tensors={rf.numTensors ?? undefined}
          tabIndex={0}
          aria-label="receptive field; arrow keys move the pixel"
          onPointerMove={pointTo}
          onPointerDown={pointTo}
          onKeyDown={onKey}
        />
      </div>
    </section>
  );
}
