"""The PixelCNN auto-encoder: its config rules, the start from a trained PixelCNN (exactly the old
unconditional model), end-to-end gradients into the encoder, the trainer flags, and the
conventional baseline."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import unittest

import numpy as np
import torch

from training.autoencoder import ConvAutoEncoder, ae_config, from_pixelcnn
from training.config import ConfigError, init_weights, make_config, param_specs
from training.model import PixelCNN
from training.surgery import add_null_slot
from training.train import param_groups
from training.weights import load_model_folder, save_model_folder

from .common import ROOT, run_trainer

SMALL = dict(height=12, width=10, channels=1, levels=16, hidden=8, layers=2, firstKernel=3, kernel=3, headHidden=8)


def small_ae(code=3, channels=(4, 6), **cond):
    return make_config(**SMALL, conditioning={"type": "vector", "dim": code, **cond},
                       encoder={"type": "conv", "channels": list(channels), "code": code})


class Config(unittest.TestCase):
    def test_bad_encoders_are_refused_naming_the_field(self):
        cases = [
            ("x", "config.encoder: expected an object"),
            ({"type": "mlp", "channels": [4], "code": 3}, 'config.encoder.type: expected "conv", got "mlp"'),
            ({"type": "conv", "channels": [], "code": 3}, "config.encoder.channels: expected 1 to 4 integers from 1 to 512, got []"),
            ({"type": "conv", "channels": [4, 0], "code": 3}, "config.encoder.channels"),
            ({"type": "conv", "channels": [4], "code": 0}, "config.encoder.code: expected an integer >= 1, got 0"),
            ({"type": "conv", "channels": [4], "code": 5}, "conditioning must be {\"type\": \"vector\", \"dim\": 5}"),
        ]
        for enc, msg in cases:
            with self.assertRaises(ConfigError) as cm:
                make_config(**SMALL, conditioning={"type": "vector", "dim": 3}, encoder=enc)
            self.assertIn(msg, str(cm.exception))
        with self.assertRaises(ConfigError):
            make_config(**SMALL, conditioning={"type": "class", "classes": 3}, encoder={"type": "conv", "channels": [4], "code": 3})

    def test_encoder_tensors_follow_the_head_with_the_grid_rounded_up(self):
        names = [(n, s) for n, s, _ in param_specs(small_ae())]
        head = [n for n, _ in names].index("head/b2")
        self.assertEqual(names[head + 1:], [
            ("enc/conv0", (3, 3, 1, 4)), ("enc/conv0_bias", (4,)), ("enc/conv1", (3, 3, 4, 6)), ("enc/conv1_bias", (6,)),
            ("enc/dense", (3 * 3 * 6, 3)), ("enc/dense_bias", (3,))])  # 12x10 -> 6x5 -> 3x3


class Encoder(unittest.TestCase):
    def test_codes_lie_in_the_open_unit_interval_and_depend_on_the_image(self):
        net = PixelCNN(small_ae(), init_weights(small_ae(), 1))
        x = torch.randint(0, 16, (4, 1, 12, 10))
        h = net.encode(x)
        self.assertEqual(tuple(h.shape), (4, 3))
        self.assertTrue(bool((h.abs() < 1).all()))
        self.assertGreater(float((h[0] - h[1]).abs().max()), 1e-4)

    def test_flattening_is_nhwc(self):
        """Moving one pixel of the last feature map moves the code by that cell's rows of enc/dense:
        checked by a dense layer that reads only cell (1, 2), channel 0 of the [3, 3, 6] map."""
        cfg = small_ae()
        W = init_weights(cfg, 2)
        W["enc/dense"] = np.zeros_like(W["enc/dense"])
        W["enc/dense"][(1 * 3 + 2) * 6 + 0, 0] = 1.0
        net = PixelCNN(cfg, W)
        x = torch.randint(0, 16, (2, 1, 12, 10))
        Wt = net.named_weights()
        a = x.float() * (2 / 15) - 1
        for i in range(2):
            a = torch.relu(torch.nn.functional.conv2d(torch.nn.functional.pad(a, (1, 1, 1, 1)), Wt[f"enc/conv{i}"].permute(3, 2, 0, 1), stride=2)
                           + Wt[f"enc/conv{i}_bias"][None, :, None, None])
        with torch.no_grad():
            self.assertTrue(torch.allclose(net.encode(x)[:, 0], torch.tanh(a[:, 0, 1, 2]), atol=1e-6))

    def test_the_nll_sends_gradients_into_the_encoder(self):
        cfg = small_ae(nullable=True)
        W = init_weights(cfg, 3)
        for l in range(cfg["layers"]):  # the code must reach the gates for E to get a gradient
            for n in ("v_cond", "h_cond"):
                W[f"l{l}/{n}"] = np.random.default_rng(l).standard_normal(W[f"l{l}/{n}"].shape).astype(np.float32)
        net = PixelCNN(cfg, W)
        x = torch.randint(0, 16, (3, 1, 12, 10))
        net.nats(x).sum().backward()
        g = net.named_weights()["enc/conv0"].grad
        self.assertIsNotNone(g)
        self.assertGreater(float(g.abs().max()), 0)
        # the null condition does not read the code: no gradient reaches E
        net.zero_grad()
        net.nats(x, net.code_condition(x, torch.ones(3))).sum().backward()
        self.assertEqual(float(net.named_weights()["enc/conv0"].grad.abs().max()), 0.0)


class FromPixelCNN(unittest.TestCase):
    def test_the_auto_encoder_starts_as_the_old_models_null_condition(self):
        base = make_config(**SMALL, conditioning={"type": "class", "classes": 3})
        old_cfg, old_W = add_null_slot(base, init_weights(base, 4), 0.1)
        rng = np.random.default_rng(0)
        old_W = {k: (v + rng.standard_normal(v.shape) * 0.3).astype(np.float32) for k, v in old_W.items()}
        old = PixelCNN(old_cfg, old_W)
        for spatial in (None, 2):
            new_cfg = ae_config(old_cfg, 5, [4], spatial)
            ae = PixelCNN(new_cfg, from_pixelcnn(old_cfg, old_W, new_cfg, 0))
            x = torch.randint(0, 16, (3, 1, 12, 10))
            with torch.no_grad():
                want = old.logits(x, old.condition(labels=torch.zeros(3), unconditional=torch.ones(3)))
                self.assertTrue(torch.allclose(ae.logits(x), want, atol=1e-5), f"spatial={spatial}")
                self.assertTrue(torch.allclose(ae.logits(x, ae.code_condition(x, torch.ones(3))), want, atol=1e-5))


class TrainerFlags(unittest.TestCase):
    def test_autoencoder_flags_train_end_to_end_and_save_a_folder_that_loads(self):
        tmp = tempfile.mkdtemp()
        base = make_config(height=28, width=28, channels=1, levels=256, hidden=8, layers=2, firstKernel=7, kernel=3, headHidden=16,
                           conditioning={"type": "class", "classes": 10, "nullable": True, "dropout": 0.1})
        W0 = init_weights(base, 0)
        save_model_folder(f"{tmp}/init", base, W0)
        args = ["--data", "mnist", "--init", f"{tmp}/init", "--autoencoder", "4", "--encoder-channels", "4,8", "--train-limit", "40",
                "--val-limit", "16", "--progress-seconds", "0", "--threads", "1", "--batch", "8", "--steps", "6", "--out", f"{tmp}/ae"]
        r = run_trainer(args)
        self.assertEqual(r.returncode, 0, r.stderr[-2000:])
        cfg, W, _ = load_model_folder(f"{tmp}/ae")
        self.assertEqual(cfg["encoder"], {"type": "conv", "channels": [4, 8], "code": 4})
        self.assertEqual(cfg["conditioning"], {"type": "vector", "dim": 4, "nullable": True, "dropout": 0.1})
        start = from_pixelcnn(base, W0, cfg, 0)
        self.assertFalse(np.array_equal(W["enc/conv0"], start["enc/conv0"]), "the encoder did not train")
        self.assertFalse(np.array_equal(W["l0/v_cond"], start["l0/v_cond"]))
        for bad, msg in ((["--autoencoder", "4"], "--autoencoder: needs --init"),
                         (["--init", f"{tmp}/init", "--code-map", "4"], "--code-map: needs --autoencoder"),
                         (["--init", f"{tmp}/init", "--autoencoder", "4", "--encoder-channels", "4,x"], "--encoder-channels")):
            r = run_trainer(["--data", "mnist", "--steps", "1", "--out", f"{tmp}/bad", *bad])
            self.assertEqual(r.returncode, 2, r.stderr)
            self.assertIn(msg, r.stderr)
            self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)


class CodeLearningRate(unittest.TestCase):
    def test_the_code_path_gets_its_own_group_and_a_model_without_an_encoder_refuses_the_flag(self):
        net = PixelCNN(small_ae(nullable=True))
        groups = param_groups(net, {"codeLrScale": 4})
        names = {id(w): n for n, w in net.named_weights().items()}
        fast = sorted(names[id(w)] for w in groups[1]["params"])
        self.assertEqual(groups[1]["scale"], 4.0)
        self.assertEqual(fast, sorted(n for n in names.values() if n.startswith("enc/") or n.endswith("cond")))
        self.assertEqual(len(groups[0]["params"]) + len(fast), len(names))
        self.assertEqual(len(param_groups(net, {})), 1)
        r = run_trainer(["--data", "mnist", "--preset", "mnist-tiny", "--steps", "1", "--code-lr-scale", "3", "--out", f"{tempfile.mkdtemp()}/m"])
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("--code-lr-scale: the model has no encoder", r.stderr)


class Conventional(unittest.TestCase):
    def test_the_baseline_decodes_to_the_image_size_and_learns(self):
        cfg = make_config(height=28, width=28, channels=1, levels=256, hidden=8, layers=1, firstKernel=3, kernel=3, headHidden=8,
                          conditioning={"type": "vector", "dim": 4}, encoder={"type": "conv", "channels": [4, 8], "code": 4})
        self.assertEqual(tuple(ConvAutoEncoder(cfg)(torch.zeros(2, 1, 28, 28)).shape), (2, 1, 28, 28))
        tmp = tempfile.mkdtemp()
        save_model_folder(f"{tmp}/ae", cfg, init_weights(cfg, 0))
        r = subprocess.run([sys.executable, "-m", "training.conventional", "--like", f"{tmp}/ae", "--steps", "40", "--test", "20",
                            "--out", f"{tmp}/conv"], cwd=ROOT, capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr[-2000:])
        out = json.loads(r.stdout.strip().splitlines()[-1])
        rec = np.load(f"{tmp}/conv/reconstructions.npy")
        self.assertEqual((rec.shape, rec.dtype), ((20, 28, 28), np.uint8))
        with open(f"{tmp}/conv/train.log") as f:
            first = json.loads(f.readline())["mse"]
        self.assertLess(out["testMse"], first)


if __name__ == "__main__":
    unittest.main()
