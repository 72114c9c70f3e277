"""Writing synthetic tables (CSV or Parquet by extension, with the SDV metadata JSON beside them) and a
picture of each column's distribution, synthetic against real."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from qmolgen.errors import ConfigError, OutputExistsError
from qmolgen.outputs import atomic_path

FORMATS = (".csv", ".parquet")


def metadata_path(path: str | Path) -> Path:
    """synthetic.csv -> synthetic.metadata.json"""
    path = Path(path)
    return path.with_name(path.stem + ".metadata.json")


def write_table(table: pd.DataFrame, metadata: dict, path: str | None, force: bool = False) -> str:
    """Write `table` to `path` (.csv or .parquet) and its metadata beside it, or CSV to stdout when path is
    None. Neither file is written if either exists and force is False. Returns a one-line summary."""
    if not path:
        table.to_csv(sys.stdout, index=False)
        return f"wrote {len(table)} rows to stdout"
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix not in FORMATS:
        raise ConfigError(f"cannot write {path!r}: tables are written as .csv or .parquet")
    meta = metadata_path(target)
    existing = [str(p) for p in (target, meta) if p.exists()]
    if existing and not force:
        raise OutputExistsError(f"{', '.join(existing)} already exist(s); pass --force to overwrite or choose "
                                "another -o path")
    with atomic_path(target, force=True) as tmp:
        if suffix == ".csv":
            table.to_csv(tmp, index=False)
        else:
            table.to_parquet(tmp, index=False)
    with atomic_path(meta, force=True) as tmp:
        tmp.write_text(json.dumps(metadata, indent=2) + "\n")
    return f"wrote {len(table)} rows to {target} and its metadata to {meta}"


def write_distributions(synthetic: pd.DataFrame, real: pd.DataFrame | None, transformer, path: str | Path,
                        most: int = 16) -> None:
    """PNG of up to `most` modelled columns: histograms (numbers) or category shares, synthetic vs real."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    columns = [c for c in transformer.columns if c["sdtype"] != "id"][:most]
    per_row = 4
    rows = max(1, math.ceil(len(columns) / per_row))
    fig, axes = plt.subplots(rows, per_row, figsize=(4 * per_row, 3 * rows), squeeze=False)
    for ax, c in zip(axes.flat, columns):
        name = c["name"]
        if c["sdtype"] in ("numerical",):
            both = [s for s in (synthetic[name], None if real is None else real[name]) if s is not None]
            values = pd.concat(both).dropna().astype(float)
            bins = np.histogram_bin_edges(values, bins=30) if len(values) else 10
            ax.hist(synthetic[name].dropna().astype(float), bins=bins, alpha=0.6, density=True, label="synthetic")
            if real is not None:
                ax.hist(real[name].dropna().astype(float), bins=bins, alpha=0.6, density=True, label="real")
        else:
            shares = pd.DataFrame({"synthetic": synthetic[name].astype(str).value_counts(normalize=True)})
            if real is not None:
                shares["real"] = real[name].astype(str).value_counts(normalize=True)
            shares.fillna(0).head(12).plot.bar(ax=ax, legend=False)
        ax.set_title(name, fontsize=9)
    for ax in list(axes.flat)[len(columns):]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=8)
    fig.tight_layout()
    with atomic_path(path, force=True) as tmp:
        fig.savefig(tmp, format="png", dpi=80)
    plt.close(fig)
