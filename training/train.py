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

Reading order: run_training is the loop (get_batch, learning_rate, train_step, then progress,
validation and checkpoints when due); setup and each piece of the loop follow it. Widening a
trained model (--nullable, --spatial-channels) is surgery.py's.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import signal
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone

import numpy as np
import torch
import torch.distributed as dist

from .autoencoder import ae_config, from_pixelcnn
from .config import ConfigError, cond_base_dim, dims, make_config, param_specs
from .data import DataError, ImageSet, load_data, oversample, quantize, wears_glasses
from .model import PixelCNN, bits_per_dim
from .presets import DEFAULT_ADAM, PRESETS, get_preset
from .rng import dropout_mask, epoch_order
from .surgery import SurgeryError, add_null_slot, widen_condition_map
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


# ---- flags ----

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
    p.add_argument("--oversample-glasses", type=int, metavar="K", help="with --data faces: training images that wear glasses (or a face mask) appear K times an epoch (give it again on --resume)")
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
    args = p.parse_args(argv)
    for k in ("epochs", "minutes", "lr", "checkpoint_minutes", "code_lr_scale"):
        v = getattr(args, k)
        if v is not None and not (v > 0 and math.isfinite(v)):
            raise UsageError(f"--{k.replace('_', '-')}: expected a number > 0, got {v}")
    for k in ("steps", "batch", "val_subset", "train_limit", "val_limit", "threads", "spatial_channels", "autoencoder", "code_map", "oversample_glasses"):
        v = getattr(args, k)
        if v is not None and v < 1:
            raise UsageError(f"--{k.replace('_', '-')}: expected an integer >= 1, got {v}")
    if args.cond_dropout is not None and not (0 <= args.cond_dropout <= 1):
        raise UsageError(f"--cond-dropout: expected a number from 0 to 1, got {args.cond_dropout}")
    if sum(x is not None for x in (args.epochs, args.minutes, args.steps)) > 1:
        raise UsageError("give one of --epochs, --minutes or --steps")
    if args.epochs is None and args.minutes is None and args.steps is None and not args.resume:
        raise UsageError("give --epochs E, --minutes M or --steps N")
    if sum(x is not None for x in (args.preset, args.config, args.init)) > 1:
        raise UsageError("give one of --preset, --config or --init")
    if (args.autoencoder is not None or args.code_map is not None) and not args.init:
        raise UsageError("--autoencoder: needs --init (the trained PixelCNN the decoder starts from)")
    if args.code_map is not None and args.autoencoder is None:
        raise UsageError("--code-map: needs --autoencoder")
    if args.autoencoder is not None:
        try:
            args.encoder_channels = [int(v) for v in args.encoder_channels.split(",")]
        except ValueError:
            raise UsageError(f"--encoder-channels: expected integers separated by commas, got {args.encoder_channels!r}") from None
    if args.spatial_channels is not None and not args.init:
        raise UsageError("--spatial-channels: needs --init (a preset or --config sets spatialChannels itself)")
    if args.oversample_glasses is not None and args.data != "faces":
        raise UsageError("--oversample-glasses: needs --data faces")
    return args


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


