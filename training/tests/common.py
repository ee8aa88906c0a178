"""What the tests share: the repository's paths, and running the TypeScript side."""
from __future__ import annotations

import contextlib
import io
import json
import os
import socket
import subprocess
import sys
import tempfile
import traceback

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
TSX = os.path.join(ROOT, "node_modules", ".bin", "tsx")


def run_ts_jobs(jobs: list[dict]) -> None:
    """Runs scripts/torch-parity.ts on the jobs (one Node process for all of them)."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(jobs, f)
    try:
        r = subprocess.run([TSX, os.path.join(ROOT, "scripts", "torch-parity.ts"), f.name], cwd=ROOT, capture_output=True, text=True)
        if r.returncode != 0:
            raise AssertionError(f"torch-parity.ts failed: {r.stderr.strip()[-2000:]}")
    finally:
        os.unlink(f.name)


def run_trainer(args: list[str], env: dict | None = None, processes: int = 0) -> subprocess.CompletedProcess:
    """The trainer's main() with these arguments: its exit code, stdout and stderr. It runs in
    this process (a child process costs a second of torch's import each time, ~40 s a suite)
    unless env or processes asks for child processes. processes > 0 starts that many with the
    environment torchrun gives each (RANK, WORLD_SIZE, MASTER_ADDR, ...): Debian's torch 1.13
    torchrun fails on Python 3.11 in its own argument handling (Std.from_str("0") is None
    there), so the test does torchrun's part itself. test_trainer's SIGINT test runs
    `python -m training.train` as npm run train:torch does."""
    cmd = [sys.executable, "-m", "training.train", *args]
    if not processes and not env:
        return run_trainer_here(cmd, args)
    base = {**os.environ, **(env or {})}
    if not processes:
        return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=base)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    procs = []
    for rank in range(processes):
        e = {**base, "RANK": str(rank), "LOCAL_RANK": str(rank), "WORLD_SIZE": str(processes),
             "LOCAL_WORLD_SIZE": str(processes), "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port)}
        procs.append(subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=e))
    outs = [p.communicate(timeout=300) for p in procs]
    code = next((p.returncode for p in procs if p.returncode != 0), 0)
    return subprocess.CompletedProcess(cmd, code, outs[0][0], "".join(o[1] for o in outs))


def run_trainer_here(cmd: list[str], args: list[str]) -> subprocess.CompletedProcess:
    """training.train.main(args) in this process, as its child process would end: the exit
    code (1 and the traceback for an exception main() lets through), stdout and stderr."""
    import torch

    from training import train

    out, err = io.StringIO(), io.StringIO()
    threads = torch.get_num_threads()
    code = 0
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            train.main(args)
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    except Exception:  # noqa: BLE001 - an uncaught exception is what exit code 1 reports
        err.write(traceback.format_exc())
        code = 1
    finally:
        torch.set_num_threads(threads)  # --threads sets the process's count
    return subprocess.CompletedProcess(cmd, code, out.getvalue(), err.getvalue())
