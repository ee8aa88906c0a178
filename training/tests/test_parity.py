"""PyTorch forward == TypeScript forward (logits within 1e-4) for every config the
TypeScript causality tests use, and models/mnist scores the same bits/dim in both."""
from __future__ import annotations

import json
import os
import subprocess
import tempfile
import unittest

import numpy as np
import torch

from training.config import make_config, param_specs
from training.data import load_mnist
from training.model import PixelCNN, bits_per_dim
from training.presets import TS_PRESETS, get_preset
from training.config import init_weights
from training.weights import WeightsError, load_model_folder, save_model_folder

from .common import ROOT, TSX, run_ts_jobs

CONDS = {
    "none": {"type": "none"},
    "class": {"type": "class", "classes": 4},
    "vector": {"type": "vector", "dim": 5},
    "spatial class": {"type": "class", "classes": 4, "spatial": True},
    "spatial vector": {"type": "vector", "dim": 5, "spatial": True},
    "nullable class": {"type": "class", "classes": 4, "nullable": True},
    "nullable spatial vector": {"type": "vector", "dim": 5, "spatial": True, "nullable": True},
}


def small_config(arch, channels, cond, output=None, dilations=None):
    """src/model/causality.test.ts's smallConfig."""
    extra = {}
    if output:
        extra["output"] = output
    if dilations:
        extra["dilations"] = dilations
    return make_config(arch=arch, height=6, width=5, channels=channels, levels=8, hidden=24, layers=3,
                       firstKernel=5, kernel=3, headHidden=24, conditioning=cond, spatialChannels=2, **extra)


def configs():
    out = []
    for arch in ("gated", "masked"):
        for ch in (1, 3):
            for name, cond in CONDS.items():
                out.append((f"{arch} {ch}ch {name}", small_config(arch, ch, cond)))
        out.append((f"{arch} dilations", small_config(arch, 3, CONDS["class"], dilations=[1, 2, 3])))
        out.append((f"{arch} logistic", small_config(arch, 3, CONDS["class"], output={"type": "logistic", "mixtures": 2})))
    return out


def random_weights(config, rng):
    """Every weight random, biases included (zero biases would hide a misplaced bias)."""
    return {n: (rng.standard_normal(s) * (0.5 if std == 0 else std)).astype(np.float32) for n, s, std in param_specs(config)}


def batch_condition(config, B, rng):
    c = config["conditioning"]
    job, kw = {}, {}
    if c["type"] == "class":
        labels = [int(v) for v in rng.integers(0, c["classes"], B)]
        job["labels"], kw["labels"] = labels, labels
    elif c["type"] == "vector":
        e = rng.standard_normal((B, c["dim"])).astype(np.float32)
        job["embeddings"], kw["embeddings"] = e, e
    if c.get("nullable"):
        u = [b % 2 == 1 for b in range(B)]  # half the batch unconditional
        job["unconditional"], kw["unconditional"] = u, u
    return job, kw


class ForwardParity(unittest.TestCase):
    def test_every_causality_config_gives_the_same_logits(self):
        rng = np.random.default_rng(1)
        tmp = tempfile.mkdtemp()
        cases, jobs = [], []
        for i, (name, config) in enumerate(configs()):
            W = random_weights(config, rng)
            folder = os.path.join(tmp, f"m{i}")
            save_model_folder(folder, config, W)
            B = 3
            x = rng.integers(0, config["levels"], (B, config["height"], config["width"], config["channels"])).astype(np.uint8)
            np.save(os.path.join(tmp, f"x{i}.npy"), x)
            job, kw = batch_condition(config, B, rng)
            if "embeddings" in job:
                np.save(os.path.join(tmp, f"e{i}.npy"), job["embeddings"])
                job["embeddings"] = os.path.join(tmp, f"e{i}.npy")
            jobs.append({"kind": "logits", "model": folder, "images": os.path.join(tmp, f"x{i}.npy"), "out": os.path.join(tmp, f"y{i}.npy"), **job})
            cases.append((name, config, W, x, kw))
        run_ts_jobs(jobs)
        for i, (name, config, W, x, kw) in enumerate(cases):
            with self.subTest(config=name):
                net = PixelCNN(config, W)
                with torch.no_grad():
                    h = net.condition(**kw) if config["conditioning"]["type"] != "none" else None
                    ours = net.logits(torch.from_numpy(x).permute(0, 3, 1, 2), h).numpy()
                theirs = np.load(os.path.join(tmp, f"y{i}.npy"))
                self.assertEqual(ours.shape, theirs.shape)
                err = float(np.abs(ours - theirs).max())
                self.assertLess(err, 1e-4, f"{name}: logits differ by {err}")
                # not vacuous: the logits vary across the image and with the image
                self.assertGreater(float(ours.std()), 1e-2)

    def test_initial_weights_equal_typescripts_for_a_seed(self):
        config = get_preset("mnist-dilated")["model"]
        tmp = tempfile.mkdtemp()
        run_ts_jobs([{"kind": "init", "config": config, "seed": 3, "out": os.path.join(tmp, "init.npy")}])
        theirs = np.load(os.path.join(tmp, "init.npy"))
        ours = np.concatenate([v.reshape(-1) for v in init_weights(config, 3).values()])
        self.assertEqual(ours.shape, theirs.shape)
        self.assertLess(float(np.abs(ours - theirs).max()), 1e-6)
        self.assertGreater(float(np.abs(ours - np.concatenate([v.reshape(-1) for v in init_weights(config, 4).values()])).max()), 0.1)

    def test_presets_are_typescripts(self):
        tmp = tempfile.mkdtemp()
        out = os.path.join(tmp, "presets.json")
        run_ts_jobs([{"kind": "presets", "out": out}])
        with open(out) as f:
            theirs = json.load(f)
        self.assertEqual(list(theirs), TS_PRESETS)
        for name in TS_PRESETS:
            self.assertEqual(json.dumps(get_preset(name), sort_keys=True), json.dumps(theirs[name], sort_keys=True), name)