def choose_model(args) -> tuple[dict, dict, dict | None]:
    """(config, hyper, initial weights or None)."""
    weights = None
    base = get_preset("mnist")["train"]
    if args.init:
        try:
            config, weights, _ = load_model_folder(args.init)
        except WeightsError as e:
            raise UsageError(f"--init: {e}") from None
        hyper = dict(base)
    elif args.config:
        config, train = _read_config_file(args.config)
        hyper = {**base, **train}
    else:
        try:
            pre = get_preset(args.preset or "mnist")
        except KeyError as e:
            raise UsageError(str(e.args[0])) from None
        config, hyper = pre["model"], pre["train"]
    c = config["conditioning"]
    if args.cond == "none":
        config = make_config(**{**config, "conditioning": {"type": "none"}})
    elif args.cond == "class" and c["type"] != "class":
        config = make_config(**{**config, "conditioning": {"type": "class", "classes": 10}})
    if args.autoencoder is not None:
        try:
            new = ae_config(config, args.autoencoder, args.encoder_channels, args.code_map,
                            args.cond_dropout if args.cond_dropout is not None else 0.1)
        except ConfigError as e:
            raise UsageError(f"--autoencoder: {e}") from None
        weights = from_pixelcnn(config, weights, new, args.seed or 0)
        config = new
    elif args.nullable or args.cond_dropout:
        if weights is None:
            weights = PixelCNN(config, seed=args.seed or 0).named_weights()
            weights = {k: v.detach().numpy() for k, v in weights.items()}
        try:
            config, weights = add_null_slot(config, weights, args.cond_dropout if args.cond_dropout is not None else 0.1)
        except SurgeryError as e:
            raise UsageError(f"--nullable: {e}") from None
    if args.spatial_channels is not None:
        try:
            config, weights = widen_condition_map(config, weights, args.spatial_channels, args.seed if args.seed is not None else 1)
        except SurgeryError as e:
            raise UsageError(f"--spatial-channels: {e}") from None
    if args.batch:
        hyper["batchSize"] = args.batch
    if args.lr:
        hyper["lr"] = args.lr
    if args.warmup is not None:
        hyper["warmupSteps"] = args.warmup
    if args.code_lr_scale is not None:
        if not config.get("encoder"):
            raise UsageError("--code-lr-scale: the model has no encoder (config.encoder)")
        hyper["codeLrScale"] = args.code_lr_scale
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


# ---- the run's state ----

_PROGRESS_KEYS = {"step": "step", "epoch": "epoch", "batch_in_epoch": "batchInEpoch", "images_seen": "imagesSeen",
                  "elapsed_seconds": "elapsedSeconds", "total_steps": "totalSteps",
                  "last_val_bpd": "lastValBitsPerDim", "best_val_bpd": "bestValBitsPerDim"}


@dataclass
class Progress:
    """Where the run stands, across resumes. The checkpoint and the log keep it as a dict with
    the TypeScript trainer's keys (as_dict), so either trainer's tools read the other's."""
    step: int = 0
    epoch: int = 0
    batch_in_epoch: int = 0
    images_seen: int = 0
    elapsed_seconds: float = 0.0
    total_steps: int | None = None
    last_val_bpd: float | None = None
    best_val_bpd: float | None = None
    extra: dict = field(default_factory=dict)  # keys this trainer does not write (scheduleStart), kept as read

    @property
    def schedule_start(self) -> int:
        """The update the learning-rate schedule began at: a grown checkpoint restarts it."""
        return self.extra.get("scheduleStart", 0)

    def as_dict(self) -> dict:
        return {key: getattr(self, name) for name, key in _PROGRESS_KEYS.items()} | self.extra

    @classmethod
    def from_dict(cls, d: dict) -> Progress:
        known = {key: name for name, key in _PROGRESS_KEYS.items()}
        return cls(**{known[k]: v for k, v in d.items() if k in known},
                   extra={k: v for k, v in d.items() if k not in known})


@dataclass
class Start:
    """What a run starts from: a new model (weights None: the seed's init) or a checkpoint."""
    config: dict
    hyper: dict
    adam: dict
    seed: int
    weights: dict | None
    checkpoint: dict | None = None


class Log:
    """The run's JSON-lines train.log (what npm run curve draws) and its lines on stderr; only the
    main process writes either."""

    def __init__(self, world: World, path: str):
        self.main, self.path = world.main, path

    def event(self, event: str, **fields):
        if self.main:
            line = {"time": datetime.now(timezone.utc).isoformat().replace("+00:00", "Z"), "event": event, **fields}
            with open(self.path, "a") as f:
                f.write(json.dumps(line) + "\n")

    def say(self, text: str):
        if self.main:
            print(text, file=sys.stderr, flush=True)


