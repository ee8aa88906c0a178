// Ten digit buttons: ordinary <button>s, so Tab and Enter/Space reach them; the digit
// keys pick a class from anywhere on the page except text fields.
import { useEffect } from 'react';
import { useStore } from '../store';

const DIGITS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];

export function ClassPicker() {
  const label = useStore((s) => s.settings.label);
  const pick = useStore((s) => s.pick);
  const ready = useStore((s) => s.phase === 'ready');
  const conditional = useStore((s) => s.model?.config.conditioning.type === 'class');

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const target = e.target as HTMLElement | null;
      if (e.ctrlKey || e.metaKey || e.altKey || !/^[0-9]$/.test(e.key)) return;
      if (target && (target.tagName === 'INPUT' || target.tagName === 'TEXTAREA' || target.isContentEditable)) return;
      if (useStore.getState().phase === 'ready') useStore.getState().pick(Number(e.key));
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);

  return (
    <div className="classes" role="group" aria-label="digit to draw">
      {DIGITS.map((d) => (
        <button
          key={d}
          type="button"
          className="class-button"
          data-testid={`class-${d}`}
          aria-pressed={label === d}
          disabled={!ready}
          onClick={() => pick(d)}
          title={conditional === false ? 'this model is unconditional: every button samples any digit' : `draw a ${d}`}
        >
          {d}
        </button>
      ))}
    </div>
  );
}
