"""Widening a trained model: new weights that start so that nothing it computes changes.

As src/train/grow.ts grows the TypeScript trainer's models, these give a model folder's
weights a null condition (--nullable) or a wider condition map (--spatial-channels); the
trainer then fine-tunes from there. Weights are numpy arrays by name, as load_model_folder
gives them.
"""
from __future__ import annotations

import json

import numpy as np

from .config import is_nullable, is_spatial, param_specs, spatial_grid, validate_config


class SurgeryError(ValueError):
    """The model cannot be widened that way (the trainer names the flag that asked)."""


def grow_rows(new_config: dict, weights: dict[str, np.ndarray], new_rows) -> dict[str, np.ndarray]:
    """Every weight whose first axis the new config makes longer gains rows at its end:
    new_rows(w, n) gives the n rows to append to w."""
    out = {}
    for name, shape, _ in param_specs(new_config):
        w = weights[name]
        if tuple(w.shape) != shape:
            w = np.concatenate([w, new_rows(w, shape[0] - w.shape[0]).astype(np.float32)], 0)
        out[name] = w
    return out


def zero_rows(w: np.ndarray, n: int) -> np.ndarray:
    return np.zeros((n,) + w.shape[1:], np.float32)


def mean_row(w: np.ndarray, n: int) -> np.ndarray:
    return w.mean(0, keepdims=True)


def add_null_slot(config: dict, weights: dict[str, np.ndarray], dropout: float) -> tuple[dict, dict[str, np.ndarray]]:
    """The same model with a null condition: every matrix that reads h gains one row. For a
    class model the new row is the mean of the class rows (a start for "some digit"), for a
    vector model zeros; either way nothing the model computes for a real condition changes."""
    c = config["conditioning"]
    if c["type"] == "none":
        raise SurgeryError("the model is unconditional; there is no condition to drop")
    new_config = json.loads(json.dumps(config))
    if is_nullable(c):
        new_config["conditioning"]["dropout"] = dropout
        validate_config(new_config)
        return new_config, weights
    new_config["conditioning"] = {**c, "nullable": True, "dropout": dropout}
    validate_config(new_config)
    # [D, ...] -> [D + 1, ...]
    return new_config, grow_rows(new_config, weights, mean_row if c["type"] == "class" else zero_rows)


def widen_condition_map(config: dict, weights: dict[str, np.ndarray], channels: int, seed: int) -> tuple[dict, dict[str, np.ndarray]]:
    """The same model with a wider location-dependent condition map s = m(h): q -> channels maps.
    The new maps' dense columns and 3x3 filters start random (the init's scale), and every matrix
    that reads s gains zero rows for them, so nothing the model computes changes until training
    moves those rows; the old maps never read the new ones (their filter rows start at zero)."""
    if not is_spatial(config["conditioning"]):
        raise SurgeryError("the model has no location-dependent condition map (needs a spatial vector or class model)")
    q = config["spatialChannels"]
    if channels < q:
        raise SurgeryError(f"the map has {q} channels already; it can only grow (asked {channels})")
    new_config = json.loads(json.dumps(config))
    new_config["spatialChannels"] = channels
    validate_config(new_config)
    rng = np.random.default_rng(seed)
    std = {name: s for name, _, s in param_specs(new_config)}
    D = weights["cond_map/dense"].shape[0]
    gh, gw = spatial_grid(config)
    cells = gh * gw
    extra = channels - q
    out = dict(weights)
    dense = weights["cond_map/dense"].reshape(D, cells, q)  # columns are (cell, channel), channel fastest
    fresh = rng.normal(0, std["cond_map/dense"], (D, cells, extra)).astype(np.float32)
    out["cond_map/dense"] = np.concatenate([dense, fresh], 2).reshape(D, cells * channels)
    out["cond_map/dense_bias"] = np.concatenate(
        [weights["cond_map/dense_bias"].reshape(cells, q), np.zeros((cells, extra), np.float32)], 1).reshape(-1)
    conv = np.zeros((3, 3, channels, channels), np.float32)
    conv[:, :, :q, :q] = weights["cond_map/conv"]
    conv[:, :, :, q:] = rng.normal(0, std["cond_map/conv"], (3, 3, channels, extra))
    out["cond_map/conv"] = conv
    out["cond_map/conv_bias"] = np.concatenate([weights["cond_map/conv_bias"], np.zeros(extra, np.float32)])
    # every matrix reading s: [q, 2p] -> [channels, 2p]
    return new_config, grow_rows(new_config, out, zero_rows)
