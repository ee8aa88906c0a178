// The face panel, shown for a model conditioned on a face embedding: what the portraits
// are drawn from (an example face, an uploaded embedding, or the face in a photo), that
// face beside them with a download of its embedding, and once they are done each
// portrait's distance to it. Bad files and photos get one line in the panel; the previous
// condition and the portraits stay.
import { useEffect, useRef } from 'react';
import { useDropTarget } from './useDropTarget';
import { canDraw, drawingModel, useStore } from '../store';
import { useFaceStore, type FacePicture } from '../faceStore';
import { formatEmbeddingJson } from '../../io/embedding';
import './FacePanel.css';

/** An RGB picture drawn on a canvas, `css` pixels square, pixelated. */
function RgbCanvas({ rgb, size, css, testid }: { rgb: Uint8Array; size: number; css: number; testid?: string }) {
  const ref = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const ctx = ref.current?.getContext('2d');
    if (!ctx) return;
    const img = ctx.createImageData(size, size);
    for (let i = 0; i < size * size; i++) {
      img.data[i * 4] = rgb[i * 3];
      img.data[i * 4 + 1] = rgb[i * 3 + 1];
      img.data[i * 4 + 2] = rgb[i * 3 + 2];
      img.data[i * 4 + 3] = 255;
    }
    ctx.putImageData(img, 0, 0);
  }, [rgb, size]);
  return <canvas ref={ref} width={size} height={size} className="face-pixels" style={{ width: css, height: css }} data-testid={testid} />;
}

function Picture({ picture, css }: { picture: FacePicture | null; css: number }) {
  if (!picture) return <div className="face-blank" style={{ width: css, height: css }}>128 numbers</div>;
  if (picture.kind === 'url') return <img src={picture.url} alt="" className="face-pixels" style={{ width: css, height: css }} />;
  return <RgbCanvas rgb={picture.rgb} size={picture.size} css={css} />;
}

function download(vector: Float32Array): void {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(new Blob([formatEmbeddingJson(vector)], { type: 'application/json' }));
  a.download = 'face-condition.json';
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}

/** The face the portraits are drawn from, and how close each came once they are done. */
function Condition() {
  const condition = useFaceStore((s) => s.condition);
  const distances = useFaceStore((s) => s.distances);
  const distanceError = useFaceStore((s) => s.distanceError);
  const runId = useStore((s) => s.live?.runId ?? null);
  const status = useStore((s) => s.status);
  if (!condition) return <div className="face-condition muted">Pick a face, upload an embedding or a photo: the portraits below are drawn from it.</div>;
  const shown = distances && distances.runId === runId ? distances.values : null;
  return (
    <div className="face-condition" data-testid="face-condition">
      <Picture picture={condition.picture} css={96} />
      <div className="face-condition-text">
        <div>
          drawn from <b data-testid="face-condition-label">{condition.label}</b>
        </div>
        <Fit />
        <button type="button" className="face-button" data-testid="condition-download" onClick={() => download(condition.vector)} title="the embedding as a JSON array of 128 numbers (the upload reads it back)">
          ⤓ Embedding .json
        </button>
        {shown ? (
          <div className="face-distances" title="Euclidean distance between face-api descriptors of each portrait and of the condition (dlib: the same person below ~0.6; the data set's re-renders of one person ~0.3, different people ~0.47)">
            distance to this face:{' '}
            {shown.map((d, i) => (
              <span key={i} className="face-distance" data-testid="face-distance">
                {shown.length > 1 ? `#${i + 1} ` : ''}
                {d.toFixed(2)}
              </span>
            ))}
          </div>
        ) : status === 'done' && !distanceError ? (
          <div className="muted">measuring each portrait's distance…</div>
        ) : null}
        {distanceError && <div className="face-error">{distanceError}</div>}
      </div>
    </div>
  );
}

/** What fitting did to the condition, and the cartoon people it was drawn from when it did something. */
function Fit() {
  const fitted = useFaceStore((s) => s.condition?.fitted ?? null);
  const neighbours = useFaceStore((s) => s.neighbours);
  if (!fitted) return null;
  return (
    <div className="face-fit">
      <div className="muted" data-testid="face-fit">
        {fitted.summary}
      </div>
      {neighbours && (
        <div className="face-neighbours" role="group" aria-label="the training people it was drawn from">
          {neighbours.map((n, i) => (
            <div key={i} className="face-neighbour" data-testid="face-neighbour" title={`training person ${n.identity}: ${n.distance.toFixed(2)} from this face, ${Math.round(n.weight * 100)}% of the mean`}>
              {n.thumb ? <RgbCanvas rgb={n.thumb.rgb} size={n.thumb.size} css={32} testid="face-neighbour-thumb" /> : <div className="face-blank" style={{ width: 32, height: 32 }} />}
              <span>{Math.round(n.weight * 100)}%</span>
            </div>
          ))}
        </div>
      )}
    </div>
  );
}