@dataclass
class Run:
    """A run as set up: the loop reads all of it and changes only `progress` (and the model)."""
    args: argparse.Namespace
    world: World
    log: Log
    checkpoint_path: str
    config: dict
    hyper: dict
    adam: dict
    seed: int
    train_set: ImageSet
    val_set: ImageSet
    net: PixelCNN
    model: torch.nn.Module  # net, or net wrapped for DDP
    opt: torch.optim.Adam
    scaler: torch.cuda.amp.GradScaler
    amp_dtype: torch.dtype | None  # autocast's on CUDA, None on CPU
    progress: Progress
    steps_per_epoch: int
    n_params: int

    @property
    def batch(self) -> int:
        return self.hyper["batchSize"]

    @property
    def dims(self) -> int:
        return dims(self.config)

    @property
    def cond_dropout(self) -> float:
        return float(self.config["conditioning"].get("dropout") or 0)


@dataclass
class Window:
    """The updates since the last progress line, which it averages over."""
    t0: float
    nats: float = 0.0
    images: int = 0
    norm: float = 0.0
    steps: int = 0


@dataclass
class Stretch:
    """This process's stretch of the run (not checkpointed): its clock and what it has done."""
    start: float  # time.perf_counter() at the loop's start
    elapsed_at_start: float  # the run's seconds before this stretch (progress.elapsed_seconds)
    last_checkpoint: float
    last_val: float
    last_print: float
    window: Window
    steps: int = 0
    images: int = 0
    saved_at: int = -1  # progress.step of the last checkpoint
    plan_t0: float | None = None  # when the updates timed for the schedule's length began

    @classmethod
    def starting(cls, progress: Progress) -> Stretch:
        now = time.perf_counter()
        return cls(start=now, elapsed_at_start=progress.elapsed_seconds, last_checkpoint=now, last_val=now,
                   last_print=now, window=Window(t0=now))

    def elapsed(self) -> float:
        """The run's training seconds, across resumes."""
        return self.elapsed_at_start + time.perf_counter() - self.start


@dataclass
class StopRequest:
    requested: bool = False


class EpochOrder:
    """The training images' order in an epoch, drawn from (seed, epoch) when the epoch changes."""

    def __init__(self, seed: int, count: int):
        self.seed, self.count, self.epoch, self.order = seed, count, None, None

    def of(self, epoch: int) -> np.ndarray:
        if epoch != self.epoch:
            self.order, self.epoch = epoch_order(self.seed, epoch, self.count), epoch
        return self.order


# ---- the run ----

def train(argv=None) -> dict:
    args = parse_args(argv if argv is not None else sys.argv[1:])
    world = World(args.device)
    try:
        return run_training(args, world)
    finally:
        world.close()


def run_training(args, world: World) -> dict:
    """Update until the run's length, its minutes or a stop request ends it; checkpoint on the way."""
    run = setup(args, world)
    announce(run)
    if args.minutes is None and run.progress.total_steps is None:
        raise UsageError("give --epochs E, --minutes M or --steps N")
    p = run.progress
    order = EpochOrder(run.seed, run.train_set.count)
    stretch = Stretch.starting(p)
    stopped_by = "done"
    with stop_requests(run.log) as stop:
        while steps_left(run) > 0 and minutes_left(run, stretch) > 0:
            if world.any(stop.requested or (args.stop_after is not None and stretch.steps >= args.stop_after)):
                stopped_by = "signal"
                break
            x, h = get_batch(run, order.of(p.epoch))
            lr = learning_rate(run.hyper, p.step, p.total_steps, p.schedule_start)
            update = train_step(run, x, h, lr)
            if update is None:
                continue  # fp16 overflow: the scaler skipped this update and lowered its scale
            batch_nats, norm = update
            record_step(run, stretch, batch_nats, norm)
            plan_length(run, stretch)
            report_progress(run, stretch, lr)
            epoch_ended = p.batch_in_epoch >= run.steps_per_epoch
            if epoch_ended:
                p.epoch += 1
                p.batch_in_epoch = 0
            validate_when_due(run, stretch, epoch_ended)
            checkpoint_when_due(run, stretch, epoch_ended)
        if stretch.saved_at != p.step:
            save_checkpoint(run, stretch, "signal" if stopped_by == "signal" else "end")
    return finish(run, stretch, stopped_by)


