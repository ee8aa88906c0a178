// Settings and run controls. A change of grid, temperature or seed restarts the picture
// (the store stops the old run first); speed applies to the running generation.
import { useEffect, useRef, useState } from 'react';
import { canDraw, drawingModel, runCondition, useStore } from '../store';
import { GRID_SIZES, MAX_GUIDANCE, SPEEDS, SPEED_NAMES, randomSeed } from '../url';
import { gridPng } from '../paint';

/** Applies a value once it has stopped changing for `ms` (slider drags restart once). */
function useDebounced<T>(value: T, ms: number, apply: (v: T) => void): void {
  useEffect(() => {
    const t = setTimeout(() => apply(value), ms);
    return () => clearTimeout(t);
    // apply is stable (a store action)
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [value, ms]);
}

async function downloadPng(): Promise<void> {
  const { live, settings } = useStore.getState();
  if (!live) return;
  const what = live.condition.kind === 'class' ? `digit${live.condition.label}` : live.condition.kind === 'vector' ? 'face' : 'sample';
  const scale = Math.max(1, Math.floor(448 / (Math.ceil(Math.sqrt(live.count)) * live.width)));
  const blob = await gridPng(live, scale, live.count > 1 ? scale : 0);
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = `pixelcnn-${what}-seed${settings.seed}-t${settings.temperature ?? 1}.png`;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}

export function Controls() {
  const settings = useStore((s) => s.settings);
  const status = useStore((s) => s.status);
  const ready = useStore((s) => drawingModel(s) !== null);
  const hasRun = useStore((s) => s.live !== null);
  const canRun = useStore((s) => canDraw(s) && runCondition(drawingModel(s)!.config, s.settings.label, s.conditionVector) !== null);
  const { update, setSpeed, pause, resume, stop, regenerate } = useStore.getState();

  const conditional = useStore((s) => (drawingModel(s)?.config.conditioning.type ?? 'class') !== 'none');
  const [temperature, setTemperature] = useState(settings.temperature ?? 1);
  const [guidance, setGuidance] = useState(settings.guidance ?? 0);
  useEffect(() => setGuidance(settings.guidance ?? 0), [settings.guidance]);
  // Only a value the user moved a slider to goes to the store: the slider's first value is
  // a placeholder until the model's recommendation arrives, and pushing it back after that
  // (a debounce that fires once the model is ready) would undo the recommendation.
  const moved = useRef({ guidance: false, temperature: false });
  useDebounced(guidance, 250, (g) => {
    const now = useStore.getState().settings.guidance;
    if (!moved.current.guidance) return;
    moved.current.guidance = false;
    if (g !== now) update({ guidance: g });
  });
  const [seedText, setSeedText] = useState(String(settings.seed));
  useEffect(() => setTemperature(settings.temperature ?? 1), [settings.temperature]);
  useEffect(() => setSeedText(String(settings.seed)), [settings.seed]);
  useDebounced(temperature, 250, (t) => {
    const now = useStore.getState().settings.temperature;
    if (!moved.current.temperature) return;
    moved.current.temperature = false;
    if (t !== now) update({ temperature: t });
  });

  const active = status === 'running' || status === 'paused';
  const commitSeed = () => {
    const n = Number(seedText);
    if (/^\d+$/.test(seedText) && n < 2 ** 31) {
      if (n !== settings.seed) update({ seed: n });
    } else setSeedText(String(settings.seed));
  };

  return (
    <div className="controls">
      <div className="control">
        <span className="control-label">Grid</span>
        <div className="segmented" role="radiogroup" aria-label="number of samples">
          {GRID_SIZES.map((n) => (
            <button
              key={n}
              type="button"
              role="radio"
              aria-checked={settings.count === n}
              data-testid={`grid-${n}`}
              onClick={() => update({ count: n })}
            >
              {n === 1 ? '1' : `${Math.sqrt(n)}×${Math.sqrt(n)}`}
            </button>
          ))}
        </div>
      </div>

      <label className="control">
        <span className="control-label">
          Temperature <output>{temperature.toFixed(2)}</output>
        </span>
        <input
          type="range"
          min={0.1}
          max={1.5}
          step={0.05}
          value={temperature}
          data-testid="temperature"
          onChange={(e) => {
            moved.current.temperature = true;
            setTemperature(Number(e.target.value));
          }}
        />
      </label>

      <label
        className="control"
        title="Guidance g: each pixel is drawn from p(pixel | digit)^(1+g) / p(pixel)^g, so the picture follows the digit more closely than the model alone would (fewer odd shapes, less variety); 0 samples the model as trained."
      >
        <span className="control-label">
          Guidance <output data-testid="guidance-value">{guidance.toFixed(2)}</output>
        </span>
        <input
          type="range"
          min={0}
          max={MAX_GUIDANCE}
          step={0.25}
          value={guidance}
          disabled={!conditional}
          data-testid="guidance"
          onChange={(e) => {
            moved.current.guidance = true;
            setGuidance(Number(e.target.value));
          }}
        />
      </label>

      <div className="control">
        <span className="control-label">Seed</span>
        <div className="seed">
          <input
            type="text"
            inputMode="numeric"
            value={seedText}
            data-testid="seed"
            aria-label="seed"
            onChange={(e) => setSeedText(e.target.value.trim())}
            onBlur={commitSeed}
            onKeyDown={(e) => e.key === 'Enter' && commitSeed()}
          />
          <button type="button" className="icon-button" title="new random seed" onClick={() => update({ seed: randomSeed() })}>
            ⚄
          </button>
        </div>
      </div>

      <label className="control">
        <span className="control-label">
          Speed <output>{SPEED_NAMES[settings.speed]}</output>
        </span>
        <input
          type="range"
          min={0}
          max={SPEEDS.length - 1}
          step={1}
          // left = slow, right = as fast as possible
          value={SPEEDS.length - 1 - settings.speed}
          data-testid="speed"
          onChange={(e) => setSpeed(SPEEDS.length - 1 - Number(e.target.value))}
        />
      </label>

      <div className="buttons">
        {status === 'paused' ? (
          <button type="button" data-testid="resume" onClick={resume}>
            ▶ Resume
          </button>
        ) : (
          <button type="button" data-testid="pause" onClick={pause} disabled={status !== 'running'}>
            ❚❚ Pause
          </button>
        )}
        <button type="button" data-testid="stop" onClick={stop} disabled={!active}>
          ■ Stop
        </button>
        <button type="button" data-testid="regenerate" onClick={regenerate} disabled={!ready || !canRun}>
          ↻ New seed
        </button>
        <button type="button" data-testid="download" onClick={() => void downloadPng()} disabled={!hasRun}>
          ⤓ PNG
        </button>
      </div>
    </div>
  );
}
