// The board's ring (rowBoard.ts): sub-pixels put by any thread come out of take() as the
// events one thread would have made, a batch of them in one buffer, across the ring's wrap.
import { describe, expect, it } from 'vitest';
import { makeConfig } from '../model/config';
import { pixelStats } from './pixelStats';
import { Board } from './rowBoard';

describe('board ring', () => {
  it('take(j, end) gives every sub-pixel of the batch as put, its figures too, when the batch wraps round the ring', () => {
    const config = makeConfig({ height: 3, width: 2, channels: 1, levels: 4, hidden: 4, layers: 1 });
    const N = 2;
    const K = config.levels;
    // two rows of slots: sub-pixels 4 and 5 go where 0 and 1 were
    const board = Board.create({ config, N, block: 1, length: 0, stats: true }, new Uint8Array(N * 6), 4);
    const probsOf = (n: number, i: number) => Float32Array.from({ length: K }, (_, k) => 1 + ((n * 7 + i * 3 + k * 5) % 11));
    const valueOf = (n: number, i: number) => (n + 2 * i) % K;
    const put = (i: number) => {
      for (let n = 0; n < N; n++) board.put(n, i, valueOf(n, i), probsOf(n, i));
      for (let b = 0; b < N; b++) board.wrote(b, i);
    };
    const check = (events: ReturnType<Board['take']>, j: number) => {
      events.forEach((e, k) => {
        const i = j + k;
        const probs = new Float32Array(N * K);
        for (let n = 0; n < N; n++) probs.set(probsOf(n, i), n * K);
        expect([e.row, e.col, e.channel, e.done], `sub-pixel ${i}`).toEqual([Math.floor(i / 2), i % 2, 0, i + 1]);
        expect(Array.from(e.values), `sub-pixel ${i}`).toEqual([valueOf(0, i), valueOf(1, i)]);
        expect(Array.from(e.probs), `sub-pixel ${i}`).toEqual(Array.from(probs));
        expect(e.stats, `sub-pixel ${i}`).toEqual(pixelStats(probs, N, K));
      });
    };
    for (let i = 0; i < 4; i++) put(i);
    expect(board.whole()).toBe(4);
    check(board.take(0, 3), 0);
    put(4);
    put(5);
    const last = board.take(3, 6);
    expect(last).toHaveLength(3);
    check(last, 3);
    expect(Array.from(board.x)).toEqual([0, 1, 2, 3, 4, 5].flatMap((i) => [valueOf(0, i)]).concat([0, 1, 2, 3, 4, 5].map((i) => valueOf(1, i))));
  });

  it('a prefix longer than the ring: the rows past it are taken as far as the ring holds them', () => {
    const config = makeConfig({ height: 8, width: 2, channels: 1, levels: 4, hidden: 4, layers: 1 });
    // four rows given, a ring of two rows: rows 4 and 5 fit, row 6 once the caller has taken row 4
    const board = Board.create({ config, N: 1, block: 1, length: 8, stats: false }, new Uint8Array(16), 4);
    for (const r of [4, 5]) {
      expect(board.claim(0), `row ${r}`).toEqual({ b: 0, r });
      for (let i = 2 * r; i < 2 * r + 2; i++) {
        board.put(0, i, 1, new Float32Array([0.25, 0.25, 0.25, 0.25]));
        board.wrote(0, i);
      }
      board.finish(0, r, false);
    }
    expect(board.claim(0)).toBeNull();
    expect(board.take(8, 10)).toHaveLength(2);
    expect(board.claim(0)).toEqual({ b: 0, r: 6 });
  });
});
