"""The causal masks (src/model/masks.ts). Spatial causality comes from padding and the
kernels' shapes; what is masked is the current pixel's tap, where with colour a channel
group sees only the groups before it (mask A) or before and including it (mask B).

Channel i of an n-channel map belongs to group floor(i * C / n); a pre-gate map (2p) is
two halves (tanh, sigmoid), each grouped like p.
"""
from __future__ import annotations

import numpy as np


def group_of(i: int, n: int, colours: int, pregate: bool = False) -> int:
    if pregate:
        half = n // 2
        return ((i % half) * colours) // half
    return (i * colours) // n


def centre_mask(cin: int, cout: int, colours: int, kind: str, out_pregate: bool) -> np.ndarray:
    """[cin, cout] 0/1: output group g sees input groups < g (A) or <= g (B)."""
    gi = np.array([group_of(i, cin, colours) for i in range(cin)])[:, None]
    go = np.array([group_of(o, cout, colours, out_pregate) for o in range(cout)])[None, :]
    return ((gi < go) if kind == "A" else (gi <= go)).astype(np.float32)


def kernel_mask(kh, kw, cin, cout, centre_col, colours, kind, out_pregate) -> np.ndarray | None:
    """[kh, kw, cin, cout] mask whose current-pixel tap is (kh - 1, centre_col): earlier taps 1,
    later taps 0, the tap itself the channel mask. None when it would be all ones."""
    m = np.ones((kh, kw, cin, cout), np.float32)
    m[kh - 1, centre_col] = centre_mask(cin, cout, colours, kind, out_pregate)
    m[kh - 1, centre_col + 1 :] = 0
    return None if m.min() == 1 else m


def pointwise_mask(cin: int, cout: int, colours: int) -> np.ndarray | None:
    """1x1 mask B for colour (None for grey, where it is all ones)."""
    return None if colours == 1 else centre_mask(cin, cout, colours, "B", False)


def weight_masks(config: dict) -> dict[str, np.ndarray]:
    """Every weight that is masked, with its mask (maskedWeights in src/model/forward.ts)."""
    C, p = config["channels"], config["hidden"]
    masks = {}

    def put(name, m):
        if m is not None:
            masks[name] = m

    for l in range(config["layers"]):
        k = config["firstKernel"] if l == 0 else config["kernel"]
        half = k >> 1
        cin = C if l == 0 else p
        kind = "A" if l == 0 else "B"
        if config["arch"] == "gated":
            # the vertical kernel never covers the current row (its input is shifted down)
            put(f"l{l}/h_conv", kernel_mask(1, half + 1, cin, 2 * p, half, C, kind, True))
        else:
            put(f"l{l}/conv", kernel_mask(half + 1, k, cin, 2 * p, half, C, kind, True))
        put(f"l{l}/out", pointwise_mask(p, p, C))
    put("head/w1", pointwise_mask(p, config["headHidden"], C))
    from .config import outputs_per_channel

    put("head/w2", pointwise_mask(config["headHidden"], C * outputs_per_channel(config), C))
    return masks
