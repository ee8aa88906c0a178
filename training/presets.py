"""Named model + training configurations: the same as src/train/presets.ts (a test checks
that both list the same), plus what only this trainer trains."""
from __future__ import annotations

from .config import make_config

DEFAULT_TRAIN = {"batchSize": 32, "lr": 1e-3, "warmupSteps": 200, "lrFinalFraction": 0.05, "clipNorm": 1}
DEFAULT_ADAM = {"beta1": 0.9, "beta2": 0.999, "eps": 1e-8}

_MNIST = dict(height=28, width=28, channels=1, levels=256, conditioning={"type": "class", "classes": 10})


def _tiny():
    return {
        "model": make_config(height=8, width=8, channels=1, levels=16, hidden=8, layers=3, firstKernel=3, kernel=3,
                             headHidden=16, conditioning={"type": "class", "classes": 10}),
        "train": {**DEFAULT_TRAIN, "batchSize": 8, "lr": 3e-3, "warmupSteps": 0},
    }


def _mnist_tiny():
    return {
        "model": make_config(**_MNIST, hidden=8, layers=2, firstKernel=7, kernel=3, headHidden=16),
        "train": {**DEFAULT_TRAIN, "batchSize": 8, "lr": 3e-3, "warmupSteps": 0},
    }


def _mnist():
    return {"model": make_config(**_MNIST, hidden=32, layers=8, firstKernel=7, kernel=3, headHidden=64), "train": dict(DEFAULT_TRAIN)}


def _mnist_dilated():
    base = _mnist()
    return {**base, "model": make_config(**{**base["model"], "layers": 11, "dilations": [1] * 8 + [2, 4, 8]})}


def _mnist_logistic():
    base = _mnist()
    return {**base, "model": make_config(**{**base["model"], "output": {"type": "logistic", "mixtures": 5}})}


def _faces():
    """Colour portraits conditioned on a 128-d face-api descriptor (V^T h in every gate), with a
    null embedding for guidance: 32x32x3, 48 feature maps, dilations reaching the whole face."""
    return {
        "model": make_config(height=32, width=32, channels=3, levels=256, hidden=48, layers=10, firstKernel=7, kernel=3,
                             headHidden=96, dilations=[1, 1, 1, 1, 1, 1, 1, 2, 4, 8],
                             conditioning={"type": "vector", "dim": 128, "nullable": True, "dropout": 0.1}),
        "train": {**DEFAULT_TRAIN, "batchSize": 16},
    }


def _faces_spatial():
    """The same with the location-dependent form s = m(h) (an 8-channel map entering every gate through 1x1s)."""
    base = _faces()
    cond = {**base["model"]["conditioning"], "spatial": True}
    return {**base, "model": make_config(**{**base["model"], "conditioning": cond, "spatialChannels": 8})}


# the TypeScript trainer's presets, in its order
TS_PRESETS = ["tiny", "mnist-tiny", "mnist", "mnist-dilated", "mnist-logistic"]
PRESETS = {"tiny": _tiny, "mnist-tiny": _mnist_tiny, "mnist": _mnist, "mnist-dilated": _mnist_dilated, "mnist-logistic": _mnist_logistic,
           # what only this trainer trains
           "faces": _faces, "faces-spatial": _faces_spatial}


def get_preset(name: str) -> dict:
    if name not in PRESETS:
        raise KeyError(f'preset "{name}" not found (known: {", ".join(PRESETS)})')
    return PRESETS[name]()
