"""Image datasets: scikit-learn's bundled 8x8 digits (all ten classes) with a fixed, seeded, stratified
train/test split, and the checks every image array passes before it is used or scored."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qmolgen.errors import DataError

SHIPPED = ("digits",)
IMAGE_SHAPE = (8, 8)
TEST_FRACTION = 0.2
SPLIT_SEED = 0  # fixed: the shipped digits classifier was trained on this split's train part only
PIXEL_MAX = 16.0  # the bundled digits hold integer grey levels 0..16


@dataclass
class ImageData:
    """Images as float32 (N, 8, 8) in [0, 1], their class labels, and the index of each split."""

    images: np.ndarray
    labels: np.ndarray
    split: dict[str, np.ndarray]

    def subset(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """Images and labels of one split (train, valid or test)."""
        idx = self.split[name]
        return self.images[idx], self.labels[idx]


def load_images(path: str = "digits") -> ImageData:
    """The shipped `digits` data, split 80/20 with every class in both parts in its own proportion, or your
    own 8x8 grey images from a .npy file (see check_images), split 80/20 at random (seed SPLIT_SEED) and
    unlabelled (labels -1). Metrics use the digits classifier's features, so they are most meaningful for
    digit-like images.

    Raises:
        DataError: `path` is neither `digits` nor a readable .npy file of images, or holds fewer than 10.
    """
    from sklearn.model_selection import train_test_split

    if path in SHIPPED:
        from sklearn.datasets import load_digits

        digits = load_digits()
        images = (digits.images / PIXEL_MAX).astype(np.float32)
        labels = digits.target.astype(np.int64)
        stratify = labels
    elif str(path).lower().endswith(".npy"):
        images = read_images(path)
        labels, stratify = np.full(len(images), -1, dtype=np.int64), None
        if len(images) < 10:
            raise DataError(f"{path}: only {len(images)} images; at least 10 are needed to train and evaluate")
    else:
        raise DataError(f"image data {path!r} is not known: give data.path=digits (scikit-learn's bundled 8x8 "
                        f"digits) or a .npy array of 8x8 grey images in [0, 1]")
    train, test = train_test_split(np.arange(len(images)), test_size=TEST_FRACTION, random_state=SPLIT_SEED,
                                   stratify=stratify)
    return ImageData(images, labels, {"train": np.sort(train), "test": np.sort(test)})


def write_image_file(data, folder: Path) -> Path:
    """In-memory images (checked by check_images) as data.npy in `folder`, the file load_images reads."""
    images = check_images(data, "the images given")
    path = Path(folder) / "data.npy"
    from qmolgen.outputs import atomic_path

    with atomic_path(path) as tmp:
        with tmp.open("wb") as handle:
            np.save(handle, images, allow_pickle=False)
    return path


def check_images(array, where: str) -> np.ndarray:
    """`array` as float32 (N, 8, 8) in [0, 1]; (N, 64) and (N, 1, 8, 8) are accepted too.

    Raises:
        DataError: wrong shape, not numeric, NaN/inf, or values outside [0, 1] (with how to fix each).
    """
    array = np.asarray(array)
    if array.dtype.kind not in "biuf":
        raise DataError(f"{where}: images must be a numeric array; got dtype {array.dtype}")
    shape = array.shape
    if array.ndim == 2 and shape[1] == 64:
        array = array.reshape(-1, *IMAGE_SHAPE)
    elif array.ndim == 4 and shape[1] == 1:
        array = array[:, 0]
    if array.ndim != 3 or array.shape[1:] != IMAGE_SHAPE:
        raise DataError(f"{where}: expected an array of 8x8 grey images, shaped (N, 8, 8), (N, 64) or "
                        f"(N, 1, 8, 8); got shape {shape}")
    if len(array) == 0:
        raise DataError(f"{where}: the array holds no images")
    array = array.astype(np.float32)
    bad = ~np.isfinite(array)
    if bad.any():
        raise DataError(f"{where}: {int(bad.any(axis=(1, 2)).sum())} of {len(array)} images contain NaN or inf")
    low, high = float(array.min()), float(array.max())
    if low < 0 or high > 1:
        hint = (" (it looks like raw 0..16 digits: divide by 16)" if low >= 0 and high <= PIXEL_MAX else
                " (scale the pixels to [0, 1], e.g. (x - min) / (max - min))")
        raise DataError(f"{where}: pixel values must lie in [0, 1]; found {low:.4g}..{high:.4g}{hint}")
    return array


def read_images(path: str | Path) -> np.ndarray:
    """A .npy file of images, checked by `check_images`. Pickled object arrays are refused, never loaded.

    Raises:
        DataError: not a readable .npy file, or not valid images.
    """
    path = Path(path)
    if path.suffix.lower() != ".npy":
        raise DataError(f"{path}: images are read from a .npy array file")
    try:
        array = np.load(path, allow_pickle=False)
    except ValueError as exc:
        raise DataError(f"{path}: not a plain numeric .npy array ({exc})") from exc
    except OSError as exc:
        raise DataError(f"{path}: cannot read it as a .npy file ({exc})") from exc
    return check_images(array, str(path))
