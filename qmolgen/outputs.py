"""Writing output files safely: never over an existing file without force, never a half-written file."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from qmolgen.errors import OutputExistsError


@contextlib.contextmanager
def atomic_path(path: str | Path, force: bool = False):
    """Yield a temporary path beside `path`; on success it is renamed over `path` in one step.

    Raises:
        OutputExistsError: `path` exists and force is False.
    """
    path = Path(path)
    if path.exists() and not force:
        raise OutputExistsError(f"{path} already exists; pass --force to overwrite it or choose another -o path")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600 files; outputs get the usual permissions
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text(path: str | Path, text: str, force: bool = False) -> None:
    """Write text atomically; an existing file needs force=True."""
    with atomic_path(path, force) as tmp:
        tmp.write_text(text)
