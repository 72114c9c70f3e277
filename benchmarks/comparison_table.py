"""Markdown table of a recipe comparison: mean +- std over seeds of every run folder's final_metrics.json,
with the columns of the runs' domain (molecules, images or tables).

    .venv/bin/python benchmarks/comparison_table.py runs/qm9-comparison
    .venv/bin/python benchmarks/comparison_table.py runs/digits-comparison
    .venv/bin/python benchmarks/comparison_table.py runs/credit-comparison

Run folders are grouped by their name without the trailing '-sSEED' (e.g. hybrid-s0, hybrid-s1 -> hybrid).
"""

from __future__ import annotations

import json
import re
import statistics
import sys
from pathlib import Path

import yaml

COLUMNS = {
    "molecules": [("validity", "valid %", 100), ("vu", "V·U %", 100), ("vun", "V·U·N %", 100),
                  ("uniqueness", "unique %", 100), ("novelty", "novel %", 100), ("fcd", "FCD ↓", 1),
                  ("int_div", "IntDiv", 1), ("qed_w1", "QED W1 ↓", 1), ("sa_w1", "SA W1 ↓", 1),
                  ("validity_argmax", "valid, no repair %", 100), ("train_seconds", "train s", 1)],
    "images": [("fid", "FID (digits classifier) ↓", 1), ("fid_floor", "floor", 1),
               ("classes_covered", "classes /10", 1), ("class_kl", "class KL ↓", 1),
               ("confident_share", "confident %", 100), ("precision", "precision", 1), ("recall", "recall", 1),
               ("density", "density", 1), ("coverage", "coverage", 1),
               ("mode_collapse_rate", "mode-collapse rate ↓", 1), ("train_seconds", "train s", 1)],
    "tables": [("quality", "quality", 1), ("column_shapes", "shapes", 1), ("column_pair_trends", "pair trends", 1),
               ("efficacy_ratio", "ML efficacy (× real)", 1), ("new_row_synthesis", "new rows", 1),
               ("dcr_overfitting_protection", "DCR protection", 1), ("exact_copies", "exact copies", 1),
               ("mia_auc", "attack AUC", 1), ("privacy.epsilon", "DP ε", 1), ("train_seconds", "train s", 1)],
}


def value(metrics: dict, key: str):
    """metrics[key], where a dotted key reaches into nested results (privacy.epsilon); None when absent."""
    for part in key.split("."):
        metrics = metrics.get(part) if isinstance(metrics, dict) else None
    return metrics


def cell(values: list[float], scale: float) -> str:
    counts = all(isinstance(v, int) for v in values if v is not None)  # classes covered, exact copies
    values = [v * scale for v in values if v is not None]
    if not values:
        return "–"
    if counts:
        digits = 0 if len(values) == 1 else 1
    else:
        digits = 1 if scale == 100 or max(abs(v) for v in values) >= 10 else 3
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    return f"{statistics.mean(values):.{digits}f} ± {statistics.stdev(values):.{digits}f}"


def model_name(run_folder: str | Path) -> str:
    """The run folder's name without its seed: runs/x/hybrid-s1-pack1 -> hybrid-pack1."""
    return re.sub(r"-s\d+", "", Path(run_folder).name)


def main(folder: str) -> None:
    groups: dict[str, list[dict]] = {}
    for path in sorted(Path(folder).glob("*/final_metrics.json")):
        groups.setdefault(model_name(path.parent), []).append(json.loads(path.read_text()))
    if not groups:
        raise SystemExit(f"no */final_metrics.json under {folder}")
    first = next(Path(folder).glob("*/config.yaml"))
    columns = COLUMNS[yaml.safe_load(first.read_text())["domain"]]
    print("| model | seeds | params (quantum + classical) | " + " | ".join(c[1] for c in columns) + " |")
    print("|---|---|---|" + "---|" * len(columns))
    for name, runs in groups.items():
        quantum, classical = runs[0].get("params_quantum"), runs[0].get("params_classical")
        params = "–" if classical is None else f"{quantum} + {classical:,}"
        cells = [cell([value(r, key) for r in runs], scale) for key, _, scale in columns]
        print(f"| {name} | {len(runs)} | {params} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "runs/qm9-comparison")
