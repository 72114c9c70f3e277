"""SDV's synthesizers on the credit recipe's data and split, scored like qmolgen's runs: one folder per
synthesizer and seed with config.yaml and final_metrics.json, so comparison_table.py tabulates them beside
the qmolgen runs of the same folder.

    .venv/bin/python benchmarks/credit_baselines.py runs/credit-comparison [--seeds 0 1 2]
        [--synthesizers gaussian_copula ctgan tvae] [--epochs N (CTGAN/TVAE; default SDV's 300)]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

import numpy as np
import torch
import yaml

from qmolgen.baselines.sdv import SYNTHESIZERS, SDVBaseline
from qmolgen.config import load_config
from qmolgen.outputs import write_text
from qmolgen.tables.data import load_table
from qmolgen.tables.metrics import evaluate_table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", help="comparison folder (one sub-folder per synthesizer and seed)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--synthesizers", nargs="+", choices=SYNTHESIZERS, default=list(SYNTHESIZERS))
    parser.add_argument("--epochs", type=int, help="CTGAN/TVAE epochs (default: SDV's 300)")
    parser.add_argument("--recipe", default="credit")
    args = parser.parse_args(argv)
    config = load_config(args.recipe)
    d = config["data"]
    data = load_table(d["path"], d["metadata"], d["target"], list(d["drop_columns"]), d["max_categories"],
                      d["holdout"], d["split_seed"])
    train, holdout = data.subset("train"), data.subset("holdout")
    for name in args.synthesizers:
        for seed in args.seeds:
            folder = Path(args.out) / f"sdv_{name}-s{seed}"
            if (folder / "final_metrics.json").is_file():
                print(f"{folder}: done before, kept", file=sys.stderr)
                continue
            random.seed(seed)
            np.random.seed(seed)
            torch.manual_seed(seed)
            options = {"epochs": args.epochs} if args.epochs and name != "gaussian_copula" else {}
            model = SDVBaseline(name, data.metadata, **options).fit(train)
            synthetic = model.sample(len(train))
            metrics = {"seed": seed, "generator": f"sdv_{name}", "train_seconds": round(model.fit_seconds, 1),
                       "params_quantum": None, "params_classical": None,  # not counted for SDV's models
                       **evaluate_table(synthetic, train, holdout, data.metadata.to_dict(), d["target"])}
            folder.mkdir(parents=True, exist_ok=True)
            run_config = {**config, "seed": seed, "generator": {"kind": f"sdv_{name}", "options": options}}
            write_text(folder / "config.yaml", yaml.safe_dump(run_config, sort_keys=False), force=True)
            write_text(folder / "final_metrics.json", json.dumps(metrics, indent=2) + "\n", force=True)
            print(f"{folder}: quality {metrics['quality']:.3f}, fit {model.fit_seconds:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
