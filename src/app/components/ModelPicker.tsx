// Which model the page runs: the shipped digits and faces, the random-weight presets, and
// whatever else a link named (?model=...). Switching loads the new model in the workers
// without reloading the page; a failed load keeps the old one and says why in one line.
// What it shows comes from the store's one model state (ModelState).
import { pickedName, useStore } from '../store';
import { RANDOM_PRESETS, SHIPPED_MODELS, filesLabel, modelName } from '../../worker/catalog';

export function ModelPicker() {
  const current = useStore(pickedName);
  const switchingTo = useStore((s) => (s.model.kind === 'switching' ? s.model.to : null));
  const starting = useStore((s) => s.model.kind === 'loading');
  // the record itself (a stable reference), not a fresh array of its keys on every read
  const userModels = useStore((s) => s.userModels);
  const yours = Object.keys(userModels);
  const known = [...SHIPPED_MODELS.map((m) => m.name), ...Object.keys(RANDOM_PRESETS), ...yours];

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
          {yours.length > 0 && (
            <optgroup label="your models (files, never uploaded)">
              {yours.map((spec) => (
                <option key={spec} value={spec}>
                  {filesLabel(spec)}
                </option>
              ))}
            </optgroup>
          )}
          {!known.includes(current) && (
            <optgroup label="from the link">
              <option value={current}>{current}</option>
            </optgroup>
          )}
        </select>
      </label>
      {switchingTo && (
        <span className="muted" data-testid="model-switching">
          loading {modelName(switchingTo)}…
        </span>
      )}
    </div>
  );
}

/** Why the last switch failed, one line under the header (the old model stays loaded). */
export function ModelSwitchError() {
  const failed = useStore((s) => (s.model.kind === 'failed' && s.model.model ? s.model : null));
  if (!failed) return null;
  return (
    <p className="model-note error-text" data-testid="model-error" role="alert">
      {failed.message} (still drawing with {modelName(failed.model!.source)})
    </p>
  );
}