function Examples() {
  const examples = useFaceStore((s) => s.examples);
  const error = useFaceStore((s) => s.examplesError);
  const current = useFaceStore((s) => s.condition);
  const ready = useStore((s) => canDraw(s));
  if (error) return <div className="muted">{error}</div>;
  if (!examples) return <div className="muted">loading example faces…</div>;
  return (
    <div className="face-examples" role="group" aria-label="example faces">
      {examples.map((e, i) => (
        <button
          key={i}
          type="button"
          className="face-example"
          data-testid="face-example"
          disabled={!ready}
          aria-pressed={current?.source === 'example' && current.label.endsWith(`person ${e.identity}`)}
          title={`person ${e.identity} of the data set's test split (the model never trained on them)`}
          onClick={() => useFaceStore.getState().pickExample(i)}
        >
          <img src={e.png} alt={`person ${e.identity}`} />
        </button>
      ))}
    </div>
  );
}

function Photo() {
  const crop = useFaceStore((s) => s.crop);
  const busy = useFaceStore((s) => s.busy);
  const weights = useFaceStore((s) => s.weights);
  const note = useFaceStore((s) => s.note);
  const numTensors = useFaceStore((s) => s.numTensors);
  return (
    <div className="face-photo">
      {weights && (
        <div className="face-weights" data-testid="face-weights">
          face-api's weights {(weights.loaded / 1e6).toFixed(1)} of {(weights.total / 1e6).toFixed(1)} MB
          <progress max={weights.total} value={weights.loaded} />
        </div>
      )}
      {busy && !weights && <div className="muted">looking for a face…</div>}
      {crop && (
        <div className="face-crop-row">
          <RgbCanvas rgb={crop.rgb} size={crop.size} css={96} testid="face-crop" />
          <div className="muted">
            the face found in {crop.name} ({Math.round(crop.score * 100)}% sure, {Math.round(crop.ms)} ms), framed as the training cartoons are
            {numTensors !== null && <span data-testid="face-tensors"> · {numTensors} tensors in face-api's worker</span>}
          </div>
        </div>
      )}
      {note && (
        <div className="face-note" data-testid="face-note">
          {note}
        </div>
      )}
    </div>
  );
}

export function FacePanel() {
  // an auto-encoder's vector is its code, not a face: AePanel offers its sources
  const vector = useStore((s) => drawingModel(s)?.config.conditioning.type === 'vector' && drawingModel(s)?.config.encoder === undefined);
  const source = useStore((s) => drawingModel(s)?.source ?? null);
  const dim = useStore((s) => {
    const c = drawingModel(s)?.config.conditioning;
    return c?.type === 'vector' ? c.dim : 0;
  });
  const ready = useStore((s) => canDraw(s));
  const busy = useFaceStore((s) => s.busy);
  const error = useFaceStore((s) => s.error);
  const { dragging, handlers } = useDropTarget((data) => {
    const file = data.files[0];
    if (file && ready) void useFaceStore.getState().dropFile(file);
  });

  useEffect(() => {
    if (vector && source) void useFaceStore.getState().loadExamples(source, dim);
  }, [vector, source, dim]);

  // finished portraits get their distance to the condition they were drawn from
  useEffect(
    () =>
      useStore.subscribe((s, prev) => {
        if (s.status === 'done' && (prev.status !== 'done' || prev.live?.runId !== s.live?.runId) && s.live) void useFaceStore.getState().portraitsDone(s.live);
      }),
    [],
  );

  if (!vector) return null;
  const onFile = (kind: 'embedding' | 'photo') => (e: React.ChangeEvent<HTMLInputElement>) => {
    const input = e.currentTarget;
    const file = input.files?.[0];
    input.value = ''; // the same file can be chosen again
    if (!file) return;
    const f = useFaceStore.getState();
    void (kind === 'photo' ? f.uploadPhoto(file) : f.uploadEmbedding(file));
  };
  return (
    <div
      className={`face-panel ${dragging ? 'dragging' : ''}`}
      data-testid="face-panel"
      {...handlers}
    >
      <Condition />
      <Examples />
      <div className="face-inputs">
        <label className={`face-button file-button ${ready ? '' : 'disabled'}`} title="a JSON array of 128 numbers, or a .npy of float32/float64, shape [128] or [1, 128]; or drop it on this panel">
          ⤒ Embedding…
          <input type="file" accept=".json,.npy,application/json" data-testid="embedding-file" disabled={!ready} onChange={onFile('embedding')} />
        </label>
        <label className={`face-button file-button ${ready && !busy ? '' : 'disabled'}`} title="a photo with a face: face-api finds it in this browser (nothing is uploaded anywhere)">
          ⤒ Photo…
          <input type="file" accept="image/*" data-testid="photo-file" disabled={!ready || busy} onChange={onFile('photo')} />
        </label>
      </div>
      <div className="muted face-cartoon">
        The model learned from cartoon portraits (facesjs): a real photo gives a cartoon of it. The photo stays in this browser.
      </div>
      <Photo />
      {error && (
        <div className="face-error" role="alert" data-testid="condition-error">
          {error}
        </div>
      )}
    </div>
  );
}
