"""Runs a benchmark's cells, each in its own process (benchmark/cell.py), one at a time or `jobs` at once.

A cell whose folder already holds final_metrics.json is finished and kept, so an interrupted sweep resumes
where it stopped; a cell that fails leaves its error in error.txt and the sweep goes on with the others.
With several jobs each run gets an equal share of the CPU cores as torch threads, so that parallel runs
don't fight over them (each run records its thread count in final_metrics.json as cpu_threads).
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path

from qmolgen.benchmark.plan import Cell
from qmolgen.outputs import write_text

log = logging.getLogger("qmolgen")

ERROR_FILE = "error.txt"
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")  # what torch reads for its CPU thread count


def cell_folder(out: Path, cell: Cell) -> Path:
    return out / cell.recipe / cell.name


def threads_per_run(jobs: int) -> int:
    return max(1, (os.cpu_count() or 1) // jobs)


def run_sweep(cells: list[Cell], out: Path, jobs: int = 1) -> dict[str, int]:
    """Run every unfinished cell, `jobs` at a time; returns counts of cells finished now, kept from before, and
    failed. One job leaves the thread count to torch (or to OMP_NUM_THREADS when set)."""
    env = None
    if jobs > 1:
        env = {**os.environ, **{name: str(threads_per_run(jobs)) for name in THREAD_VARIABLES}}
        log.info("%d runs at a time, %d CPU threads each", jobs, threads_per_run(jobs))
    labelled = [(f"[{i}/{len(cells)}] {cell.recipe} {cell.name}", cell) for i, cell in enumerate(cells, 1)]
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        outcomes = list(pool.map(lambda item: _run_cell(*item, out, env), labelled))
    return {outcome: outcomes.count(outcome) for outcome in ("finished", "kept", "failed")}


def _run_cell(where: str, cell: Cell, out: Path, env: dict | None) -> str:
    folder = cell_folder(out, cell)
    if (folder / "final_metrics.json").is_file():
        log.info("%s: finished before, kept", where)
        return "kept"
    folder.mkdir(parents=True, exist_ok=True)
    write_text(folder / "cell.json", json.dumps(asdict(cell), indent=2) + "\n", force=True)
    (folder / ERROR_FILE).unlink(missing_ok=True)
    log.info("%s: running", where)
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "qmolgen.benchmark.cell", str(folder)], env=env, check=False,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    seconds = time.perf_counter() - start
    if result.returncode == 0 and (folder / "final_metrics.json").is_file():
        log.info("%s: done in %.0f s", where, seconds)
        return "finished"
    tail = "\n".join(result.stderr.strip().splitlines()[-30:])
    write_text(folder / ERROR_FILE, f"exit status {result.returncode} after {seconds:.0f} s\n{tail}\n", force=True)
    log.warning("%s: FAILED (exit %d); the error is in %s; going on", where, result.returncode,
                folder / ERROR_FILE)
    return "failed"
