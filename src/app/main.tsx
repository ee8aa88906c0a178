import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App';
import { useStore } from './store';
import { readUrl, writeUrl } from './url';
import { startWorkers } from './workers';
import './styles.css';

const { settings, page } = readUrl(location.search);
useStore.setState({ settings });
writeUrl(settings);
startWorkers(page);

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
