"""Writing synthetic tables (CSV or Parquet by extension, with the SDV metadata JSON beside them), in one
go or in chunks (`export_rows`: memory stays flat however many rows), and a picture of each column's
distribution, synthetic against real."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from qmolgen.errors import ConfigError, OutputExistsError
from qmolgen.outputs import atomic_path
from qmolgen.tables.data import CATEGORY_SDTYPES

FORMATS = (".csv", ".parquet")


def metadata_path(path: str | Path) -> Path:
    """synthetic.csv -> synthetic.metadata.json"""
    path = Path(path)
    return path.with_name(path.stem + ".metadata.json")


def provenance_path(path: str | Path) -> Path:
    """synthetic.csv -> synthetic.provenance.json (what made the rows; kept apart from the SDV metadata, which
    SDV refuses to load with extra keys)"""
    path = Path(path)
    return path.with_name(path.stem + ".provenance.json")


def _check_targets(path: str | Path, force: bool, *also: Path) -> tuple[Path, Path]:
    target = Path(path)
    if target.suffix.lower() not in FORMATS:
        raise ConfigError(f"cannot write {str(path)!r}: tables are written as .csv or .parquet")
    meta = metadata_path(target)
    existing = [str(p) for p in (target, meta, *also) if p.exists()]
    if existing and not force:
        raise OutputExistsError(f"{', '.join(existing)} already exist(s); pass --force to overwrite or choose "
                                "another -o path")
    return target, meta


def arrow_schema(transformer):
    """The Parquet schema of decoded rows, from the column specs, so every chunk is written alike (a chunk
    whose column happens to be all missing would otherwise get a type of its own)."""
    import pyarrow as pa

    fields = []
    for c in transformer.columns:
        if c["sdtype"] == "id":
            kind = pa.int64()
        elif c["sdtype"] in CATEGORY_SDTYPES:
            kind = {"bool": pa.bool_(), "int": pa.int64()}.get(c["kind"], pa.string())
        elif c["sdtype"] == "datetime":
            kind = pa.string()
        else:
            kind = pa.int64() if c["integer"] and not c["has_missing"] else pa.float64()
        fields.append(pa.field(c["name"], kind))
    return pa.schema(fields)


def export_rows(sample: Callable[[int], pd.DataFrame], n: int, path: str, metadata: dict, transformer,
                chunk_size: int = 10_000, force: bool = False, progress: bool = False,
                provenance: Callable[[], dict] | None = None) -> str:
    """Write n rows drawn `chunk_size` at a time by `sample(k)` to `path` (.csv or .parquet, a row group per
    chunk), then the SDV metadata beside it, and, when `provenance` is given, what it returns once every chunk
    is drawn (model, seed, conditions, privacy) as path's .provenance.json. Only one chunk is in memory; a
    failure leaves no partial file, and no existing file is replaced unless force."""
    from tqdm.auto import tqdm

    extra = provenance_path(path)
    target, meta = _check_targets(path, force, *([extra] if provenance else []))
    schema = arrow_schema(transformer)
    with atomic_path(target, force=True) as tmp, tqdm(total=n, unit="row", disable=not progress) as bar:
        if target.suffix.lower() == ".csv":
            with open(tmp, "w", newline="") as handle:
                for start in range(0, n, chunk_size):
                    chunk = sample(min(chunk_size, n - start))
                    chunk.to_csv(handle, index=False, header=start == 0)
                    bar.update(len(chunk))
        else:
            import pyarrow as pa
            import pyarrow.parquet as pq

            with pq.ParquetWriter(tmp, schema) as writer:
                for start in range(0, n, chunk_size):
                    chunk = sample(min(chunk_size, n - start))
                    writer.write_table(pa.Table.from_pandas(chunk, schema=schema, preserve_index=False))
                    bar.update(len(chunk))
    with atomic_path(meta, force=True) as tmp:
        tmp.write_text(json.dumps(metadata, indent=2) + "\n")
    if provenance:
        with atomic_path(extra, force=True) as tmp:
            tmp.write_text(json.dumps(provenance(), indent=2) + "\n")
        return f"wrote {n} rows to {target}, its metadata to {meta} and its provenance to {extra}"
    return f"wrote {n} rows to {target} and its metadata to {meta}"


def write_table(table: pd.DataFrame, metadata: dict, path: str | None, force: bool = False) -> str:
    """Write `table` to `path` (.csv or .parquet) and its metadata beside it, or CSV to stdout when path is
    None. Neither file is written if either exists and force is False. Returns a one-line summary."""
    if not path:
        table.to_csv(sys.stdout, index=False)
        return f"wrote {len(table)} rows to stdout"
    target, meta = _check_targets(path, force)
    suffix = target.suffix.lower()
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


def association(a: pd.Series, b: pd.Series, a_numeric: bool, b_numeric: bool) -> float:
    """Strength of association in [0, 1]: |Spearman| for two numbers, Cramér's V for two categories, the
    correlation ratio for a number and a category (rows with a missing value left out)."""
    both = pd.DataFrame({"a": a, "b": b}).dropna()
    if len(both) < 3 or both["a"].nunique() < 2 or both["b"].nunique() < 2:
        return float("nan")  # a constant column is associated with nothing: left blank in the heat map
    if a_numeric and b_numeric:
        return float(abs(both["a"].astype(float).corr(both["b"].astype(float), method="spearman")))
    if not a_numeric and not b_numeric:
        table = pd.crosstab(both["a"].astype(str), both["b"].astype(str)).to_numpy(dtype=float)
        if min(table.shape) < 2:
            return 0.0
        expected = table.sum(1, keepdims=True) * table.sum(0, keepdims=True) / table.sum()
        chi2 = ((table - expected) ** 2 / expected).sum()
        return float(np.sqrt(chi2 / table.sum() / (min(table.shape) - 1)))
    number, category = (both["a"], both["b"]) if a_numeric else (both["b"], both["a"])
    number = number.astype(float)
    groups = number.groupby(category.astype(str))
    between = (groups.size() * (groups.mean() - number.mean()) ** 2).sum()
    total = ((number - number.mean()) ** 2).sum()
    return float(np.sqrt(between / total)) if total > 0 else 0.0


def write_correlations(synthetic: pd.DataFrame, real: pd.DataFrame, transformer, path: str | Path,
                       most: int = 16) -> None:
    """PNG of the pairwise association heat maps (association()) of up to `most` modelled columns: real,
    synthetic, and their absolute difference, which is what SDMetrics' column-pair score averages over."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    columns = [c for c in transformer.columns if c["sdtype"] != "id"][:most]
    names = [c["name"] for c in columns]
    numeric = [c["sdtype"] == "numerical" for c in columns]

    def matrix(table: pd.DataFrame) -> np.ndarray:
        out = np.eye(len(columns))
        for i in range(len(columns)):
            for j in range(i + 1, len(columns)):
                out[i, j] = out[j, i] = association(table[names[i]], table[names[j]], numeric[i], numeric[j])
        return out

    real_m, synthetic_m = matrix(real), matrix(synthetic)
    fig, axes = plt.subplots(1, 3, figsize=(15, 5))
    for ax, values, title in zip(axes, (real_m, synthetic_m, np.abs(real_m - synthetic_m)),
                                 ("real", "synthetic", "|real - synthetic|")):
        image = ax.imshow(values, vmin=0, vmax=1, cmap="viridis")
        ax.set_xticks(range(len(names)), names, rotation=90, fontsize=7)
        ax.set_yticks(range(len(names)), names, fontsize=7)
        ax.set_title(f"column associations: {title}", fontsize=9)
    fig.colorbar(image, ax=axes, shrink=0.8)
    with atomic_path(path, force=True) as tmp:
        fig.savefig(tmp, format="png", dpi=80, bbox_inches="tight")
    plt.close(fig)
