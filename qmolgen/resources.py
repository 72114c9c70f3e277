"""Where the shipped recipes, datasets and pretrained models live: inside the installed wheel, or at the
top of a source checkout (editable installs)."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def _shipped(name: str) -> Path:
    inside = _PACKAGE / name  # the wheel force-includes the folder here
    return inside if inside.is_dir() else _PACKAGE.parent / name


def recipes_dir() -> Path:
    """Folder of the shipped recipes."""
    return _shipped("recipes")


def datasets_dir() -> Path:
    """Folder of the shipped datasets."""
    return _shipped("datasets")


def pretrained_dir() -> Path:
    """Folder of the shipped pretrained models."""
    return _shipped("pretrained")
