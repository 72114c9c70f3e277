"""Benchmark results: one row per cell (results.csv), a Markdown report with every column defined
(report.md), and charts: bars of the quality metric, epochs to convergence and training time, and peak
memory against quality (PNG, one set per recipe). Mean ± standard deviation over the seeds that finished."""

from __future__ import annotations

import csv
import io
import json
import statistics
from pathlib import Path

from qmolgen.benchmark.claim import PRIOR, PRIOR_RIVALS, RIVALS, claim_summary, claim_table
from qmolgen.benchmark.plan import Cell, domain_metrics
from qmolgen.domain import DomainMetrics, Metric
from qmolgen.benchmark.sweep import ERROR_FILE, cell_folder
from qmolgen.outputs import atomic_path, write_text
from qmolgen.report.html import write_html

CONVERGENCE_TOLERANCE = 0.05
CLAIM_RULE = ("The claim under test (the source paper's Table 1 and Figure 2): the hybrid beats the classical "
              "GAN with the same decoder and the pure quantum GAN on quality, mode collapse, epochs to "
              "convergence, training time and memory. The hybrid counts as better (worse) on an axis when its "
              "mean beats (trails) the rival's by more than sqrt(sd_hybrid² + sd_rival²) over the seeds; "
              "otherwise the two are within the seed spread. A plain rule, not a significance test.")
COLUMNS = ("recipe", "model", "seed", "status", "quality_metric", "quality", "mode_collapse_rate",
           "epochs", "epochs_to_convergence", "seconds_to_convergence", "train_seconds", "peak_rss_mb",
           "peak_gpu_mb", "device", "cpu_threads", "params_quantum", "params_classical", "prior_params", "prior_mmd", "prior_kl",
           "prior_tv", "dp_epsilon", "dp_delta", "error")


def convergence(records: list[dict], metric: Metric) -> tuple[int | None, float | None]:
    """The first epoch whose validation metric is within 5 % of the run's best, and the training seconds to it."""
    scored = [(r["epoch"], r[metric.key], r["train_seconds"]) for r in records if r.get(metric.key) is not None]
    if not scored:
        return None, None
    best = (max if metric.higher_is_better else min)(v for _, v, _ in scored)
    for epoch, value, seconds in scored:
        close = value >= best * (1 - CONVERGENCE_TOLERANCE) if metric.higher_is_better else \
            value <= best * (1 + CONVERGENCE_TOLERANCE)
        if close:
            return epoch, seconds
    return None, None


def collect(cells: list[Cell], out: Path) -> list[dict]:
    """One result row per cell: its metrics when it finished, its error when it failed, else 'not run'."""
    rows = []
    for cell in cells:
        folder = cell_folder(out, cell)
        metrics = domain_metrics(cell.recipe)
        row = {"recipe": cell.recipe, "model": cell.model, "seed": cell.seed, "quality_metric": metrics.quality.key}
        final_path = folder / "final_metrics.json"
        if final_path.is_file():
            final = json.loads(final_path.read_text())
            records = [json.loads(line) for line in (folder / "metrics.jsonl").read_text().splitlines()] \
                if (folder / "metrics.jsonl").is_file() else []
            epochs, seconds = convergence(records, metrics.validation)
            row.update({m.key: final.get(m.key) for m in metrics.also})
            row.update(status="ok", quality=final.get(metrics.quality.key),
                       mode_collapse_rate=final.get("mode_collapse_rate"), epochs=final.get("epochs"),
                       epochs_to_convergence=epochs, seconds_to_convergence=seconds,
                       **{k: final.get(k) for k in ("train_seconds", "peak_rss_mb", "peak_gpu_mb", "device", "cpu_threads",
                                                    "params_quantum", "params_classical", *PRIOR_FIT)})
            privacy = final.get("privacy") or {}  # what a DP run or DP peer spent
            row.update(dp_epsilon=privacy.get("epsilon"), dp_delta=privacy.get("delta"))
        elif (folder / ERROR_FILE).is_file():
            lines = (folder / ERROR_FILE).read_text().strip().splitlines()
            row.update(status="failed", error=lines[-1] if lines else "")
        else:
            row.update(status="not run")
        rows.append(row)
    return rows


PRIOR_FIT = ("prior_params", "prior_mmd", "prior_kl", "prior_tv")  # a trained prior's own fit to the data's bits


def prior_fit_table(rows: list[dict]) -> str:
    """Each trained prior's fit to the target bits (MMD, KL(target || prior), total variation), mean ± std."""
    lines = ["| prior | params | MMD² ×10³ ↓ | KL(target ‖ prior) ↓ | total variation ↓ |", "|---|---|---|---|---|"]
    for model, runs in _models(rows).items():
        ok = [r for r in runs if r["status"] == "ok" and r.get("prior_mmd") is not None]
        if ok:
            lines.append(f"| {model} | {ok[0]['prior_params']} | " +
                         " | ".join(mean_std([r[k] * (1000 if k == "prior_mmd" else 1) for r in ok])
                                    for k in PRIOR_FIT[1:]) + " |")
    return "\n".join(lines)


