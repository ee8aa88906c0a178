"""The auto-encoder's E (issue 23) is the same in PyTorch and TypeScript: the same codes
within 1e-4 for random weights and for the shipped models/mnist-ae, the same initial
weights for a seed (config.encoder's verdicts and messages are in test_config_parity's table)."""
from __future__ import annotations

import json
import os
import subprocess
import tempfile
import unittest

import numpy as np
import torch

from training.config import init_weights, make_config
from training.data import load_mnist
from training.model import PixelCNN, bits_per_dim
from training.weights import save_model_folder

from .common import ROOT, TSX, run_ts_jobs
from .test_parity import random_weights

SHIPPED = os.path.join(ROOT, "models", "mnist-ae")


def _committed(path: str) -> bool:
    """Whether git tracks `path`: once models/mnist-ae is committed its tests are required, never skipped."""
    r = subprocess.run(["git", "ls-files", "--error-unmatch", path], cwd=ROOT, capture_output=True)
    return r.returncode == 0


def ae_config(height, width, channels, enc_channels, code, **cond):
    return make_config(height=height, width=width, channels=channels, levels=256, hidden=6 * channels, layers=2,
                       firstKernel=3, kernel=3, headHidden=6 * channels, spatialChannels=2,
                       conditioning={"type": "vector", "dim": code, **cond},
                       encoder={"type": "conv", "channels": enc_channels, "code": code})


CONFIGS = {
    "the shipped shape (28x28 grey, [32, 64], code 16, nullable)": ae_config(28, 28, 1, [32, 64], 16, nullable=True),
    "odd sizes, three convs, RGB": ae_config(7, 5, 3, [4, 6, 3], 5),
    "one conv, spatial code map": ae_config(6, 6, 1, [8], 4, spatial=True),
}


class EncoderParity(unittest.TestCase):
    def test_random_weights_give_the_same_codes(self):
        rng = np.random.default_rng(23)
        tmp = tempfile.mkdtemp()
        jobs, cases = [], []
        for i, (name, config) in enumerate(CONFIGS.items()):
            W = random_weights(config, rng)
            # the dense layer's random std keeps tanh off its flat ends, so a misplaced tap shows
            folder = os.path.join(tmp, f"m{i}")
            save_model_folder(folder, config, W)
            x = rng.integers(0, config["levels"], (4, config["height"], config["width"], config["channels"])).astype(np.uint8)
            np.save(os.path.join(tmp, f"x{i}.npy"), x)
            jobs.append({"kind": "encode", "model": folder, "images": os.path.join(tmp, f"x{i}.npy"), "out": os.path.join(tmp, f"c{i}.npy")})
            cases.append((name, config, W, x))
        run_ts_jobs(jobs)
        for i, (name, config, W, x) in enumerate(cases):
            with self.subTest(config=name):
                with torch.no_grad():
                    ours = PixelCNN(config, W).encode(torch.from_numpy(x).permute(0, 3, 1, 2)).numpy()
                theirs = np.load(os.path.join(tmp, f"c{i}.npy"))
                self.assertEqual(ours.shape, (4, config["encoder"]["code"]))
                self.assertEqual(theirs.shape, ours.shape)
                err = float(np.abs(ours - theirs).max())
                self.assertLess(err, 1e-4, f"{name}: codes differ by {err}")
                # not vacuous: codes vary between images and are not all saturated at +-1
                self.assertGreater(float(ours.std(axis=0).mean()), 1e-2)
                self.assertLess(float(np.abs(ours).min()), 0.99)

    def test_initial_weights_equal_typescripts_for_a_seed(self):
        config = CONFIGS["odd sizes, three convs, RGB"]
        tmp = tempfile.mkdtemp()
        run_ts_jobs([{"kind": "init", "config": config, "seed": 5, "out": os.path.join(tmp, "init.npy")}])
        theirs = np.load(os.path.join(tmp, "init.npy"))
        ours = np.concatenate([v.reshape(-1) for v in init_weights(config, 5).values()])
        self.assertEqual(ours.shape, theirs.shape)
        self.assertLess(float(np.abs(ours - theirs).max()), 1e-6)


@unittest.skipUnless(os.path.exists(os.path.join(SHIPPED, "model.json")) or _committed("models/mnist-ae/model.json"),
                     "models/mnist-ae is not trained yet")
class ShippedAutoEncoder(unittest.TestCase):
    def test_models_mnist_ae_gives_the_same_codes_in_both(self):
        """200 test digits through `npm run encode` (the CLI as a user runs it) and PyTorch."""
        from training.weights import load_model_folder
        config, W, _ = load_model_folder(SHIPPED)
        x = load_mnist("test").head(200).images.copy()  # [200, 28, 28, 1] uint8
        tmp = tempfile.mkdtemp()
        np.save(os.path.join(tmp, "x.npy"), x)
        r = subprocess.run([TSX, "src/cli/main.ts", "encode", "--model", SHIPPED, "--npy", os.path.join(tmp, "x.npy"),
                            "--out", os.path.join(tmp, "codes.npy")], cwd=ROOT, capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr[-1000:])
        theirs = np.load(os.path.join(tmp, "codes.npy"))
        with torch.no_grad():
            ours = PixelCNN(config, W).encode(torch.from_numpy(x).permute(0, 3, 1, 2)).numpy()
        self.assertEqual(theirs.shape, ours.shape)
        err = float(np.abs(ours - theirs).max())
        self.assertLess(err, 1e-4, f"models/mnist-ae: codes differ by {err}")
        self.assertGreater(float(ours.std(axis=0).mean()), 1e-2)  # a trained encoder tells digits apart

    def test_models_mnist_ae_scores_the_same_bits_per_dim_given_each_images_code(self):
        """npm run eval (each image's own code, and the null code) against PyTorch on 50 test digits
        (the same images on both sides: few show agreement)."""
        from training.weights import load_model_folder
        config, W, _ = load_model_folder(SHIPPED)
        net = PixelCNN(config, W)
        n = 50
        test = load_mnist("test").head(n)
        nats = {"given": 0.0, "null": 0.0}
        with torch.no_grad():
            x = torch.from_numpy(test.images[:n].copy()).permute(0, 3, 1, 2)
            nats["given"] += net.nats(x, net.code_condition(x)).double().sum().item()
            nats["null"] += net.nats(x, net.code_condition(x, unconditional=[True] * n)).double().sum().item()
        r = subprocess.run([TSX, "src/cli/main.ts", "eval", "--model", SHIPPED, "--split", "test", "--limit", str(n)],
                           cwd=ROOT, capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr[-1000:])
        theirs = json.loads(r.stdout.strip().splitlines()[-1])
        self.assertLess(abs(bits_per_dim(nats["given"] / n, config) - theirs["bitsPerDim"]), 1e-4)
        self.assertLess(abs(bits_per_dim(nats["null"] / n, config) - theirs["unconditionalBitsPerDim"]), 1e-4)


if __name__ == "__main__":
    unittest.main()
