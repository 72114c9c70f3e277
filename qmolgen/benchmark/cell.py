"""Runs one benchmark cell in its own process, so that its peak memory is its own and its crash is only its
own: `python -m qmolgen.benchmark.cell FOLDER` reads FOLDER/cell.json and leaves FOLDER/final_metrics.json.

A qmolgen model trains into FOLDER as `qmolgen train` would (continuing from FOLDER's checkpoint when an
earlier attempt was killed); a peer (SDV, MST, AIM) is fitted and scored like one.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
import time
from pathlib import Path

import yaml

from qmolgen.config import load_config
from qmolgen.errors import QmolgenError
from qmolgen.outputs import write_text


def run_cell(folder: Path) -> None:
    """Train the cell described by folder/cell.json in this process and write its results beside it
    (the Ray and local backends both run cells through here)."""
    from qmolgen.model import resources_used, train
    from qmolgen.seeding import seed_everything

    cell = json.loads((folder / "cell.json").read_text())
    config = load_config(cell["recipe"], cell["overrides"])
    if cell["peer"] is None:
        resumable = (folder / "config.yaml").is_file() and (folder / "checkpoints" / "last.pt").is_file()
        train(None if resumable else config, out=str(folder), resume=str(folder) if resumable else None,
              force=True, progress=False)
        return
    from qmolgen.baselines import fit_and_score, peer_model_name

    seed_everything(config["seed"])
    metrics = fit_and_score(config, cell["peer"], config["seed"], cell["peer_options"])
    metrics.update(resources_used())
    run_config = {**config, "generator": {"kind": peer_model_name(cell["peer"]), "options": cell["peer_options"]}}
    write_text(folder / "config.yaml", yaml.safe_dump(run_config, sort_keys=False), force=True)
    write_text(folder / "final_metrics.json", json.dumps(metrics, indent=2) + "\n", force=True)


PARENT_VARIABLE = "QMOLGEN_PARENT_PID"  # the sweep process's id, set by the sweep for each cell it starts


def exit_when_orphaned(interval: float = 2.0) -> None:
    """End this process (exit status 143, as for SIGTERM) once the process that started it is gone: a sweep
    stopped with `kill` must not leave its cells training on. The cell's checkpoint is written atomically, so
    a rerun of the sweep resumes it. The parent is the one named in $QMOLGEN_PARENT_PID (a parent that died
    while this process was starting is noticed too), else the current one."""
    parent = int(os.environ.get(PARENT_VARIABLE) or os.getppid())

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(interval)
        try:
            print("cell: the process that started this cell is gone, so it stops here; rerun the sweep (the same "
                  "--out) to resume it from its checkpoint", file=sys.stderr, flush=True)
        except OSError:  # stderr was a pipe the sweep read: gone with it (an uncaught error would end the thread
            pass         # here and leave the cell training)
        finally:
            os._exit(143)

    threading.Thread(target=watch, name="exit-when-orphaned", daemon=True).start()


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, format="%(message)s", stream=sys.stderr)
    exit_when_orphaned()
    try:
        run_cell(Path(sys.argv[1]))
    except QmolgenError as exc:  # a user-facing problem: its message is the whole story (unexpected ones get a traceback)
        print(f"Error: {exc}", file=sys.stderr)
        sys.exit(1)
