"""A small on-disk cache for slow, deterministic results (encoded datasets, reference statistics).

Entries are .npz files of plain arrays, read with allow_pickle=False, written atomically, and keyed by
a hash of everything they depend on (input file contents, settings, qmolgen version), so a stale entry
is never read. The folder is $QMOLGEN_CACHE_DIR, else $XDG_CACHE_HOME/qmolgen, else ~/.cache/qmolgen;
deleting it is always safe.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np

import qmolgen
from qmolgen.outputs import atomic_path


def cache_dir() -> Path:
    """The cache folder: $QMOLGEN_CACHE_DIR, else $XDG_CACHE_HOME/qmolgen, else ~/.cache/qmolgen."""
    if os.environ.get("QMOLGEN_CACHE_DIR"):
        return Path(os.environ["QMOLGEN_CACHE_DIR"])
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "qmolgen"


def file_digest(path: Path) -> str:
    """SHA-256 of a file's bytes (read in 1 MB blocks), part of cache keys."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def library_versions(*packages: str) -> dict[str, str]:
    """Installed versions of the packages a cached result depends on (e.g. fcd, rdkit), for its key."""
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for name in packages:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "not installed"
    return found


def key(kind: str, **parts) -> str:
    """The cache entry name of `kind` computed from `parts` (file digests, settings, library versions)."""
    text = json.dumps({"kind": kind, "version": qmolgen.__version__, **parts}, sort_keys=True, default=str)
    return f"{kind}-{hashlib.sha256(text.encode()).hexdigest()[:24]}"


def load(name: str) -> dict[str, np.ndarray] | None:
    """The arrays stored under `name`, or None when absent or unreadable (then it is recomputed)."""
    path = cache_dir() / f"{name}.npz"
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            return {k: data[k] for k in data.files}
    except (OSError, ValueError):  # a damaged entry is recomputed, never trusted
        return None


def store(name: str, **arrays: np.ndarray) -> None:
    """Store arrays under `name` atomically; a cache folder that cannot be written is skipped with a log line."""
    path = cache_dir() / f"{name}.npz"
    try:
        with atomic_path(path, force=True) as tmp:
            with tmp.open("wb") as handle:
                np.savez(handle, **arrays)
    except OSError:  # a read-only home must not stop a run: the result is simply not cached
        pass
