"""Conditional sampling: rows of a trained table model that meet conditions (conditions.py), drawn from the
model's own conditional distribution, without a rejection loop that stalls on rare conditions.

Every row of a trained model is a deterministic function of standard normal inputs xi: the latent source's
(`from_gaussian`, any kind) and, for models whose categories are drawn (generator.choices=sample), one
Gumbel perturbation per option. The rows meeting the conditions are therefore xi ~ N(0, I) restricted to a
region, and the sampler draws from that by annealed sequential Monte Carlo (Del Moral, Doucet & Jasra 2006):

1. n particles xi from N(0, I); each gets a violation v(xi) >= 0 (0 exactly when its row meets every
   condition): the logit margin by which a categorical condition is missed, the distance (in column ranges)
   by which a numerical one is.
2. While fewer than half meet the conditions: raise the inverse temperature beta as far as keeps half the
   effective sample size, reweight by exp(-delta_beta * v), resample, and move every particle by a few
   Metropolis steps on N(0, I) * exp(-beta v) with preconditioned Crank-Nicolson proposals
   (xi' = sqrt(1 - s^2) xi + s eps, which leave N(0, I) invariant; s adapts to the acceptance rate).
3. Keep the particles that meet the conditions, resample them to n, and move them again under the hard
   constraint (a proposal is accepted when its row still meets the conditions), so duplicates spread out.

When at least REJECTION_SHARE of the first n rows already meet the conditions, the sampler keeps those and
draws more directly instead (exact, and cheaper at that share). The result is a sample of the model's conditional distribution p(row | conditions) up to the usual SMC/MCMC
approximation, in a fixed number of network evaluations however rare the condition is (a condition the model
never meets is reported as such). The same seed gives the same rows.
"""

from __future__ import annotations

import math
import time

import numpy as np
import pandas as pd
import torch

from qmolgen.errors import DataError
from qmolgen.tables.conditions import Condition, holds_all
from qmolgen.tables.transforms import RowTransformer

TARGET_ACCEPTANCE = 0.3
MAX_LEVELS = 60
REJECTION_SHARE = 0.1  # conditions at least this common are met by direct draws (exact, <= 10 per row)
STALL_LEVELS = 8  # levels without progress before giving up on a condition the model may never meet


class NoiseToRows:
    """A trained row generator as a deterministic map from standard normal inputs to rows."""

    def __init__(self, generator: torch.nn.Module, transformer: RowTransformer):
        generator.eval()
        self.latent, self.decoder, self.transformer = generator.latent, generator.decoder, transformer
        self.spans = self.decoder.head.spans
        self.drawn = self.decoder.head.choices == "sample"  # categories drawn from the softmax: Gumbel inputs
        self.latent_dim = self.latent.gaussian_dim
        self.dim = self.latent_dim + (sum(s.size for s in self.spans if s.activation != "tanh") if self.drawn else 0)

    @torch.no_grad()
    def __call__(self, xi: torch.Tensor, only: set[str] | None = None) -> tuple[pd.DataFrame, dict[str, torch.Tensor]]:
        """Rows for inputs xi (just the `only` columns when given), and the (perturbed) logits of each
        categorical column's span."""
        raw = self.decoder.raw(self.latent.from_gaussian(xi[:, :self.latent_dim]))
        blocks, logits, start, noise = [], {}, 0, self.latent_dim
        for span in self.spans:
            block = raw[:, start:start + span.size]
            start += span.size
            if span.activation == "tanh":
                blocks.append(torch.tanh(block))
                continue
            if self.drawn:  # Gumbel-max: argmax(logits + Gumbel) is a draw from softmax(logits)
                u = torch.special.ndtr(xi[:, noise:noise + span.size]).clamp(1e-12, 1 - 1e-12)
                block = block - torch.log(-torch.log(u))
                noise += span.size
            logits.setdefault(span.column, block)
            blocks.append(torch.nn.functional.one_hot(block.argmax(1), span.size).to(block))
        rows = self.transformer.inverse(torch.cat(blocks, dim=1).numpy(), only)
        return rows, logits


def violation(rows: pd.DataFrame, logits: dict[str, torch.Tensor], conditions: list[Condition],
              transformer: RowTransformer) -> np.ndarray:
    """Per row, how far it is from meeting every condition (0 exactly when it meets them all)."""
    total = np.zeros(len(rows))
    categories = {c["name"]: c.get("categories") for c in transformer.columns}
    for condition in conditions:
        if condition.numeric:
            total += condition.distance(rows)
            continue
        block = logits[condition.column].double()
        index = categories[condition.column].index(condition.value)
        others = torch.cat([block[:, :index], block[:, index + 1:]], dim=1).max(1).values
        margin = (others - block[:, index] if condition.op == "=" else block[:, index] - others).numpy()
        total += np.where(condition.holds(rows), 0.0, np.maximum(margin, 1e-6))
    return total


def _systematic(weights: np.ndarray, n: int) -> torch.Tensor:
    """n indices drawn by systematic resampling (low variance); one uniform from torch's generator."""
    cumulative = np.cumsum(weights / weights.sum())
    positions = (torch.rand(1).item() + np.arange(n)) / n
    return torch.from_numpy(np.minimum(np.searchsorted(cumulative, positions), len(weights) - 1))


def _stalled(closest: list[float], levels: int = STALL_LEVELS) -> bool:
    """No particle met the conditions and the closest one has not come closer over the last `levels` levels."""
    return len(closest) > levels and closest[-1] > 0 and closest[-1] >= 0.99 * closest[-1 - levels]


