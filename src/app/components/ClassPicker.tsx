// One button per class of the loaded model (conditioning.classes): ordinary <button>s, so
// Tab and Enter/Space reach them; for up to ten classes the digit keys pick one from
// anywhere on the page except text fields. A model without classes shows none.
import { useEffect } from 'react';
import { canDraw, classesOf, drawingModel, useStore } from '../store';

export function ClassPicker() {
  const label = useStore((s) => s.settings.label);
  const pick = useStore((s) => s.pick);
  const ready = useStore((s) => canDraw(s));
  const classes = useStore((s) => classesOf(drawingModel(s)));

  useEffect(() => {
    if (classes === 0 || classes > 10) return;
    const onKey = (e: KeyboardEvent) => {
      const target = e.target as HTMLElement | null;
      if (e.ctrlKey || e.metaKey || e.altKey || !/^[0-9]$/.test(e.key) || Number(e.key) >= classes) return;
      if (target && (target.tagName === 'INPUT' || target.tagName === 'TEXTAREA' || target.tagName === 'SELECT' || target.isContentEditable)) return;
      const s = useStore.getState();
      if (canDraw(s)) s.pick(Number(e.key));
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [classes]);

  if (classes === 0) return null;
  return (
    <div className="classes" role="group" aria-label="class to draw">
      {Array.from({ length: classes }, (_, d) => (
        <button
          key={d}
          type="button"
          className="class-button"
          data-testid={`class-${d}`}
          aria-pressed={label === d}
          disabled={!ready}
          onClick={() => pick(d)}
          title={`draw a ${d}`}
        >
          {d}
        </button>
      ))}
    </div>
  );
}
