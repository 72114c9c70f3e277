"""Training-curve figure of a run, from its metrics.jsonl records."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from qmolgen.outputs import atomic_path  # noqa: E402

LOSSES = ("loss_critic", "loss_generator", "wasserstein")


def plot_training_curves(records: list[dict], path: str | Path, labels: dict[str, str] | None = None) -> None:
    """Losses (left), per-epoch metrics in [0, 1] (middle) and any others, e.g. FID, on a log scale (right);
    `labels` names metric keys that need a longer name (the domain's metrics.labels)."""
    labels = labels or {}
    if not records:
        return
    epochs = [r["epoch"] for r in records]
    skip = set(LOSSES) | {"epoch", "step", "train_seconds", "gp"}
    metrics = [k for k in records[0] if k not in skip]
    values = {k: [r.get(k) for r in records] for k in metrics}
    bounded = [k for k in metrics if all(v is None or 0 <= v <= 1 for v in values[k])]
    other = [k for k in metrics if k not in bounded]
    fig, axes = plt.subplots(1, 3 if other else 2, figsize=(16 if other else 11, 4))
    for key in LOSSES:
        if key in records[0]:
            axes[0].plot(epochs, [r[key] for r in records], marker=".", label=key)
    axes[0].set(xlabel="epoch", title="losses (epoch means)")
    axes[0].legend()
    for key in bounded:
        axes[1].plot(epochs, values[key], marker=".", label=key)
    axes[1].set(xlabel="epoch", ylim=(0, 1.02), title="sample metrics")
    axes[1].legend(fontsize=8)
    if other:
        for key in other:
            axes[2].plot(epochs, values[key], marker=".", label=labels.get(key, key))
        positive = all(v is None or v > 0 for k in other for v in values[k])
        axes[2].set(xlabel="epoch", yscale="log" if positive else "linear", title="sample metrics (unbounded)")
        axes[2].legend(fontsize=8)
    fig.tight_layout()
    with atomic_path(path, force=True) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)
