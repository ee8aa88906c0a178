"""The PyTorch trainer: python -m training.train (npm run train:torch -- ...).

Flags follow `npm run train`'s. What it keeps from the TypeScript trainer, so runs can be
compared and continued: the data order (the permutation of epoch e is drawn from (seed, e)
with the same RNG), the initial weights for a seed, the loss (mean nats per sub-pixel),
the learning-rate schedule (linear warm-up, cosine decay to lrFinalFraction), Adam with
global-norm clipping, validation on a subset on a timer and on the whole split at epoch
ends, and the JSON-lines train.log that `npm run curve` draws. The run's state lives in
<out>.train (checkpoint.pt, train.log); the weights go to --out as a model folder that
loadModel, the CLI and the app read unchanged.

Exact resume: everything a step depends on is in the checkpoint or derived from
(seed, epoch, step), so an interrupted and resumed run ends with the same weights as an
uninterrupted one (on CPU). Several processes (torchrun, DDP) split each global batch
between them and average gradients: the same updates as one process.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import signal
import sys
import time
from datetime import datetime, timezone

import numpy as np
import torch
import torch.distributed as dist

from .autoencoder import ae_config, from_pixelcnn
from .config import ConfigError, cond_base_dim, cond_dim, dims, is_nullable, is_spatial, make_config, param_specs, spatial_grid, validate_config
from .data import DataError, ImageSet, load_data, quantize
from .model import PixelCNN, bits_per_dim
from .presets import DEFAULT_ADAM, PRESETS, get_preset
from .rng import dropout_mask, epoch_order
from .weights import WeightsError, load_model_folder, save_model_folder

CHECKPOINT_FILE = "checkpoint.pt"
LOG_FILE = "train.log"
CHECKPOINT_VERSION = 1


class UsageError(ValueError):
    """Bad flags: exit code 2."""


# ---- schedule, devices, the distributed world ----

def learning_rate(hyper: dict, step: int, total: int | None, start: int = 0) -> float:
    """Learning rate of update `step`: linear warm-up, then cosine decay when the length is known."""
    s, tot = step - start, None if total is None else total - start
    w = hyper["warmupSteps"]
    if s < w:
        return hyper["lr"] * (s + 1) / w
    if tot is None or tot <= w:
        return hyper["lr"]
    t = min(1.0, (s - w) / (tot - w))
    f = hyper["lrFinalFraction"] + (1 - hyper["lrFinalFraction"]) * 0.5 * (1 + math.cos(math.pi * t))
    return hyper["lr"] * f


class World:
    """This process's place among torchrun's processes (one process: rank 0 of 1)."""

    def __init__(self, device: str):
        self.size = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        local = int(os.environ.get("LOCAL_RANK", "0"))
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        if device == "cuda" and not torch.cuda.is_available():
            raise UsageError("--device cuda: no CUDA device is available")
        self.device = torch.device(f"cuda:{local}" if device == "cuda" else "cpu")
        if device == "cuda":
            torch.cuda.set_device(self.device)
        if self.size > 1:
            dist.init_process_group("nccl" if device == "cuda" else "gloo")

    @property
    def main(self) -> bool:
        return self.rank == 0

    def any(self, flag: bool) -> bool:
        """True when any process says so (a stop request reaches all at the same step)."""
        if self.size == 1:
            return flag
        t = torch.tensor([1.0 if flag else 0.0])
        dist.all_reduce(t)
        return t.item() > 0

    def sum(self, value: float) -> float:
        if self.size == 1:
            return value
        t = torch.tensor([value], dtype=torch.float64)
        dist.all_reduce(t)
        return t.item()

    def close(self):
        if self.size > 1:
            dist.destroy_process_group()


def format_duration(seconds: float) -> str:
    if not math.isfinite(seconds) or seconds < 0:
        return "?"
    s = round(seconds)
    h, m = s // 3600, (s % 3600) // 60
    return f"{h}h{m:02d}m" if h > 0 else f"{m}m{s % 60:02d}s"


def is_code_path(name: str) -> bool:
    """The auto-encoder's encoder and every weight that reads the code (V of each gate, the map s = m(h))."""
    return name.startswith("enc/") or name.startswith("cond_map/") or name.endswith("cond")


