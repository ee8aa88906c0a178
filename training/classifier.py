"""The independent MNIST classifier that `npm run fidelity` reads samples with: a small CNN
(conv 5x5x32, pool, conv 5x5x64, pool, dense 10; 83k weights) trained here on the 55k
training split and checked on the 10k test set. It is saved as a model folder of its own
(model.json with format "mnist-classifier" and a float16 shard, 163 KB) that
src/eval/classifier.ts runs in TypeScript; a parity test keeps both forwards equal.

    python -m training.classifier --out models/mnist-classifier [--epochs 3] [--seed 0]
    python -m training.classifier --eval models/mnist-classifier [--errors-png FILE]

--eval prints the test accuracy overall and per class and the most frequent confusions;
--errors-png tiles the test digits it misreads (up to 100, in test-set order).
"""
from __future__ import annotations

import argparse
import json
import os
import struct
import sys
import time
import zlib

import numpy as np
import torch
import torch.nn.functional as F

from .data import load_mnist
from .rng import epoch_order
from .weights import write_model_folder

FORMAT = "mnist-classifier"
# name -> shape, kernels as [kh, kw, cin, cout] and dense as [in, out] (the project's layout)
SPECS = [("conv1", (5, 5, 1, 32)), ("conv1_bias", (32,)), ("conv2", (5, 5, 32, 64)), ("conv2_bias", (64,)),
         ("dense", (7 * 7 * 64, 10)), ("dense_bias", (10,))]


def init(seed: int) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    W = {}
    for name, shape in SPECS:
        fan_in = int(np.prod(shape[:-1])) if len(shape) > 1 else 0
        W[name] = (torch.randn(shape, generator=g) / np.sqrt(fan_in)) if fan_in else torch.zeros(shape)
        W[name].requires_grad_(True)
    return W


def logits(W, x):
    """x: pixels 0..255 [B, 1, 28, 28] -> [B, 10]. SAME-padded convs, 2x2 max pools, the
    dense layer reading the [7, 7, 64] map in row-major HWC order (as tfjs flattens NHWC)."""
    a = x.float() / 255
    a = F.max_pool2d(torch.relu(F.conv2d(a, W["conv1"].permute(3, 2, 0, 1), padding=2) + W["conv1_bias"][None, :, None, None]), 2)
    a = F.max_pool2d(torch.relu(F.conv2d(a, W["conv2"].permute(3, 2, 0, 1), padding=2) + W["conv2_bias"][None, :, None, None]), 2)
    return a.permute(0, 2, 3, 1).reshape(a.shape[0], -1) @ W["dense"] + W["dense_bias"]


@torch.no_grad()
def accuracy(W, images: np.ndarray, labels: np.ndarray) -> float:
    right = 0
    for a in range(0, len(images), 1000):
        x = torch.from_numpy(images[a : a + 1000].copy()).permute(0, 3, 1, 2)
        right += int((logits(W, x).argmax(1).numpy() == labels[a : a + 1000]).sum())
    return right / len(images)


def save(folder: str, W, meta: dict):
    blob = b"".join(W[n].detach().numpy().astype("<f2").tobytes() for n, _ in SPECS)
    mj = {"format": FORMAT, "weightsManifest": [{"paths": ["group1-shard1of1.bin"], "weights": [
        {"name": n, "shape": list(s), "dtype": "float32", "quantization": {"dtype": "float16"}} for n, s in SPECS]}],
        "metadata": meta}
    # the same atomic replace as the PixelCNN folders, keeping the card and its picture
    write_model_folder(folder, [("group1-shard1of1.bin", blob), ("model.json", (json.dumps(mj, indent=1) + "\n").encode())])


def load(folder: str) -> dict[str, torch.Tensor]:
    with open(os.path.join(folder, "model.json")) as f:
        mj = json.load(f)
    if mj.get("format") != FORMAT:
        raise ValueError(f"{folder}/model.json: format is {mj.get('format')!r}, expected {FORMAT!r}")
    data = open(os.path.join(folder, "group1-shard1of1.bin"), "rb").read()
    W, off = {}, 0
    for n, s in SPECS:
        k = int(np.prod(s))
        W[n] = torch.from_numpy(np.frombuffer(data[off : off + 2 * k], "<f2").astype(np.float32).reshape(s))
        off += 2 * k
    return W


