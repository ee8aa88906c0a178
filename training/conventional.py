"""The paper's baseline for the PixelCNN auto-encoder: the same encoder and code size with a
conventional deconvolutional decoder, trained on squared error. Writes the reconstructions of
the first N test digits (uint8 [N, 28, 28], for the side-by-side picture and `npm run fidelity
-- --grey-band`), a checkpoint, and prints one JSON line:

    python -m training.conventional --like models/mnist-ae --steps 3000 --out models/mnist-ae.train/conventional

--like takes the encoder's architecture and code size from an auto-encoder model folder.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np
import torch

from .autoencoder import ConvAutoEncoder
from .data import DataError, load_data
from .rng import epoch_order
from .weights import WeightsError, load_model_folder


def grey_share(images: np.ndarray) -> float:
    """Share of pixels strictly inside the grey band 0.1..0.9 (of 0..1): a blurry decoder fills it."""
    v = images.astype(np.float64) / 255
    return float(((v > 0.1) & (v < 0.9)).mean())


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m training.conventional")
    p.add_argument("--like", required=True, help="an auto-encoder model folder: its encoder and code size")
    p.add_argument("--out", required=True, help="folder for checkpoint.pt, reconstructions.npy and train.log")
    p.add_argument("--steps", type=int, default=3000)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--test", type=int, default=1000, help="test digits to reconstruct (the first N)")
    a = p.parse_args(argv)
    torch.manual_seed(a.seed)
    try:
        config, _, _ = load_model_folder(a.like)
        if not config.get("encoder"):
            raise WeightsError(f"{a.like}: the model has no encoder (config.encoder)")
        train = load_data("mnist", "train", None)
        test = load_data("mnist", "test", None).head(a.test)
    except (WeightsError, DataError) as e:
        print(f"conventional: error: {e}", file=sys.stderr)
        sys.exit(1)
    os.makedirs(a.out, exist_ok=True)
    net = ConvAutoEncoder(config, a.seed)
    opt = torch.optim.Adam(net.parameters(), lr=a.lr)
    x_of = lambda imgs: torch.from_numpy(np.ascontiguousarray(imgs)).permute(0, 3, 1, 2)  # noqa: E731 [B, 1, H, W] levels
    t0, epoch, pos, order = time.time(), 0, 0, epoch_order(a.seed, 0, train.count)
    log = open(os.path.join(a.out, "train.log"), "a")
    for step in range(a.steps):
        if pos + a.batch > train.count:
            epoch, pos = epoch + 1, 0
            order = epoch_order(a.seed, epoch, train.count)
        x = x_of(train.images[order[pos : pos + a.batch]])
        pos += a.batch
        loss = ((net(x) - x.float() / 255) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 200 == 0 or step == a.steps - 1:
            log.write(json.dumps({"step": step, "mse": loss.item(), "seconds": time.time() - t0}) + "\n")
            log.flush()
            print(f"step {step}/{a.steps} mse {loss.item():.5f} [{time.time() - t0:.0f} s]", file=sys.stderr, flush=True)
    torch.save({"config": config, "weights": {k: v.detach() for k, v in net.state_dict().items()}, "steps": a.steps},
               os.path.join(a.out, "checkpoint.pt"))
    with torch.no_grad():
        x = x_of(test.images)
        rec = net(x)
        mse = ((rec - x.float() / 255) ** 2).mean().item()
    rec8 = np.clip(np.rint(rec.numpy()[:, 0] * 255), 0, 255).astype(np.uint8)
    np.save(os.path.join(a.out, "reconstructions.npy"), rec8)
    print(json.dumps({"steps": a.steps, "seconds": time.time() - t0, "testMse": mse, "testImages": test.count,
                      "greyShareReconstructions": grey_share(rec8), "greyShareReal": grey_share(test.images[..., 0])}))


if __name__ == "__main__":
    main()
