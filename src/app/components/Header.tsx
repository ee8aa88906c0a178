// Title, the backend tfjs runs on (and why faster ones were skipped) and the model loaded.
import { drawingModel, startError, useStore } from '../store';
import { ModelPicker, ModelSwitchError } from './ModelPicker';
import { ModelFilesInput } from './ModelFilesInput';
import { modelName } from '../../worker/catalog';

/** This page's URL with another backend asked for first. */
function withBackend(name: string): string {
  const q = new URLSearchParams(location.search);
  q.set('backend', name);
  return `?${q.toString()}`;
}

export function Header() {
  const backend = useStore((s) => s.backend);
  const model = useStore(drawingModel);
  // the first model is on its way, or none could be loaded (the page shows why instead of its panels)
  const failed = useStore((s) => startError(s) !== null);
  const starting = useStore((s) => !drawingModel(s)) && !failed;
  const numTensors = useStore((s) => s.numTensors);

  return (
    <header className="header">
      <div className="title">
        <h1>Gated PixelCNN</h1>
        <p>A neural network that draws images one pixel at a time, each pixel sampled from what it predicts given the pixels above and to the left.</p>
      </div>
      <div className="badges">
        <ModelPicker />
        <ModelFilesInput />
        <div className="badge" title={[backend?.device, backend?.threadsNote, ...(backend?.skipped.map((s) => `${s.name} skipped: ${s.reason}`) ?? [])].filter(Boolean).join('\n')}>
          <span className="badge-key">backend</span>
          <span data-testid="backend" className="badge-value">
            {backend?.name ?? (starting ? '…' : 'none')}
          </span>
          {backend?.threads !== undefined && (
            <span data-testid="threads" className="badge-value">
              {' '}· {backend.threads} {backend.threads === 1 ? 'thread' : 'threads'}
            </span>
          )}
        </div>
        <div className={`badge ${model?.random ? 'badge-warn' : ''} ${failed ? 'badge-error' : ''}`}>
          <span className="badge-key">model</span>
          <span data-testid="model" className="badge-value">
            {model ? `${modelName(model.source)}${model.random ? ' (random)' : ''}` : failed ? 'failed' : '…'}
          </span>
        </div>
        {numTensors !== null && (
          <div className="badge badge-quiet" title="tensors alive in the worker after the last run">
            <span className="badge-key">tensors</span>
            <span data-testid="tensors" className="badge-value">
              {numTensors}
            </span>
          </div>
        )}
      </div>
      {(backend?.skipped.length ?? 0) > 0 && (
        <ul className="skipped" data-testid="skipped">
          {backend!.skipped.map((s) => (
            <li key={s.name}>
              <b>{s.name}</b> skipped: {s.reason}
            </li>
          ))}
        </ul>
      )}
      <ModelSwitchError />
      {backend?.software && (
        <p className="model-note warn" data-testid="software-hint">
          WebGPU runs on a software adapter here ({backend.device}); on such a machine wasm can be faster:{' '}
          <a href={withBackend('wasm')}>try wasm</a>.
        </p>
      )}
      {model && (
        <p className={`model-note ${model.random ? 'warn' : ''}`} data-testid="model-note">
          {model.note} · {model.config.height}×{model.config.width}, {model.config.levels} levels, {model.config.layers} layers,{' '}
          {(model.paramCount / 1000).toFixed(0)}k weights
        </p>
      )}
    </header>
  );
}