# ---- setting up ----

def setup(args, world: World) -> Run:
    torch.manual_seed(0)
    local = int(os.environ.get("LOCAL_WORLD_SIZE", world.size))
    torch.set_num_threads(args.threads or max(1, (os.cpu_count() or 1) // local))
    state_dir = args.state or (args.out.rstrip("/\\") + ".train")
    checkpoint_path = os.path.join(state_dir, CHECKPOINT_FILE)
    if world.main:
        os.makedirs(state_dir, exist_ok=True)
    start = starting_point(args, checkpoint_path)
    config, hyper, ck = start.config, start.hyper, start.checkpoint
    train_set, val_set = load_sets(args, config)
    if ck and (ck["data"]["name"] != args.data or ck["data"]["trainCount"] != train_set.count):
        raise UsageError(
            f"--resume: checkpoint was trained on {ck['data']['name']} ({ck['data']['trainCount']} images), not {args.data} ({train_set.count})"
        )
    B = hyper["batchSize"]
    if B % world.size:
        raise UsageError(f"batch {B} does not split evenly over {world.size} processes")
    steps_per_epoch = train_set.count // B
    if steps_per_epoch < 1:
        raise UsageError(f"batch size {B} is larger than the {train_set.count} training images")
    # the model and its optimiser, both as the checkpoint left them when resuming
    cuda = world.device.type == "cuda"
    net = PixelCNN(config, weights=start.weights, seed=start.seed).to(world.device)
    if cuda:
        net = net.to(memory_format=torch.channels_last)
    model = torch.nn.parallel.DistributedDataParallel(net) if world.size > 1 else net
    adam = start.adam
    opt = torch.optim.Adam(param_groups(net, hyper), lr=hyper["lr"], betas=(adam["beta1"], adam["beta2"]), eps=adam["eps"])
    amp_dtype = (torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16) if cuda else None
    scaler = torch.cuda.amp.GradScaler(enabled=amp_dtype == torch.float16)
    if ck:
        opt.load_state_dict(ck["optimizer"])
    progress = Progress.from_dict(ck["progress"]) if ck else Progress()
    if args.epochs is not None:
        progress.total_steps = round(args.epochs * steps_per_epoch)
    if args.steps is not None:
        progress.total_steps = args.steps
    return Run(args=args, world=world, log=Log(world, os.path.join(state_dir, LOG_FILE)), checkpoint_path=checkpoint_path,
               config=config, hyper=hyper, adam=adam, seed=start.seed, train_set=train_set, val_set=val_set,
               net=net, model=model, opt=opt, scaler=scaler, amp_dtype=amp_dtype, progress=progress,
               steps_per_epoch=steps_per_epoch, n_params=sum(int(np.prod(s)) for _, s, _ in param_specs(config)))


def starting_point(args, checkpoint_path: str) -> Start:
    """A resumed run's checkpoint (refusing a different model asked for), or the model the flags choose."""
    if args.resume:
        ck = load_checkpoint(checkpoint_path)
        if args.preset or args.config or args.init:
            asked, _, _ = choose_model(args)
            if json.dumps(asked, sort_keys=True) != json.dumps(ck["config"], sort_keys=True):
                raise UsageError(f"--resume: {checkpoint_path} holds a different model config than the one asked for")
        return Start(ck["config"], ck["hyper"], ck["adam"], ck["seed"], ck["weights"], ck)
    if os.path.exists(checkpoint_path):
        raise UsageError(f"{checkpoint_path} exists: pass --resume to continue it, or choose another --out")
    config, hyper, weights = choose_model(args)
    return Start(config, hyper, dict(DEFAULT_ADAM), args.seed or 0, weights)


def load_sets(args, config: dict) -> tuple[ImageSet, ImageSet]:
    """The training and validation images, quantised to the model's levels and checked against it."""
    try:
        train_set = load_data(args.data, "train", args.faces).head(args.train_limit)
        if args.oversample_glasses is not None:
            glasses = wears_glasses(args.faces, "train")[: train_set.count]
            train_set = oversample(train_set, glasses, args.oversample_glasses)
        val_set = load_data(args.data, "val", args.faces).head(args.val_limit)
    except DataError as e:
        raise UsageError(str(e)) from None
    train_set.images = quantize(train_set.images, config["levels"])
    val_set.images = quantize(val_set.images, config["levels"])
    check_data(config, train_set, "training data")
    check_data(config, val_set, "validation data")
    return train_set, val_set


def announce(run: Run):
    args, world, p = run.args, run.world, run.progress
    threads = torch.get_num_threads()
    run.log.event("resume" if args.resume else "start", config=run.config, hyper=run.hyper, adam=run.adam, seed=run.seed,
                  trainer="pytorch", device=str(world.device), processes=world.size, threads=threads,
                  amp=str(run.amp_dtype) if run.amp_dtype else None, stepsPerEpoch=run.steps_per_epoch,
                  params=run.n_params, progress=p.as_dict())
    run.log.say(f"{'resuming' if args.resume else 'training'} (PyTorch {torch.__version__}): {run.n_params} weights, batch {run.batch}, "
                f"{run.steps_per_epoch} steps/epoch, {world.size} process(es) on {world.device}, {threads} threads"
                + (f", autocast {run.amp_dtype}" if run.amp_dtype else "") + (f", from step {p.step}" if args.resume else ""))


@contextmanager
def stop_requests(log: Log):
    """SIGINT and SIGTERM ask the loop to stop after the current update, so the run ends on a checkpoint."""
    stop = StopRequest()

    def on_signal(signum, _frame):
        stop.requested = True
        log.say(f"{signal.Signals(signum).name}: stopping after this update (checkpoint and weights follow)")

    old_handlers = [(s, signal.signal(s, on_signal)) for s in (signal.SIGINT, signal.SIGTERM)]
    try:
        yield stop
    finally:
        for s, handler in old_handlers:
            signal.signal(s, handler)


# ---- one update ----

def minutes_left(run: Run, stretch: Stretch) -> float:
    return math.inf if run.args.minutes is None else run.args.minutes - stretch.elapsed() / 60


def steps_left(run: Run) -> float:
    # --minutes stops by time only; totalSteps then just sets the length of the decay
    return math.inf if run.args.minutes is not None else run.progress.total_steps - run.progress.step


def get_batch(run: Run, order: np.ndarray):
    """This process's share of the next global batch, conditions dropped as (seed, step) says."""
    p, B, world = run.progress, run.batch, run.world
    first = p.batch_in_epoch * B
    idx = order[first : first + B]
    dropped = dropout_mask(run.seed, p.step, B, run.cond_dropout)
    shard = B // world.size
    mine = slice(world.rank * shard, (world.rank + 1) * shard)
    x, h = to_batch(run.net, run.train_set, idx[mine], world.device, dropped[mine])
    if world.device.type == "cuda":
        x = x.contiguous(memory_format=torch.channels_last)
    return x, h


def train_step(run: Run, x: torch.Tensor, h, lr: float) -> tuple[float, float] | None:
    """One Adam update at rate lr: (the global batch's nats, the gradient norm before clipping),
    or None when an fp16 overflow made the scaler skip it."""
    opt, scaler, world = run.opt, run.scaler, run.world
    for g in opt.param_groups:
        g["lr"] = lr * g.get("scale", 1.0)
    with torch.autocast("cuda", dtype=run.amp_dtype, enabled=run.amp_dtype is not None):
        nats = run.model(x, h)  # [shard] nats per image
    # mean nats per sub-pixel of the GLOBAL batch; DDP averages over processes, so scale by their number
    loss = nats.sum() / (run.batch * run.dims) * world.size
    opt.zero_grad(set_to_none=True)
    scaler.scale(loss).backward()
    scaler.unscale_(opt)
    grads = [p.grad for p in run.net.parameters() if p.grad is not None]
    norm = torch.sqrt(sum((g.double() ** 2).sum() for g in grads)).item()
    if not math.isfinite(norm):
        if run.amp_dtype == torch.float16:
            scaler.update()
            return None
        raise RuntimeError(f"gradient norm is {norm} at step {run.progress.step}")
    clip = run.hyper["clipNorm"]
    if clip > 0 and norm > clip:
        for g in grads:
            g.mul_(clip / norm)
    scaler.step(opt)
    scaler.update()
    batch_nats = world.sum(nats.detach().double().sum().item())
    if not math.isfinite(batch_nats):
        raise RuntimeError(f"training loss is {batch_nats} at step {run.progress.step}")
    return batch_nats, norm


def record_step(run: Run, stretch: Stretch, batch_nats: float, norm: float):
    p, B = run.progress, run.batch
    p.step += 1
    p.batch_in_epoch += 1
    p.images_seen += B
    p.elapsed_seconds = stretch.elapsed()
    stretch.images += B
    stretch.steps += 1
    stretch.window.nats += batch_nats
    stretch.window.images += B
    stretch.window.norm += norm
    stretch.window.steps += 1


def plan_length(run: Run, stretch: Stretch):
    """--minutes alone: after 30 timed updates, fix the schedule's length from the speed (5% to spare
    for validation and checkpoints)."""
    args, p = run.args, run.progress
    if not (args.epochs is None and args.steps is None and args.minutes is not None and p.total_steps is None):
        return
    if stretch.plan_t0 is None:
        stretch.plan_t0 = time.perf_counter()
    elif stretch.images >= 31 * run.batch:
        sec_per_step = (time.perf_counter() - stretch.plan_t0) / 30 * 1.05
        p.total_steps = p.step + max(1, int(minutes_left(run, stretch) * 60 / sec_per_step))
        run.log.event("plan", totalSteps=p.total_steps, secondsPerStep=sec_per_step)


# ---- progress, validation, checkpoints ----

def report_progress(run: Run, stretch: Stretch, lr: float):
    """A progress line and log event every --progress-seconds, averaged over the updates since the last."""
    now = time.perf_counter()
    if not (run.args.progress_seconds == 0 or now - stretch.last_print >= run.args.progress_seconds):
        return
    p, w = run.progress, stretch.window
    secs = now - w.t0
    ips = w.images / secs
    bpd = w.nats / (w.images * run.dims * math.log(2))
    eta = min(steps_left(run) * secs / w.steps, minutes_left(run, stretch) * 60)
    epochs = "?" if p.total_steps is None else f"{p.total_steps / run.steps_per_epoch:.1f}"
    val = p.last_val_bpd
    run.log.say(f"epoch {p.epoch + 1}/{epochs} step {p.step}"
                + (f"/{p.total_steps}" if p.total_steps else "")
                + f" | {ips:.1f} img/s | loss {bpd:.4f} bits/dim | lr {lr:.2e} | val {'-' if val is None else f'{val:.4f}'}"
                + f" | ETA {format_duration(eta)}")
    run.log.event("progress", step=p.step, epoch=p.epoch, batchInEpoch=p.batch_in_epoch, imagesPerSecond=ips,
                  trainBitsPerDim=bpd, lr=lr, gradNorm=w.norm / w.steps, elapsedSeconds=p.elapsed_seconds,
                  etaSeconds=eta if math.isfinite(eta) else None)
    stretch.window = Window(t0=now)
    stretch.last_print = now


def validate_when_due(run: Run, stretch: Stretch, epoch_ended: bool):
    """The whole validation split at an epoch's end; its first --val-subset images every --val-minutes."""
    args = run.args
    if epoch_ended:
        validate(run, run.val_set.count)
    elif args.val_minutes > 0 and run.world.any(time.perf_counter() - stretch.last_val >= args.val_minutes * 60):
        validate(run, args.val_subset)
    else:
        return
    stretch.last_val = time.perf_counter()


def validate(run: Run, limit: int):
    p = run.progress
    t0 = time.perf_counter()
    bpd = evaluate(run.net, run.val_set, limit, 100, run.world)
    n = min(limit, run.val_set.count)
    p.last_val_bpd = bpd
    if n == run.val_set.count and (p.best_val_bpd is None or bpd < p.best_val_bpd):
        p.best_val_bpd = bpd
    secs = time.perf_counter() - t0
    run.log.event("val", step=p.step, epoch=p.epoch, images=n, bitsPerDim=bpd, seconds=secs)
    run.log.say(f"  val ({n} images) {bpd:.4f} bits/dim  [{secs:.1f} s]")


def checkpoint_when_due(run: Run, stretch: Stretch, epoch_ended: bool):
    """A checkpoint every --checkpoint-minutes, every --checkpoint-steps updates and at each epoch's end."""
    args = run.args
    by_time = run.world.any(time.perf_counter() - stretch.last_checkpoint >= args.checkpoint_minutes * 60)
    by_steps = args.checkpoint_steps > 0 and run.progress.step % args.checkpoint_steps == 0
    if by_time or by_steps or epoch_ended:
        save_checkpoint(run, stretch, "time" if by_time else "steps" if by_steps else "epoch")
        stretch.last_checkpoint = time.perf_counter()


def save_checkpoint(run: Run, stretch: Stretch, reason: str):
    """checkpoint.pt (everything --resume needs) and the model folder at --out, from the main process."""
    args, p = run.args, run.progress
    stretch.saved_at = p.step
    if not run.world.main:
        return
    weights = {k: v.detach().cpu().float().numpy() for k, v in run.net.named_weights().items()}
    _atomic_torch_save({
        "version": CHECKPOINT_VERSION, "config": run.config, "hyper": run.hyper, "adam": run.adam, "seed": run.seed,
        "data": {"name": args.data, "trainCount": run.train_set.count}, "progress": p.as_dict(),
        "weights": weights, "optimizer": run.opt.state_dict(), "savedAt": datetime.now(timezone.utc).isoformat(),
    }, run.checkpoint_path)
    save_model_folder(args.out, run.config, weights, args.dtype, metadata={**recommended_settings(args.out),
        "trainedSteps": p.step, "trainedImages": p.images_seen,
        "trainedSeconds": round(p.elapsed_seconds), "epochs": p.step / run.steps_per_epoch,
        "valBitsPerDim": p.last_val_bpd, "data": args.data, "seed": run.seed, "trainer": "pytorch",
    })
    run.log.event("checkpoint", reason=reason, step=p.step, file=run.checkpoint_path)


def recommended_settings(model_dir: str) -> dict:
    """What the model's makers set by hand (recommendedGuidance, ...): it survives retraining into the same folder."""
    try:
        with open(os.path.join(model_dir, "model.json")) as f:
            return {k: v for k, v in (json.load(f).get("metadata") or {}).items() if k.startswith("recommended")}
    except (OSError, ValueError, AttributeError):
        return {}


def finish(run: Run, stretch: Stretch, stopped_by: str) -> dict:
    """The end event and line, and the run's summary as one JSON line on stdout."""
    p = run.progress
    ips_run = stretch.images / max(time.perf_counter() - stretch.start, 1e-9)
    run.log.event("stopped" if stopped_by == "signal" else "end", progress=p.as_dict(), imagesPerSecondThisRun=ips_run)
    run.log.say(f"{'stopped' if stopped_by == 'signal' else 'finished'} at step {p.step} "
                f"(epoch {p.step / run.steps_per_epoch:.2f}); checkpoint {run.checkpoint_path}, weights {run.args.out}")
    result = {"steps": p.step, "epochs": p.step / run.steps_per_epoch, "stoppedBy": stopped_by,
              "imagesPerSecond": ips_run, "lastValBitsPerDim": p.last_val_bpd,
              "bestValBitsPerDim": p.best_val_bpd, "checkpoint": run.checkpoint_path, "out": run.args.out}
    if run.world.main:
        print(json.dumps(result), flush=True)
    return result


def main(argv=None):
    try:
        train(argv)
    except UsageError as e:
        print(f"train:torch: {e}", file=sys.stderr)
        sys.exit(2)
    except (ValueError, RuntimeError, OSError) as e:
        print(f"train:torch: error: {str(e).splitlines()[0] if str(e) else type(e).__name__}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
