"""What both trainers must agree on to be compared and continued, against TypeScript's
src/train: the data order (sfc32 seeded through splitmix32, training/rng.py) and the
learning-rate schedule (training/train.py's learning_rate)."""
from __future__ import annotations

import json
import os
import tempfile
import unittest

from training.rng import Rng, epoch_order
from training.train import learning_rate

from .common import run_ts_jobs


def ts(jobs: list[dict]) -> list:
    """Runs the jobs in one Node process; each job's JSON answer, in order."""
    tmp = tempfile.mkdtemp()
    for i, j in enumerate(jobs):
        j["out"] = os.path.join(tmp, f"{i}.json")
    run_ts_jobs(jobs)
    out = []
    for j in jobs:
        with open(j["out"]) as f:
            out.append(json.load(f))
    return out


# keys past 32 bits and below zero take fromKeys' high-word and sign paths
KEYS = [[0], [1, 0], [7, 3], [12345, 2**40 + 7], [-5, 2], [0, 41, 0xC0D1]]
# int(n) of bounds just past a power of two rejects about half its draws
BOUNDS = [1, 2, 3, 10, 1000, 2**31 + 1, 2**32 - 1, 2**32, 60000, 7]


class DataOrder(unittest.TestCase):
    def test_the_rng_and_each_epochs_order_are_typescripts(self):
        orders = [(0, 0, 40), (0, 1, 40), (3, 2, 1000), (1, 0, 60000)]
        jobs = [{"kind": "rng", "keys": k, "draws": 200, "bounds": BOUNDS} for k in KEYS]
        jobs += [{"kind": "order", "seed": s, "epoch": e, "count": c} for s, e, c in orders]
        theirs = ts(jobs)
        for keys, t in zip(KEYS, theirs):
            with self.subTest(keys=keys):
                r = Rng.from_keys(*keys)
                self.assertEqual([r.next_uint32() for _ in range(200)], t["uint32"])
                q = Rng.from_keys(*keys)
                self.assertEqual([q.int(n) for n in BOUNDS], t["ints"])
        for (s, e, c), t in zip(orders, theirs[len(KEYS):]):
            with self.subTest(seed=s, epoch=e, count=c):
                self.assertEqual(epoch_order(s, e, c).tolist(), t)
        # not vacuous: sequences differ between keys, and an order is a permutation that moves things
        self.assertEqual(len({tuple(t["uint32"][:4]) for t in theirs[: len(KEYS)]}), len(KEYS))
        self.assertEqual(sorted(theirs[len(KEYS)]), list(range(40)))
        self.assertNotEqual(theirs[len(KEYS)], theirs[len(KEYS) + 1])


class Schedule(unittest.TestCase):
    def test_the_learning_rate_of_every_update_is_typescripts(self):
        cases = [
            ({"lr": 1e-3, "warmupSteps": 10, "lrFinalFraction": 0.05}, 100, 0),
            ({"lr": 5e-4, "warmupSteps": 0, "lrFinalFraction": 0.0}, 57, 0),
            ({"lr": 2e-3, "warmupSteps": 200, "lrFinalFraction": 0.1}, None, 0),  # length unknown (--minutes before its plan)
            ({"lr": 1e-3, "warmupSteps": 50, "lrFinalFraction": 0.05}, 40, 0),  # shorter than the warm-up
            ({"lr": 3e-4, "warmupSteps": 20, "lrFinalFraction": 0.02}, 180, 60),  # a schedule restarted at update 60
        ]
        jobs = []
        for hyper, total, start in cases:
            end = (total if total is not None else 300) + 5  # past the end: the rate stays at its floor
            jobs.append({"kind": "lr", "hyper": {**hyper, "batchSize": 8, "clipNorm": 1}, "steps": list(range(start, end)),
                         "total": total, "start": start})
        for (hyper, total, start), job, theirs in zip(cases, jobs, ts(jobs)):
            with self.subTest(hyper=hyper, total=total, start=start):
                ours = [learning_rate(hyper, s, total, start) for s in job["steps"]]
                self.assertEqual(len(ours), len(theirs))
                for s, a, b in zip(job["steps"], ours, theirs):
                    # the same arithmetic in the same order; only cos may differ, by an ulp or so
                    self.assertLessEqual(abs(a - b), 1e-15 * hyper["lr"], f"step {s}: {a} vs {b}")
                self.assertGreater(max(theirs) - min(theirs), 0.5 * hyper["lr"])  # not vacuous: the rate moves


if __name__ == "__main__":
    unittest.main()
