"""Writing generated images: a .npy array of (N, 8, 8) pixels in [0, 1] and a PNG grid beside it."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from qmolgen.errors import ConfigError, OutputExistsError
from qmolgen.outputs import atomic_path

FORMATS = (".png", ".npy")


def grid_image(images: np.ndarray, per_row: int | None = None, gap: int = 1, fill: float = 0.25) -> np.ndarray:
    """One grey picture of all images in rows, separated by `gap` pixels of grey level `fill`."""
    n, h, w = images.shape
    per_row = per_row or math.ceil(math.sqrt(n))
    rows = math.ceil(n / per_row)
    canvas = np.full((rows * (h + gap) + gap, per_row * (w + gap) + gap), fill, dtype=np.float32)
    for i, image in enumerate(images):
        r, c = divmod(i, per_row)
        canvas[gap + r * (h + gap):gap + r * (h + gap) + h, gap + c * (w + gap):gap + c * (w + gap) + w] = image
    return canvas


def write_grid(images: np.ndarray, path: str | Path, force: bool = False, scale: int = 8) -> None:
    """PNG of the grid, digits drawn dark on light as in scikit-learn's plots, each pixel `scale` wide."""
    from PIL import Image

    canvas = 1.0 - grid_image(images)
    pixels = np.kron(canvas, np.ones((scale, scale), dtype=np.float32))
    with atomic_path(path, force) as tmp:
        Image.fromarray((pixels * 255).round().astype(np.uint8), mode="L").save(tmp, format="PNG")


def write_images(images: np.ndarray, path: str, force: bool = False) -> str:
    """Write the array and the grid: `-o x.png` gives x.png and x.npy, `-o x.npy` the same pair.
    Returns a one-line summary. Neither file is written if either exists and force is False."""
    target = Path(path)
    if target.suffix.lower() not in FORMATS:
        raise ConfigError(f"cannot write {path!r}: images are written as .png (grid) or .npy (array), which "
                          "also writes the other beside it")
    array_path, grid_path = target.with_suffix(".npy"), target.with_suffix(".png")
    existing = [str(p) for p in (array_path, grid_path) if p.exists()]
    if existing and not force:
        raise OutputExistsError(f"{', '.join(existing)} already exist(s); pass --force to overwrite or choose "
                                "another -o path")
    with atomic_path(array_path, force=True) as tmp:
        with open(tmp, "wb") as handle:  # np.save would append .npy to the temporary name
            np.save(handle, images.astype(np.float32), allow_pickle=False)
    write_grid(images, grid_path, force=True)
    return f"wrote {len(images)} images to {array_path} and their grid to {grid_path}"