def _next_beta(v: np.ndarray, beta: float) -> float:
    """The largest beta' > beta whose reweighting exp(-(beta' - beta) v) keeps half the effective sample size."""
    def ess(delta: float) -> float:
        """Effective sample size of the weights exp(-delta v)."""
        w = np.exp(-delta * (v - v.min()))
        return w.sum() ** 2 / (w ** 2).sum()

    low, high = 0.0, 1.0
    while ess(high) >= len(v) / 2 and high < 1e8:
        high *= 4
    for _ in range(50):
        mid = (low + high) / 2
        low, high = (mid, high) if ess(mid) >= len(v) / 2 else (low, mid)
    return beta + max(low, 1e-6)


class ConditionalSampler:
    """`ConditionalSampler(generator, transformer, conditions).sample(n)` -> (rows, report)."""

    def __init__(self, generator: torch.nn.Module, transformer: RowTransformer, conditions: list[Condition],
                 moves: int = 5):
        self.to_rows, self.conditions, self.moves = NoiseToRows(generator, transformer), conditions, moves
        self.transformer = transformer
        self.columns = {c.column for c in conditions}
        self.evaluations = 0

    def _evaluate(self, xi: torch.Tensor) -> tuple[pd.DataFrame, np.ndarray]:
        """Rows for inputs xi (the conditioned columns only) and their violations; counts the evaluations."""
        rows, logits = self.to_rows(xi, self.columns)
        self.evaluations += len(xi)
        return rows, violation(rows, logits, self.conditions, self.transformer)

    def _move(self, xi: torch.Tensor, v: np.ndarray, beta: float, step: float, moves: int):
        """`moves` Metropolis steps on N(0, I) exp(-beta v) with pCN proposals; beta = inf is the hard constraint."""
        accepted = []
        for _ in range(moves):
            proposal = math.sqrt(1 - step ** 2) * xi + step * torch.randn_like(xi)
            _, v_new = self._evaluate(proposal)
            u = torch.rand(len(xi)).numpy()
            with np.errstate(over="ignore", invalid="ignore"):
                accept = (v_new <= v) | (u < np.exp(-beta * (v_new - v)))
            xi = torch.where(torch.from_numpy(accept)[:, None], proposal, xi)
            v = np.where(accept, v_new, v)
            accepted.append(accept.mean())
            step = float(np.clip(step * math.exp(accept.mean() - TARGET_ACCEPTANCE), 0.01, 1.0))
        return xi, v, step, float(np.mean(accepted))

    def sample(self, n: int) -> tuple[pd.DataFrame, dict]:
        """n rows meeting every condition, and the report: achieved and unconditional fractions, distinct rows,
        method (direct draws or annealed SMC), levels, rows evaluated, seconds and rows per second."""
        start = time.perf_counter()
        xi = torch.randn(n, self.to_rows.dim)
        _, v = self._evaluate(xi)
        unconditional_share = float((v == 0).mean())
        if unconditional_share >= REJECTION_SHARE:
            xi, levels, acceptance = self._draw_directly(xi, v, n), 0, None
        else:
            xi, levels, acceptance = self._anneal(xi, v, n)
        rows, _ = self.to_rows(xi)
        seconds = time.perf_counter() - start
        achieved = float(holds_all(rows, self.conditions).mean())
        report = {"conditions": [str(c) for c in self.conditions], "rows": n, "achieved_fraction": achieved,
                  "unconditional_fraction": unconditional_share, "distinct_rows": int(len(rows.drop_duplicates())),
                  "method": "direct" if acceptance is None else "annealed SMC",
                  "annealing_levels": levels, "final_acceptance": acceptance,
                  "rows_evaluated": self.evaluations, "seconds": round(seconds, 3),
                  "rows_per_second": round(n / seconds, 1)}
        return rows, report

    def _draw_directly(self, xi: torch.Tensor, v: np.ndarray, n: int) -> torch.Tensor:
        """Common conditions: keep the inputs whose rows meet them and draw more until there are n. Exact and
        cheaper than annealing when at least REJECTION_SHARE of the rows meet them (at most 1/share draws a row)."""
        kept = [xi[torch.from_numpy(v == 0)]]
        while sum(len(k) for k in kept) < n:
            more = torch.randn(n, self.to_rows.dim)
            _, v_more = self._evaluate(more)
            kept.append(more[torch.from_numpy(v_more == 0)])
        return torch.cat(kept)[:n]

    def _anneal(self, xi: torch.Tensor, v: np.ndarray, n: int) -> tuple[torch.Tensor, int, float]:
        """Rare conditions: annealed SMC (module docstring); returns the inputs, the levels and the acceptance
        rate of the final constrained moves."""
        beta, step, levels, closest = 0.0, 0.5, 0, [float(v.min())]
        while (v == 0).mean() < 0.5 and levels < MAX_LEVELS and not _stalled(closest):
            beta_next = _next_beta(v, beta)
            index = _systematic(np.exp(-(beta_next - beta) * (v - v.min())), n)
            xi, v, beta = xi[index], v[index], beta_next
            xi, v, step, _ = self._move(xi, v, beta, step, self.moves)
            levels += 1
            closest.append(float(v.min()))
        meeting = np.flatnonzero(v == 0)
        if len(meeting) == 0:
            raise DataError(f"the model produced no row meeting {', '.join(map(str, self.conditions))} in {levels} "
                            f"annealing levels ({self.evaluations:,} rows evaluated; the closest missed by "
                            f"{v.min():.3g}); it may never generate such rows: check the conditions against the "
                            "training data")
        xi = xi[torch.from_numpy(meeting)[_systematic(np.ones(len(meeting)), n)]]
        xi, v, step, acceptance = self._move(xi, np.zeros(n), math.inf, step, 2 * self.moves)
        return xi, levels, round(acceptance, 3)
