"""`qmolgen evaluate` for images: a .npy array of 8x8 images scored against a reference's test split."""

from __future__ import annotations

import logging
from pathlib import Path

from qmolgen.config import load_recipe
from qmolgen.errors import ConfigError
from qmolgen.images.data import load_images, read_images
from qmolgen.images.metrics import evaluate_images
from qmolgen.runs import RunFolder

log = logging.getLogger("qmolgen")


def evaluate_file(samples: str, reference: str = "digits") -> dict:
    """All image metrics (see images.metrics) for the images in a .npy file.

    `reference` is an image recipe name or run folder; its fixed test split is the real side.

    Raises:
        DataError: the file is not an array of 8x8 images in [0, 1].
        ConfigError: the reference is not an image recipe or run.
    """
    images = read_images(samples)
    path = Path(reference)
    config = RunFolder.open(path).config() if path.is_dir() else load_recipe(reference)
    if config.get("domain") != "images":
        raise ConfigError(f"reference {reference!r} is a {config.get('domain')} recipe or run; images are scored "
                          "against an image recipe or run, e.g. --reference digits")
    data = load_images(config["data"]["path"])
    test, _ = data.subset("test")
    log.info("scoring %d images from %s against the %d test images of %s", len(images), samples, len(test),
             config["data"]["path"])
    return evaluate_images(images, test)
