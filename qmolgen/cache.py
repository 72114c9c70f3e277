"""A small on-disk cache for slow, deterministic results (encoded datasets, reference statistics).

Entries are .npz files of plain arrays, read with allow_pickle=False, written atomically, and keyed by
a hash of everything they depend on (input file contents, settings, qmolgen version), so a stale entry
is never read. Concurrent runs (`qmolgen benchmark --jobs N` on a fresh machine) compute an entry once:
the first takes the entry's lock file, the others wait for it and then read what it stored. The folder is
$QMOLGEN_CACHE_DIR, else $XDG_CACHE_HOME/qmolgen, else ~/.cache/qmolgen; deleting it is always safe.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

import qmolgen
from qmolgen.outputs import atomic_path

try:
    import fcntl
except ImportError:  # not POSIX (Windows): no lock; concurrent runs may compute an entry twice, still correctly
    fcntl = None

log = logging.getLogger("qmolgen")


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


@contextmanager
def exclusive(name: str) -> Iterator[None]:
    """Hold entry `name`'s lock while computing it: another process computing the same entry makes this one
    wait (it should then load the entry before computing). Without a writable cache folder, no lock."""
    folder = cache_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle = (folder / f"{name}.lock").open("a")
    except OSError:
        yield
        return
    with handle:
        if fcntl is not None:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                log.info("cache: another qmolgen process is computing %s; waiting for it", name)
                fcntl.flock(handle, fcntl.LOCK_EX)
        yield  # the lock goes with the file handle, also when the computation raises


def computed(name: str, compute: Callable[[], dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """The arrays stored under `name`, computed by `compute()` and stored first when absent, once across
    concurrent processes."""
    hit = load(name)
    if hit is not None:
        return hit
    with exclusive(name):
        hit = load(name)  # another process may have stored it while this one waited
        if hit is None:
            hit = compute()
            store(name, **hit)
    return hit
