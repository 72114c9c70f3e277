"""Memory benchmark (not a test): peak resident memory of `qmolgen train moses`, phase by phase, against the
molecules issue's 4 GB target.

    .venv/bin/python benchmarks/moses_memory.py [--ae-steps 50] [--epochs 2] [--samples 30000] [--cold]

It runs the recipe on all of its data (200,000 training molecules, MOSES's test sets) with fewer autoencoder
steps and GAN epochs than the recipe's (the data, the networks and the batch sizes, what memory depends on, stay
the recipe's), and the full final evaluation of 30,000 samples. Every 0.5 s it reads the main process's RSS
and the PSS of it and its workers together, charged to the phase running then (data loading, autoencoder,
codes + GAN, final evaluation).
--cold uses an empty cache folder, so the reference statistics (MOSES's test sets: FCD, fingerprints,
fragments, scaffolds) are computed in the run, as on a user's first run; otherwise the user's cache serves them.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

TARGET_MB = 4096
# What the run prints when a phase ends -> the phase that then begins (memory is charged to the running phase).
PHASES = (("data:", "autoencoder"), ("autoencoder epoch", "codes + GAN"), ("epoch", "GAN epochs"),
          ("final evaluation", "final evaluation"))


def proportional_mb(pid: int) -> float:
    """A process's proportional set size (PSS): pages it shares with forked workers count once among them."""
    with open(f"/proc/{pid}/smaps_rollup") as handle:
        for line in handle:
            if line.startswith("Pss:"):
                return int(line.split()[1]) / 1024
    return 0.0


def footprint_mb(process: psutil.Process) -> tuple[float, float]:
    """(the main process's RSS, the whole tree's PSS) in MB. Summing RSS over forked workers (FCD's data loader)
    would count their shared pages twice."""
    total = 0.0
    for p in [process, *process.children(recursive=True)]:
        try:
            total += proportional_mb(p.pid)
        except (FileNotFoundError, ProcessLookupError, psutil.NoSuchProcess):
            pass
    return process.memory_info().rss / 2**20, total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ae-steps", type=int, default=50, help="autoencoder steps (one epoch)")
    parser.add_argument("--epochs", type=int, default=2, help="GAN epochs")
    parser.add_argument("--samples", type=int, default=30_000, help="final samples (MOSES's protocol: 30,000)")
    parser.add_argument("--cold", action="store_true", help="an empty cache: reference statistics computed in the run")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}  # phase lines must arrive when printed
        if args.cold:
            env["QMOLGEN_CACHE_DIR"] = str(Path(folder) / "cache")
        command = [sys.executable, "-m", "qmolgen", "train", "moses", "seed=0", "--out", str(Path(folder) / "run"),
                   "autoencoder.epochs=1", f"autoencoder.steps_per_epoch={args.ae_steps}",
                   f"train.epochs={args.epochs}", f"evaluate.final_samples={args.samples}"]
        print(" ".join(command[1:]), flush=True)
        start = time.perf_counter()
        child = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        phase, peaks, seen = "loading data", {}, {}  # phase -> [main RSS, tree PSS] peaks
        done = threading.Event()

        def sample() -> None:
            watched = psutil.Process(child.pid)
            while not done.is_set():
                try:
                    now = footprint_mb(watched)
                except psutil.NoSuchProcess:
                    return
                peaks[phase] = [max(a, b) for a, b in zip(peaks.get(phase, (0.0, 0.0)), now)]
                done.wait(0.5)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        tail = []
        for line in child.stdout:
            tail = (tail + [line])[-40:]
            print(line, end="", flush=True)
            for prefix, name in PHASES:
                if line.startswith(prefix) and name != phase:
                    rss, pss = peaks.get(phase, (0.0, 0.0))  # shown as each phase ends, so a stopped run says something
                    print(f"[memory] {phase}: peak main RSS {rss:.0f} MB, all PSS {pss:.0f} MB", flush=True)
                    phase = name
                    seen.setdefault(name, time.perf_counter() - start)
        code = child.wait()
        done.set()
        sampler.join()
        if code != 0:
            raise SystemExit(f"the run failed (exit {code}):\n{''.join(tail)}")
    print(f"\n{'phase':<18} {'starts at s':>11} {'main RSS MB':>12} {'all PSS MB':>11} {'/ 4 GB':>7}")
    for name in ["loading data", *[n for _, n in PHASES]]:
        if name in peaks:
            rss, pss = peaks[name]
            print(f"{name:<18} {seen.get(name, 0.0):>11.0f} {rss:>12.0f} {pss:>11.0f} {max(rss, pss) / TARGET_MB:>7.2f}")
    top = max(max(p) for p in peaks.values())
    print(f"\npeak {top:.0f} MB = {top / TARGET_MB:.2f} x the 4 GB target; {time.perf_counter() - start:.0f} s in all"
          f" ({'cold' if args.cold else 'warm'} cache)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