class ModelFolder(unittest.TestCase):
    def test_float16_and_float32_round_trip(self):
        config = small_config("gated", 3, CONDS["spatial vector"])
        W = random_weights(config, np.random.default_rng(2))
        tmp = tempfile.mkdtemp()
        for dtype, tol in (("float32", 0), ("float16", 1e-3)):
            save_model_folder(os.path.join(tmp, dtype), config, W, dtype, {"note": dtype})
            c2, W2, meta = load_model_folder(os.path.join(tmp, dtype))
            self.assertEqual(c2, config)
            self.assertEqual(meta, {"note": dtype})
            for n in W:
                self.assertLessEqual(float(np.abs(W[n] - W2[n]).max()), tol * max(1.0, float(np.abs(W[n]).max())), n)

    def test_saving_keeps_the_model_card(self):
        config = small_config("gated", 1, CONDS["class"])
        W = random_weights(config, np.random.default_rng(3))
        tmp = tempfile.mkdtemp()
        folder = os.path.join(tmp, "m")
        save_model_folder(folder, config, W)
        with open(os.path.join(folder, "README.md"), "w") as f:
            f.write("card")
        save_model_folder(folder, config, W, "float16")
        with open(os.path.join(folder, "README.md")) as f:
            self.assertEqual(f.read(), "card")

    def test_bad_folders_get_one_line_errors(self):
        config = small_config("gated", 1, CONDS["class"])
        W = random_weights(config, np.random.default_rng(4))
        tmp = tempfile.mkdtemp()
        folder = os.path.join(tmp, "m")
        save_model_folder(folder, config, W)
        shard = os.path.join(folder, "group1-shard1of1.bin")
        with open(shard, "rb") as f:
            data = f.read()
        with open(shard, "wb") as f:
            f.write(data[:-8])
        with self.assertRaisesRegex(WeightsError, r"^group1-shard1of1.bin: shards hold \d+ bytes.*truncated") as cm:
            load_model_folder(folder)
        self.assertNotIn("\n", str(cm.exception))
        with open(shard, "wb") as f:
            f.write(data[:-4] + np.array([np.nan], "<f4").tobytes())
        with self.assertRaisesRegex(WeightsError, r"tensor 'head/b2' holds nan"):
            load_model_folder(folder)
        with open(os.path.join(folder, "model.json"), "w") as f:
            f.write("{")
        with self.assertRaisesRegex(WeightsError, r"model.json: not JSON"):
            load_model_folder(folder)
        with self.assertRaisesRegex(WeightsError, r"cannot be read"):
            load_model_folder(os.path.join(tmp, "nothing"))
        del W["l1/out"]
        with self.assertRaisesRegex(WeightsError, r"no tensor 'l1/out'"):
            save_model_folder(os.path.join(tmp, "m2"), config, W)
        self.assertFalse(os.path.exists(os.path.join(tmp, "m2")))


class ShippedModel(unittest.TestCase):
    def test_models_mnist_scores_the_same_bits_per_dim_in_both(self):
        folder = os.path.join(ROOT, "models", "mnist")
        config, W, _ = load_model_folder(folder)
        net = PixelCNN(config, W)
        # 100 digits: the two sides score the same images, so agreement on each shows on few
        # (1,000 cost ~60 CPU-s of the suite)
        n = 100
        test = load_mnist("test").head(n)
        nats = 0.0
        with torch.no_grad():
            for a in range(0, n, 50):
                x = torch.from_numpy(test.images[a : a + 50].copy()).permute(0, 3, 1, 2)
                h = net.condition(labels=torch.from_numpy(test.labels[a : a + 50].copy()))
                nats += net.nats(x, h).double().sum().item()
        ours = bits_per_dim(nats / n, config)
        r = subprocess.run([TSX, "src/cli/main.ts", "eval", "--model", folder, "--split", "test", "--limit", str(n)],
                           cwd=ROOT, capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr[-1000:])
        theirs = json.loads(r.stdout.strip().splitlines()[-1])["bitsPerDim"]
        self.assertLess(abs(ours - theirs), 1e-4, f"PyTorch {ours} vs TypeScript {theirs}")
        self.assertLess(ours, 1.2)  # a trained model, not random weights


if __name__ == "__main__":
    unittest.main()
