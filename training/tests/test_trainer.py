"""The trainer: exact resume after SIGINT, determinism, DDP == one process, the log that
npm run curve draws, one-line errors, and condition dropout."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import unittest

import numpy as np
import torch

from training.data import DataError, load_faces, oversample, wears_glasses
from training.rng import dropout_mask
from training.surgery import add_null_slot, widen_condition_map
from training.train import learning_rate
from training.weights import load_model_folder

from .common import ROOT, TSX, run_trainer

# 28x28 MNIST, 2 narrow layers, batch 8; 40 images = 5 updates an epoch, so 12 updates cross two epoch ends
BASE = ["--data", "mnist", "--preset", "mnist-tiny", "--train-limit", "40", "--val-limit", "16", "--progress-seconds", "0",
        "--threads", "1"]


def weights_of(state_dir):
    ck = torch.load(os.path.join(state_dir, "checkpoint.pt"))
    return ck["weights"], ck["progress"]


def same_weights(a, b):
    return all(np.array_equal(a[k], b[k]) for k in a) and a.keys() == b.keys()


class Resume(unittest.TestCase):
    def test_interrupted_and_resumed_run_ends_with_the_uninterrupted_weights(self):
        tmp = tempfile.mkdtemp()
        extra = ["--nullable", "--cond-dropout", "0.3", "--steps", "14"]
        r = run_trainer([*BASE, *extra, "--out", f"{tmp}/a"])
        self.assertEqual(r.returncode, 0, r.stderr[-2000:])
        full, prog = weights_of(f"{tmp}/a.train")
        self.assertEqual(prog["step"], 14)

        # the same run, stopped by SIGINT part way, then resumed
        cmd = [sys.executable, "-m", "training.train", *BASE, *extra, "--out", f"{tmp}/b"]
        p = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        log = f"{tmp}/b.train/train.log"
        deadline = time.time() + 120
        while time.time() < deadline:
            if os.path.exists(log) and sum('"progress"' in l for l in open(log)) >= 3:
                break
            time.sleep(0.05)
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=120)
        self.assertEqual(p.returncode, 0, err[-2000:])
        self.assertIn("SIGINT: stopping", err)
        stopped, prog = weights_of(f"{tmp}/b.train")
        self.assertTrue(3 <= prog["step"] < 14, f"stopped at step {prog['step']}")
        self.assertEqual(json.loads(out.strip().splitlines()[-1])["stoppedBy"], "signal")
        self.assertFalse(same_weights(stopped, full))
        r = run_trainer([*BASE, *extra, "--resume", "--out", f"{tmp}/b"])
        self.assertEqual(r.returncode, 0, r.stderr[-2000:])
        resumed, prog = weights_of(f"{tmp}/b.train")
        self.assertEqual(prog["step"], 14)
        self.assertTrue(same_weights(resumed, full), "resumed weights differ from the uninterrupted run's")
        # the model folder holds the checkpoint's weights, nullable config and all, and keeps the
        # sampling settings someone recommended for it
        config, W, meta = load_model_folder(f"{tmp}/b")
        self.assertTrue(config["conditioning"]["nullable"])
        self.assertEqual(meta["trainedSteps"], 14)
        self.assertTrue(np.array_equal(W["head/b2"], full["head/b2"]))
        self.assertNotIn("recommendedGuidance", meta)
        with open(f"{tmp}/b/model.json") as f:
            mj = json.load(f)
        mj["metadata"]["recommendedGuidance"] = 2
        with open(f"{tmp}/b/model.json", "w") as f:
            json.dump(mj, f)
        r = run_trainer([*BASE, "--nullable", "--cond-dropout", "0.3", "--steps", "15", "--resume", "--out", f"{tmp}/b"])
        self.assertEqual(r.returncode, 0, r.stderr[-2000:])
        config, W, meta = load_model_folder(f"{tmp}/b")
        self.assertEqual(meta["recommendedGuidance"], 2)
        self.assertEqual(meta["trainedSteps"], 15)

    def test_same_seed_same_weights_other_seed_other_weights(self):
        tmp = tempfile.mkdtemp()
        for name, seed in (("a", "1"), ("b", "1"), ("c", "2")):
            r = run_trainer([*BASE, "--steps", "4", "--seed", seed, "--out", f"{tmp}/{name}"])
            self.assertEqual(r.returncode, 0, r.stderr[-2000:])
        a, _ = weights_of(f"{tmp}/a.train")
        b, _ = weights_of(f"{tmp}/b.train")
        c, _ = weights_of(f"{tmp}/c.train")
        self.assertTrue(same_weights(a, b))
        self.assertFalse(same_weights(a, c))


class Distributed(unittest.TestCase):
    def test_two_gloo_processes_end_with_the_weights_of_one_process(self):
        tmp = tempfile.mkdtemp()
        args = [*BASE, "--steps", "6", "--nullable", "--cond-dropout", "0.5"]
        r = run_trainer([*args, "--out", f"{tmp}/one"])
        self.assertEqual(r.returncode, 0, r.stderr[-2000:])
        r = run_trainer([*args, "--out", f"{tmp}/two"], processes=2)
        self.assertEqual(r.returncode, 0, r.stderr[-3000:])
        one, _ = weights_of(f"{tmp}/one.train")
        two, _ = weights_of(f"{tmp}/two.train")
        with open(f"{tmp}/two.train/train.log") as f:
            start = json.loads(f.readline())
        self.assertEqual(start["processes"], 2)
        # the same gradient at every update (norm before clipping), so each process took its own
        # half of the batch and the average over processes is the one-process gradient, not a multiple
        def norms(run):
            with open(f"{tmp}/{run}.train/train.log") as f:
                return [e["gradNorm"] for e in map(json.loads, f) if e["event"] == "progress"]

        self.assertEqual(len(norms("one")), 6)
        for a, b in zip(norms("one"), norms("two")):
            self.assertAlmostEqual(a, b, delta=1e-4 * a)
        init = PixelInit(f"{tmp}/one.train")
        self.assertGreater(max(float(np.abs(one[k] - init[k]).max()) for k in one), 1e-3, "training did not move the weights")
        for k in one:
            self.assertLess(float(np.abs(one[k] - two[k]).max()), 2e-5, k)


def PixelInit(state_dir):
    """The run's initial weights (seed 0, nullable), rebuilt as the trainer builds them."""
    from training.config import init_weights
    from training.presets import get_preset

    config = get_preset("mnist-tiny")["model"]
    _, W = add_null_slot(config, init_weights(config, 0), 0.5)
    return W


