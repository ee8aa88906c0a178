"""The PixelCNN auto-encoder (paper section 2.4): an encoder E maps an image to a code h, and the
Gated PixelCNN decoder is conditioned on h, trained end to end on the decoder's NLL of x given E(x).

This file turns a trained PixelCNN into the start of an auto-encoder (`from_pixelcnn`), and holds the
paper's baseline: the same encoder with a conventional deconvolutional decoder trained on squared error.
The encoder itself is `encoder` in model.py (one network, in the same ParameterDict as the decoder).
"""
from __future__ import annotations

import json

import numpy as np
import torch
import torch.nn.functional as F

from .config import encoder_grid, init_weights, is_nullable, make_config, param_specs
from .model import encoder


def ae_config(config: dict, code: int, channels: list[int], spatial_channels: int | None = None, dropout: float = 0.1) -> dict:
    """`config`'s decoder conditioned on a `code`-d vector from a conv encoder, with a null code for
    guidance and the 'without the code' likelihood; spatial_channels: the location-dependent form s = m(h)."""
    cond = {"type": "vector", "dim": code, "nullable": True, "dropout": dropout}
    new = {k: v for k, v in json.loads(json.dumps(config)).items() if k != "spatialChannels"}
    if spatial_channels:
        cond["spatial"] = True
        new["spatialChannels"] = spatial_channels
    new["conditioning"] = cond
    new["encoder"] = {"type": "conv", "channels": list(channels), "code": code}
    return make_config(**new)


def from_pixelcnn(config: dict, weights: dict[str, np.ndarray], new_config: dict, seed: int) -> dict[str, np.ndarray]:
    """Weights for `new_config` (an auto-encoder of the same trunk) that start as the trained model's
    null-condition (unconditional) decoder: the trunk and head are copied; the old null row of every
    matrix that read h is folded into that gate's bias; the matrices reading the code start at zero, so
    at step 0 the code changes nothing and the decoder is the old p(x); the encoder starts from the init."""
    old_c = config["conditioning"]
    start = init_weights(new_config, seed)
    out = {}
    for name, shape, _ in param_specs(new_config):
        w = weights.get(name)
        out[name] = w.astype(np.float32) if w is not None and tuple(w.shape) == shape else start[name]
    names = ["v_cond", "h_cond"] if config["arch"] == "gated" else ["cond"]
    bias_of = {"v_cond": "v_bias", "h_cond": "h_bias", "cond": "bias"}
    spatial_old = old_c.get("spatial") is True
    for l in range(config["layers"]):
        for n in names:
            key = f"l{l}/{n}"
            if key in weights and is_nullable(old_c) and not spatial_old:
                b = f"l{l}/{bias_of[n]}"
                out[b] = (weights[b] + weights[key][-1]).astype(np.float32)
            out[key] = np.zeros_like(start[key])
    return out


# ---- the conventional auto-encoder: same encoder, a deconvolutional decoder, squared error ----

def deconv_specs(config: dict, channels: list[int]) -> list[tuple[str, tuple[int, ...], float]]:
    """The baseline's decoder, the encoder's mirror: dense code -> [gh, gw, c_last], then
    stride-2 transposed 3x3 convs back to H x W, a sigmoid for the mean intensity."""
    gh, gw = encoder_grid(config)
    code = config["encoder"]["code"]
    chans = list(reversed(channels))
    # He initialisation (ReLU follows each layer): a stride-2 transposed 3x3 conv feeds each output
    # from about a quarter of its 9 * cin taps, so its fan-in is 9 * cin / 4. With 1/sqrt(9 * cin)
    # the signal shrank 8x a layer, the output was its bias alone and the ReLUs died: every
    # reconstruction was the mean digit (MSE 0.065 after 1,500 updates, whatever the rate).
    specs = [("dec/dense", (code, gh * gw * chans[0]), np.sqrt(2 / code)), ("dec/dense_bias", (gh * gw * chans[0],), 0.0)]
    outs = chans[1:] + [config["channels"]]
    for i, (cin, cout) in enumerate(zip(chans, outs)):
        specs += [(f"dec/deconv{i}", (cin, cout, 3, 3), np.sqrt(2 / (9 * cin / 4))), (f"dec/deconv{i}_bias", (cout,), 0.0)]
    return specs


class ConvAutoEncoder(torch.nn.Module):
    """E (the PixelCNN auto-encoder's encoder, same architecture and code) + a deconvolutional decoder."""

    def __init__(self, config: dict, seed: int = 0):
        super().__init__()
        self.config = config
        enc = {n: s for n, s, _ in param_specs(config) if n.startswith("enc/")}
        start = init_weights(config, seed)
        g = torch.Generator().manual_seed(seed)
        self.weights = torch.nn.ParameterDict()
        for n in enc:
            self.weights[n.replace("/", "__")] = torch.nn.Parameter(torch.from_numpy(start[n].copy()))
        for n, shape, std in deconv_specs(config, config["encoder"]["channels"]):
            v = torch.randn(shape, generator=g) * std if std > 0 else torch.zeros(shape)
            self.weights[n.replace("/", "__")] = torch.nn.Parameter(v)

    def W(self):
        return {k.replace("__", "/"): v for k, v in self.weights.items()}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """levels [B, C, H, W] -> the reconstruction in 0..1 [B, C, H, W]."""
        cfg, W = self.config, self.W()
        code = encoder(cfg, W, x.float() * (2 / (cfg["levels"] - 1)) - 1)
        gh, gw = encoder_grid(cfg)
        chans = list(reversed(cfg["encoder"]["channels"]))
        a = torch.relu(code @ W["dec/dense"] + W["dec/dense_bias"]).view(-1, gh, gw, chans[0]).permute(0, 3, 1, 2)
        sizes = []
        h, w = cfg["height"], cfg["width"]
        for _ in chans:
            sizes.append((h, w))
            h, w = -(-h // 2), -(-w // 2)
        sizes.reverse()  # the sizes to grow back to: 7 -> 14 -> 28
        for i in range(len(chans)):
            th, tw = sizes[i]
            a = F.conv_transpose2d(a, W[f"dec/deconv{i}"], W[f"dec/deconv{i}_bias"], stride=2, padding=1,
                                   output_padding=(th - (2 * a.shape[2] - 1), tw - (2 * a.shape[3] - 1)))
            a = torch.relu(a) if i < len(chans) - 1 else torch.sigmoid(a)
        return a
