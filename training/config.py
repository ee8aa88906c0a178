"""The model config (a plain dict, exactly model.json's "config") and what follows from it.

Mirrors src/model/config.ts and src/model/params.ts: the same validation (one-line
errors naming the field), the same parameter names, shapes and initial values.
"""
from __future__ import annotations

import json
import math
from decimal import Decimal

import numpy as np


class ConfigError(ValueError):
    """A config field is wrong; the message names it."""


DEFAULT_CONFIG = {
    "arch": "gated",
    "height": 28,
    "width": 28,
    "channels": 1,
    "levels": 256,
    "hidden": 32,
    "layers": 8,
    "firstKernel": 7,
    "kernel": 3,
    "headHidden": 64,
    "conditioning": {"type": "none"},
}


def make_config(**fields) -> dict:
    config = {**DEFAULT_CONFIG, **fields}
    validate_config(config)
    return config


def cond_base_dim(c: dict) -> int:
    """Size of the real condition: classes, or the embedding's length (0: unconditional)."""
    if c["type"] == "class":
        return c["classes"]
    if c["type"] == "vector":
        return c["dim"]
    return 0


def is_nullable(c: dict) -> bool:
    return c["type"] != "none" and c.get("nullable") is True


def cond_dim(c: dict) -> int:
    """Length of h: the condition, plus the null flag when the model has a null condition."""
    d = cond_base_dim(c)
    return d + 1 if d > 0 and is_nullable(c) else d


def is_spatial(c: dict) -> bool:
    return c["type"] != "none" and c.get("spatial") is True


def kernel_of(config: dict, l: int) -> int:
    return config["firstKernel"] if l == 0 else config["kernel"]


def dilation_of(config: dict, l: int) -> int:
    d = config.get("dilations")
    return d[l] if d else 1


def reach_of(config: dict, l: int) -> int:
    return dilation_of(config, l) * (kernel_of(config, l) >> 1)


def spatial_grid(config: dict) -> tuple[int, int]:
    return math.ceil(config["height"] / 4), math.ceil(config["width"] / 4)


