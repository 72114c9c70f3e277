"""Random seeds, set and drawn in one place: every run records the seed it used."""

from __future__ import annotations

import random

import numpy as np
import torch


def seed_everything(seed: int) -> None:
    """Seed Python's, NumPy's and torch's global generators."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def draw_seed() -> int:
    """A fresh seed from the operating system, for a run or sampling call that was given none (then logged)."""
    return random.SystemRandom().randrange(2**31)
