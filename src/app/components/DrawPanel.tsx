// "Draw it yourself": the pad and its tools (undo, clear, load a picture, how many rows
// a completion keeps, complete), and what one forward pass says about the drawing: a heat
// map of the bits each pixel cost (where the model is surprised), the drawing's bits/dim
// beside the model's test-set average, and p(class | drawing) as ten bars.
import { useEffect, useRef } from 'react';
import { bestGuess, classesOf, drawingModel, useStore } from '../store';
import { browserDecoder, readPicture } from '../picture';
import { SURPRISE_MAX_BITS, bitsPerPixel, surpriseColour, surpriseGradient } from '../surprise';
import { DrawPad, PAD_CSS } from './DrawPad';

const decode = browserDecoder();

function Tools() {
  const ready = useStore((s) => drawingModel(s) !== null);
  const canUndo = useStore((s) => s.draw.canUndo);
  const inked = useStore((s) => s.draw.inked);
  const height = useStore((s) => s.draw.height);
  const width = useStore((s) => s.draw.width);
  const { clearDrawing, undoDrawing, loadDrawing, pictureFailed, frameDrawing } = useStore.getState();

  const onFile = async (e: React.ChangeEvent<HTMLInputElement>) => {
    const input = e.currentTarget;
    const file = input.files?.[0];
    input.value = ''; // the same file can be chosen again
    if (!file) return;
    try {
      if (height !== width) throw new Error(`picture: the pad is ${width}x${height}; pictures load into square pads only`);
      const { pixels, inverted } = await readPicture(file, width, decode);
      loadDrawing(pixels, `${file.name}${inverted ? ': dark on light, inverted' : ''}`);
    } catch (err) {
      pictureFailed((err as Error).message.split('\n')[0]);
    }
  };

  return (
    <div className="draw-tools">
      <button type="button" data-testid="draw-undo" onClick={undoDrawing} disabled={!canUndo}>
        ↶ Undo
      </button>
      <button type="button" data-testid="draw-clear" onClick={clearDrawing} disabled={!inked}>
        ✕ Clear
      </button>
      <button
        type="button"
        data-testid="draw-frame"
        onClick={frameDrawing}
        disabled={!inked || height !== width}
        title="scale and centre the drawing as MNIST frames its digits (in the middle 20 of 28 pixels, centre of mass in the middle): the model has seen no other kind"
      >
        ⤢ Frame
      </button>
      <label className={`file-button ${ready ? '' : 'disabled'}`} title="any picture the browser can open: it is scaled to the pad, grey, white ink on black">
        ⤒ Picture…
        <input type="file" accept="image/*" data-testid="draw-file" disabled={!ready} onChange={(e) => void onFile(e)} />
      </label>
    </div>
  );
}

function KeepRows() {
  const keepRows = useStore((s) => s.draw.keepRows);
  const height = useStore((s) => s.draw.height);
  return (
    <input
      type="range"
      className="keep-rows"
      data-testid="keep-rows"
      min={0}
      max={height}
      step={1}
      value={keepRows}
      aria-label="rows of the drawing a completion keeps"
      title="drag: the rows above the line are kept, the model completes the rest"
      style={{ height: PAD_CSS }}
      onChange={(e) => useStore.getState().setKeepRows(Number(e.target.value))}
    />
  );
}

function CompleteLine() {
  const keepRows = useStore((s) => s.draw.keepRows);
  const height = useStore((s) => s.draw.height);
  const ready = useStore((s) => drawingModel(s) !== null);
  const label = useStore((s) => s.settings.label);
  const guess = useStore((s) => bestGuess(s.draw.score));
  const classModel = useStore((s) => drawingModel(s)?.config.conditioning.type === 'class');
  const count = useStore((s) => s.settings.count);
  const as = classModel ? label ?? guess : null;
  return (
    <div className="complete-line">
      <button type="button" className="primary" data-testid="complete" disabled={!ready} onClick={() => useStore.getState().complete()}>
        ▶ Complete
      </button>
      <span className="muted">
        keep <b data-testid="keep-rows-value">{keepRows}</b> of {height} rows; {count} completion{count > 1 ? 's' : ''}
        {as !== null ? ` as a ${as}` : ''}, in the grid above
      </span>
    </div>
  );
}

/** The class whose likelihoods the heat map and bits/dim show: the picked one, else the best guess. */
function useShownClass(): number | null {
  const label = useStore((s) => s.settings.label);
  const guess = useStore((s) => bestGuess(s.draw.score));
  const classes = useStore((s) => s.draw.score?.classes ?? 0);
  if (classes <= 1) return null;
  return label !== null && label < classes ? label : guess;
}