def encoder_grid(config: dict) -> tuple[int, int]:
    """The encoder's last feature map: height and width halved once per stride-2 conv, rounding up."""
    gh, gw = config["height"], config["width"]
    for _ in config["encoder"]["channels"]:
        gh, gw = -(-gh // 2), -(-gw // 2)
    return gh, gw


def outputs_per_channel(config: dict) -> int:
    o = config.get("output")
    return 3 * o["mixtures"] if o and o.get("type") == "logistic" else config["levels"]


def dims(config: dict) -> int:
    """Sub-pixels per image: the denominator of bits/dim."""
    return config["height"] * config["width"] * config["channels"]


def _is_int(v) -> bool:
    # 32.0 is refused although JavaScript (where JSON's 32.0 is 32) takes it: shapes must be ints
    return isinstance(v, int) and not isinstance(v, bool)


_MISSING = object()


def _js_number(x) -> str:
    """A number as JavaScript's String(x) writes it (shortest round-trip digits, JS's exponent rules)."""
    if isinstance(x, int):
        return str(x)
    if not math.isfinite(x):
        return "NaN" if x != x else ("Infinity" if x > 0 else "-Infinity")
    if x == 0:
        return "0"
    sign, digits, exp = Decimal(repr(abs(x))).normalize().as_tuple()
    d = "".join(map(str, digits))
    k, n = len(d), exp + len(d)  # x = 0.d * 10^n
    if k <= n <= 21:
        s = d + "0" * (n - k)
    elif 0 < n <= 21:
        s = d[:n] + "." + d[n:]
    elif -6 < n <= 0:
        s = "0." + "0" * -n + d
    else:
        s = d[0] + ("." + d[1:] if k > 1 else "") + f"e{'+' if n - 1 >= 0 else '-'}{abs(n - 1)}"
    return ("-" if x < 0 else "") + s


def _js(v, spaced: bool = False) -> str:
    """A value as TypeScript's messages write it: JSON.stringify (a missing field is undefined), or
    with spaced=True src/model/config.ts's pyJson (", " and ": " between items; missing is null)."""
    if v is _MISSING:
        return "null" if spaced else "undefined"
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and v.is_integer():
        return repr(v)  # Python's alone (JSON gives TypeScript an integer): "got 6.0" says why 6.0 is refused
    if isinstance(v, (int, float)):
        return _js_number(v) if isinstance(v, int) or math.isfinite(v) else "null"
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    comma, colon = (", ", ": ") if spaced else (",", ":")
    if isinstance(v, (list, tuple)):
        return "[" + comma.join(_js(x, spaced) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + comma.join(json.dumps(str(k), ensure_ascii=False) + colon + _js(x, spaced) for k, x in v.items()) + "}"
    return json.dumps(str(v))


def _fields(v) -> dict | None:
    """What TypeScript's `typeof v === 'object' && v !== null` lets through, as a dict: an array
    passes that test too and has none of the fields, so it fails on its first field's check."""
    if isinstance(v, dict):
        return v
    return {} if isinstance(v, list) else None


def validate_config(config) -> None:
    """Raises ConfigError naming the first bad field: validateConfig's rules, order and messages
    (src/model/config.ts is the reference; training/tests/test_config_parity.py runs both)."""
    o = _fields(config)
    if o is None:
        raise ConfigError("config: expected an object")
    get = lambda k: o.get(k, _MISSING)  # noqa: E731

    def pos_int(k, lo=1):
        v = get(k)
        if not _is_int(v) or v < lo:
            raise ConfigError(f"config.{k}: expected an integer >= {lo}, got {_js(v)}")

    if get("arch") not in ("gated", "masked"):
        raise ConfigError(f'config.arch: expected "gated" or "masked", got {_js(get("arch"))}')
    pos_int("height", 2)
    pos_int("width", 2)
    pos_int("levels", 2)
    for k in ("hidden", "layers", "headHidden", "firstKernel", "kernel"):
        pos_int(k)
    if not _is_int(get("channels")) or o["channels"] not in (1, 3):
        raise ConfigError(f"config.channels: expected 1 or 3, got {_js(get('channels'))}")
    for k in ("firstKernel", "kernel"):
        if o[k] % 2 != 1:
            raise ConfigError(f"config.{k}: expected an odd kernel size, got {o[k]}")
    for k in ("hidden", "headHidden"):
        if o[k] % o["channels"] != 0:
            raise ConfigError(f"config.{k}: {o[k]} is not a multiple of channels ({o['channels']})")
    if "dilations" in o:
        _validate_dilations(o)
    c = _fields(get("conditioning"))
    if c is None:
        raise ConfigError("config.conditioning: expected an object")
    t = c.get("type", _MISSING)
    if t == "class":
        if not _is_int(c.get("classes")) or c["classes"] < 2:
            raise ConfigError(f"config.conditioning.classes: expected an integer >= 2, got {_js(c.get('classes', _MISSING))}")
    elif t == "vector":
        if not _is_int(c.get("dim")) or c["dim"] < 1:
            raise ConfigError(f"config.conditioning.dim: expected an integer >= 1, got {_js(c.get('dim', _MISSING))}")
    elif t != "none":
        raise ConfigError(f'config.conditioning.type: expected "none", "class" or "vector", got {_js(t)}')
    if t != "none" and c.get("spatial") is True:
        pos_int("spatialChannels")
    if "nullable" in c:
        if not isinstance(c["nullable"], bool):
            raise ConfigError(f"config.conditioning.nullable: expected true or false, got {_js(c['nullable'])}")
        if t == "none" and c["nullable"]:
            raise ConfigError("config.conditioning.nullable: a model without conditioning has no condition to null")
    if "dropout" in c:
        p = c["dropout"]
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not math.isfinite(p) or not (0 <= p <= 1):
            raise ConfigError(f"config.conditioning.dropout: expected a probability from 0 to 1, got {_js(p)}")
        if p > 0 and c.get("nullable") is not True:
            raise ConfigError(
                f'config.conditioning.dropout: {_js_number(p)} needs "nullable": true (dropout replaces the condition by the null one)'
            )
    if "encoder" in o:
        _validate_encoder(o["encoder"], c)
    if "output" in o:
        out = _fields(o["output"])
        if out is None:
            raise ConfigError("config.output: expected an object")
        if out.get("type") == "logistic":
            m = out.get("mixtures", _MISSING)
            if not _is_int(m) or m < 1 or m > 32:
                raise ConfigError(f"config.output.mixtures: expected an integer from 1 to 32, got {_js(m)}")
        elif out.get("type") != "softmax":
            raise ConfigError(f'config.output.type: expected "softmax" or "logistic", got {_js(out.get("type", _MISSING))}')


def _validate_dilations(o: dict) -> None:
    d = o["dilations"]
    if not isinstance(d, list) or len(d) != o["layers"]:
        raise ConfigError(f"config.dilations: expected an array of {o['layers']} integers (one per layer), got {_js(d)}")
    for v in d:
        if not _is_int(v) or v < 1 or v > 64:
            raise ConfigError(f"config.dilations: expected integers from 1 to 64, got {_js(v)}")
    # a layer of dilation d adds offsets 0, d, 2d, ... to the span S the layers below see without
    # gaps; the sum stays gapless only while d <= S
    span = 0
    for l, dl in enumerate(d):
        if (dl != 1) if l == 0 else (dl > span):
            raise ConfigError(
                f"config.dilations: layer {l} has dilation {dl} but the layers below it see only {span} pixel(s) back, "
                f"so its receptive field would have holes (use at most {max(1, span)})"
            )
        span += dl * ((o["firstKernel"] if l == 0 else o["kernel"]) >> 1)


def _validate_encoder(e, c: dict) -> None:
    """The auto-encoder's image -> code network (its values written as pyJson writes them)."""
    if not isinstance(e, dict):
        raise ConfigError("config.encoder: expected an object")
    if e.get("type") != "conv":
        raise ConfigError(f'config.encoder.type: expected "conv", got {_js(e.get("type", _MISSING), True)}')
    ch = e.get("channels", _MISSING)
    if not isinstance(ch, list) or not 1 <= len(ch) <= 4 or not all(_is_int(v) and 1 <= v <= 512 for v in ch):
        raise ConfigError(f"config.encoder.channels: expected 1 to 4 integers from 1 to 512, got {_js(ch, True)}")
    code = e.get("code", _MISSING)
    if not _is_int(code) or code < 1:
        raise ConfigError(f"config.encoder.code: expected an integer >= 1, got {_js(code, True)}")
    if c.get("type") != "vector" or c.get("dim") != code:
        raise ConfigError(
            f'config.encoder: the code is the decoder\'s condition, so conditioning must be {{"type": "vector", "dim": {code}}}'
        )


def param_specs(config: dict) -> list[tuple[str, tuple[int, ...], float]]:
    """Every weight as (name, shape, initial std; 0 = zeros), in the order TypeScript lists them."""
    p = config["hidden"]
    C = config["channels"]
    specs: list[tuple[str, tuple[int, ...], float]] = []

    def add(name, shape, fan_in):
        specs.append((name, tuple(shape), 1 / math.sqrt(fan_in) if fan_in > 0 else 0.0))

    cond = config["conditioning"]
    D = cond_dim(cond)
    spatial = is_spatial(cond)
    q = config.get("spatialChannels") or 0
    if spatial:
        gh, gw = spatial_grid(config)
        add("cond_map/dense", [D, gh * gw * q], D)
        add("cond_map/dense_bias", [gh * gw * q], 0)
        add("cond_map/conv", [3, 3, q, q], 9 * q)
        add("cond_map/conv_bias", [q], 0)
    cond_in = q if spatial else D

    def add_cond(name):
        if D > 0:
            specs.append((name, (cond_in, 2 * p), 0.5 / math.sqrt(cond_in)))

    for l in range(config["layers"]):
        k = kernel_of(config, l)
        half = k >> 1
        cin = C if l == 0 else p
        if config["arch"] == "gated":
            add(f"l{l}/v_conv", [half + 1, k, cin, 2 * p], (half + 1) * k * cin)
            add(f"l{l}/v_bias", [2 * p], 0)
            add(f"l{l}/h_conv", [1, half + 1, cin, 2 * p], (half + 1) * cin)
            add(f"l{l}/h_bias", [2 * p], 0)
            add(f"l{l}/link", [2 * p, 2 * p], 2 * p)
            add(f"l{l}/link_bias", [2 * p], 0)
            add_cond(f"l{l}/v_cond")
            add_cond(f"l{l}/h_cond")
        else:
            add(f"l{l}/conv", [half + 1, k, cin, 2 * p], (half + 1) * k * cin)
            add(f"l{l}/bias", [2 * p], 0)
            add_cond(f"l{l}/cond")
        add(f"l{l}/out", [p, p], p)
        add(f"l{l}/out_bias", [p], 0)
    out = C * outputs_per_channel(config)
    add("head/w1", [p, config["headHidden"]], p)
    add("head/b1", [config["headHidden"]], 0)
    add("head/w2", [config["headHidden"], out], config["headHidden"])
    add("head/b2", [out], 0)
    enc = config.get("encoder")
    if enc:
        cin = config["channels"]
        for i, c in enumerate(enc["channels"]):
            add(f"enc/conv{i}", [3, 3, cin, c], 9 * cin)
            add(f"enc/conv{i}_bias", [c], 0)
            cin = c
        gh, gw = encoder_grid(config)
        add("enc/dense", [gh * gw * cin, enc["code"]], gh * gw * cin)
        add("enc/dense_bias", [enc["code"]], 0)
    return specs


# ---- seeded initial weights, the same numbers as initParams in src/model/params.ts ----

def _mulberry32(seed: int):
    a = seed & 0xFFFFFFFF

    def imul(x, y):
        return (x * y) & 0xFFFFFFFF

    def rand():
        nonlocal a
        a = (a + 0x6D2B79F5) & 0xFFFFFFFF
        t = a
        t = imul(t ^ (t >> 15), t | 1)
        t ^= (t + imul(t ^ (t >> 7), t | 61)) & 0xFFFFFFFF
        return ((t ^ (t >> 14)) & 0xFFFFFFFF) / 4294967296

    return rand


def _gaussian(n: int, std: float, rand) -> np.ndarray:
    out = np.empty(n, dtype=np.float64)
    for i in range(0, n, 2):
        u = max(rand(), 1e-12)
        v = rand()
        r = math.sqrt(-2 * math.log(u)) * std
        out[i] = r * math.cos(2 * math.pi * v)
        if i + 1 < n:
            out[i + 1] = r * math.sin(2 * math.pi * v)
    return out.astype(np.float32)


def init_weights(config: dict, seed: int = 0) -> dict[str, np.ndarray]:
    """Seeded initial weights, equal to TypeScript's initParams(config, seed)."""
    # JS: seed * 2654435761 + 12345 is a double, then >>> 0 takes it mod 2^32
    rand = _mulberry32(int(seed * 2654435761 + 12345) % 2**32)
    weights = {}
    for name, shape, std in param_specs(config):
        n = int(np.prod(shape))
        weights[name] = (_gaussian(n, std, rand) if std > 0 else np.zeros(n, np.float32)).reshape(shape)
    return weights
