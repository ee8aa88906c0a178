"""The fidelity classifier: TypeScript's forward equals PyTorch's, and the shipped weights
read the MNIST test digits as well as their card says."""
from __future__ import annotations

import json
import os
import tempfile
import unittest

import numpy as np
import torch

from training import classifier
from training.data import load_mnist

from .common import ROOT, run_ts_jobs

SHIPPED = os.path.join(ROOT, "models", "mnist-classifier")


class ClassifierParity(unittest.TestCase):
    def test_typescript_logits_equal_pytorchs(self):
        tmp = tempfile.mkdtemp()
        W = {k: (v.detach() + 0.05 * torch.randn(v.shape, generator=torch.Generator().manual_seed(1))) for k, v in classifier.init(3).items()}
        classifier.save(os.path.join(tmp, "c"), W, {"note": "random"})
        with open(os.path.join(tmp, "c", "README.md"), "w") as f:
            f.write("card")
        classifier.save(os.path.join(tmp, "c"), W, {"note": "random"})  # saving again keeps the card
        with open(os.path.join(tmp, "c", "README.md")) as f:
            self.assertEqual(f.read(), "card")
        W16 = classifier.load(os.path.join(tmp, "c"))  # the float16-rounded weights TypeScript reads
        x = load_mnist("test").images[:20]
        np.save(os.path.join(tmp, "x.npy"), x)
        run_ts_jobs([{"kind": "classifier", "dir": os.path.join(tmp, "c"), "images": os.path.join(tmp, "x.npy"), "out": os.path.join(tmp, "y.npy")}])
        theirs = np.load(os.path.join(tmp, "y.npy"))
        with torch.no_grad():
            ours = classifier.logits(W16, torch.from_numpy(x.copy()).permute(0, 3, 1, 2)).numpy()
        self.assertEqual(theirs.shape, (20, 10))
        self.assertLess(float(np.abs(ours - theirs).max()), 1e-4)
        self.assertGreater(float(ours.std()), 0.1)

    @unittest.skipUnless(os.path.exists(SHIPPED), "models/mnist-classifier not trained yet")
    def test_shipped_classifier_reads_the_test_digits(self):
        with open(os.path.join(SHIPPED, "model.json")) as f:
            meta = json.load(f)["metadata"]
        W = classifier.load(SHIPPED)
        test = load_mnist("test").head(2000)
        acc = classifier.accuracy(W, test.images, test.labels)
        self.assertGreater(acc, 0.985)
        self.assertGreater(meta["testAccuracy"], 0.99)


if __name__ == "__main__":
    unittest.main()