class Log(unittest.TestCase):
    def test_npm_run_curve_draws_the_log(self):
        tmp = tempfile.mkdtemp()
        r = run_trainer([*BASE, "--steps", "11", "--out", f"{tmp}/m"])
        self.assertEqual(r.returncode, 0, r.stderr[-2000:])
        self.assertRegex(r.stderr, r"epoch \d+/2\.2 step \d+/11 \| [\d.]+ img/s \| loss [\d.]+ bits/dim \| lr .* \| ETA ")
        events = [json.loads(l)["event"] for l in open(f"{tmp}/m.train/train.log")]
        self.assertEqual(events[0], "start")
        self.assertEqual(events.count("val"), 2)  # the two epoch ends
        self.assertEqual(events[-1], "end")
        c = subprocess.run([TSX, "src/cli/main.ts", "curve", "--log", f"{tmp}/m.train/train.log", "--svg", f"{tmp}/c.svg"],
                           cwd=ROOT, capture_output=True, text=True)
        self.assertEqual(c.returncode, 0, c.stderr)
        self.assertTrue(open(f"{tmp}/c.svg").read().startswith("<svg"))

    def test_the_saved_model_loads_in_typescript(self):
        tmp = tempfile.mkdtemp()
        r = run_trainer([*BASE, "--steps", "2", "--dtype", "float16", "--out", f"{tmp}/m"])
        self.assertEqual(r.returncode, 0, r.stderr[-2000:])
        e = subprocess.run([TSX, "src/cli/main.ts", "eval", "--model", f"{tmp}/m", "--split", "val", "--limit", "8"],
                           cwd=ROOT, capture_output=True, text=True)
        self.assertEqual(e.returncode, 0, e.stderr[-1000:])
        self.assertGreater(json.loads(e.stdout.strip().splitlines()[-1])["bitsPerDim"], 0)

    def test_evaluate_scores_a_checkpoint_as_its_float32_folder_and_names_a_bad_one(self):
        tmp = tempfile.mkdtemp()
        for dtype in ("float32", "float16"):
            r = run_trainer([*BASE, "--steps", "2", "--dtype", dtype, "--out", f"{tmp}/{dtype}", "--state", f"{tmp}/{dtype}.train"])
            self.assertEqual(r.returncode, 0, r.stderr[-2000:])

        def bpd(*args):
            e = subprocess.run([sys.executable, "-m", "training.evaluate", *args, "--split", "val", "--limit", "8", "--batch", "8"],
                               cwd=ROOT, capture_output=True, text=True)
            self.assertEqual(e.returncode, 0, e.stderr[-1000:])
            return json.loads(e.stdout.strip().splitlines()[-1])["bitsPerDim"]

        ck = bpd("--checkpoint", f"{tmp}/float32.train/checkpoint.pt")
        self.assertAlmostEqual(ck, bpd("--model", f"{tmp}/float32"), places=9)  # same weights, same figure
        half = bpd("--model", f"{tmp}/float16")
        self.assertNotEqual(half, ck)  # float16 storage rounds the weights...
        self.assertLess(abs(half - ck), 0.01)  # ...by little
        with open(f"{tmp}/junk.pt", "w") as f:
            f.write("not a checkpoint")
        for path in (f"{tmp}/missing.pt", f"{tmp}/junk.pt"):
            e = subprocess.run([sys.executable, "-m", "training.evaluate", "--checkpoint", path], cwd=ROOT, capture_output=True, text=True)
            self.assertEqual(e.returncode, 1)
            self.assertEqual(len(e.stderr.strip().splitlines()), 1, e.stderr)
            self.assertIn(path, e.stderr)


