"""The Gated PixelCNN, read top to bottom (src/model/forward.ts is the same network).

Weights keep the project's layout (conv kernels [kh, kw, cin, cout], 1x1s [cin, cout],
names such as "l3/v_conv"), so a model folder maps onto this module one to one; the
activations are NCHW as PyTorch likes them. Causality: the vertical stack's input is
shifted down one row once, its kernels cover only rows above (top padding); the
horizontal stack's kernels cover only the row to the left (left padding); the current
pixel's tap is masked (masks.py).
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .config import (
    cond_base_dim,
    cond_dim,
    dilation_of,
    init_weights,
    is_nullable,
    is_spatial,
    param_specs,
    reach_of,
    spatial_grid,
    validate_config,
)
from .masks import weight_masks

MIN_LOG_SCALE = -7.0
MAX_LOG_SCALE = 3.0


# ---- the layers ----

def conv(x: torch.Tensor, w: torch.Tensor, dilation: int = 1) -> torch.Tensor:
    """VALID convolution of an already padded x [B, cin, H, W] with w [kh, kw, cin, cout]."""
    return F.conv2d(x, w.permute(3, 2, 0, 1), dilation=dilation)


def pointwise(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """1x1 convolution: x [B, cin, H, W], w [cin, cout]."""
    return F.conv2d(x, w.t()[:, :, None, None])


def bias(b: torch.Tensor) -> torch.Tensor:
    return b[None, :, None, None]


def gate(a: torch.Tensor) -> torch.Tensor:
    """tanh(first half) * sigmoid(second half) of the 2p pre-gate channels."""
    f, g = a.chunk(2, dim=1)
    return torch.tanh(f) * torch.sigmoid(g)


def down_shift(x: torch.Tensor) -> torch.Tensor:
    """Row i gets row i - 1 (zeros on top): the vertical stack never sees its own row."""
    return F.pad(x, (0, 0, 1, 0))[:, :, :-1, :]


def pad(x: torch.Tensor, top: int = 0, left: int = 0, right: int = 0) -> torch.Tensor:
    return F.pad(x, (left, right, top, 0))


def vertical_pre(W, l, v, r, d, cond):
    """Rows i - r .. i of the (down-shifted) vertical input, all kernel columns."""
    y = conv(pad(v, top=r, left=r, right=r), W[f"l{l}/v_conv"], d) + bias(W[f"l{l}/v_bias"])
    return y if cond is None else y + cond


def horizontal_pre(W, l, h, r, d, vpre, cond):
    """Columns j - r .. j of the current row, plus the link from the vertical pre-gate."""
    own = conv(pad(h, left=r), W[f"l{l}/h_conv"], d) + bias(W[f"l{l}/h_bias"])
    link = pointwise(vpre, W[f"l{l}/link"]) + bias(W[f"l{l}/link_bias"])
    y = own + link
    return y if cond is None else y + cond


def layer_out(W, l, pre, residual):
    """Gate, 1x1, and the residual (none in the causal first layer)."""
    y = pointwise(gate(pre), W[f"l{l}/out"]) + bias(W[f"l{l}/out_bias"])
    return y if residual is None else residual + y


def masked_pre(W, l, x, r, d, cond):
    """The plain PixelCNN baseline: top r + 1 rows of a masked k x k kernel."""
    y = conv(pad(x, top=r, left=r, right=r), W[f"l{l}/conv"], d) + bias(W[f"l{l}/bias"])
    return y if cond is None else y + cond


def head(W, h):
    """ReLU -> 1x1 -> ReLU -> 1x1: [B, C * outputs, H, W]."""
    a = torch.relu(pointwise(torch.relu(h), W["head/w1"]) + bias(W["head/b1"]))
    return pointwise(a, W["head/w2"]) + bias(W["head/b2"])


def resize_bilinear(x: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """tf.image.resizeBilinear with its defaults (alignCorners false, no half-pixel centres):
    output pixel i reads input position i * in / out."""

    def axis(n_in, n_out):
        pos = torch.arange(n_out, dtype=torch.float64) * (n_in / n_out)
        lo = pos.floor().long()
        hi = torch.clamp(lo + 1, max=n_in - 1)
        return lo.to(x.device), hi.to(x.device), (pos - lo).to(x.device, x.dtype)

    y0, y1, fy = axis(x.shape[2], height)
    x0, x1, fx = axis(x.shape[3], width)
    top = x[:, :, y0, :]
    bottom = x[:, :, y1, :]
    rows = top + (bottom - top) * fy[None, None, :, None]
    left = rows[:, :, :, x0]
    right = rows[:, :, :, x1]
    return left + (right - left) * fx[None, None, None, :]


def spatial_map(config, W, h):
    """s = m(h): dense -> coarse grid -> bilinear upsample to H x W -> 3x3 conv: [B, q, H, W]."""
    q = config["spatialChannels"]
    gh, gw = spatial_grid(config)
    coarse = torch.relu(h @ W["cond_map/dense"] + W["cond_map/dense_bias"])
    grid = coarse.view(-1, gh, gw, q).permute(0, 3, 1, 2)
    up = resize_bilinear(grid, config["height"], config["width"])
    return conv(F.pad(up, (1, 1, 1, 1)), W["cond_map/conv"]) + bias(W["cond_map/conv_bias"])


def cond_terms(config, W, h):
    """What conditioning adds to each pre-gate: V^T h as [B, 2p, 1, 1], or V * s as [B, 2p, H, W]."""
    if h is None:
        return {}
    s = spatial_map(config, W, h) if is_spatial(config["conditioning"]) else None
    names = ["v_cond", "h_cond"] if config["arch"] == "gated" else ["cond"]
    out = {}
    for l in range(config["layers"]):
        for n in names:
            V = W[f"l{l}/{n}"]
            out[f"l{l}/{n}"] = pointwise(s, V) if s is not None else (h @ V)[:, :, None, None]
    return out


def trunk(config, W, x, cond):
    """The stacks: x [B, C, H, W] in [-1, 1] -> [B, p, H, W]."""
    if config["arch"] == "masked":
        h = x
        for l in range(config["layers"]):
            pre = masked_pre(W, l, h, reach_of(config, l), dilation_of(config, l), cond.get(f"l{l}/cond"))
            h = layer_out(W, l, pre, None if l == 0 else h)
        return h
    # shifted once: from here on the vertical stack at row i has seen rows < i only
    v = down_shift(x)
    h = x
    for l in range(config["layers"]):
        r, d = reach_of(config, l), dilation_of(config, l)
        vpre = vertical_pre(W, l, v, r, d, cond.get(f"l{l}/v_cond"))
        hpre = horizontal_pre(W, l, h, r, d, vpre, cond.get(f"l{l}/h_cond"))
        v = gate(vpre)
        h = layer_out(W, l, hpre, None if l == 0 else h)
    return h


def encoder(config, W, x):
    """The auto-encoder's E: x [B, C, H, W] in [-1, 1] -> code [B, d] in (-1, 1) (src/model/encoder.ts).
    Stride-2 3x3 convs with one pixel of zeros on every side, then a dense layer on the NHWC flattening."""
    a = x
    for i in range(len(config["encoder"]["channels"])):
        a = torch.relu(F.conv2d(F.pad(a, (1, 1, 1, 1)), W[f"enc/conv{i}"].permute(3, 2, 0, 1), stride=2) + bias(W[f"enc/conv{i}_bias"]))
    flat = a.permute(0, 2, 3, 1).reshape(a.shape[0], -1)
    return torch.tanh(flat @ W["enc/dense"] + W["enc/dense_bias"])


# ---- the output distribution (src/model/output.ts) ----

def _mixture(raw, K):
    pi, mu, log_s = raw.chunk(3, dim=-1)
    inv_s = torch.exp(-torch.clamp(log_s, MIN_LOG_SCALE, MAX_LOG_SCALE))
    log_bin = torch.log(1 - torch.exp(inv_s * (-2 / (K - 1))))
    return torch.log_softmax(pi, -1), mu, inv_s, log_bin


def _component_log_prob(a, b, log_bin, not_last, not_first):
    upper = -F.softplus(-a) * not_last
    lower = -F.softplus(b) * not_first
    return upper + lower + log_bin * not_last * not_first


def logistic_label_log_probs(raw, labels, K):
    """raw [N, 3M] per sub-pixel, labels [N] -> log P(label) [N]."""
    log_pi, mu, inv_s, log_bin = _mixture(raw, K)
    lv = labels.to(raw.dtype)[:, None]
    c = lv * (2 / (K - 1)) - 1
    a = inv_s * (c + 1 / (K - 1) - mu)
    b = a - inv_s * (2 / (K - 1))
    lp = _component_log_prob(a, b, log_bin, (lv < K - 1).to(raw.dtype), (lv > 0).to(raw.dtype))
    return torch.logsumexp(lp + log_pi, -1)


def logistic_logits(raw, K):
    """raw [N, 3M] -> log P of every level [N, K]."""
    log_pi, mu, inv_s, log_bin = _mixture(raw, K)
    centres = torch.arange(K, dtype=raw.dtype, device=raw.device) * (2 / (K - 1)) - 1
    not_last = torch.ones(K, dtype=raw.dtype, device=raw.device)
    not_first = not_last.clone()
    not_last[K - 1] = 0
    not_first[0] = 0
    a = inv_s[:, :, None] * (centres + 1 / (K - 1) - mu[:, :, None])  # [N, M, K]
    b = a - (inv_s * (2 / (K - 1)))[:, :, None]
    lp = _component_log_prob(a, b, log_bin[:, :, None], not_last, not_first)
    return torch.logsumexp(lp + log_pi[:, :, None], 1)


# ---- the module ----

def _key(name: str) -> str:
    return name.replace("/", "__")


class PixelCNN(nn.Module):
    """A Gated (or plain masked) PixelCNN built from a model.json config."""

    def __init__(self, config: dict, weights: dict[str, np.ndarray] | None = None, seed: int = 0):
        super().__init__()
        validate_config(config)
        self.config = config
        self.specs = param_specs(config)
        values = weights if weights is not None else init_weights(config, seed)
        self.weights = nn.ParameterDict()
        for name, shape, _ in self.specs:
            if name not in values:
                raise ValueError(f"weights: tensor '{name}' is missing")
            v = np.asarray(values[name], dtype=np.float32)
            if tuple(v.shape) != shape:
                raise ValueError(f"weights: tensor '{name}' has shape {list(v.shape)}, config expects {list(shape)}")
            self.weights[_key(name)] = nn.Parameter(torch.from_numpy(v.copy()))
        extra = set(values) - {n for n, _, _ in self.specs}
        if extra:
            raise ValueError(f"weights: tensor '{sorted(extra)[0]}' is not a parameter of this config")
        for name, m in weight_masks(config).items():
            self.register_buffer("mask__" + _key(name), torch.from_numpy(m), persistent=False)

    def named_weights(self) -> dict[str, torch.Tensor]:
        """The weights under their project names (l0/v_conv, ...), unmasked."""
        return {name: self.weights[_key(name)] for name, _, _ in self.specs}

    def masked(self) -> dict[str, torch.Tensor]:
        W = self.named_weights()
        for name in list(W):
            m = getattr(self, "mask__" + _key(name), None)
            if m is not None:
                W[name] = W[name] * m
        return W

    def condition(self, labels=None, embeddings=None, unconditional=None, batch=None) -> torch.Tensor | None:
        """h [B, D]: one-hot labels or embeddings, with the null flag last for a nullable model;
        rows where `unconditional` is true get the null condition (zeros, flag 1)."""
        c = self.config["conditioning"]
        if c["type"] == "none":
            return None
        base = cond_base_dim(c)
        dev = self.weights[_key(self.specs[0][0])].device
        if c["type"] == "class":
            if labels is None:
                raise ValueError(f"condition: the model is class-conditional; give class labels")
            labels = torch.as_tensor(labels, device=dev).long()
            if labels.numel() and (labels.min() < 0 or labels.max() >= base):
                raise ValueError(f"condition: a class label is outside 0..{base - 1}")
            h = F.one_hot(labels, base).float()
        else:
            if embeddings is None:
                raise ValueError(f"condition: the model is conditioned on a {base}-d vector; give embeddings")
            h = torch.as_tensor(embeddings, dtype=torch.float32, device=dev)
            if h.dim() != 2 or h.shape[1] != base:
                raise ValueError(f"condition: embeddings have shape {list(h.shape)}, expected [B, {base}]")
            if not torch.isfinite(h).all():
                raise ValueError("condition: an embedding value is not finite")
        if is_nullable(c):
            h = torch.cat([h, torch.zeros(h.shape[0], 1, device=dev)], 1)
            if unconditional is not None:
                u = torch.as_tensor(unconditional, device=dev).bool().view(-1, 1)
                null = torch.zeros(1, base + 1, device=dev)
                null[0, base] = 1
                h = torch.where(u, null, h)
        elif unconditional is not None and bool(torch.as_tensor(unconditional).any()):
            raise ValueError("condition: the model has no null condition (conditioning.nullable)")
        return h

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """The auto-encoder's code of levels x [B, C, H, W]: [B, d]."""
        cfg = self.config
        if not cfg.get("encoder"):
            raise ValueError("encode: the model has no encoder (config.encoder)")
        return encoder(cfg, self.named_weights(), x.float() * (2 / (cfg["levels"] - 1)) - 1)

    def code_condition(self, x: torch.Tensor, unconditional=None) -> torch.Tensor:
        """h for an auto-encoder: each image's own code (the null condition where `unconditional`)."""
        return self.condition(embeddings=self.encode(x), unconditional=unconditional)

    def forward_raw(self, x: torch.Tensor, h: torch.Tensor | None = None) -> torch.Tensor:
        """x: levels [B, C, H, W] (any float/int dtype) -> the head's output [B, C * outputs, H, W]."""
        cfg = self.config
        if x.dim() != 4 or tuple(x.shape[1:]) != (cfg["channels"], cfg["height"], cfg["width"]):
            raise ValueError(
                f"input: expected shape [B, {cfg['channels']}, {cfg['height']}, {cfg['width']}], got {list(x.shape)}"
            )
        if h is None and cfg.get("encoder"):
            h = self.code_condition(x)
        if cond_dim(cfg["conditioning"]) > 0 and h is None:
            raise ValueError("input: the model is conditional; give h")
        W = self.masked()
        xin = x.float() * (2 / (cfg["levels"] - 1)) - 1
        return head(W, trunk(cfg, W, xin, cond_terms(cfg, W, h)))

    def logits(self, x, h=None) -> torch.Tensor:
        """log-probabilities (softmax: raw logits) of every level: [B, H, W, C, K], as TypeScript's forward."""
        cfg = self.config
        B, C, K = x.shape[0], cfg["channels"], cfg["levels"]
        raw = self.forward_raw(x, h).permute(0, 2, 3, 1)  # [B, H, W, C * outputs]
        o = cfg.get("output")
        if o and o.get("type") == "logistic":
            lp = logistic_logits(raw.reshape(-1, 3 * o["mixtures"]), K)
            return lp.view(B, cfg["height"], cfg["width"], C, K)
        return raw.reshape(B, cfg["height"], cfg["width"], C, K)

    def forward(self, x, h=None) -> torch.Tensor:
        """nats per image (what DistributedDataParallel wraps)."""
        return self.nats(x, h)

    def nats(self, x, h=None) -> torch.Tensor:
        """-log p(x) per image in nats [B]; x holds integer levels [B, C, H, W]."""
        cfg = self.config
        B, C, K = x.shape[0], cfg["channels"], cfg["levels"]
        raw = self.forward_raw(x, h)
        labels = x.long()
        o = cfg.get("output")
        if o and o.get("type") == "logistic":
            M = o["mixtures"]
            per = raw.view(B, C, 3 * M, *raw.shape[2:]).permute(0, 1, 3, 4, 2).reshape(-1, 3 * M)
            lp = logistic_label_log_probs(per.float(), labels.reshape(-1), K)
            return -lp.view(B, -1).sum(1)
        logits = raw.view(B, C, K, *raw.shape[2:]).transpose(1, 2).float()  # [B, K, C, H, W]
        return F.cross_entropy(logits, labels, reduction="none").view(B, -1).sum(1)


def bits_per_dim(nats_per_image: float, config: dict) -> float:
    return nats_per_image / (config["height"] * config["width"] * config["channels"] * math.log(2))
