"""The claim a benchmark makes checkable: that the hybrid beats the classical GAN and the pure quantum GAN
on quality, mode collapse, epochs to convergence, training time and memory (the source paper's Table 1
and Figure 2). One verdict per axis and rival, from the seeds' means and spreads, whichever way it falls.

The rule is deliberately plain, not a significance test (three seeds cannot carry one): the hybrid is
better (worse) when its mean beats (trails) the rival's by more than the two spreads combined,
sqrt(sd_hybrid² + sd_rival²); otherwise the two are within the seed-to-seed spread.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

from qmolgen.benchmark.plan import DomainMetrics

HYBRID = "hybrid"
# The classical GAN with the same decoder, the pure quantum GAN, the size-matched classical control, and the
# strongest classical reference for molecules: a language model with no latent and no GAN.
RIVALS = ("classical", "quantum_patch", "size_matched", "language_model")
# The trained Born-machine prior against classical priors over the same bits (and the Gaussian latent).
PRIOR = "qcbm"
PRIOR_RIVALS = ("prior_bernoulli", "prior_autoregressive", "classical")
BETTER, WORSE, TIED = "better", "worse", "within seed spread"


@dataclass(frozen=True)
class Axis:
    """One axis of the claim check: a result column, how it is printed and which direction is better."""
    key: str  # in the benchmark's result rows
    label: str
    higher_is_better: bool


def axes(metrics: DomainMetrics) -> list[Axis]:
    """The axes a domain is compared on: its quality metrics, mode collapse, convergence, time and memory."""
    quality = [Axis("quality", metrics.quality.label, metrics.quality.higher_is_better),
               *(Axis(m.key, m.label, m.higher_is_better) for m in metrics.also)]
    return [*quality, Axis("mode_collapse_rate", "mode-collapse rate", False),
            Axis("epochs_to_convergence", "epochs to convergence", False),
            Axis("train_seconds", "training time (s)", False), Axis("peak_rss_mb", "peak memory (MB)", False)]


def verdict(hybrid: list[float], rival: list[float], higher_is_better: bool) -> str:
    """'better', 'worse' or 'within seed spread': the hybrid's mean lead over the rival against
    sqrt(sd_hybrid² + sd_rival²); needs two or more seeds of each."""
    if len(hybrid) < 2 or len(rival) < 2:
        return "needs 2+ seeds of each"
    lead = statistics.mean(hybrid) - statistics.mean(rival)
    lead = lead if higher_is_better else -lead
    spread = math.hypot(statistics.stdev(hybrid), statistics.stdev(rival))
    return BETTER if lead > spread else WORSE if lead < -spread else TIED


def _values(rows: list[dict], model: str, key: str) -> list[float]:
    return [r[key] for r in rows if r["model"] == model and r["status"] == "ok" and r.get(key) is not None]


def claim_verdicts(rows: list[dict], metrics: DomainMetrics, subject: str = HYBRID,
                   rivals: tuple[str, ...] = RIVALS) -> dict[str, dict[str, str]]:
    """{rival: {axis label: verdict of `subject` against it}} for the rivals this recipe ran; empty without the
    subject (the hybrid, or the trained prior against PRIOR_RIVALS)."""
    ran = [m for m in rivals if _values(rows, m, "quality")]
    if not _values(rows, subject, "quality"):
        return {}
    return {rival: {axis.label: verdict(_values(rows, subject, axis.key), _values(rows, rival, axis.key),
                                        axis.higher_is_better)
                    for axis in axes(metrics) if _values(rows, subject, axis.key) and _values(rows, rival, axis.key)}
            for rival in ran}


def claim_table(rows: list[dict], metrics: DomainMetrics, subject: str = HYBRID,
                rivals: tuple[str, ...] = RIVALS) -> str:
    """A Markdown table: one line per axis, one verdict column per rival ('' when there is nothing to judge)."""
    verdicts = claim_verdicts(rows, metrics, subject, rivals)
    if not verdicts:
        return ""
    labels = [a.label for a in axes(metrics) if any(a.label in v for v in verdicts.values())]
    lines = ["| axis | " + " | ".join(f"{subject} vs {rival}" for rival in verdicts) + " |",
             "|---|" + "---|" * len(verdicts)]
    said = lambda v: f"{subject} {v}" if v in (BETTER, WORSE) else v  # noqa: E731 ("hybrid better", ...)
    lines += [f"| {label} | " + " | ".join(said(v.get(label, "–")) for v in verdicts.values()) + " |"
              for label in labels]
    return "\n".join(lines)


def claim_summary(rows: list[dict], metrics: DomainMetrics, subject: str = HYBRID,
                  rivals: tuple[str, ...] = RIVALS) -> str:
    """One line: on how many axes the subject is better, tied, worse, per rival."""
    parts = []
    for rival, by_axis in claim_verdicts(rows, metrics, subject, rivals).items():
        said = list(by_axis.values())
        parts.append(f"vs {rival}: better on {said.count(BETTER)}, within the spread on {said.count(TIED)}, "
                     f"worse on {said.count(WORSE)} of {len(said)} axes")
        undecided = len(said) - said.count(BETTER) - said.count(TIED) - said.count(WORSE)
        if undecided:
            parts[-1] += f" ({undecided} need 2+ seeds of each)"
    return "; ".join(parts) if parts else f"no {subject} or no rival finished"
