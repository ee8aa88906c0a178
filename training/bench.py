"""Images/s of the PyTorch trainer's step (forward, backward, clipping, Adam) on real MNIST
batches: python -m training.bench --config FILE.json [--batch B] [--steps N] [--json].
npm run bench:train -- --trainer torch|both runs it beside the TypeScript trainer."""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np
import torch

from .config import validate_config
from .data import load_mnist, quantize
from .model import PixelCNN


def bench(config: dict, batch: int, steps: int, warmup: int, threads: int | None, device: str) -> dict:
    # all cores, as the trainer uses (torch's own default counts physical cores only)
    torch.set_num_threads(threads or os.cpu_count() or 1)
    dev = torch.device("cuda" if device == "auto" and torch.cuda.is_available() else ("cpu" if device == "auto" else device))
    net = PixelCNN(config, seed=0).to(dev)
    train = load_mnist("train")
    if tuple(train.images.shape[1:]) != (config["height"], config["width"], config["channels"]):
        raise ValueError(f"bench: runs on MNIST batches; the model must be 28x28x1")
    x = torch.from_numpy(quantize(train.images[:batch], config["levels"]).copy()).permute(0, 3, 1, 2).to(dev)
    h = net.condition(labels=torch.from_numpy(train.labels[:batch].copy())) if config["conditioning"]["type"] == "class" else None
    opt = torch.optim.Adam(net.parameters(), lr=1e-4)
    amp = (torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16) if dev.type == "cuda" else None
    D = config["height"] * config["width"] * config["channels"]

    def step():
        with torch.autocast("cuda", dtype=amp, enabled=amp is not None):
            loss = net(x, h).sum() / (batch * D)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        opt.step()

    for _ in range(warmup):
        step()
    if dev.type == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    if dev.type == "cuda":
        torch.cuda.synchronize()
    secs = time.perf_counter() - t0
    return {"imagesPerSecond": steps * batch / secs, "seconds": secs, "steps": steps, "batch": batch,
            "threads": torch.get_num_threads(), "device": str(dev), "torch": torch.__version__,
            "amp": str(amp) if amp else None}


def main():
    p = argparse.ArgumentParser(prog="python -m training.bench")
    p.add_argument("--config", required=True, help="JSON file with a model config")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--threads", type=int)
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    p.add_argument("--json", action="store_true")
    a = p.parse_args()
    try:
        with open(a.config) as f:
            config = json.load(f)
        validate_config(config)
        r = bench(config, a.batch, a.steps, a.warmup, a.threads, a.device)
    except (OSError, ValueError) as e:
        print(f"bench: error: {str(e).splitlines()[0]}", file=sys.stderr)
        sys.exit(1)
    print(json.dumps(r))


if __name__ == "__main__":
    main()
