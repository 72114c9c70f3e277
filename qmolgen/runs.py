"""Run folders and checkpoints.

A run folder holds config.yaml (the resolved config, seed included), metrics.jsonl (one line per epoch),
checkpoints/last.pt (everything needed to resume, rewritten atomically after every epoch), model.pt (the
trained generator, self-contained) and the final metrics and figures. Checkpoints are loaded with
torch.load(weights_only=True): they hold tensors and plain Python values only, never pickled objects.
"""

from __future__ import annotations

import json
import platform
import zipfile
from datetime import datetime
from pathlib import Path

import torch
import yaml

import qmolgen
from qmolgen.errors import CheckpointError
from qmolgen.outputs import atomic_path, write_text

MODEL_FORMAT = "qmolgen-model"
TRAINING_FORMAT = "qmolgen-training-state"
FORMAT_VERSION = 1


def versions() -> dict:
    """The versions that made a checkpoint (qmolgen, torch, PennyLane, RDKit, Python), saved inside it."""
    import pennylane
    import rdkit

    # str(): torch.__version__ is a TorchVersion object, which a weights_only load refuses.
    return {"qmolgen": qmolgen.__version__, "torch": str(torch.__version__), "pennylane": str(pennylane.__version__),
            "rdkit": str(rdkit.__version__), "python": platform.python_version()}


def save_checkpoint(payload: dict, path: str | Path, kind: str) -> None:
    """torch.save `payload` plus format tags, atomically (a crash never leaves a half-written file)."""
    payload = {"format": kind, "format_version": FORMAT_VERSION, "versions": versions(), **payload}
    with atomic_path(path, force=True) as tmp:
        torch.save(payload, tmp)


def load_checkpoint(path: str | Path, kind: str) -> dict:
    """Load a checkpoint written by save_checkpoint, with clear errors for anything else.

    Raises:
        CheckpointError: missing, truncated, corrupt, not a qmolgen file, or of the wrong kind.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, EOFError, zipfile.BadZipFile, ValueError, OSError) as exc:
        raise CheckpointError(f"{path} is not a readable checkpoint (truncated or corrupt?): {exc}") from exc
    except Exception as exc:  # weights_only refuses arbitrary pickled objects with UnpicklingError
        raise CheckpointError(f"{path} holds objects a qmolgen checkpoint never contains; refusing to load it "
                              f"({type(exc).__name__})") from exc
    if not isinstance(payload, dict) or payload.get("format") not in (MODEL_FORMAT, TRAINING_FORMAT):
        raise CheckpointError(f"{path} is not a qmolgen checkpoint (no qmolgen format tag)")
    if payload["format"] != kind:
        raise CheckpointError(f"{path} is a {payload['format']} file; expected a {kind}")
    if payload.get("format_version", 0) > FORMAT_VERSION:
        raise CheckpointError(f"{path} was written by a newer qmolgen (format {payload['format_version']}); upgrade")
    return payload


class RunFolder:
    """One training run's folder (see module docstring)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    @staticmethod
    def default_path(config: dict) -> Path:
        """runs/RECIPE-KIND-TIMESTAMP, where a run goes when no folder is given."""
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        return Path("runs") / f"{config['recipe']}-{config.get('generator', {}).get('kind', 'model')}-{stamp}"

    @classmethod
    def create(cls, config: dict, out: str | None = None, force: bool = False) -> "RunFolder":
        """A new run folder at `out` (default_path when None) holding config.yaml.

        Raises:
            CheckpointError: `out` exists and is not empty, and force is False.
        """
        path = Path(out if out is not None else cls.default_path(config))
        if path.exists() and any(path.iterdir()) and not force:
            raise CheckpointError(f"run folder {path} already exists and is not empty; use --resume {path} to "
                                  "continue it, --force to start over in it, or another --out")
        (path / "checkpoints").mkdir(parents=True, exist_ok=True)
        run = cls(path)
        run.write_config(config)
        if (run.path / "metrics.jsonl").exists():
            (run.path / "metrics.jsonl").unlink()
        return run

    @classmethod
    def open(cls, path: str | Path) -> "RunFolder":
        """An existing run folder (one with config.yaml), e.g. to resume it.

        Raises:
            CheckpointError: `path` is not a run folder.
        """
        run = cls(path)
        if not (run.path / "config.yaml").is_file():
            raise CheckpointError(f"{path} is not a qmolgen run folder (no config.yaml)")
        return run

    def config(self) -> dict:
        """The run's resolved config (config.yaml)."""
        return yaml.safe_load((self.path / "config.yaml").read_text())

    def write_config(self, config: dict) -> None:
        """Write config.yaml (atomically)."""
        write_text(self.path / "config.yaml", yaml.safe_dump(config, sort_keys=False), force=True)

    @property
    def last_checkpoint(self) -> Path:
        """checkpoints/last.pt: the training state after the last completed epoch."""
        return self.path / "checkpoints" / "last.pt"

    @property
    def model_path(self) -> Path:
        """model.pt: the trained generator, written when the run finishes."""
        return self.path / "model.pt"

    def append_metrics(self, record: dict) -> None:
        """Add one epoch's record to metrics.jsonl."""
        with (self.path / "metrics.jsonl").open("a") as handle:
            handle.write(json.dumps(record) + "\n")

    def metrics(self) -> list[dict]:
        """Every epoch's record from metrics.jsonl (empty before the first epoch ends)."""
        path = self.path / "metrics.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]

    def truncate_metrics(self, epochs: int) -> None:
        """Keep the records of the first `epochs` epochs (those the checkpoint being resumed has seen)."""
        kept = [r for r in self.metrics() if r["epoch"] <= epochs]
        write_text(self.path / "metrics.jsonl", "".join(json.dumps(r) + "\n" for r in kept), force=True)

    def write_json(self, name: str, obj) -> None:
        """Write `obj` as indented JSON to the file `name` in the run folder (atomically)."""
        write_text(self.path / name, json.dumps(obj, indent=2) + "\n", force=True)