def write_csv(rows: list[dict], path: Path, force: bool = True) -> None:
    """results.csv: one row per cell, the columns in COLUMNS order with each recipe's further quality
    metrics next to the headline one (written atomically)."""
    buffer = io.StringIO()
    also = dict.fromkeys(m.key for recipe in dict.fromkeys(r["recipe"] for r in rows)
                         for m in domain_metrics(recipe).also)
    at = COLUMNS.index("quality") + 1  # further quality metrics next to the headline one
    writer = csv.DictWriter(buffer, fieldnames=[*COLUMNS[:at], *also, *COLUMNS[at:]], extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    write_text(path, buffer.getvalue(), force=force)


def mean_std(values: list) -> str:
    """`mean ± std` over seeds (None values left out), or the one value, or – when there is none."""
    values = [v for v in values if v is not None]
    if not values:
        return "–"
    if all(isinstance(v, int) for v in values):  # epochs: whole numbers, their mean to one decimal
        digits = 0 if len(values) == 1 else 1
    else:
        digits = 1 if max(abs(v) for v in values) >= 10 else 3
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    return f"{statistics.mean(values):.{digits}f} ± {statistics.stdev(values):.{digits}f}"


def _models(rows: list[dict]) -> dict[str, list[dict]]:
    groups: dict[str, list[dict]] = {}
    for row in rows:
        groups.setdefault(row["model"], []).append(row)
    return groups


def _arrow(metric: Metric) -> str:
    return "↑" if metric.higher_is_better else "↓"


def recipe_table(rows: list[dict], metrics: DomainMetrics) -> str:
    """The Markdown table of one recipe: one row per model, mean ± standard deviation over its seeds."""
    gpu = any(r.get("peak_gpu_mb") is not None for r in rows)
    dp = any(r.get("dp_epsilon") is not None for r in rows)
    header = ["model", "seeds ok / run", "params (quantum + classical)", *(["DP ε spent (δ)"] if dp else []),
              *(f"{m.label} {_arrow(m)}" for m in (metrics.quality, *metrics.also)),
              "mode-collapse rate ↓", "epochs to convergence", "s to convergence", "train s", "peak RSS MB",
              *(["peak GPU MB"] if gpu else [])]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for model, runs in _models(rows).items():
        ok = [r for r in runs if r["status"] == "ok"]
        params = "–" if not ok or ok[0].get("params_classical") is None else \
            f"{ok[0]['params_quantum']} + {ok[0]['params_classical']:,}"
        keys = ("quality", *(m.key for m in metrics.also), "mode_collapse_rate", "epochs_to_convergence",
                "seconds_to_convergence", "train_seconds", "peak_rss_mb")
        spent = "–" if not ok or ok[0].get("dp_epsilon") is None else \
            f"{mean_std([r['dp_epsilon'] for r in ok])} ({ok[0]['dp_delta']:.2g})"
        cells = [model, f"{len(ok)} / {len(runs)}", params, *([spent] if dp else []),
                 *(mean_std([r.get(k) for r in ok]) for k in keys),
                 *([mean_std([r.get("peak_gpu_mb") for r in ok])] if gpu else [])]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n\n" + _threads_line(rows)


def _threads_line(rows: list[dict]) -> str:
    """Training times compare only at equal thread counts: say what the runs had."""
    counts = sorted({r["cpu_threads"] for r in rows if r.get("cpu_threads") is not None})
    unrecorded = sum(1 for r in rows if r["status"] == "ok" and r.get("cpu_threads") is None)
    said = f"CPU threads per run: {', '.join(map(str, counts))}" if counts else "CPU threads per run: not recorded"
    if counts and unrecorded:
        said += f" ({unrecorded} runs did not record theirs)"
    return said + "."


def write_charts(rows: list[dict], metrics: DomainMetrics, prefix: Path) -> list[Path]:
    """Bars (mean ± std over seeds) of quality, epochs to convergence and training time; peak memory vs quality."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = {m: [r for r in runs if r["status"] == "ok"] for m, runs in _models(rows).items()}
    groups = {m: runs for m, runs in groups.items() if runs}
    if not groups:
        return []

    def stats(runs, key):
        values = [r[key] for r in runs if r.get(key) is not None]
        if not values:
            return float("nan"), 0.0
        return statistics.mean(values), statistics.stdev(values) if len(values) > 1 else 0.0

    paths = []
    names = list(groups)
    bars = (("quality", metrics.quality.label), *((m.key, m.label) for m in metrics.also),
            ("epochs_to_convergence", "epochs to convergence"),
            ("train_seconds", "training time (s)"))
    for key, label in bars:
        fig, ax = plt.subplots(figsize=(max(5, 1.1 * len(names)), 3.6))
        means, stds = zip(*(stats(groups[m], key) for m in names))
        ax.bar(names, means, yerr=stds, capsize=4, color="#4c72b0")
        ax.set(ylabel=label, title=f"{label} (mean ± std over seeds)")
        ax.tick_params(axis="x", rotation=30)
        fig.tight_layout()
        paths.append(_save(fig, plt, prefix.with_name(f"{prefix.name}_{key}.png")))
    fig, ax = plt.subplots(figsize=(6, 4.2))
    for name in names:
        (x, dx), (y, dy) = stats(groups[name], "peak_rss_mb"), stats(groups[name], "quality")
        ax.errorbar(x, y, xerr=dx, yerr=dy, fmt="o", capsize=3, label=name)
    ax.set(xlabel="peak resident memory (MB)", ylabel=metrics.quality.label, title="memory vs quality")
    ax.legend(fontsize=8)
    fig.tight_layout()
    paths.append(_save(fig, plt, prefix.with_name(f"{prefix.name}_memory_vs_quality.png")))
    return paths


def _save(fig, plt, path: Path) -> Path:
    with atomic_path(path, force=True) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)
    return path


def write_report(cells: list[Cell], out: Path, command: str) -> Path:
    """results.csv, the charts, report.md and the self-contained report.html for every recipe in `cells`; returns
    report.md's path."""
    rows = collect(cells, out)
    write_csv(rows, out / "results.csv")
    parts = [f"# qmolgen benchmark\n\nReproduce: `{command}`\n\nEvery qmolgen model of a recipe trains with "
             "the recipe's own `train:` section (the same budget for every model); SDV's synthesizers run with "
             "their defaults. One row per model: mean ± standard deviation over the seeds that finished; "
             "`results.csv` has one row per run.\n"]
    recipes = {recipe: ([r for r in rows if r["recipe"] == recipe], domain_metrics(recipe))
               for recipe in dict.fromkeys(r["recipe"] for r in rows)}
    parts.append(f"## Does the hybrid beat {' and '.join(RIVALS)}?\n\n{CLAIM_RULE}\n\n" +
                 "\n".join(f"- **{recipe}**: {claim_summary(*args)}" for recipe, args in recipes.items()) + "\n")
    for recipe, (recipe_rows, metrics) in recipes.items():
        charts = write_charts(recipe_rows, metrics, out / recipe)
        parts.append(f"## {recipe}\n\n{recipe_table(recipe_rows, metrics)}\n")
        claim = claim_table(recipe_rows, metrics)
        if claim:
            parts.append(f"The claim, axis by axis:\n\n{claim}\n")
        prior_claim = claim_table(recipe_rows, metrics, PRIOR, PRIOR_RIVALS)
        if prior_claim:
            parts.append(f"The trained Born-machine prior against the matched classical priors "
                         f"({claim_summary(recipe_rows, metrics, PRIOR, PRIOR_RIVALS)}):\n\n{prior_claim}\n\n"
                         f"{prior_fit_table(recipe_rows)}\n")
        parts += [f"![{p.stem}]({p.name})\n" for p in charts]
        failed = [r for r in recipe_rows if r["status"] == "failed"]
        if failed:
            parts.append("Failed runs (their folders hold error.txt):\n\n" +
                         "\n".join(f"- {r['model']} seed {r['seed']}: {r['error']}" for r in failed) + "\n")
        parts.append(_definitions(metrics))
    report = out / "report.md"
    write_text(report, "\n".join(parts), force=True)
    write_html("\n".join(parts), out, out / "report.html", f"qmolgen benchmark: {', '.join(recipes)}")
    return report


def _definitions(metrics: DomainMetrics) -> str:
    return "\n".join([
        "Columns:",
        *(f"- **{m.label}**: `{m.key}` in each run's final_metrics.json "
          f"({'higher' if m.higher_is_better else 'lower'} is better)." for m in (metrics.quality, *metrics.also)),
        f"- **mode-collapse rate**: {metrics.collapse}.",
        f"- **epochs to convergence**: the first epoch whose validation metric ({metrics.validation.label}, "
        f"after every epoch) is within {CONVERGENCE_TOLERANCE:.0%} of the run's best; **s to convergence**: "
        "training seconds up to the end of that epoch. Not defined for SDV's synthesizers.",
        "- **train s**: seconds in the training loop (SDV: `fit`), without the per-epoch evaluation.",
        "- **peak RSS MB**: the run's process's peak resident memory (each run has its own process); "
        "**peak GPU MB**, on a GPU, torch's peak allocation.",
        "- **params**: trainable circuit angles + classical weights of the generator (not counted for SDV).",
        ""])
