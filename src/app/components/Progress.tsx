// Status word (a stable hook for tests: "done" when a generation completes), a progress
// bar and pixels done / total with pixels per second, the last two updated transiently.
import { useEffect, useRef } from 'react';
import { drawingModel, startError, useStore, type AppState } from '../store';

export function statusWord(s: Pick<AppState, 'status' | 'model' | 'conditionVector'> & Partial<Pick<AppState, 'compiling'>>): string {
  if (s.model.kind === 'loading' || (s.model.kind === 'switching' && !s.model.from)) return 'loading';
  if (startError(s) !== null) return 'error';
  // a vector model draws nothing until the face panel (or an auto-encoder's source) gives it a vector
  const config = drawingModel(s)?.config;
  if (s.status === 'idle' && config?.conditioning.type === 'vector' && !s.conditionVector) return config.encoder ? 'pick a source' : 'pick a face';
  // the first run of a model shape on WebGPU compiles its kernels before any pixel
  if (s.status === 'running' && s.compiling) return 'compiling';
  return s.status;
}

export function Progress() {
  const word = useStore(statusWord);
  const message = useStore((s) => s.runMessage);
  const barRef = useRef<HTMLDivElement>(null);
  const textRef = useRef<HTMLSpanElement>(null);

  useEffect(() => {
    let raf = 0;
    const draw = () => {
      raf = 0;
      const { live } = useStore.getState();
      if (!live) {
        textRef.current!.textContent = '';
        barRef.current!.style.transform = 'scaleX(0)';
        return;
      }
      const C = live.channels;
      const px = Math.floor(live.done / C);
      const all = live.total / C;
      // pixels a completion was given are not counted as drawn
      const drawn = Math.floor((live.done - live.given) / C);
      const rate = live.elapsedMs > 0 ? (drawn * live.count) / (live.elapsedMs / 1000) : 0;
      barRef.current!.style.transform = `scaleX(${live.done / live.total})`;
      const per = live.count > 1 ? ` × ${live.count} images` : '';
      // a fused WebGPU run's round trips to the GPU (issue 32: at most 2 an image row)
      const gpu = live.gpu ? ` · ${live.gpu.readbacks} readbacks` : '';
      textRef.current!.textContent = `${px} / ${all} px${per} · ${rate.toFixed(0)} px/s · ${(live.elapsedMs / 1000).toFixed(1)} s${gpu}`;
      textRef.current!.title = live.gpu ? `GPU: ${live.gpu.readbacks} readbacks, ${live.gpu.submits} submits, ${live.gpu.launches} kernel launches, ${live.gpu.compileMs.toFixed(0)} ms compiling` : '';
    };
    const schedule = () => {
      if (!raf) raf = requestAnimationFrame(draw);
    };
    const unsubscribe = useStore.subscribe((s, prev) => {
      if (s.liveTick !== prev.liveTick) schedule();
    });
    schedule();
    return () => {
      unsubscribe();
      if (raf) cancelAnimationFrame(raf);
    };
  }, []);

  return (
    <div className="progress">
      <div className="progress-track">
        <div ref={barRef} className={`progress-bar ${word}`} />
      </div>
      <div className="progress-line">
        <span className={`status-dot ${word}`} aria-hidden />
        <span data-testid="status" className="status" role="status">
          {word}
        </span>
        <span ref={textRef} data-testid="progress" className="progress-text" />
      </div>
      {message && <div className="run-error">{message}</div>}
    </div>
  );
}
