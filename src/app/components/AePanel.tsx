// The auto-encoder panel, shown for a model whose config has an encoder: what the
// variations are drawn from (a bundled test digit, a picture file, or the pad's drawing),
// that source beside its code as small bars, and a morph: two sources as A and B, and a
// strip of steps from A's code to B's drawn in the grid. A refusal is one line in the
// panel; the source and the grid stay as they were.
import { useEffect, useRef } from 'react';
import { canDraw, drawingModel, useStore } from '../store';
import { useAeStore, MORPH_STEPS, type AeSource } from '../aeStore';
import { modelFetch } from '../modelFiles';
import './AePanel.css';

function modelsBase(): string {
  return new URL('models/', new URL(import.meta.env.BASE_URL, location.href)).href;
}

/** A grey square picture on a canvas, `css` pixels a side, pixelated. */
function GreyCanvas({ pixels, size, css, testid }: { pixels: Uint8Array; size: number; css: number; testid?: string }) {
  const ref = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const ctx = ref.current?.getContext('2d');
    if (!ctx) return;
    const img = ctx.createImageData(size, size);
    for (let i = 0; i < size * size; i++) {
      img.data.fill(pixels[i], i * 4, i * 4 + 3);
      img.data[i * 4 + 3] = 255;
    }
    ctx.putImageData(img, 0, 0);
  }, [pixels, size]);
  return <canvas ref={ref} width={size} height={size} className="ae-pixels" style={{ width: css, height: css }} data-testid={testid} />;
}

/** The code as bars around a zero line: each entry lies in (-1, 1). */
function CodeBars({ code }: { code: Float32Array }) {
  return (
    <div className="ae-code" data-testid="ae-code" data-code={Array.from(code, (v) => v.toFixed(4)).join(',')} title={`the code: ${code.length} numbers in (-1, 1), what the decoder is conditioned on`}>
      {Array.from(code, (v, i) => (
        <span key={i} className="ae-code-slot">
          <span className={`ae-code-bar ${v < 0 ? 'neg' : 'pos'}`} style={{ height: `${Math.abs(v) * 50}%` }} />
        </span>
      ))}
    </div>
  );
}

function Source() {
  const source = useAeStore((s) => s.source);
  const encoding = useAeStore((s) => s.encoding);
  const size = useStore((s) => drawingModel(s)?.config.width ?? 28);
  const kind = useStore((s) => s.live?.kind ?? null);
  if (!source) {
    return <div className="ae-source muted">{encoding ? `encoding ${encoding}…` : 'Pick a digit, load a picture or use your drawing: the grid draws variations of it.'}</div>;
  }
  return (
    <div className="ae-source" data-testid="ae-source">
      <GreyCanvas pixels={source.pixels} size={size} css={84} testid="ae-source-picture" />
      <div className="ae-source-text">
        <div>
          {kind === 'morph' ? 'the strip below morphs A into B; the source is' : 'the grid draws variations of'} <b data-testid="ae-source-label">{source.label}</b>
        </div>
        <CodeBars code={source.code} />
        <div className="muted">{encoding ? `encoding ${encoding}…` : `its code: ${source.code.length} numbers, what the decoder is conditioned on`}</div>
      </div>
    </div>
  );
}

function Examples() {
  const examples = useAeStore((s) => s.examples);
  const error = useAeStore((s) => s.examplesError);
  const current = useAeStore((s) => s.source);
  const size = useStore((s) => drawingModel(s)?.config.width ?? 28);
  const ready = useStore((s) => canDraw(s));
  if (error) return <div className="muted">{error}</div>;
  if (!examples) return <div className="muted">loading the test digits…</div>;
  return (
    <div className="ae-examples" role="group" aria-label="test digits">
      {examples.map((e, i) => (
        <button
          key={i}
          type="button"
          className="ae-example"
          data-testid="ae-example"
          disabled={!ready}
          aria-pressed={current?.kind === 'example' && current.pixels === e.pixels}
          title={`test digit ${e.label} (#${e.index} of MNIST's test split: the model never trained on it)`}
          onClick={() => void useAeStore.getState().pickExample(i)}
        >
          <GreyCanvas pixels={e.pixels} size={size} css={36} />
        </button>
      ))}
    </div>
  );
}

function MorphEnd({ end, source, ready }: { end: 'a' | 'b'; source: AeSource | null; ready: boolean }) {
  const chosen = useAeStore((s) => (end === 'a' ? s.morphA : s.morphB));
  const size = useStore((s) => drawingModel(s)?.config.width ?? 28);
  const name = end.toUpperCase();
  return (
    <button
      type="button"
      className="ae-button ae-morph-end"
      data-testid={`morph-${end}`}
      disabled={!ready || !source}
      title={`the current source becomes ${name}`}
      onClick={() => useAeStore.getState().setMorphEnd(end)}
    >
      {name}: {chosen ? <GreyCanvas pixels={chosen.pixels} size={size} css={24} /> : <span className="muted">the source</span>}
    </button>
  );
}

function Morph() {
  const source = useAeStore((s) => s.source);
  const both = useAeStore((s) => s.morphA !== null && s.morphB !== null);
  const ready = useStore((s) => canDraw(s));
  return (
    <div className="ae-morph" role="group" aria-label="morph">
      <span className="muted">Morph</span>
      <MorphEnd end="a" source={source} ready={ready} />
      <MorphEnd end="b" source={source} ready={ready} />
      <button
        type="button"
        className="ae-button primary"
        data-testid="morph"
        disabled={!ready || !both}
        title={`${MORPH_STEPS} steps, each a sample from the code (1 - t) A + t B`}
        onClick={() => useAeStore.getState().morph()}
      >
        ▶ A → B in {MORPH_STEPS} steps
      </button>
    </div>
  );
}

export function AePanel() {
  const model = useStore(drawingModel);
  const ready = useStore((s) => canDraw(s));
  const inked = useStore((s) => s.draw.inked);
  const error = useAeStore((s) => s.error);
  const encoder = model?.config.encoder !== undefined;
  const source = model?.source ?? null;
  const size = model?.config.width ?? 0;

  useEffect(() => {
    if (encoder && source) void useAeStore.getState().loadExamples(source, size, modelsBase(), modelFetch);
  }, [encoder, source, size]);

  if (!encoder) return null;
  const onFile = (e: React.ChangeEvent<HTMLInputElement>) => {
    const input = e.currentTarget;
    const file = input.files?.[0];
    input.value = ''; // the same file can be chosen again
    if (file) void useAeStore.getState().uploadPicture(file);
  };
  return (
    <div className="ae-panel" data-testid="ae-panel">
      <Source />
      <Examples />
      <div className="ae-inputs">
        <label className={`ae-button file-button ${ready ? '' : 'disabled'}`} title="any picture of a digit the browser can open: grey, white ink on black, framed as MNIST frames its digits (it stays in this browser)">
          ⤒ Picture…
          <input type="file" accept="image/*" data-testid="ae-file" disabled={!ready} onChange={onFile} />
        </label>
        <button type="button" className="ae-button" data-testid="ae-use-drawing" disabled={!ready || !inked} title="the drawing pad's digit below, framed as MNIST" onClick={() => void useAeStore.getState().useDrawing()}>
          ✎ Use my drawing
        </button>
      </div>
      <Morph />
      {error && (
        <div className="ae-error" role="alert" data-testid="condition-error">
          {error}
        </div>
      )}
    </div>
  );
}
