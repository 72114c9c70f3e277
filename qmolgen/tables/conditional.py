"""Conditional sampling of table rows: rows of a trained table model that meet conditions (conditions.py), drawn
from the model's own conditional distribution by the annealed SMC of qmolgen/annealed.py.

Every row is a deterministic function of standard normal inputs xi: the latent source's (`from_gaussian`, any
kind) and, for models whose categories are drawn (generator.choices=sample), one Gumbel perturbation per
option. A row's violation is the logit margin by which a categorical condition is missed, and the distance (in
column ranges) by which a numerical one is.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import torch

from qmolgen.annealed import AnnealedSampler
from qmolgen.errors import DataError
from qmolgen.tables.conditions import Condition, holds_all
from qmolgen.tables.transforms import RowTransformer

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


class ConditionalSampler:
    """`ConditionalSampler(generator, transformer, conditions).sample(n)` -> (rows, report)."""

    def __init__(self, generator: torch.nn.Module, transformer: RowTransformer, conditions: list[Condition],
                 moves: int = 5):
        self.to_rows, self.conditions, self.moves = NoiseToRows(generator, transformer), conditions, moves
        self.transformer = transformer
        self.columns = {c.column for c in conditions}

    def _violation(self, xi: torch.Tensor) -> np.ndarray:
        """The violations of the rows for inputs xi (only the conditioned columns are decoded)."""
        rows, logits = self.to_rows(xi, self.columns)
        return violation(rows, logits, self.conditions, self.transformer)

    def sample(self, n: int) -> tuple[pd.DataFrame, dict]:
        """n rows meeting every condition, and the report: achieved and unconditional fractions, distinct rows,
        method (direct draws or annealed SMC), levels, rows evaluated, seconds and rows per second.

        Raises:
            DataError: the model produced no row meeting the conditions before the annealing stalled.
        """
        start = time.perf_counter()
        run = AnnealedSampler(self._violation, self.to_rows.dim, self.moves).sample(n)
        if not run.met:
            raise DataError(f"the model produced no row meeting {', '.join(map(str, self.conditions))} in "
                            f"{run.levels} annealing levels ({run.evaluations:,} rows evaluated; the closest missed "
                            f"by {run.closest_miss:.3g}); it may never generate such rows: check the conditions "
                            "against the training data")
        rows, _ = self.to_rows(run.inputs)
        seconds = time.perf_counter() - start
        achieved = float(holds_all(rows, self.conditions).mean())
        report = {"conditions": [str(c) for c in self.conditions], "rows": n, "achieved_fraction": achieved,
                  "unconditional_fraction": run.unconditional_fraction,
                  "distinct_rows": int(len(rows.drop_duplicates())), "method": run.method,
                  "annealing_levels": run.levels, "final_acceptance": run.final_acceptance,
                  "rows_evaluated": run.evaluations, "seconds": round(seconds, 3),
                  "rows_per_second": round(n / seconds, 1)}
        return rows, report
