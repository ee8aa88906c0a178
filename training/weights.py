"""The project's model folder (src/io/weights.ts): model.json with the config and tfjs's
weightsManifest, and binary shards (tensors one after another, little-endian, at most
4 MB a shard; float16 stored as dtype float32 with quantization float16).

Loading checks the config, every tensor's name and shape, the shards' lengths and every
value before building anything; a problem is a one-line error naming the file and tensor.
Saving writes a temp folder and renames it over the old one, keeping the folder's other
files (model card, pictures).
"""
from __future__ import annotations

import json
import os
import re
import shutil
import tempfile

import numpy as np

from .config import ConfigError, param_specs, validate_config

MODEL_FORMAT = "gated-pixelcnn"
MODEL_JSON = "model.json"
SHARD_BYTES = 4 * 1024 * 1024
SHARD_NAME = re.compile(r"^group\d+-shard\d+of\d+(\.bin)?$")


class WeightsError(ValueError):
    """A model folder is malformed; the message names the file and tensor."""


def load_model_folder(folder: str) -> tuple[dict, dict[str, np.ndarray], dict]:
    """(config, weights by name, metadata) of a saved model."""
    path = os.path.join(folder, MODEL_JSON)
    try:
        with open(path, "rb") as f:
            mj = json.loads(f.read().decode("utf-8"))
    except OSError as e:
        raise WeightsError(f"{path}: cannot be read ({e.strerror or e})") from None
    except (ValueError, UnicodeDecodeError) as e:
        raise WeightsError(f"{path}: not JSON ({str(e).splitlines()[0]})") from None
    if not isinstance(mj, dict):
        raise WeightsError(f"{MODEL_JSON}: expected a JSON object")
    if mj.get("format") != MODEL_FORMAT:
        raise WeightsError(f'{MODEL_JSON}: format is {json.dumps(mj.get("format"))}, expected "{MODEL_FORMAT}"')
    config = mj.get("config")
    try:
        validate_config(config)
    except ConfigError as e:
        raise WeightsError(f"{MODEL_JSON}: {e}") from None
    expected = {name: shape for name, shape, _ in param_specs(config)}
    manifest = mj.get("weightsManifest")
    if not isinstance(manifest, list) or not manifest:
        raise WeightsError(f"{MODEL_JSON}: weightsManifest must be a non-empty array")
    weights: dict[str, np.ndarray] = {}
    for g, group in enumerate(manifest):
        where = f"weightsManifest[{g}]"
        if not isinstance(group, dict) or not isinstance(group.get("paths"), list) or not isinstance(group.get("weights"), list):
            raise WeightsError(f"{MODEL_JSON}: {where}: expected {{paths: [...], weights: [...]}}")
        entries = []
        for i, e in enumerate(group["weights"]):
            if not isinstance(e, dict) or not isinstance(e.get("name"), str):
                raise WeightsError(f"{MODEL_JSON}: {where}.weights[{i}]: expected an object with a name")
            name = e["name"]
            if e.get("dtype") != "float32":
                raise WeightsError(f"{MODEL_JSON}: tensor '{name}': dtype {json.dumps(e.get('dtype'))} is not supported")
            q = e.get("quantization")
            if q is not None and q != {"dtype": "float16"}:
                raise WeightsError(f"{MODEL_JSON}: tensor '{name}': quantization {json.dumps(q)} is not supported")
            if name not in expected:
                raise WeightsError(f"{MODEL_JSON}: tensor '{name}' is not a parameter of this config")
            if name in weights or any(x[0] == name for x in entries):
                raise WeightsError(f"{MODEL_JSON}: tensor '{name}' is listed twice")
            shape = tuple(e.get("shape") or ())
            if shape != expected[name]:
                raise WeightsError(f"{MODEL_JSON}: tensor '{name}' has shape {list(shape)}, config expects {list(expected[name])}")
            entries.append((name, shape, q is not None))
        data = bytearray()
        for p in group["paths"]:
            if not isinstance(p, str) or p.startswith("/") or ".." in re.split(r"[\\/]", p) or not p:
                raise WeightsError(f"{MODEL_JSON}: {where}: shard path {json.dumps(p)} must be a relative path inside the model folder")
            try:
                with open(os.path.join(folder, p), "rb") as f:
                    data += f.read()
            except OSError as e:
                raise WeightsError(f"{p}: cannot be read ({e.strerror or e})") from None
        need = sum(int(np.prod(s)) * (2 if half else 4) for _, s, half in entries)
        if len(data) != need:
            raise WeightsError(f"{group['paths'][-1]}: shards hold {len(data)} bytes, {where} describes {need} (truncated or corrupt)")
        off = 0
        for name, shape, half in entries:
            n = int(np.prod(shape))
            dt = np.dtype("<f2") if half else np.dtype("<f4")
            v = np.frombuffer(bytes(data[off : off + n * dt.itemsize]), dtype=dt).astype(np.float32).reshape(shape)
            if not np.isfinite(v).all():
                bad = int(np.flatnonzero(~np.isfinite(v.reshape(-1)))[0])
                raise WeightsError(f"{MODEL_JSON}: tensor '{name}' holds {v.reshape(-1)[bad]} at index {bad}")
            weights[name] = v
            off += n * dt.itemsize
    for name in expected:
        if name not in weights:
            raise WeightsError(f"{MODEL_JSON}: tensor '{name}' is missing from weightsManifest")
    return config, weights, mj.get("metadata") or {}


