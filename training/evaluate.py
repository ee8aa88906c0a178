"""Bits/dim of a model folder on an MNIST split or a faces split, in PyTorch (the same figure
as `npm run eval`, which the parity test checks on models/mnist):

    python -m training.evaluate --model models/mnist --split val [--limit N] [--faces DIR]
    python -m training.evaluate --checkpoint models/faces.train/checkpoint.pt --data faces --faces DIR

Prints one JSON object: bitsPerDim with the true condition and, for a model with a null
condition, unconditionalBitsPerDim. --checkpoint scores the float32 weights a training
checkpoint holds instead of a model folder's (which may be stored as float16): the two
figures side by side are what float16 storage costs."""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np
import torch

from .config import is_nullable
from .data import DataError, load_data, quantize
from .model import PixelCNN
from .train import UsageError, World, evaluate, load_checkpoint
from .weights import WeightsError, load_model_folder


def checkpoint_weights(path: str):
    """A training checkpoint's config and float32 weights, as numpy arrays by name."""
    try:
        ck = load_checkpoint(path)
    except (UsageError, ValueError) as e:
        raise WeightsError(str(e).removeprefix("--resume: ")) from None
    return ck["config"], {k: np.asarray(v, dtype=np.float32) for k, v in ck["weights"].items()}


def main():
    p = argparse.ArgumentParser(prog="python -m training.evaluate")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--model", help="a model folder (model.json + weights)")
    src.add_argument("--checkpoint", help="a trainer checkpoint.pt: its float32 weights")
    p.add_argument("--split", choices=["train", "val", "test"], default="test")
    p.add_argument("--limit", type=int)
    p.add_argument("--data", choices=["mnist", "faces"], default="mnist")
    p.add_argument("--faces", help="a build-faces folder (with --data faces)")
    p.add_argument("--batch", type=int, default=100)
    a = p.parse_args()
    torch.set_num_threads(os.cpu_count() or 1)
    try:
        config, weights = checkpoint_weights(a.checkpoint) if a.checkpoint else load_model_folder(a.model)[:2]
        data = load_data(a.data, a.split, a.faces).head(a.limit)
    except (WeightsError, DataError) as e:
        print(f"evaluate: error: {e}", file=sys.stderr)
        sys.exit(1)
    data.images = quantize(data.images, config["levels"])
    net = PixelCNN(config, weights)
    world = World("cpu")
    t0 = time.time()
    out = {"model": a.model or a.checkpoint, "split": a.split, "images": data.count,
           "bitsPerDim": evaluate(net, data, data.count, a.batch, world)}
    if is_nullable(config["conditioning"]):
        out["unconditionalBitsPerDim"] = evaluate(net, data, data.count, a.batch, world, unconditional=True)
    out["seconds"] = time.time() - t0
    print(json.dumps(out))


if __name__ == "__main__":
    main()
