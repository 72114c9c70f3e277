"""Quality against epsilon: gathers the credit_dp benchmarks run at several epsilons into one chart and table.

    for e in 1 3 10; do qmolgen benchmark credit_dp --seeds 3 --budget privacy.epsilon=$e \
        --out runs/benchmark-credit_dp-e$e; done
    .venv/bin/python benchmarks/dp_quality_vs_epsilon.py runs/benchmark-credit_dp-e1 runs/benchmark-credit_dp-e3 \
        runs/benchmark-credit_dp-e10 --out docs/dp-epsilon

Reads each folder's results.csv (one row per model and seed, with the epsilon each spent) and writes
quality_vs_epsilon.png (mean ± standard deviation over the seeds that finished, per model) and table.md. Where
two folders hold runs of the same model at the same epsilon, the later folder's replace the earlier's (a rerun
after a recipe change).
"""

from __future__ import annotations

import argparse
import csv
import statistics
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    # model -> epsilon -> qualities; a later folder's runs of a (model, epsilon) replace an earlier folder's, so a
    # rerun with a changed recipe supersedes the first measurement instead of being averaged with it
    results: dict[str, dict[float, list[float]]] = {}
    for folder in args.folders:
        found: dict[tuple[str, float], list[float]] = {}
        for row in csv.DictReader((folder / "results.csv").open()):
            if row["status"] != "ok" or not row.get("dp_epsilon"):
                continue
            # the budget each run was given: DP-SGD's accountant reports slightly less than its target
            epsilon = round(float(row["dp_epsilon"]) + 0.05)
            found.setdefault((row["model"], epsilon), []).append(float(row["quality"]))
        for (model, epsilon), qualities in found.items():
            results.setdefault(model, {})[epsilon] = qualities
    if not results:
        raise SystemExit("no finished DP runs in " + ", ".join(map(str, args.folders)))
    epsilons = sorted({e for runs in results.values() for e in runs})
    args.out.mkdir(parents=True, exist_ok=True)
    lines = ["| model | " + " | ".join(f"ε = {e:g}" for e in epsilons) + " |", "|---|" + "---|" * len(epsilons)]
    fig, ax = plt.subplots(figsize=(6, 4))
    for model, runs in results.items():
        cells = []
        for e in epsilons:
            values = runs.get(e, [])
            cells.append("–" if not values else f"{statistics.mean(values):.3f}" + (
                f" ± {statistics.stdev(values):.3f} ({len(values)})" if len(values) > 1 else " (1)"))
        lines.append(f"| {model} | " + " | ".join(cells) + " |")
        xs = [e for e in epsilons if runs.get(e)]
        means = [statistics.mean(runs[e]) for e in xs]
        spreads = [statistics.stdev(runs[e]) if len(runs[e]) > 1 else 0.0 for e in xs]
        ax.errorbar(xs, means, yerr=spreads, marker="o", capsize=3, label=model)
    ax.set_xscale("log")
    ax.set_xticks(epsilons, [f"{e:g}" for e in epsilons])
    ax.set_xlabel("epsilon (delta = 1 / (10 N))")
    ax.set_ylabel("SDMetrics quality")
    ax.set_title("credit: quality against the privacy budget")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(args.out / "quality_vs_epsilon.png", dpi=100)
    (args.out / "table.md").write_text("Mean ± standard deviation (seeds) of SDMetrics quality.\n\n"
                                       + "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
