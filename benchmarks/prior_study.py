"""How well each trained prior fits the data's bits, against qubit count, shots and gate noise (3 seeds each).

    .venv/bin/python benchmarks/prior_study.py [--recipe qm9] [--seeds 3] [--out docs/prior-study]

The target bits are those a `generator.kind=qcbm` run of the recipe fits (its training data as the critic
reads it, reduced to n principal-component signs; for qm9 the autoencoder's codes of the training molecules).
Three sweeps, each prior with the recipe's prior_steps and prior_lr:
    qubits   n = 4, 8, 12, 16: qcbm (exact) against prior_autoregressive and prior_bernoulli (at most its parameters)
    shots    10, 100, 1,000 and exact: qcbm trained by parameter shift on shot estimates (8 qubits)
    noise    depolarizing 0, 0.001, 0.01, 0.05 per layer and qubit on default.mixed (8 qubits, exact probabilities)
    spsa     (with --spsa) qcbm fitted by SPSA on 1,000-shot estimates (8 qubits): the recipe's steps, and as many
             circuit runs as parameter shift's fit (3 runs a step against 1 + 2P) at learning rates 0.01 and 0.003
Writes prior_study.csv, prior_study.md (mean ± std tables) and one chart per sweep; the fit is KL(target ‖ prior)
and MMD² of the prior's exact distribution (what the GAN then samples).
"""

from __future__ import annotations

import argparse
import csv
import statistics
from pathlib import Path

import torch

from qmolgen.config import load_config
from qmolgen.model import domain_for
from qmolgen.quantum import prior as P


def fit(make_prior, bits: torch.Tensor, q: dict, seed: int) -> dict:
    """Build the prior under `seed` (its initial angles too) and fit it."""
    torch.manual_seed(seed)
    return make_prior().fit(bits, q["prior_steps"], q["prior_lr"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipe", default="qm9")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--out", default="runs/prior-study")
    parser.add_argument("--qubits", default="4,8,12,16")
    parser.add_argument("--shots", default="10,100,1000")
    parser.add_argument("--depolarizing", default="0,0.001,0.01,0.05")
    parser.add_argument("--spsa", action="store_true", help="also the SPSA sweep (about 2 minutes a seed)")
    args = parser.parse_args()
    if args.seeds < 1:
        parser.error("--seeds must be >= 1")
    config = load_config(args.recipe, ["seed=0"])
    q = config["quantum"]
    domain = domain_for(config)
    dataset = domain.load_data()
    rows = torch.randperm(len(dataset[0]), generator=torch.Generator().manual_seed(0))[:P.MAX_TARGET_ROWS]
    features = torch.cat([t.flatten(1).float() for t in domain.real_to_input(tuple(t[rows] for t in dataset))], 1)
    results = []

    def record(sweep, setting, kind, seed, report):
        results.append({"sweep": sweep, "setting": setting, "prior": kind, "seed": seed,
                        **{k: report[k] for k in ("prior_params", "prior_kl", "prior_mmd", "prior_tv", "prior_seconds")}})
        print(results[-1], flush=True)

    for n in (int(x) for x in args.qubits.split(",")):
        bits = P.target_bits(features, n)
        budget = 2 * n * q["n_layers"]
        for seed in range(args.seeds):
            record("qubits", n, "qcbm", seed, fit(lambda: P.BornMachine(n, q["n_layers"]), bits, q, seed))
            record("qubits", n, "prior_autoregressive", seed,
                   fit(lambda: P.AutoregressivePrior(n, budget), bits, q, seed))
            record("qubits", n, "prior_bernoulli", seed, fit(lambda: P.BernoulliPrior(n), bits, q, seed))
    bits = P.target_bits(features, 8)
    for shots in [*(int(x) for x in args.shots.split(",")), None]:
        for seed in range(args.seeds):
            record("shots", shots or "exact", "qcbm", seed,
                   fit(lambda: P.BornMachine(8, q["n_layers"], shots=shots), bits, q, seed))
    for p in (float(x) for x in args.depolarizing.split(",")):
        for seed in range(args.seeds):
            def machine():
                return P.BornMachine(8, q["n_layers"], executor="pennylane", device="default.mixed",
                                     noise={"depolarizing": p}) if p else P.BornMachine(8, q["n_layers"])
            record("depolarizing", p, "qcbm", seed, fit(machine, bits, q, seed))
    if args.spsa:
        shift_runs = q["prior_steps"] * (1 + 2 * 2 * 8 * q["n_layers"])  # parameter shift's runs at 8 qubits
        for steps, lr in ((q["prior_steps"], q["prior_lr"]), (shift_runs // 3, 0.01), (shift_runs // 3, 0.003)):
            for seed in range(args.seeds):
                record("spsa", f"{steps} steps, lr {lr}", "qcbm", seed,
                       fit(lambda: P.BornMachine(8, q["n_layers"], shots=1000, diff_method="spsa"), bits,
                           {**q, "prior_steps": steps, "prior_lr": lr}, seed))
    write_outputs(results, Path(args.out), args)


def write_outputs(results: list[dict], out: Path, args) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    with (out / "prior_study.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(results[0]))
        writer.writeheader()
        writer.writerows(results)
    lines = [f"# Prior fit study ({args.recipe}, {args.seeds} seeds)\n",
             f"Reproduce: `.venv/bin/python benchmarks/prior_study.py --recipe {args.recipe} --seeds {args.seeds} "
             f"--out {out}`\n"]
    for sweep in dict.fromkeys(r["sweep"] for r in results):
        groups: dict = {}
        for r in results:
            if r["sweep"] == sweep:
                groups.setdefault((r["setting"], r["prior"]), []).append(r)
        lines += [f"## {sweep}\n", "| setting | prior | params | KL(target ‖ prior) ↓ | MMD² ×10³ ↓ | fit s |",
                  "|---|---|---|---|---|---|"]
        for (setting, kind), rs in groups.items():
            def ms(key, scale=1.0):
                values = [r[key] * scale for r in rs]
                return f"{statistics.mean(values):.3f} ± {statistics.stdev(values):.3f}" if len(values) > 1 \
                    else f"{values[0]:.3f}"
            lines.append(f"| {setting} | {kind} | {rs[0]['prior_params']} | {ms('prior_kl')} | {ms('prior_mmd', 1000)} "
                         f"| {ms('prior_seconds')} |")
        lines.append("")
        fig, ax = plt.subplots(figsize=(6, 4))
        for kind in dict.fromkeys(k for _, k in groups):
            settings = [s for s, k in groups if k == kind]
            means = [statistics.mean(r["prior_kl"] for r in groups[(s, kind)]) for s in settings]
            spreads = [statistics.stdev(r["prior_kl"] for r in groups[(s, kind)]) if len(groups[(s, kind)]) > 1 else 0
                       for s in settings]
            ax.errorbar([str(s) for s in settings], means, yerr=spreads, marker="o", capsize=3, label=kind)
        ax.set(xlabel=sweep, ylabel="KL(target ‖ prior)", title=f"prior fit vs {sweep} (mean ± std)")
        ax.legend()
        fig.tight_layout()
        fig.savefig(out / f"prior_fit_vs_{sweep}.png", dpi=100)
        plt.close(fig)
        lines.append(f"![{sweep}](prior_fit_vs_{sweep}.png)\n")
    (out / "prior_study.md").write_text("\n".join(lines))
    print(f"wrote {out}/prior_study.md, prior_study.csv and the charts")


if __name__ == "__main__":
    main()