def serialize(config: dict, weights: dict[str, np.ndarray], dtype: str = "float32", metadata: dict | None = None):
    """(model.json dict, [(shard name, bytes)]) in the project's layout."""
    if dtype not in ("float32", "float16"):
        raise ValueError(f"save: dtype must be float32 or float16, got {dtype}")
    validate_config(config)
    entries, chunks = [], []
    for name, shape, _ in param_specs(config):
        if name not in weights:
            raise WeightsError(f"save: the model has no tensor '{name}'")
        v = np.asarray(weights[name], dtype=np.float32)
        if tuple(v.shape) != shape:
            raise WeightsError(f"save: tensor '{name}' has shape {list(v.shape)}, config expects {list(shape)}")
        if not np.isfinite(v).all():
            raise WeightsError(f"save: tensor '{name}' holds a non-finite value")
        if dtype == "float16":
            h = v.astype("<f2")
            if not np.isfinite(h).all():
                raise WeightsError(f"save: tensor '{name}' overflows float16")
            entries.append({"name": name, "shape": list(shape), "dtype": "float32", "quantization": {"dtype": "float16"}})
            chunks.append(h.tobytes())
        else:
            entries.append({"name": name, "shape": list(shape), "dtype": "float32"})
            chunks.append(v.astype("<f4").tobytes())
    blob = b"".join(chunks)
    count = max(1, -(-len(blob) // SHARD_BYTES))
    shards = [(f"group1-shard{i + 1}of{count}.bin", blob[i * SHARD_BYTES : (i + 1) * SHARD_BYTES]) for i in range(count)]
    mj = {
        "format": MODEL_FORMAT,
        "generatedBy": "gated-pixelcnn-web (training/, PyTorch)",
        "config": config,
        "weightsManifest": [{"paths": [s for s, _ in shards], "weights": entries}],
    }
    if metadata:
        mj["metadata"] = metadata
    return mj, shards


def write_model_folder(folder: str, files: list[tuple[str, bytes]]) -> None:
    """Replaces a model folder by `files` (model.json + shards) atomically: a temp folder, then
    a rename; the folder's other files (model card, pictures) are carried over."""
    target = os.path.abspath(folder)
    parent = os.path.dirname(target)
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=f".{os.path.basename(target)}.tmp-", dir=parent)
    try:
        for name, data in files:
            with open(os.path.join(tmp, name), "wb") as f:
                f.write(data)
        if os.path.isdir(target):
            own = {MODEL_JSON} | {f for f in os.listdir(target) if SHARD_NAME.match(f)}
            for f in os.listdir(target):
                if f not in own and not os.path.exists(os.path.join(tmp, f)):
                    src = os.path.join(target, f)
                    (shutil.copytree if os.path.isdir(src) else shutil.copy2)(src, os.path.join(tmp, f))
            backup = tmp + ".old"
            os.rename(target, backup)
            try:
                os.rename(tmp, target)
            except OSError:
                os.rename(backup, target)
                raise
            shutil.rmtree(backup, ignore_errors=True)
        else:
            os.rename(tmp, target)
    finally:
        if os.path.exists(tmp):
            shutil.rmtree(tmp, ignore_errors=True)


def save_model_folder(folder: str, config: dict, weights: dict[str, np.ndarray], dtype: str = "float32", metadata: dict | None = None):
    """Writes the model folder atomically (temp folder + rename), keeping its other files."""
    mj, shards = serialize(config, weights, dtype, metadata)
    write_model_folder(folder, [*shards, (MODEL_JSON, (json.dumps(mj, indent=1) + "\n").encode())])
