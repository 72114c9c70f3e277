"""GuacaMol goal-directed tasks (a subset, scored as GuacaMol defines them: qmolgen/molecules/guacamol.py) solved by
latent-space search in a trained molecule model, per optimiser and search space, over seeds, within a fixed
budget of scoring calls.

    python benchmarks/guacamol_goal_directed.py --model moses --budget 2000 --seeds 3 --out docs/guacamol

Writes results.csv (one row per task, method and seed; rerunning with the same --out keeps finished rows) and
report.md (mean +- sd of the GuacaMol score per task and method, as a fraction of the best published score, with
the calls, CPU time and the share of returned molecules passing MOSES's medicinal-chemistry filters).
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

import pandas as pd
import torch

from qmolgen.model import GenerativeModel
from qmolgen.molecules.guacamol import TASKS
from qmolgen.molecules.objectives import Objective
from qmolgen.molecules.optimize import optimize

METHODS = {"cmaes-latent": ("cmaes", "latent"), "ga-latent": ("ga", "latent"), "random-latent": ("random", "latent"),
           "cmaes-code": ("cmaes", "code"), "ga-code": ("ga", "code"), "cmaes-circuit": ("cmaes", "circuit"),
           "finetune-latent": ("finetune", "latent")}


def run_cell(model, task: str, method: str, seed: int, budget: int) -> dict:
    optimizer, space = METHODS[method]
    n = max(TASKS[task].top_counts)
    start = time.process_time()
    best, report = optimize(model, Objective.parse([task]), optimizer, space, budget, n, seed)
    g = report["guacamol"]
    return {"task": task, "method": method, "seed": seed, "score": round(g["score"], 4),
            "fraction_of_best_published": round(g["score"] / g["best_published"], 4),
            **{k: round(v, 4) for k, v in g["tops"].items()}, "scoring_calls": report["scoring_calls"],
            "cpu_seconds": round(time.process_time() - start, 1), "wall_seconds": report["seconds"],
            "valid_fraction": report["valid_fraction"], "distinct_valid": report["distinct_valid"],
            "filters_pass_rate": report["filters_pass_rate"], "best_smiles": best["smiles"].iloc[0] if len(best) else ""}


def write_report(results: pd.DataFrame, out: Path, args) -> None:
    lines = [f"# GuacaMol goal-directed tasks by latent-space search ({args.model}, {args.budget} scoring calls per run)",
             "", f"Command: `python benchmarks/guacamol_goal_directed.py {' '.join(sys.argv[1:])}`  ",
             f"Machine: {platform.processor() or platform.machine()}, torch threads {torch.get_num_threads()}; "
             "scores as GuacaMol defines them (top-k means of distinct molecules, missing ones counted 0).", "",
             "| task | best published (model) | " + " | ".join(METHODS) + " |",
             "|---|---|" + "---|" * len(METHODS)]
    for name, task in TASKS.items():
        cells = []
        for method in METHODS:
            rows = results[(results.task == name) & (results.method == method)]
            if rows.empty:
                cells.append("not run")
                continue
            mean, sd = rows.score.mean(), rows.score.std(ddof=1) if len(rows) > 1 else 0.0
            cells.append(f"{mean:.3f} ± {sd:.3f} ({mean / task.best_published:.0%}, n={len(rows)})")
        lines.append(f"| {task.title} | {task.best_published:.3f} ({task.best_model}) | " + " | ".join(cells) + " |")
    lines += ["", "Per method, over all tasks and seeds: mean CPU seconds per run, validity of the decoded molecules, "
              "share of the returned molecules passing MOSES's medicinal-chemistry filters.", "",
              "| method | CPU s per run | valid | pass filters |", "|---|---|---|---|"]
    for method, rows in results.groupby("method", sort=False):
        lines.append(f"| {method} | {rows.cpu_seconds.mean():.0f} | {rows.valid_fraction.mean():.3f} | "
                     f"{rows.filters_pass_rate.mean():.3f} |")
    lines.append("")
    (out / "report.md").write_text("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="moses", help="run folder, model.pt or recipe name (shipped model)")
    parser.add_argument("--budget", type=int, default=2000)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--tasks", default=",".join(TASKS))
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--out", default="runs/guacamol")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "results.csv"
    results = pd.read_csv(path) if path.is_file() else pd.DataFrame()
    model = GenerativeModel.load(args.model)
    for seed in range(args.seeds):
        for task in args.tasks.split(","):
            for method in args.methods.split(","):
                done = not results.empty and ((results.task == task) & (results.method == method)
                                              & (results.seed == seed)).any()
                if done:
                    continue
                row = run_cell(model, task, method, seed, args.budget)
                print(f"{task} {method} seed {seed}: {row['score']:.3f} ({row['cpu_seconds']} s CPU)", flush=True)
                results = pd.concat([results, pd.DataFrame([row])], ignore_index=True)
                results.to_csv(path.with_suffix(".tmp"), index=False)
                path.with_suffix(".tmp").replace(path)  # a kill mid-write never loses finished rows
                write_report(results, out, args)


if __name__ == "__main__":
    main()
