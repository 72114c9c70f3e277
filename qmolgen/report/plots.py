"""Training-curve figure of a run, from its metrics.jsonl records."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from qmolgen.outputs import atomic_path  # noqa: E402

LOSSES = ("loss_critic", "loss_generator", "wasserstein")


def plot_training_curves(records: list[dict], path: str | Path) -> None:
    """Losses (left) and every other per-epoch metric in [0, 1] (right) against the epoch."""
    if not records:
        return
    epochs = [r["epoch"] for r in records]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    for key in LOSSES:
        if key in records[0]:
            left.plot(epochs, [r[key] for r in records], marker=".", label=key)
    left.set(xlabel="epoch", title="losses (epoch means)")
    left.legend()
    skip = set(LOSSES) | {"epoch", "step", "train_seconds", "gp"}
    for key in records[0]:
        if key not in skip:
            right.plot(epochs, [r.get(key) for r in records], marker=".", label=key)
    right.set(xlabel="epoch", ylim=(0, 1.02), title="sample metrics")
    right.legend(fontsize=8)
    fig.tight_layout()
    with atomic_path(path, force=True) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)
