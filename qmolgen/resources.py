"""Where the shipped recipes, datasets and pretrained models live: inside the installed wheel, or at the
top of a source checkout (editable installs)."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def _shipped(name: str) -> Path:
    inside = _PACKAGE / name  # the wheel force-includes the folder here
    return inside if inside.is_dir() else _PACKAGE.parent / name


def recipes_dir() -> Path:
    return _shipped("recipes")


def datasets_dir() -> Path:
    return _shipped("datasets")


def pretrained_dir() -> Path:
    return _shipped("pretrained")