function SurpriseMap() {
  const ref = useRef<HTMLCanvasElement>(null);
  const score = useStore((s) => s.draw.score);
  const inked = useStore((s) => s.draw.inked);
  const height = useStore((s) => s.draw.height);
  const width = useStore((s) => s.draw.width);
  const channels = useStore((s) => drawingModel(s)?.config.channels ?? 1);
  const model = useStore(drawingModel);
  const error = useStore((s) => s.draw.scoreError);
  const shown = useShownClass();
  const row = shown ?? 0;
  const bpd = score ? score.bitsPerDim[row] : null;

  useEffect(() => {
    const canvas = ref.current!;
    const dpr = window.devicePixelRatio || 1;
    const cell = Math.max(1, Math.floor((PAD_CSS * dpr) / Math.max(width, height)));
    canvas.width = width * cell;
    canvas.height = height * cell;
    canvas.style.width = `${canvas.width / dpr}px`;
    canvas.style.height = `${canvas.height / dpr}px`;
    const ctx = canvas.getContext('2d')!;
    ctx.fillStyle = '#0f1522';
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    if (!score || !inked) {
      canvas.dataset.version = '';
      return;
    }
    const bits = bitsPerPixel(score.logp, row, width * height, channels);
    for (let p = 0; p < bits.length; p++) {
      const [r, g, b] = surpriseColour(bits[p]);
      ctx.fillStyle = `rgb(${r},${g},${b})`;
      ctx.fillRect((p % width) * cell, Math.floor(p / width) * cell, cell, cell);
    }
    canvas.dataset.version = String(score.version);
    canvas.dataset.bitsPerDim = String(score.bitsPerDim[row]);
    canvas.dataset.ms = score.ms.toFixed(0);
    canvas.dataset.tensors = String(score.numTensors);
  }, [score, inked, row, width, height, channels]);

  const reference = model?.testBitsPerDim ?? model?.valBitsPerDim;
  const refName = model?.testBitsPerDim !== undefined ? 'test-set' : 'validation';
  return (
    <figure className="surprise">
      <canvas ref={ref} data-testid="surprise-map" className="surprise-map" width={1} height={1} style={{ width: PAD_CSS, height: PAD_CSS }} aria-label="bits per pixel of the drawing" />
      <div className="surprise-legend" aria-hidden>
        <span>0</span>
        <i style={{ background: surpriseGradient() }} />
        <span>{SURPRISE_MAX_BITS}+ bits</span>
      </div>
      <figcaption>
        {error ? (
          <span className="error-text">{error}</span>
        ) : bpd !== null && inked ? (
          <>
            <b data-testid="draw-bpd">{bpd.toFixed(3)}</b> bits/dim{shown !== null ? ` as a ${shown}` : ''}
            {reference !== undefined ? ` · the ${refName} average is ${reference.toFixed(3)}` : ''}
          </>
        ) : (
          'Where the model is surprised: draw something.'
        )}
      </figcaption>
    </figure>
  );
}

function GuessBars() {
  const probs = useStore((s) => (s.draw.inked ? s.draw.score?.probs ?? null : null));
  const classes = useStore((s) => classesOf(drawingModel(s)));
  if (classes === 0) return <p className="muted">This model has no classes to guess.</p>;
  const best = probs ? probs.indexOf(Math.max(...probs)) : -1;
  return (
    <div className="guess" role="list" aria-label="p(class | drawing)">
      {Array.from({ length: classes }, (_, k) => {
        const p = probs?.[k];
        return (
          <div key={k} role="listitem" className={`guess-row ${k === best ? 'best' : ''}`}>
            <span className="guess-digit">{k}</span>
            <span className="guess-track">
              <span className="guess-bar" style={{ transform: `scaleX(${p ?? 0})` }} />
            </span>
            <span className="guess-p" data-testid={`class-prob-${k}`}>
              {p === undefined ? '–' : p.toFixed(3)}
            </span>
          </div>
        );
      })}
    </div>
  );
}

/**
 * Why the pad does not fit the loaded model, or null when it does: the pad draws one grey
 * channel, and its tools (complete for a class, guess p(class | drawing)) need classes.
 */
export function padUnfit(config: { channels: number; conditioning: { type: string }; encoder?: unknown } | undefined): string | null {
  if (!config) return null; // still loading: the pad is there as before
  if (config.channels !== 1) return 'This model paints in colour; the drawing pad draws grey digits for a class model such as digits (mnist).';
  // an auto-encoder reads the drawing as a source (the panel's "Use my drawing")
  if (config.conditioning.type !== 'class' && config.encoder === undefined) return 'This model has no classes to complete or guess; the drawing pad is for a class model such as digits (mnist).';
  return null;
}

export function DrawPanel() {
  const note = useStore((s) => s.draw.pictureNote);
  const error = useStore((s) => s.draw.pictureError);
  const unfit = useStore((s) => padUnfit(drawingModel(s)?.config));
  if (unfit) {
    return (
      <section className="card draw" aria-label="draw it yourself">
        <p className="muted" data-testid="draw-unavailable">
          {unfit}
        </p>
      </section>
    );
  }
  return (
    <section className="card draw" aria-label="draw it yourself">
      <div className="card-head">
        <h2>Draw it yourself</h2>
        <p>
          Draw a digit (or load a picture of one). One forward pass scores every pixel: the heat map shows the bits each cost, the bars the
          guess p(digit | drawing) by Bayes from the ten class likelihoods. <i>Complete</i> keeps the rows above the line and samples the rest.
        </p>
      </div>
      <div className="draw-body">
        <div className="draw-col">
          <div className="pad-row">
            <DrawPad />
            <KeepRows />
          </div>
          <Tools />
          {error ? (
            <p className="draw-msg error-text" data-testid="draw-error" role="alert">
              {error}
            </p>
          ) : note ? (
            <p className="draw-msg muted" data-testid="draw-note">
              {note}
            </p>
          ) : null}
          <CompleteLine />
        </div>
        <SurpriseMap />
        <div className="draw-col">
          <h3 className="subhead">Guess</h3>
          <GuessBars />
        </div>
      </div>
    </section>
  );
}