def write_grey_png(path: str, pixels: np.ndarray) -> None:
    """pixels: uint8 [H, W] -> an 8-bit greyscale PNG (no filter, one IDAT)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    h, w = pixels.shape
    raw = b"".join(b"\0" + pixels[y].tobytes() for y in range(h))
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def evaluate_folder(folder: str, errors_png: str | None) -> dict:
    W = load(folder)
    test = load_mnist("test")
    with torch.no_grad():
        pred = np.concatenate([logits(W, torch.from_numpy(test.images[a : a + 1000].copy()).permute(0, 3, 1, 2)).argmax(1).numpy()
                               for a in range(0, len(test.images), 1000)])
    wrong = np.flatnonzero(pred != test.labels)
    pairs: dict[str, int] = {}
    for i in wrong:
        key = f"{test.labels[i]}->{pred[i]}"
        pairs[key] = pairs.get(key, 0) + 1
    out = {
        "testAccuracy": float((pred == test.labels).mean()),
        "perClass": [float((pred[test.labels == k] == k).mean()) for k in range(10)],
        "wrong": int(len(wrong)),
        "topConfusions": sorted(pairs.items(), key=lambda kv: -kv[1])[:8],
        "firstWrong": [{"index": int(i), "label": int(test.labels[i]), "read": int(pred[i])} for i in wrong[:100]],
    }
    if errors_png:
        shown = wrong[:100]
        cols, scale, pad = 10, 2, 2
        rows = -(-len(shown) // cols)
        grid = np.full((rows * (28 * scale + pad) + pad, cols * (28 * scale + pad) + pad), 128, np.uint8)
        for n, i in enumerate(shown):
            y, x = pad + (n // cols) * (28 * scale + pad), pad + (n % cols) * (28 * scale + pad)
            grid[y : y + 28 * scale, x : x + 28 * scale] = test.images[i, :, :, 0].repeat(scale, 0).repeat(scale, 1)
        write_grey_png(errors_png, grid)
        out["errorsPng"] = errors_png
    return out


def main():
    p = argparse.ArgumentParser(prog="python -m training.classifier")
    p.add_argument("--eval", help="report on a trained classifier folder instead of training one")
    p.add_argument("--errors-png", help="with --eval: write the misread test digits here")
    p.add_argument("--out")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--batch", type=int, default=64)
    a = p.parse_args()
    if a.eval:
        print(json.dumps(evaluate_folder(a.eval, a.errors_png)))
        return
    if not a.out:
        p.error("give --out DIR (to train) or --eval DIR")
    torch.manual_seed(a.seed)
    torch.set_num_threads(os.cpu_count() or 1)
    train, test = load_mnist("train"), load_mnist("test")
    W = init(a.seed)
    opt = torch.optim.Adam(W.values(), lr=1e-3)
    steps = len(train.images) // a.batch
    t0 = time.time()
    for epoch in range(a.epochs):
        order = epoch_order(a.seed, epoch, len(train.images))
        for s in range(steps):
            idx = order[s * a.batch : (s + 1) * a.batch]
            x = torch.from_numpy(train.images[idx]).permute(0, 3, 1, 2)
            # small random shifts (up to 2 pixels) so sampled digits a bit off-centre still read
            dx, dy = np.random.default_rng(a.seed * 100003 + epoch * steps + s).integers(-2, 3, 2)
            x = torch.roll(x, shifts=(int(dy), int(dx)), dims=(2, 3))
            for g in opt.param_groups:
                g["lr"] = 1e-3 * (0.5 * (1 + np.cos(np.pi * (epoch * steps + s) / (a.epochs * steps))))
            loss = F.cross_entropy(logits(W, x), torch.from_numpy(train.labels[idx]))
            opt.zero_grad()
            loss.backward()
            opt.step()
            if s % 200 == 0:
                print(f"epoch {epoch + 1}/{a.epochs} step {s}/{steps} loss {loss.item():.4f} [{time.time() - t0:.0f} s]", file=sys.stderr, flush=True)
    val = load_mnist("val")
    acc = {"testAccuracy": accuracy(W, test.images, test.labels), "valAccuracy": accuracy(W, val.images, val.labels)}
    save(a.out, W, {**acc, "epochs": a.epochs, "seed": a.seed, "trainedOn": "mnist train split (first 55k)",
                    "command": f"python -m training.classifier --out {a.out} --epochs {a.epochs} --seed {a.seed}"})
    print(json.dumps({**acc, "seconds": time.time() - t0, "out": a.out}))


if __name__ == "__main__":
    main()
