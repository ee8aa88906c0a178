// Page layout: the stage (digit buttons, samples, progress), the controls and the live
// distribution beside it, the drawing pad (complete, score, guess), and the blind-spot
// visualizer below.
import { Component, type ReactNode } from 'react';
import { startError, useStore } from './store';
import { Header } from './components/Header';
import { ClassPicker } from './components/ClassPicker';
import { SampleCanvas } from './components/SampleCanvas';
import { Progress } from './components/Progress';
import { Controls } from './components/Controls';
import { ProbChart } from './components/ProbChart';
import { ReceptivePanel } from './components/ReceptivePanel';
import { DrawPanel } from './components/DrawPanel';
import { FacePanel } from './components/FacePanel';
import { AePanel } from './components/AePanel';
import { Hood } from './components/Hood';
import { EntropyMap } from './components/EntropyMap';

function InitError() {
  const message = useStore(startError);
  if (!message) return null;
  return (
    <div className="error-panel" role="alert" data-testid="error">
      <h2>The model could not be started</h2>
      <p className="error-message">{message}</p>
      <p className="muted">
        Try the shipped model (<a href="?">reload without URL options</a>) or random weights (<a href="?model=random">?model=random</a>).
      </p>
    </div>
  );
}

/** A render error shows its message instead of a blank page. */
class ErrorBoundary extends Component<{ children: ReactNode }, { error: Error | null }> {
  state = { error: null as Error | null };
  static getDerivedStateFromError(error: Error) {
    return { error };
  }
  render() {
    if (!this.state.error) return this.props.children;
    return (
      <div className="error-panel" role="alert" data-testid="error">
        <h2>Something broke while drawing the page</h2>
        <p className="error-message">{this.state.error.message}</p>
      </div>
    );
  }
}

export function App() {
  const failed = useStore((s) => startError(s) !== null);
  return (
    <ErrorBoundary>
      <div className="app">
        <Header />
        <InitError />
        {!failed && (
        <main className="layout">
          <section className="card stage" aria-label="samples">
            <ClassPicker />
            <FacePanel />
            <AePanel />
            <SampleCanvas />
            <Progress />
          </section>
          <aside className="side">
            <section className="card">
              <h2>Settings</h2>
              <Controls />
            </section>
            <section className="card">
              <h2>Current pixel</h2>
              <ProbChart />
            </section>
            <EntropyMap />
            <Hood />
          </aside>
        </main>
        )}
        {!failed && <DrawPanel />}
        {!failed && <ReceptivePanel />}
        <footer className="footer">
          van den Oord et al., <i>Conditional Image Generation with PixelCNN Decoders</i>, 2016 · TensorFlow.js in a Web Worker
        </footer>
      </div>
    </ErrorBoundary>
  );
}