def param_groups(net: PixelCNN, hyper: dict) -> list[dict]:
    """One Adam group, or two when the code path learns faster (hyper codeLrScale): a decoder that
    starts from a trained PixelCNN models the pixels well already, and its code has to catch up."""
    scale = hyper.get("codeLrScale")
    if not scale or scale == 1:
        return [{"params": list(net.parameters())}]
    W = net.named_weights()
    return [{"params": [w for n, w in W.items() if not is_code_path(n)], "scale": 1.0},
            {"params": [w for n, w in W.items() if is_code_path(n)], "scale": float(scale)}]


# ---- batches ----

def to_batch(net: PixelCNN, data: ImageSet, idx: np.ndarray, device, dropped: np.ndarray | None = None):
    """(x [B, C, H, W] levels, h [B, D] or None) for the images idx."""
    x = torch.from_numpy(np.ascontiguousarray(data.images[idx])).to(device).permute(0, 3, 1, 2)
    c = net.config["conditioning"]
    if c["type"] == "none":
        return x, None
    unc = None if dropped is None or not dropped.any() else torch.from_numpy(dropped)
    if net.config.get("encoder"):  # an auto-encoder: each image's own code, with gradients into the encoder
        return x, net.code_condition(x, unconditional=unc)
    if c["type"] == "class":
        return x, net.condition(labels=torch.from_numpy(data.labels[idx]), unconditional=unc)
    return x, net.condition(embeddings=torch.from_numpy(data.embeddings[idx]), unconditional=unc)


@torch.no_grad()
def evaluate(net: PixelCNN, data: ImageSet, limit: int, batch: int, world: World, unconditional: bool = False) -> float:
    """Mean bits/dim of the first `limit` images (each process takes its share)."""
    n = min(limit, data.count)
    net.eval()
    nats = 0.0
    starts = list(range(0, n, batch))
    for a in starts[world.rank :: world.size]:
        idx = np.arange(a, min(n, a + batch))
        x, h = to_batch(net, data, idx, world.device, np.ones(len(idx), bool) if unconditional else None)
        nats += net.nats(x, h).double().sum().item()
    net.train()
    return bits_per_dim(world.sum(nats) / n, net.config)


# ---- checkpoints ----

