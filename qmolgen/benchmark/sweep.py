"""Runs a benchmark's cells, each in its own process (benchmark/cell.py), on a backend:

    local  a pool of `jobs` runs at a time on this machine (the default);
    ray    every cell a Ray task declaring its CPUs (its torch thread count), on a local Ray instance or the
           cluster at `address` (`pip install -e ".[ray]"`).

A cell whose folder already holds final_metrics.json is finished and kept, so an interrupted sweep resumes where
it stopped (a killed run continues from its checkpoint); a cell that fails leaves its error in error.txt and the
sweep goes on with the others. With several jobs each run gets an equal share of the CPU cores as torch
threads, so that parallel runs don't fight over them (each run records its thread count in final_metrics.json
as cpu_threads). On a cluster the output folder must be storage every node sees at the same path (NFS, a
mounted bucket): cells write their run folders there, and the driver checks that each result arrived. Progress
(cells done, running, failed, and the time left at the mean pace so far) is logged as cells finish.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path

from qmolgen.benchmark.cell import PARENT_VARIABLE
from qmolgen.benchmark.plan import Cell
from qmolgen.errors import ConfigError
from qmolgen.outputs import write_text

log = logging.getLogger("qmolgen")

ERROR_FILE = "error.txt"
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")  # what torch reads for its CPU thread count


def cell_folder(out: Path, cell: Cell) -> Path:
    """Where a cell's run folder lives under the benchmark's output folder."""
    return out / cell.recipe / cell.name


def threads_per_run(jobs: int) -> int:
    """Torch threads each of `jobs` parallel cells gets, so that together they use the CPUs once."""
    return max(1, (os.cpu_count() or 1) // jobs)


BACKENDS = ("local", "ray")


class Progress:
    """Cells done / running / failed and the estimated time left, logged after every cell."""

    def __init__(self, total: int, parallel: int):
        self.total, self.parallel, self.start = total, max(parallel, 1), time.perf_counter()
        self.outcomes: list[str] = []
        self.run_seconds: list[float] = []

    def record(self, outcome: str, seconds: float | None = None) -> None:
        """Count one cell's outcome and log the sweep's progress with the time left (from finished cells)."""
        self.outcomes.append(outcome)
        if outcome != "kept" and seconds is not None:
            self.run_seconds.append(seconds)
        left = self.total - len(self.outcomes)
        eta = ""
        if left and self.run_seconds:
            eta = f", about {_duration(left * sum(self.run_seconds) / len(self.run_seconds) / self.parallel)} left"
        log.info("sweep: %d of %d cells done (%d failed), %d running%s", len(self.outcomes), self.total,
                 self.outcomes.count("failed"), min(left, self.parallel), eta)


def _duration(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds >= 90 else f"{seconds:.0f} s"


def run_sweep(cells: list[Cell], out: Path, jobs: int = 1, backend: str = "local",
              address: str | None = None) -> dict[str, int]:
    """Run every unfinished cell, `jobs` at a time, on `backend` (module docstring); returns counts of cells
    finished now, kept from before, and failed. One job leaves the thread count to torch (or to OMP_NUM_THREADS
    when set)."""
    if backend not in BACKENDS:
        raise ConfigError(f"--backend must be one of {', '.join(BACKENDS)}; got {backend!r}")
    env = None
    if jobs > 1:
        env = {**os.environ, **{name: str(threads_per_run(jobs)) for name in THREAD_VARIABLES}}
        log.info("%d runs at a time, %d CPU threads each", jobs, threads_per_run(jobs))
    labelled = [(f"[{i}/{len(cells)}] {cell.recipe} {cell.name}", cell) for i, cell in enumerate(cells, 1)]
    if backend == "ray":
        outcomes = _run_on_ray(labelled, out, jobs, env, address)
    else:
        progress = Progress(len(cells), jobs)

        def run(item):
            outcome, seconds = _run_cell(*item, out, env)
            progress.record(outcome, seconds)
            return outcome

        with ThreadPoolExecutor(max_workers=jobs) as pool:
            outcomes = list(pool.map(run, labelled))
    return {outcome: outcomes.count(outcome) for outcome in ("finished", "kept", "failed")}


def _run_on_ray(labelled: list[tuple[str, Cell]], out: Path, jobs: int, env: dict | None,
                address: str | None) -> list[str]:
    """Every cell a Ray task with its resources declared; results gathered as they finish."""
    try:
        import ray
    except ImportError:
        raise ConfigError("--backend ray needs Ray: pip install -e \".[ray]\" (or pip install 'ray==2.60.*')") from None
    started_here = not ray.is_initialized()
    if started_here:
        # Without an address: a local instance sized to this machine; with one: join that cluster.
        ray.init(address=address, include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING,
                 **({} if address else {"num_cpus": os.cpu_count()}))
    try:
        cpus = threads_per_run(jobs) if jobs > 1 else (os.cpu_count() or 1)
        total_cpus = ray.cluster_resources().get("CPU", cpus)
        # A cluster with GPUs shares them among the cells that run at once (train.device=auto trains on CUDA
        # where the cell's worker sees one); without GPUs the cells ask for none.
        gpus = ray.cluster_resources().get("GPU", 0)
        gpus_per_cell = min(1.0, gpus / max(1, total_cpus // cpus)) if gpus else 0
        task = ray.remote(num_cpus=cpus, num_gpus=gpus_per_cell, max_retries=0)(_run_cell_on_ray_node)
        log.info("Ray: %d cells, %d CPU%s%s each, on %s", len(labelled), cpus, "s" if cpus > 1 else "",
                 f" and {gpus_per_cell:g} GPU" if gpus_per_cell else "", address or "a local instance")
        progress = Progress(len(labelled), int(total_cpus // cpus))
        pending = {task.remote(where, cell, out.resolve(), env): (where, cell) for where, cell in labelled}
        outcomes = []
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            where, cell = pending.pop(done[0])
            try:
                outcome, seconds = ray.get(done[0])
            except ray.exceptions.RayError as exc:  # the worker died: the cell keeps its checkpoint for a rerun
                outcome, seconds = "failed", None
                write_text(cell_folder(out, cell) / ERROR_FILE, f"Ray task failed: {exc}\n", force=True)
            if outcome == "finished" and not (cell_folder(out, cell) / "final_metrics.json").is_file():
                outcome = "failed"
                write_text(cell_folder(out, cell) / ERROR_FILE, "the cell finished on a Ray worker but its results "
                           f"are not in {out} here: on a cluster --out must be shared storage every node sees at "
                           "the same path\n", force=True)
            log.info("%s: %s", where, outcome if seconds is None else f"{outcome} in {seconds:.0f} s")
            progress.record(outcome, seconds)
            outcomes.append(outcome)
        return outcomes
    finally:
        if started_here:
            ray.shutdown()


def _run_cell_on_ray_node(where: str, cell: Cell, out: Path, env: dict | None) -> tuple[str, float | None]:
    """A Ray task: record which node and host run the cell (node.json in its folder), then run it."""
    import ray

    if not (cell_folder(out, cell) / "final_metrics.json").is_file():
        cell_folder(out, cell).mkdir(parents=True, exist_ok=True)
        node = {"ray_node_id": ray.get_runtime_context().get_node_id(), "hostname": socket.gethostname()}
        write_text(cell_folder(out, cell) / "node.json", json.dumps(node, indent=2) + "\n", force=True)
    return _run_cell(where, cell, out, env)


def _run_cell(where: str, cell: Cell, out: Path, env: dict | None) -> tuple[str, float | None]:
    """Run one cell in a child process; returns its outcome (finished, kept or failed) and its seconds."""
    folder = cell_folder(out, cell)
    if (folder / "final_metrics.json").is_file():
        log.info("%s: finished before, kept", where)
        return "kept", None
    folder.mkdir(parents=True, exist_ok=True)
    write_text(folder / "cell.json", json.dumps(asdict(cell), indent=2) + "\n", force=True)
    (folder / ERROR_FILE).unlink(missing_ok=True)
    log.info("%s: running", where)
    start = time.perf_counter()
    env = {**(env or os.environ), PARENT_VARIABLE: str(os.getpid())}  # the cell stops if this process dies
    result = subprocess.run([sys.executable, "-m", "qmolgen.benchmark.cell", str(folder)], env=env, check=False,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    seconds = time.perf_counter() - start
    if result.returncode == 0 and (folder / "final_metrics.json").is_file():
        log.info("%s: done in %.0f s", where, seconds)
        return "finished", seconds
    tail = "\n".join(result.stderr.strip().splitlines()[-30:])
    write_text(folder / ERROR_FILE, f"exit status {result.returncode} after {seconds:.0f} s\n{tail}\n", force=True)
    log.warning("%s: FAILED (exit %d); the error is in %s; going on", where, result.returncode,
                folder / ERROR_FILE)
    return "failed", seconds
