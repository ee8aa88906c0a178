"""The TypeScript trainer's seeded RNG (src/util/rng.ts: sfc32 seeded through splitmix32),
so both trainers visit the training images in the same order for a seed."""
from __future__ import annotations

import numpy as np

M32 = 0xFFFFFFFF


def _splitmix32(seed: int):
    s = seed & M32

    def nxt():
        nonlocal s
        s = (s + 0x9E3779B9) & M32
        z = s
        z = ((z ^ (z >> 16)) * 0x85EBCA6B) & M32
        z = ((z ^ (z >> 13)) * 0xC2B2AE35) & M32
        return (z ^ (z >> 16)) & M32

    return nxt


class Rng:
    def __init__(self, state):
        self.s = [x & M32 for x in state]

    @staticmethod
    def from_keys(*keys: int) -> "Rng":
        h = 0x2545F491
        for k in keys:
            h = _splitmix32(h ^ (k & M32))() ^ (k // 2**32)
        nxt = _splitmix32(h)
        r = Rng([nxt(), nxt(), nxt(), nxt()])
        for _ in range(12):
            r.next_uint32()
        return r

    def next_uint32(self) -> int:
        s = self.s
        t = (s[0] + s[1] + s[3]) & M32
        s[3] = (s[3] + 1) & M32
        s[0] = s[1] ^ (s[1] >> 9)
        s[1] = (s[2] + (s[2] << 3)) & M32
        s[2] = ((s[2] << 21) | (s[2] >> 11)) & M32
        s[2] = (s[2] + t) & M32
        return t

    def next(self) -> float:
        return self.next_uint32() / 2**32

    def int(self, n: int) -> int:
        limit = 2**32 - (2**32 % n)
        while True:
            x = self.next_uint32()
            if x < limit:
                return x % n


def permutation(n: int, rng: Rng) -> np.ndarray:
    """Fisher-Yates, drawing as src/util/rng.ts does."""
    p = list(range(n))
    for i in range(n - 1, 0, -1):
        j = rng.int(i + 1)
        p[i], p[j] = p[j], p[i]
    return np.array(p, dtype=np.int64)


def epoch_order(seed: int, epoch: int, count: int) -> np.ndarray:
    """The order of the training images in an epoch, from (seed, epoch) alone."""
    return permutation(count, Rng.from_keys(seed, epoch))


def dropout_mask(seed: int, step: int, batch: int, p: float) -> np.ndarray:
    """Which images of update `step` lose their condition (condition dropout): from (seed, step)
    alone, so a resumed run and any number of DDP processes drop the same images."""
    if p <= 0:
        return np.zeros(batch, dtype=bool)
    r = Rng.from_keys(seed, step, 0xC0D1)
    return np.array([r.next() < p for _ in range(batch)], dtype=bool)