def _atomic_torch_save(obj, path: str):
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "wb") as f:
        torch.save(obj, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def load_checkpoint(path: str) -> dict:
    try:
        ck = torch.load(path, map_location="cpu")
    except FileNotFoundError:
        raise UsageError(f"--resume: no checkpoint at {path}") from None
    except Exception as e:
        raise ValueError(f"{path}: not a readable checkpoint ({str(e).splitlines()[0]})") from None
    if not isinstance(ck, dict) or ck.get("version") != CHECKPOINT_VERSION:
        raise ValueError(f"{path}: not a training checkpoint of this trainer (version {ck.get('version') if isinstance(ck, dict) else '?'})")
    return ck


# ---- widening a model: new weights that start so nothing it computes changes ----

def _grow_rows(new_config: dict, weights: dict[str, np.ndarray], new_rows) -> dict[str, np.ndarray]:
    """Every weight whose first axis the new config makes longer gains rows at its end:
    new_rows(w, n) gives the n rows to append to w."""
    out = {}
    for name, shape, _ in param_specs(new_config):
        w = weights[name]
        if tuple(w.shape) != shape:
            w = np.concatenate([w, new_rows(w, shape[0] - w.shape[0]).astype(np.float32)], 0)
        out[name] = w
    return out


def _zero_rows(w: np.ndarray, n: int) -> np.ndarray:
    return np.zeros((n,) + w.shape[1:], np.float32)


def add_null_slot(config: dict, weights: dict[str, np.ndarray], dropout: float) -> tuple[dict, dict[str, np.ndarray]]:
    """The same model with a null condition: every matrix that reads h gains one row. For a
    class model the new row is the mean of the class rows (a start for "some digit"), for a
    vector model zeros; either way nothing the model computes for a real condition changes."""
    c = config["conditioning"]
    if c["type"] == "none":
        raise UsageError("--nullable: the model is unconditional; there is no condition to drop")
    if is_nullable(c):
        new_config = json.loads(json.dumps(config))
        new_config["conditioning"]["dropout"] = dropout
        validate_config(new_config)
        return new_config, weights
    new_config = json.loads(json.dumps(config))
    new_config["conditioning"] = {**c, "nullable": True, "dropout": dropout}
    validate_config(new_config)
    # [D, ...] -> [D + 1, ...]
    class_mean = lambda w, n: w.mean(0, keepdims=True)  # noqa: E731
    return new_config, _grow_rows(new_config, weights, class_mean if c["type"] == "class" else _zero_rows)


def widen_condition_map(config: dict, weights: dict[str, np.ndarray], channels: int, seed: int) -> tuple[dict, dict[str, np.ndarray]]:
    """The same model with a wider location-dependent condition map s = m(h): q -> channels maps.
    The new maps' dense columns and 3x3 filters start random (the init's scale), and every matrix
    that reads s gains zero rows for them, so nothing the model computes changes until training
    moves those rows; the old maps never read the new ones (their filter rows start at zero)."""
    c = config["conditioning"]
    if not is_spatial(c):
        raise UsageError("--spatial-channels: the model has no location-dependent condition map (needs a spatial vector or class model)")
    q = config["spatialChannels"]
    if channels < q:
        raise UsageError(f"--spatial-channels: the map has {q} channels already; it can only grow (asked {channels})")
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
    return new_config, _grow_rows(new_config, out, _zero_rows)


# ---- the run ----

class OneLineParser(argparse.ArgumentParser):
    """argparse, but a bad flag is one line (as the TypeScript CLI), exit code 2."""

    def error(self, message):
        raise UsageError(message)


def parse_args(argv):
    p = OneLineParser(
        prog="npm run train:torch --",
        description="Train a Gated PixelCNN in PyTorch; writes a model folder the TypeScript CLI and app load.",
    )
    p.add_argument("--data", choices=["mnist", "faces"], required=True, help="training data")
    p.add_argument("--faces", help="folder written by npm run build-faces (with --data faces)")
    p.add_argument("--cond", choices=["class", "none", "vector"], help="conditioning (default: as the preset/config)")
    p.add_argument("--preset", help=f"named configuration: {', '.join(PRESETS)} (default mnist)")
    p.add_argument("--config", help='JSON file: a model config, or {"model": {...}, "train": {...}}')
    p.add_argument("--init", help="start from the weights of this model folder (fine-tuning)")
    p.add_argument("--nullable", action="store_true", help="give the model a null condition (new rows start so nothing else changes)")
    p.add_argument("--spatial-channels", type=int, help="with --init: widen the condition map s = m(h) to this many channels (new ones start so nothing else changes; their random start is seeded by --seed, default 1)")
    p.add_argument("--autoencoder", type=int, metavar="D", help="with --init: make the model a PixelCNN auto-encoder with a D-d code from a conv encoder (the decoder starts as the init's unconditional model)")
    p.add_argument("--encoder-channels", default="32,64", help="with --autoencoder: the encoder's stride-2 conv widths (default 32,64)")
    p.add_argument("--code-map", type=int, metavar="Q", help="with --autoencoder: the code enters through a location-dependent map s = m(h) of Q channels, not V^T h")
    p.add_argument("--code-lr-scale", type=float, help="an auto-encoder's encoder and the weights that read its code learn at this multiple of the learning rate (the trunk at 1x)")
    p.add_argument("--cond-dropout", type=float, help="probability an image's condition is replaced by the null one (needs a nullable model)")
    p.add_argument("--out", required=True, help="model folder for the weights")
    p.add_argument("--state", help="folder for checkpoint.pt and train.log (default <out>.train)")
    p.add_argument("--epochs", type=float, help="train this many epochs in total (across resumes)")
    p.add_argument("--minutes", type=float, help="train this many minutes in total (across resumes)")
    p.add_argument("--steps", type=int, help="train this many updates in total (tests, benchmarks)")
    p.add_argument("--resume", action="store_true", help="continue from the checkpoint in --state")
    p.add_argument("--seed", type=int, default=None, help="seed of weight init, data order and condition dropout (default 0)")
    p.add_argument("--batch", type=int, help="global batch size (default from preset)")
    p.add_argument("--lr", type=float, help="peak learning rate (default from preset)")
    p.add_argument("--warmup", type=int, help="warm-up updates (default from preset)")
    p.add_argument("--checkpoint-minutes", type=float, default=5.0, help="minutes between checkpoints (default 5)")
    p.add_argument("--checkpoint-steps", type=int, default=0, help="also checkpoint every N updates (0: by time only)")
    p.add_argument("--val-minutes", type=float, default=10.0, help="minutes between validations on a subset (default 10; 0 = off)")
    p.add_argument("--val-subset", type=int, default=500, help="images in the periodic validation (default 500)")
    p.add_argument("--train-limit", type=int, help="use only the first N training images (smoke runs)")
    p.add_argument("--val-limit", type=int, help="use only the first N validation images")
    p.add_argument("--dtype", choices=["float32", "float16"], default="float32", help="storage precision of the saved weights")
    p.add_argument("--progress-seconds", type=float, default=10.0, help="seconds between progress lines (0: every update)")
    p.add_argument("--threads", type=int, help="CPU threads (default: all cores, shared among local processes)")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto", help="where to train (default auto: CUDA when present)")
    p.add_argument("--stop-after", type=int, help=argparse.SUPPRESS)  # tests: act as if interrupted after N updates of this run
    a = p.parse_args(argv)
    for k in ("epochs", "minutes", "lr", "checkpoint_minutes", "code_lr_scale"):
        v = getattr(a, k)
        if v is not None and not (v > 0 and math.isfinite(v)):
            raise UsageError(f"--{k.replace('_', '-')}: expected a number > 0, got {v}")
    for k in ("steps", "batch", "val_subset", "train_limit", "val_limit", "threads", "spatial_channels", "autoencoder", "code_map"):
        v = getattr(a, k)
        if v is not None and v < 1:
            raise UsageError(f"--{k.replace('_', '-')}: expected an integer >= 1, got {v}")
    if a.cond_dropout is not None and not (0 <= a.cond_dropout <= 1):
        raise UsageError(f"--cond-dropout: expected a number from 0 to 1, got {a.cond_dropout}")
    if sum(x is not None for x in (a.epochs, a.minutes, a.steps)) > 1:
        raise UsageError("give one of --epochs, --minutes or --steps")
    if a.epochs is None and a.minutes is None and a.steps is None and not a.resume:
        raise UsageError("give --epochs E, --minutes M or --steps N")
    if sum(x is not None for x in (a.preset, a.config, a.init)) > 1:
        raise UsageError("give one of --preset, --config or --init")
    if (a.autoencoder is not None or a.code_map is not None) and not a.init:
        raise UsageError("--autoencoder: needs --init (the trained PixelCNN the decoder starts from)")
    if a.code_map is not None and a.autoencoder is None:
        raise UsageError("--code-map: needs --autoencoder")
    if a.autoencoder is not None:
        try:
            a.encoder_channels = [int(v) for v in a.encoder_channels.split(",")]
        except ValueError:
            raise UsageError(f"--encoder-channels: expected integers separated by commas, got {a.encoder_channels!r}") from None
    if a.spatial_channels is not None and not a.init:
        raise UsageError("--spatial-channels: needs --init (a preset or --config sets spatialChannels itself)")
    return a


def _read_config_file(path: str) -> tuple[dict, dict]:
    try:
        with open(path) as f:
            o = json.load(f)
    except (OSError, ValueError) as e:
        raise UsageError(f"{path}: cannot read a JSON config ({str(e).splitlines()[0]})") from None
    model = o.get("model", o) if isinstance(o, dict) else o
    train = o.get("train", {}) if isinstance(o, dict) else {}
    try:
        return make_config(**model), train
    except (ConfigError, TypeError) as e:
        raise UsageError(f"{path}: {e}") from None


def choose_model(a) -> tuple[dict, dict, dict | None]:
    """(config, hyper, initial weights or None)."""
    weights = None
    base = get_preset("mnist")["train"]
    if a.init:
        try:
            config, weights, _ = load_model_folder(a.init)
        except WeightsError as e:
            raise UsageError(f"--init: {e}") from None
        hyper = dict(base)
    elif a.config:
        config, train = _read_config_file(a.config)
        hyper = {**base, **train}
    else:
        try:
            pre = get_preset(a.preset or "mnist")
        except KeyError as e:
            raise UsageError(str(e.args[0])) from None
        config, hyper = pre["model"], pre["train"]
    c = config["conditioning"]
    if a.cond == "none":
        config = make_config(**{**config, "conditioning": {"type": "none"}})
    elif a.cond == "class" and c["type"] != "class":
        config = make_config(**{**config, "conditioning": {"type": "class", "classes": 10}})
    if a.autoencoder is not None:
        try:
            new = ae_config(config, a.autoencoder, a.encoder_channels, a.code_map,
                            a.cond_dropout if a.cond_dropout is not None else 0.1)
        except ConfigError as e:
            raise UsageError(f"--autoencoder: {e}") from None
        weights = from_pixelcnn(config, weights, new, a.seed or 0)
        config = new
    elif a.nullable or a.cond_dropout:
        if weights is None:
            weights = PixelCNN(config, seed=a.seed or 0).named_weights()
            weights = {k: v.detach().numpy() for k, v in weights.items()}
        config, weights = add_null_slot(config, weights, a.cond_dropout if a.cond_dropout is not None else 0.1)
    if a.spatial_channels is not None:
        config, weights = widen_condition_map(config, weights, a.spatial_channels, a.seed if a.seed is not None else 1)
    if a.batch:
        hyper["batchSize"] = a.batch
    if a.lr:
        hyper["lr"] = a.lr
    if a.warmup is not None:
        hyper["warmupSteps"] = a.warmup
    if a.code_lr_scale is not None:
        if not config.get("encoder"):
            raise UsageError("--code-lr-scale: the model has no encoder (config.encoder)")
        hyper["codeLrScale"] = a.code_lr_scale
    return config, hyper, weights


def check_data(config: dict, data: ImageSet, what: str):
    H, W, C = config["height"], config["width"], config["channels"]
    if tuple(data.images.shape[1:]) != (H, W, C):
        raise UsageError(f"{what}: images are {'x'.join(map(str, data.images.shape[1:]))}, the model expects {H}x{W}x{C}")
    c = config["conditioning"]
    if c["type"] == "class" and (data.labels is None or data.labels.max(initial=0) >= c["classes"]):
        raise UsageError(f"{what}: the model is class-conditional with {c['classes']} classes; the data has no such labels")
    if c["type"] == "vector" and not config.get("encoder") and (data.embeddings is None or data.embeddings.shape[1] != cond_base_dim(c)):
        have = None if data.embeddings is None else data.embeddings.shape[1]
        raise UsageError(f"{what}: the model is conditioned on a {cond_base_dim(c)}-d vector; the data has {have}-d descriptors")


def train(argv=None) -> dict:
    a = parse_args(argv if argv is not None else sys.argv[1:])
    world = World(a.device)
    try:
        return _train(a, world)
    finally:
        world.close()


def _train(a, world: World) -> dict:
    torch.manual_seed(0)
    local = int(os.environ.get("LOCAL_WORLD_SIZE", world.size))
    torch.set_num_threads(a.threads or max(1, (os.cpu_count() or 1) // local))
    cuda = world.device.type == "cuda"
    say = (lambda s: print(s, file=sys.stderr, flush=True)) if world.main else (lambda s: None)
    state_dir = a.state or (a.out.rstrip("/\\") + ".train")
    ckpt_path = os.path.join(state_dir, CHECKPOINT_FILE)
    log_path = os.path.join(state_dir, LOG_FILE)
    if world.main:
        os.makedirs(state_dir, exist_ok=True)

    def log(event: str, **fields):
        if world.main:
            line = {"time": datetime.now(timezone.utc).isoformat().replace("+00:00", "Z"), "event": event, **fields}
            with open(log_path, "a") as f:
                f.write(json.dumps(line) + "\n")

    # ---- state: fresh or from the checkpoint ----
    ck = None
    if a.resume:
        ck = load_checkpoint(ckpt_path)
        config, hyper, adam_opts, seed = ck["config"], ck["hyper"], ck["adam"], ck["seed"]
        if a.preset or a.config or a.init:
            asked, _, _ = choose_model(a)
            if json.dumps(asked, sort_keys=True) != json.dumps(config, sort_keys=True):
                raise UsageError(f"--resume: {ckpt_path} holds a different model config than the one asked for")
        weights = None
    else:
        if os.path.exists(ckpt_path):
            raise UsageError(f"{ckpt_path} exists: pass --resume to continue it, or choose another --out")
        config, hyper, weights = choose_model(a)
        adam_opts = dict(DEFAULT_ADAM)
        seed = a.seed or 0

    faces = a.faces
    try:
        train_set = load_data(a.data, "train", faces).head(a.train_limit)
        val_set = load_data(a.data, "val", faces).head(a.val_limit)
    except DataError as e:
        raise UsageError(str(e)) from None
    train_set.images = quantize(train_set.images, config["levels"])
    val_set.images = quantize(val_set.images, config["levels"])
    check_data(config, train_set, "training data")
    check_data(config, val_set, "validation data")
    if ck and (ck["data"]["name"] != a.data or ck["data"]["trainCount"] != train_set.count):
        raise UsageError(
            f"--resume: checkpoint was trained on {ck['data']['name']} ({ck['data']['trainCount']} images), not {a.data} ({train_set.count})"
        )

    B = hyper["batchSize"]
    if B % world.size:
        raise UsageError(f"batch {B} does not split evenly over {world.size} processes")
    D = dims(config)
    steps_per_epoch = train_set.count // B
    if steps_per_epoch < 1:
        raise UsageError(f"batch size {B} is larger than the {train_set.count} training images")

    net = PixelCNN(config, weights=ck["weights"] if ck else weights, seed=seed).to(world.device)
    if cuda:
        net = net.to(memory_format=torch.channels_last)
    model = torch.nn.parallel.DistributedDataParallel(net) if world.size > 1 else net
    opt = torch.optim.Adam(param_groups(net, hyper), lr=hyper["lr"], betas=(adam_opts["beta1"], adam_opts["beta2"]), eps=adam_opts["eps"])
    amp_dtype = (torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16) if cuda else None
    scaler = torch.cuda.amp.GradScaler(enabled=amp_dtype == torch.float16)
    if ck:
        opt.load_state_dict(ck["optimizer"])
        progress = dict(ck["progress"])
    else:
        progress = {"step": 0, "epoch": 0, "batchInEpoch": 0, "imagesSeen": 0, "elapsedSeconds": 0.0,
                    "totalSteps": None, "lastValBitsPerDim": None, "bestValBitsPerDim": None}
    if a.epochs is not None:
        progress["totalSteps"] = round(a.epochs * steps_per_epoch)
    if a.steps is not None:
        progress["totalSteps"] = a.steps
    dropout = float(config["conditioning"].get("dropout") or 0)
    n_params = sum(int(np.prod(s)) for _, s, _ in param_specs(config))

    saved_at = -1

    def save_state(reason: str):
        nonlocal saved_at
        saved_at = progress["step"]
        if not world.main:
            return
        W = {k: v.detach().cpu().float().numpy() for k, v in net.named_weights().items()}
        _atomic_torch_save({
            "version": CHECKPOINT_VERSION, "config": config, "hyper": hyper, "adam": adam_opts, "seed": seed,
            "data": {"name": a.data, "trainCount": train_set.count}, "progress": dict(progress),
            "weights": W, "optimizer": opt.state_dict(), "savedAt": datetime.now(timezone.utc).isoformat(),
        }, ckpt_path)
        # what the model's makers set by hand (recommendedGuidance, ...) survives retraining into the same folder
        kept = {}
        try:
            with open(os.path.join(a.out, "model.json")) as f:
                kept = {k: v for k, v in (json.load(f).get("metadata") or {}).items() if k.startswith("recommended")}
        except (OSError, ValueError, AttributeError):
            pass
        save_model_folder(a.out, config, W, a.dtype, metadata={**kept,
            "trainedSteps": progress["step"], "trainedImages": progress["imagesSeen"],
            "trainedSeconds": round(progress["elapsedSeconds"]), "epochs": progress["step"] / steps_per_epoch,
            "valBitsPerDim": progress["lastValBitsPerDim"], "data": a.data, "seed": seed, "trainer": "pytorch",
        })
        log("checkpoint", reason=reason, step=progress["step"], file=ckpt_path)

    def validate(limit: int):
        t0 = time.perf_counter()
        bpd = evaluate(net, val_set, limit, 100, world)
        n = min(limit, val_set.count)
        progress["lastValBitsPerDim"] = bpd
        if n == val_set.count and (progress["bestValBitsPerDim"] is None or bpd < progress["bestValBitsPerDim"]):
            progress["bestValBitsPerDim"] = bpd
        secs = time.perf_counter() - t0
        log("val", step=progress["step"], epoch=progress["epoch"], images=n, bitsPerDim=bpd, seconds=secs)
        say(f"  val ({n} images) {bpd:.4f} bits/dim  [{secs:.1f} s]")

    log("resume" if a.resume else "start", config=config, hyper=hyper, adam=adam_opts, seed=seed, trainer="pytorch",
        device=str(world.device), processes=world.size, threads=torch.get_num_threads(),
        amp=str(amp_dtype) if amp_dtype else None, stepsPerEpoch=steps_per_epoch, params=n_params, progress=progress)
    say(f"{'resuming' if a.resume else 'training'} (PyTorch {torch.__version__}): {n_params} weights, batch {B}, "
        f"{steps_per_epoch} steps/epoch, {world.size} process(es) on {world.device}, {torch.get_num_threads()} threads"
        + (f", autocast {amp_dtype}" if amp_dtype else "") + (f", from step {progress['step']}" if a.resume else ""))

    stop = {"requested": False}

    def on_signal(signum, _frame):
        stop["requested"] = True
        say(f"{signal.Signals(signum).name}: stopping after this update (checkpoint and weights follow)")

    old_handlers = [(s, signal.signal(s, on_signal)) for s in (signal.SIGINT, signal.SIGTERM)]

    shard = B // world.size
    order, order_epoch = epoch_order(seed, progress["epoch"], train_set.count), progress["epoch"]
    run_start = time.perf_counter()
    elapsed_at_start = progress["elapsedSeconds"]
    elapsed = lambda: elapsed_at_start + time.perf_counter() - run_start
    minutes_left = lambda: math.inf if a.minutes is None else a.minutes - elapsed() / 60
    stop_at_steps = a.minutes is None
    if stop_at_steps and progress["totalSteps"] is None:
        raise UsageError("give --epochs E, --minutes M or --steps N")
    steps_left = lambda: math.inf if not stop_at_steps else progress["totalSteps"] - progress["step"]
    last_ckpt = last_val = last_print = time.perf_counter()
    window = {"nats": 0.0, "images": 0, "t0": time.perf_counter(), "norm": 0.0, "steps": 0}
    images_this_run, plan_t0, steps_this_run = 0, None, 0
    stopped_by = "done"
    try:
        while steps_left() > 0 and minutes_left() > 0:
            if world.any(stop["requested"] or (a.stop_after is not None and steps_this_run >= a.stop_after)):
                stopped_by = "signal"
                break
            if order_epoch != progress["epoch"]:
                order, order_epoch = epoch_order(seed, progress["epoch"], train_set.count), progress["epoch"]
            first = progress["batchInEpoch"] * B
            idx = order[first : first + B]
            dropped = dropout_mask(seed, progress["step"], B, dropout)
            mine = slice(world.rank * shard, (world.rank + 1) * shard)
            x, h = to_batch(net, train_set, idx[mine], world.device, dropped[mine])
            if cuda:
                x = x.contiguous(memory_format=torch.channels_last)
            lr = learning_rate(hyper, progress["step"], progress["totalSteps"], progress.get("scheduleStart", 0))
            for g in opt.param_groups:
                g["lr"] = lr * g.get("scale", 1.0)
            with torch.autocast("cuda", dtype=amp_dtype, enabled=amp_dtype is not None):
                nats = model(x, h)  # [shard] nats per image
            # mean nats per sub-pixel of the GLOBAL batch; DDP averages over processes, so scale by their number
            loss = nats.sum() / (B * D) * world.size
            opt.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.unscale_(opt)
            grads = [p.grad for p in net.parameters() if p.grad is not None]
            norm = torch.sqrt(sum((g.double() ** 2).sum() for g in grads)).item()
            if not math.isfinite(norm):
                if amp_dtype == torch.float16:  # fp16 overflow: the scaler skips this update and lowers its scale
                    scaler.update()
                    continue
                raise RuntimeError(f"gradient norm is {norm} at step {progress['step']}")
            clip = hyper["clipNorm"]
            if clip > 0 and norm > clip:
                for g in grads:
                    g.mul_(clip / norm)
            scaler.step(opt)
            scaler.update()
            batch_nats = world.sum(nats.detach().double().sum().item())
            if not math.isfinite(batch_nats):
                raise RuntimeError(f"training loss is {batch_nats} at step {progress['step']}")
            progress["step"] += 1
            progress["batchInEpoch"] += 1
            progress["imagesSeen"] += B
            progress["elapsedSeconds"] = elapsed()
            images_this_run += B
            steps_this_run += 1
            window["nats"] += batch_nats
            window["images"] += B
            window["norm"] += norm
            window["steps"] += 1

            # --minutes without --epochs: after 30 timed updates fix the schedule's length from the speed
            if a.epochs is None and a.steps is None and a.minutes is not None and progress["totalSteps"] is None:
                if plan_t0 is None:
                    plan_t0 = time.perf_counter()
                elif images_this_run >= 31 * B:
                    sec_per_step = (time.perf_counter() - plan_t0) / 30 * 1.05
                    progress["totalSteps"] = progress["step"] + max(1, int(minutes_left() * 60 / sec_per_step))
                    log("plan", totalSteps=progress["totalSteps"], secondsPerStep=sec_per_step)

            now = time.perf_counter()
            if a.progress_seconds == 0 or now - last_print >= a.progress_seconds:
                secs = now - window["t0"]
                ips = window["images"] / secs
                bpd = window["nats"] / (window["images"] * D * math.log(2))
                eta = min(steps_left() * secs / window["steps"], minutes_left() * 60)
                tot = "?" if progress["totalSteps"] is None else f"{progress['totalSteps'] / steps_per_epoch:.1f}"
                val = progress["lastValBitsPerDim"]
                say(f"epoch {progress['epoch'] + 1}/{tot} step {progress['step']}"
                    + (f"/{progress['totalSteps']}" if progress["totalSteps"] else "")
                    + f" | {ips:.1f} img/s | loss {bpd:.4f} bits/dim | lr {lr:.2e} | val {'-' if val is None else f'{val:.4f}'}"
                    + f" | ETA {format_duration(eta)}")
                log("progress", step=progress["step"], epoch=progress["epoch"], batchInEpoch=progress["batchInEpoch"],
                    imagesPerSecond=ips, trainBitsPerDim=bpd, lr=lr, gradNorm=window["norm"] / window["steps"],
                    elapsedSeconds=progress["elapsedSeconds"], etaSeconds=eta if math.isfinite(eta) else None)
                window = {"nats": 0.0, "images": 0, "t0": now, "norm": 0.0, "steps": 0}
                last_print = now

            validated_full = False
            if progress["batchInEpoch"] >= steps_per_epoch:
                progress["epoch"] += 1
                progress["batchInEpoch"] = 0
                validate(val_set.count)
                validated_full = True
                last_val = time.perf_counter()
            elif a.val_minutes > 0 and world.any(time.perf_counter() - last_val >= a.val_minutes * 60):
                validate(a.val_subset)
                last_val = time.perf_counter()
            by_time = world.any(time.perf_counter() - last_ckpt >= a.checkpoint_minutes * 60)
            by_steps = a.checkpoint_steps > 0 and progress["step"] % a.checkpoint_steps == 0
            if by_time or by_steps or validated_full:
                save_state("time" if by_time else "steps" if by_steps else "epoch")
                last_ckpt = time.perf_counter()
        if saved_at != progress["step"]:
            save_state("signal" if stopped_by == "signal" else "end")
    finally:
        for s, hnd in old_handlers:
            signal.signal(s, hnd)
    ips_run = images_this_run / max(time.perf_counter() - run_start, 1e-9)
    log("stopped" if stopped_by == "signal" else "end", progress=progress, imagesPerSecondThisRun=ips_run)
    say(f"{'stopped' if stopped_by == 'signal' else 'finished'} at step {progress['step']} "
        f"(epoch {progress['step'] / steps_per_epoch:.2f}); checkpoint {ckpt_path}, weights {a.out}")
    result = {"steps": progress["step"], "epochs": progress["step"] / steps_per_epoch, "stoppedBy": stopped_by,
              "imagesPerSecond": ips_run, "lastValBitsPerDim": progress["lastValBitsPerDim"],
              "bestValBitsPerDim": progress["bestValBitsPerDim"], "checkpoint": ckpt_path, "out": a.out}
    if world.main:
        print(json.dumps(result), flush=True)
    return result


def main():
    try:
        train()
    except UsageError as e:
        print(f"train:torch: {e}", file=sys.stderr)
        sys.exit(2)
    except (ValueError, RuntimeError, OSError) as e:
        print(f"train:torch: error: {str(e).splitlines()[0] if str(e) else type(e).__name__}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
