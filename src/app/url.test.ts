import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { URL_SETTLE_MS, flushUrl, readUrl, writeUrl, type Settings } from './url';

const base: Settings = { label: 3, count: 4, seed: 5, temperature: null, guidance: null, speed: 0 };

describe('writeUrl', () => {
  let replaced: string[];
  beforeEach(() => {
    vi.useFakeTimers();
    replaced = [];
    const location = { pathname: '/', search: '?model=mnist', hash: '' };
    vi.stubGlobal('location', location);
    vi.stubGlobal('history', {
      replaceState: (_: unknown, __: string, url: string) => {
        replaced.push(url);
        location.search = url.slice(url.indexOf('?'));
      },
    });
  });
  afterEach(() => {
    vi.useRealTimers();
    vi.unstubAllGlobals();
  });

  it('writes the address once the settings rest, with the last of them', () => {
    writeUrl(base);
    vi.advanceTimersByTime(URL_SETTLE_MS - 1);
    writeUrl({ ...base, label: 7 });
    vi.advanceTimersByTime(URL_SETTLE_MS - 1);
    expect(replaced).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(replaced).toHaveLength(1);
    expect(readUrl(location.search).settings.label).toBe(7);
    expect(location.search).toContain('model=mnist');
  });

  it('flushUrl writes what waits at once, and nothing twice', () => {
    writeUrl({ ...base, seed: 9 });
    flushUrl();
    expect(replaced).toHaveLength(1);
    expect(readUrl(location.search).settings.seed).toBe(9);
    flushUrl();
    vi.advanceTimersByTime(URL_SETTLE_MS * 2);
    expect(replaced).toHaveLength(1);
  });
});
