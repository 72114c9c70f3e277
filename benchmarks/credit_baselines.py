"""SDV's synthesizers on the credit recipe's data and split, scored like qmolgen's runs: one folder per
synthesizer and seed with config.yaml and final_metrics.json, so comparison_table.py tabulates them beside
the qmolgen runs of the same folder. (`qmolgen benchmark credit` runs them too, as the recipe's peers.)

    .venv/bin/python benchmarks/credit_baselines.py runs/credit-comparison [--seeds 0 1 2]
        [--synthesizers gaussian_copula ctgan tvae] [--epochs N (CTGAN/TVAE; default SDV's 300)]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import yaml

from qmolgen.baselines.sdv import SYNTHESIZERS, fit_and_score
from qmolgen.config import load_config
from qmolgen.outputs import write_text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", help="comparison folder (one sub-folder per synthesizer and seed)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--synthesizers", nargs="+", choices=SYNTHESIZERS, default=list(SYNTHESIZERS))
    parser.add_argument("--epochs", type=int, help="CTGAN/TVAE epochs (default: SDV's 300)")
    parser.add_argument("--recipe", default="credit")
    args = parser.parse_args(argv)
    config = load_config(args.recipe)
    for name in args.synthesizers:
        for seed in args.seeds:
            folder = Path(args.out) / f"sdv_{name}-s{seed}"
            if (folder / "final_metrics.json").is_file():
                print(f"{folder}: done before, kept", file=sys.stderr)
                continue
            options = {"epochs": args.epochs} if args.epochs and name != "gaussian_copula" else {}
            metrics = fit_and_score(config, name, seed, options)
            folder.mkdir(parents=True, exist_ok=True)
            run_config = {**config, "seed": seed, "generator": {"kind": f"sdv_{name}", "options": options}}
            write_text(folder / "config.yaml", yaml.safe_dump(run_config, sort_keys=False), force=True)
            write_text(folder / "final_metrics.json", json.dumps(metrics, indent=2) + "\n", force=True)
            print(f"{folder}: quality {metrics['quality']:.3f}, fit {metrics['train_seconds']:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
