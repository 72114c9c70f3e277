"""Runs a benchmark's cells one after another, each in its own process (benchmark/cell.py).

A cell whose folder already holds final_metrics.json is finished and kept, so an interrupted sweep resumes
where it stopped; a cell that fails leaves its error in error.txt and the sweep goes on with the next.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path

from qmolgen.benchmark.plan import Cell
from qmolgen.outputs import write_text

log = logging.getLogger("qmolgen")

ERROR_FILE = "error.txt"


def cell_folder(out: Path, cell: Cell) -> Path:
    return out / cell.recipe / cell.name


def run_sweep(cells: list[Cell], out: Path) -> dict[str, int]:
    """Run every unfinished cell; returns counts of cells finished now, kept from before, and failed."""
    counts = {"finished": 0, "kept": 0, "failed": 0}
    for i, cell in enumerate(cells, 1):
        folder = cell_folder(out, cell)
        where = f"[{i}/{len(cells)}] {cell.recipe} {cell.name}"
        if (folder / "final_metrics.json").is_file():
            counts["kept"] += 1
            log.info("%s: finished before, kept", where)
            continue
        folder.mkdir(parents=True, exist_ok=True)
        write_text(folder / "cell.json", json.dumps(asdict(cell), indent=2) + "\n", force=True)
        (folder / ERROR_FILE).unlink(missing_ok=True)
        log.info("%s: running", where)
        start = time.perf_counter()
        result = subprocess.run([sys.executable, "-m", "qmolgen.benchmark.cell", str(folder)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        seconds = time.perf_counter() - start
        if result.returncode == 0 and (folder / "final_metrics.json").is_file():
            counts["finished"] += 1
            log.info("%s: done in %.0f s", where, seconds)
            continue
        counts["failed"] += 1
        tail = "\n".join(result.stderr.strip().splitlines()[-30:])
        write_text(folder / ERROR_FILE, f"exit status {result.returncode} after {seconds:.0f} s\n{tail}\n", force=True)
        log.warning("%s: FAILED (exit %d); the error is in %s; going on", where, result.returncode,
                    folder / ERROR_FILE)
    return counts
