// Which model the page runs: the shipped digits and faces, the random-weight presets, and
// whatever else a link named (?model=...). Switching loads the new model in the workers
// without reloading the page; a failed load keeps the old one and says why in one line.
import { useStore } from '../store';
import { DEFAULT_MODEL, RANDOM_PRESETS } from '../../worker/loadModel';

/** The shipped models under /models/, as the picker names them. */
export const SHIPPED_MODELS: readonly { name: string; label: string }[] = [
  { name: 'mnist', label: 'digits (mnist)' },
  { name: 'faces', label: 'faces' },
];

export function ModelPicker() {
  const page = useStore((s) => s.page.model);
  const loaded = useStore((s) => s.model?.source);
  const switching = useStore((s) => s.switching);
  const starting = useStore((s) => s.phase === 'starting');
  const current = switching ?? page ?? loaded ?? DEFAULT_MODEL;
  const known = [...SHIPPED_MODELS.map((m) => m.name), ...Object.keys(RANDOM_PRESETS)];

  return (
    <div className="model-picker">
      <label className="badge">
        <span className="badge-key">draw</span>
        <select
          data-testid="model-picker"
          value={current}
          disabled={starting}
          aria-label="model"
          onChange={(e) => useStore.getState().switchModel(e.target.value)}
        >
          {SHIPPED_MODELS.map((m) => (
            <option key={m.name} value={m.name}>
              {m.label}
            </option>
          ))}
          <optgroup label="random weights">
            {Object.keys(RANDOM_PRESETS).map((name) => (
              <option key={name} value={name}>
                {name}
              </option>
            ))}
          </optgroup>
          {!known.includes(current) && (
            <optgroup label="from the link">
              <option value={current}>{current}</option>
            </optgroup>
          )}
        </select>
      </label>
      {switching && (
        <span className="muted" data-testid="model-switching">
          loading {switching}…
        </span>
      )}
    </div>
  );
}

/** Why the last switch failed, one line under the header (the old model stays loaded). */
export function ModelSwitchError() {
  const error = useStore((s) => s.switchError);
  const model = useStore((s) => s.model?.source);
  if (!error) return null;
  return (
    <p className="model-note error-text" data-testid="model-error" role="alert">
      {error}
      {model ? ` (still drawing with ${model})` : ''}
    </p>
  );
}
