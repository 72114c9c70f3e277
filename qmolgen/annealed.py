"""Conditional sampling from any trained generator: the samples meeting some conditions, drawn from the model's
own conditional distribution without a rejection loop that stalls on rare conditions. Shared by the tables'
`--where` and the molecules' `--condition`.

Every sample of a trained model is a deterministic function of standard normal inputs xi (the latent source's
`from_gaussian`, plus any Gumbel noise a decoder draws). The samples meeting the conditions are therefore
xi ~ N(0, I) restricted to a region, and `AnnealedSampler` draws from that by annealed sequential Monte Carlo
(Del Moral, Doucet & Jasra 2006), given only `violation(xi) >= 0` (0 exactly when xi's sample meets every
condition):

1. n particles xi from N(0, I), each with its violation v(xi).
2. While fewer than half meet the conditions: raise the inverse temperature beta as far as keeps half the
   effective sample size, reweight by exp(-delta_beta * v), resample, and move every particle by a few
   Metropolis steps on N(0, I) * exp(-beta v) with preconditioned Crank-Nicolson proposals
   (xi' = sqrt(1 - s^2) xi + s eps, which leave N(0, I) invariant; s adapts to the acceptance rate).
3. Keep the particles that meet the conditions, resample them to n, and move them again under the hard
   constraint (a proposal is accepted when its sample still meets the conditions), so duplicates spread out.

When at least REJECTION_SHARE of the first n samples already meet the conditions, the sampler keeps those and
draws more directly instead (exact, and cheaper at that share). The result is a sample of the model's
conditional distribution up to the usual SMC/MCMC approximation, in a bounded number of model evaluations
however rare the condition is; a condition the model never meets stops the annealing (stall detection) and is
reported as such. The same torch seed gives the same inputs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

TARGET_ACCEPTANCE = 0.3
MAX_LEVELS = 60
REJECTION_SHARE = 0.1  # conditions at least this common are met by direct draws (exact, <= 10 per sample)
STALL_LEVELS = 8  # levels without progress before giving up on a condition the model may never meet


@dataclass
class AnnealedRun:
    """What `AnnealedSampler.sample` found: the inputs, and how (for the user's report)."""

    inputs: torch.Tensor  # (n, dim) standard normal inputs whose samples meet the conditions
    unconditional_fraction: float  # share of the first n unconditioned draws that met the conditions
    method: str  # "direct" or "annealed SMC"
    levels: int
    final_acceptance: float | None
    evaluations: int  # samples the model produced along the way
    closest_miss: float  # the smallest violation seen when nothing met the conditions (0 otherwise)

    @property
    def met(self) -> bool:
        """Whether every condition was met by the last level (no sample left outside)."""
        return self.closest_miss == 0


def systematic_resample(weights: np.ndarray, n: int) -> torch.Tensor:
    """n indices drawn by systematic resampling (low variance); one uniform from torch's generator."""
    cumulative = np.cumsum(weights / weights.sum())
    positions = (torch.rand(1).item() + np.arange(n)) / n
    return torch.from_numpy(np.minimum(np.searchsorted(cumulative, positions), len(weights) - 1))


def _stalled(closest: list[float], levels: int = STALL_LEVELS) -> bool:
    """No particle met the conditions and the closest one has not come closer over the last `levels` levels."""
    return len(closest) > levels and closest[-1] > 0 and closest[-1] >= 0.99 * closest[-1 - levels]


def next_beta(v: np.ndarray, beta: float) -> float:
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


class AnnealedSampler:
    """`AnnealedSampler(violation, dim).sample(n)` -> AnnealedRun.

    Args:
        violation: standard normal inputs (k, dim) -> violations (k,) >= 0, 0 exactly where the sample meets
            every condition; called on batches of n.
        dim: the number of standard normal inputs behind one sample.
        moves: Metropolis steps per annealing level (twice that under the hard constraint at the end).
    """

    def __init__(self, violation: Callable[[torch.Tensor], np.ndarray], dim: int, moves: int = 5):
        self._violation, self.dim, self.moves = violation, dim, moves
        self.evaluations = 0

    def _evaluate(self, xi: torch.Tensor) -> np.ndarray:
        self.evaluations += len(xi)
        return np.asarray(self._violation(xi), dtype=float)

    def _move(self, xi: torch.Tensor, v: np.ndarray, beta: float, step: float, moves: int):
        """`moves` Metropolis steps on N(0, I) exp(-beta v) with pCN proposals; beta = inf is the hard constraint."""
        accepted = []
        for _ in range(moves):
            proposal = math.sqrt(1 - step ** 2) * xi + step * torch.randn_like(xi)
            v_new = self._evaluate(proposal)
            u = torch.rand(len(xi)).numpy()
            with np.errstate(over="ignore", invalid="ignore"):
                accept = (v_new <= v) | (u < np.exp(-beta * (v_new - v)))
            xi = torch.where(torch.from_numpy(accept)[:, None], proposal, xi)
            v = np.where(accept, v_new, v)
            accepted.append(accept.mean())
            step = float(np.clip(step * math.exp(accept.mean() - TARGET_ACCEPTANCE), 0.01, 1.0))
        return xi, v, step, float(np.mean(accepted))

    def sample(self, n: int) -> AnnealedRun:
        """n inputs whose samples meet the conditions (see the module docstring). When nothing ever meets them,
        the run's `met` is False and `closest_miss` says by how much the best sample missed; the caller
        raises with its own words for the conditions."""
        xi = torch.randn(n, self.dim)
        v = self._evaluate(xi)
        unconditional = float((v == 0).mean())
        if unconditional >= REJECTION_SHARE:
            return AnnealedRun(self._draw_directly(xi, v, n), unconditional, "direct", 0, None, self.evaluations, 0.0)
        beta, step, levels, closest = 0.0, 0.5, 0, [float(v.min())]
        while (v == 0).mean() < 0.5 and levels < MAX_LEVELS and not _stalled(closest):
            beta_next = next_beta(v, beta)
            index = systematic_resample(np.exp(-(beta_next - beta) * (v - v.min())), n)
            xi, v, beta = xi[index], v[index], beta_next
            xi, v, step, _ = self._move(xi, v, beta, step, self.moves)
            levels += 1
            closest.append(float(v.min()))
        meeting = np.flatnonzero(v == 0)
        if len(meeting) == 0:
            return AnnealedRun(xi, unconditional, "annealed SMC", levels, None, self.evaluations, float(v.min()))
        xi = xi[torch.from_numpy(meeting)[systematic_resample(np.ones(len(meeting)), n)]]
        xi, v, step, acceptance = self._move(xi, np.zeros(n), math.inf, step, 2 * self.moves)
        return AnnealedRun(xi, unconditional, "annealed SMC", levels, round(acceptance, 3), self.evaluations, 0.0)

    def _draw_directly(self, xi: torch.Tensor, v: np.ndarray, n: int) -> torch.Tensor:
        """Common conditions: keep the inputs whose samples meet them and draw more until there are n. Exact and
        cheaper than annealing when at least REJECTION_SHARE of the samples meet them."""
        kept = [xi[torch.from_numpy(v == 0)]]
        while sum(len(k) for k in kept) < n:
            more = torch.randn(n, self.dim)
            kept.append(more[torch.from_numpy(self._evaluate(more) == 0)])
        return torch.cat(kept)[:n]