def fake_faces(folder, size=8, dim=6, per_split=12):
    """A folder in build-faces' layout (train/val/test, each images/descriptors/identities .npy)."""
    rng = np.random.default_rng(0)
    for split in ("train", "val", "test"):
        d = os.path.join(folder, split)
        os.makedirs(d)
        np.save(os.path.join(d, "images.npy"), rng.integers(0, 256, (per_split, size, size, 3)).astype(np.uint8))
        np.save(os.path.join(d, "descriptors.npy"), rng.standard_normal((per_split, dim)).astype(np.float32))
        np.save(os.path.join(d, "identities.npy"), np.repeat(np.arange(per_split // 2), 2).astype(np.int32))


class Faces(unittest.TestCase):
    def test_a_tiny_colour_vector_model_trains_in_both_conditioning_forms(self):
        tmp = tempfile.mkdtemp()
        fake_faces(f"{tmp}/faces")
        for spatial in (False, True):
            cfg = {"model": {"arch": "gated", "height": 8, "width": 8, "channels": 3, "levels": 16, "hidden": 6, "layers": 2,
                             "firstKernel": 3, "kernel": 3, "headHidden": 6, "spatialChannels": 2,
                             "conditioning": {"type": "vector", "dim": 6, "spatial": spatial, "nullable": True, "dropout": 0.25}},
                   "train": {"batchSize": 4, "lr": 3e-3, "warmupSteps": 0}}
            with open(f"{tmp}/cfg{spatial}.json", "w") as f:
                json.dump(cfg, f)
            out = f"{tmp}/m{spatial}"
            r = run_trainer(["--data", "faces", "--faces", f"{tmp}/faces", "--config", f"{tmp}/cfg{spatial}.json", "--steps", "4",
                             "--progress-seconds", "0", "--threads", "1", "--out", out])
            self.assertEqual(r.returncode, 0, r.stderr[-2000:])
            config, W, _ = load_model_folder(out)
            self.assertEqual(config["conditioning"]["spatial"], spatial)
            self.assertEqual("cond_map/dense" in W, spatial)
            with open(f"{out}.train/train.log") as f:
                events = [json.loads(l) for l in f]
            losses = [e["trainBitsPerDim"] for e in events if e["event"] == "progress"]
            self.assertEqual(len(losses), 4)
            self.assertTrue(all(np.isfinite(losses)))
            self.assertEqual(sum(e["event"] == "val" for e in events), 1)  # 12 images, batch 4: an epoch in 3 updates

    def test_a_broken_faces_folder_is_one_line(self):
        tmp = tempfile.mkdtemp()
        fake_faces(f"{tmp}/faces")
        np.save(f"{tmp}/faces/train/descriptors.npy", np.zeros((5, 6), np.float32))
        cfg = f"{tmp}/c.json"
        with open(cfg, "w") as f:
            json.dump({"height": 8, "width": 8, "channels": 3, "levels": 16, "hidden": 6, "layers": 1, "firstKernel": 3,
                       "kernel": 3, "headHidden": 6, "conditioning": {"type": "vector", "dim": 6}}, f)
        r = run_trainer(["--data", "faces", "--faces", f"{tmp}/faces", "--config", cfg, "--steps", "1", "--out", f"{tmp}/m"])
        self.assertEqual(r.returncode, 2)
        self.assertRegex(r.stderr.strip(), r"^train:torch: faces: .*train: images.npy has 12 images but descriptors.npy 5")
        np.save(f"{tmp}/faces/train/descriptors.npy", np.full((12, 6), np.nan, np.float32))
        r = run_trainer(["--data", "faces", "--faces", f"{tmp}/faces", "--config", cfg, "--steps", "1", "--out", f"{tmp}/m"])
        self.assertRegex(r.stderr.strip(), r"descriptors.npy holds a non-finite value$")


class Oversample(unittest.TestCase):
    """--oversample-glasses: the people the model draws badly (glasses) are seen K times an epoch."""

    def test_the_flagged_images_repeat_and_nothing_else_changes(self):
        tmp = tempfile.mkdtemp()
        fake_faces(f"{tmp}/faces")
        faces = [{"face": {"glasses": {"id": "glasses1-primary" if i in (1, 4) else "none"}}} for i in range(11)] + [{"face": {}}]
        with open(f"{tmp}/faces/train/faces.json", "w") as f:
            json.dump(faces, f)
        mask = wears_glasses(f"{tmp}/faces", "train")
        self.assertEqual(np.flatnonzero(mask).tolist(), [1, 4])
        s = load_faces(f"{tmp}/faces", "train")
        o = oversample(s, mask, 3)
        self.assertEqual(o.count, 12 + 2 * 2)
        np.testing.assert_array_equal(o.images[:12], s.images)
        for k in (12, 14):
            np.testing.assert_array_equal(o.images[k], s.images[1])
            np.testing.assert_array_equal(o.embeddings[k + 1], s.embeddings[4])
            self.assertEqual(o.identities[k], s.identities[1])
        self.assertEqual(oversample(s, mask, 1).count, 12)
        with self.assertRaisesRegex(DataError, "oversample: 3 flags for 12 images"):
            oversample(s, mask[:3], 2)

    def test_the_trainer_takes_it_for_faces_only_and_an_epoch_grows(self):
        tmp = tempfile.mkdtemp()
        fake_faces(f"{tmp}/faces")
        with open(f"{tmp}/faces/train/faces.json", "w") as f:
            json.dump([{"face": {"glasses": {"id": "facemask" if i < 4 else "none"}}} for i in range(12)], f)
        cfg = f"{tmp}/c.json"
        with open(cfg, "w") as f:
            json.dump({"height": 8, "width": 8, "channels": 3, "levels": 16, "hidden": 6, "layers": 1, "firstKernel": 3,
                       "kernel": 3, "headHidden": 6, "conditioning": {"type": "vector", "dim": 6}}, f)
        r = run_trainer(["--data", "faces", "--faces", f"{tmp}/faces", "--config", cfg, "--steps", "1", "--batch", "4",
                         "--oversample-glasses", "2", "--threads", "1", "--out", f"{tmp}/m"])
        self.assertEqual(r.returncode, 0, r.stderr[-2000:])
        with open(f"{tmp}/m.train/train.log") as f:
            start = json.loads(f.readline())
        self.assertEqual(start["stepsPerEpoch"], 4)  # 12 + 4 copies, batch 4 (3 without the flag)
        r = run_trainer(["--data", "mnist", "--steps", "1", "--oversample-glasses", "2", "--out", f"{tmp}/n"])
        self.assertEqual(r.returncode, 2)
        self.assertRegex(r.stderr.strip(), r"--oversample-glasses: needs --data faces$")
        os.remove(f"{tmp}/faces/train/faces.json")
        r = run_trainer(["--data", "faces", "--faces", f"{tmp}/faces", "--config", cfg, "--steps", "1", "--oversample-glasses", "2", "--out", f"{tmp}/p"])
        self.assertEqual(r.returncode, 2)
        self.assertRegex(r.stderr.strip(), r"^train:torch: faces: cannot read .*faces.json")


class Errors(unittest.TestCase):
    def check(self, args, code, pattern):
        r = run_trainer(args)
        self.assertEqual(r.returncode, code, r.stderr)
        lines = r.stderr.strip().splitlines()
        self.assertEqual(len(lines), 1, r.stderr)  # one line, no usage dump or traceback
        self.assertRegex(lines[-1], pattern)

    def test_bad_flags_and_files_get_one_line_errors(self):
        tmp = tempfile.mkdtemp()
        self.check(["--data", "mnist", "--out", f"{tmp}/m"], 2, r"^train:torch: give --epochs E, --minutes M or --steps N$")
        self.check(["--data", "mnist"], 2, r"^train:torch: the following arguments are required: --out$")
        self.check([*BASE, "--steps", "1", "--bogus", "--out", f"{tmp}/m"], 2, r"^train:torch: unrecognized arguments: --bogus$")
        self.check([*BASE, "--steps", "1", "--lr", "-1", "--out", f"{tmp}/m"], 2, r"^train:torch: --lr: expected a number > 0")
        self.check([*BASE, "--steps", "1", "--resume", "--out", f"{tmp}/none"], 2, r"^train:torch: --resume: no checkpoint at ")
        self.check([*BASE, "--steps", "1", "--init", f"{tmp}/nothing", "--preset", "tiny", "--out", f"{tmp}/m"], 2, r"give one of --preset")
        self.check(["--data", "mnist", "--init", f"{tmp}/nothing", "--steps", "1", "--out", f"{tmp}/m"], 2, r"^train:torch: --init: .*model.json: cannot be read")
        self.check(["--data", "faces", "--faces", f"{tmp}/nofaces", "--steps", "1", "--out", f"{tmp}/m"], 2, r"faces: .*nofaces/train is missing")
        self.check(["--data", "mnist", "--preset", "tiny", "--steps", "1", "--out", f"{tmp}/m"], 2, r"images are 28x28x1, the model expects 8x8x1")
        r = run_trainer([*BASE, "--steps", "1", "--out", f"{tmp}/m"])
        self.assertEqual(r.returncode, 0)
        self.check([*BASE, "--steps", "1", "--out", f"{tmp}/m"], 2, r"checkpoint.pt exists: pass --resume")


class Pieces(unittest.TestCase):
    def test_learning_rate_warms_up_then_decays_to_the_final_fraction(self):
        h = {"lr": 1e-3, "warmupSteps": 10, "lrFinalFraction": 0.05}
        self.assertAlmostEqual(learning_rate(h, 0, 100), 1e-4)
        self.assertAlmostEqual(learning_rate(h, 9, 100), 1e-3)
        self.assertAlmostEqual(learning_rate(h, 100, 100), 5e-5)
        self.assertAlmostEqual(learning_rate(h, 50, None), 1e-3)

    def test_condition_dropout_is_seeded_and_has_its_rate(self):
        a = np.concatenate([dropout_mask(0, s, 32, 0.2) for s in range(200)])
        self.assertTrue(np.array_equal(a, np.concatenate([dropout_mask(0, s, 32, 0.2) for s in range(200)])))
        self.assertFalse(np.array_equal(a, np.concatenate([dropout_mask(1, s, 32, 0.2) for s in range(200)])))
        self.assertAlmostEqual(a.mean(), 0.2, delta=0.02)
        self.assertFalse(dropout_mask(0, 0, 32, 0).any())

    def test_adding_the_null_slot_changes_nothing_for_a_class(self):
        from training.config import init_weights, make_config
        from training.model import PixelCNN

        config = make_config(height=6, width=5, levels=8, hidden=8, layers=2, firstKernel=3, kernel=3, headHidden=8,
                             conditioning={"type": "class", "classes": 4, "spatial": True}, spatialChannels=2)
        W = {k: v + 0.1 for k, v in init_weights(config, 5).items()}
        config2, W2 = add_null_slot(config, W, 0.1)
        self.assertEqual(W2["cond_map/dense"].shape[0], 5)
        a, b = PixelCNN(config, W), PixelCNN(config2, W2)
        x = torch.randint(0, 8, (4, 1, 6, 5))
        labels = torch.tensor([0, 1, 2, 3])
        with torch.no_grad():
            la = a.logits(x, a.condition(labels=labels))
            lb = b.logits(x, b.condition(labels=labels))
            lu = b.logits(x, b.condition(labels=labels, unconditional=[True] * 4))
        self.assertLess(float((la - lb).abs().max()), 1e-5)
        self.assertGreater(float((lu - lb).abs().max()), 1e-3)

    def test_widening_the_condition_map_changes_nothing_until_trained(self):
        from training.config import init_weights, make_config
        from training.model import PixelCNN, spatial_map

        config = make_config(height=6, width=5, channels=3, levels=8, hidden=6, layers=2, firstKernel=3, kernel=3, headHidden=6,
                             conditioning={"type": "vector", "dim": 4, "spatial": True, "nullable": True}, spatialChannels=2)
        W = {k: v + 0.1 for k, v in init_weights(config, 5).items()}
        config2, W2 = widen_condition_map(config, W, 5, seed=3)
        self.assertEqual(config2["spatialChannels"], 5)
        self.assertEqual(W2["l1/h_cond"].shape, (5, 12))
        a, b = PixelCNN(config, W), PixelCNN(config2, W2)
        x = torch.randint(0, 8, (3, 3, 6, 5))
        h = torch.randn(3, 4)
        with torch.no_grad():
            la, lb = a.logits(x, a.condition(embeddings=h)), b.logits(x, b.condition(embeddings=h))
            # the new maps are not zero: once the rows reading them move, they change the output
            s = spatial_map(config2, b.named_weights(), b.condition(embeddings=h))
        self.assertLess(float((la - lb).abs().max()), 1e-5)
        self.assertGreater(float(s[:, 2:].abs().max()), 1e-3)
        with self.assertRaisesRegex(Exception, "can only grow"):
            widen_condition_map(config, W, 1, seed=3)
        plain = make_config(**{**config, "conditioning": {"type": "vector", "dim": 4}})
        with self.assertRaisesRegex(Exception, "no location-dependent condition map"):
            widen_condition_map(plain, init_weights(plain, 5), 5, seed=3)


if __name__ == "__main__":
    unittest.main()
