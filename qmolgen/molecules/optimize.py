"""Property-targeted molecules from a trained model: `optimize` (the best molecules for an objective, found in the
model's latent space) and `sample_conditioned` (molecules from the model's own distribution restricted to
property conditions, by the annealed SMC of qmolgen/annealed.py). The CLI's `qmolgen optimize` and
`qmolgen generate --condition`, and the API's `Synthesizer.optimize` / `sample(condition=...)`, call these.
"""

from __future__ import annotations

import logging
import time

import numpy as np
import pandas as pd
import torch

from qmolgen.annealed import AnnealedSampler
from qmolgen.errors import ConfigError, DataError
from qmolgen.molecules.guacamol import TASKS
from qmolgen.molecules.latent_search import OPTIMIZERS, MoleculeSpace, search
from qmolgen.molecules.objectives import Objective, medchem_pass
from qmolgen.molecules.reward_finetune import finetune_search
from qmolgen.molecules.surrogate import fit_surrogate

log = logging.getLogger("qmolgen")

# the latent-space searches, and reward fine-tuning of the decoder (molecules/reward_finetune.py)
METHODS = (*OPTIMIZERS, "finetune")


def build_objective(objectives=(), constraints=(), similar_to: str | None = None, min_similarity: float | None = None,
                    scorer: str | None = None, scorer_column: str | None = None, seed: int = 0,
                    need_objective: bool = True):
    """An Objective from the user's texts and options; `min_similarity` adds `similarity>=VALUE`, `scorer` (a
    CSV of SMILES with measured values) trains the surrogate the `scorer` property calls. Returns the objective
    and the scorer's report (its cross-validated error), or None without a scorer."""
    constraints = list(constraints)
    if min_similarity is not None:
        if not similar_to:
            raise ConfigError("--min-similarity needs --similar-to SMILES")
        constraints.append(f"similarity>={min_similarity}")
    surrogate = fit_surrogate(scorer, scorer_column, seed) if scorer else None
    objective = Objective.parse(list(objectives), constraints, similar_to, surrogate, need_objective)
    return objective, (surrogate.report if surrogate else None)


def guacamol_task(objective: Objective):
    """The GuacaMol task an objective is exactly (one task term of weight 1, no constraints), else None."""
    if len(objective.terms) != 1 or objective.constraints:
        return None
    weight, name = objective.terms[0]
    return TASKS.get(name) if weight == 1.0 else None


def optimize(model, objective: Objective, optimizer: str = "cmaes", space: str = "latent", budget: int = 5000,
             n: int = 100, seed: int = 0, batch: int = 100, progress=None) -> tuple[pd.DataFrame, dict]:
    """The n best distinct molecules meeting every constraint that a search of `budget` scored molecules found,
    and the report: optimiser, space, calls, time, validity, best and top-k scores, the share passing MOSES's
    medicinal-chemistry filters, and the GuacaMol benchmark score when the objective is one of its tasks."""
    if n < 1:
        raise ConfigError(f"-n must be >= 1; got {n}")
    if optimizer not in METHODS:
        raise ConfigError(f"optimizer must be one of {METHODS}; got {optimizer!r}")
    if optimizer == "finetune":
        if space != "latent":
            raise ConfigError(f"optimizer=finetune trains the decoder on codes drawn from the model's latent source; "
                              f"space={space!r} does not apply to it: leave space=latent")
        found = finetune_search(model.generator, model.domain, objective, budget, seed, progress=progress)
        dimensions = sum(p.numel() for p in model.generator.decoder.parameters())  # what it trains
    else:
        inputs = MoleculeSpace(model.generator, model.domain, space)
        found = search(inputs, objective, optimizer, budget, batch, seed, progress)
        dimensions = inputs.dim
    molecules = found.molecules
    feasible = molecules[molecules["violation"] == 0] if len(molecules) else molecules
    top = feasible.head(n).rename(columns={"canonical": "smiles"}).drop(columns=["valid", "fitness", "violation"])
    top.insert(0, "rank", np.arange(1, len(top) + 1))
    top["passes_filters"] = medchem_pass(top["smiles"].tolist())
    scores = feasible["score"].to_numpy()
    report = {"objective": str(objective), "optimizer": optimizer, "space": space,
              "model": model.config["generator"]["kind"], "dimensions": dimensions,
              "seed": seed, "budget": budget, "scoring_calls": found.calls, "seconds": round(found.seconds, 1),
              "valid_fraction": round(found.valid_fraction, 4), "distinct_valid": int(len(molecules)),
              "distinct_feasible": int(len(feasible)), "returned": int(len(top)),
              "best_score": float(scores[0]) if len(scores) else None,
              **{f"top_{k}_mean": float(scores[:k].mean()) for k in (1, 10, 100) if len(scores) >= k},
              "filters_pass_rate": float(top["passes_filters"].mean()) if len(top) else None,
              "history": found.history}
    task = guacamol_task(objective)
    if task is not None:
        report["guacamol"] = {"task": task.name, "top_counts": list(task.top_counts),
                              "best_published": task.best_published, "best_model": task.best_model}
        report["guacamol"]["score"], report["guacamol"]["tops"] = task.benchmark_score(
            dict(zip(feasible["canonical"], feasible["score"])))
    return top.reset_index(drop=True), report


def sample_conditioned(generator, domain, objective: Objective, n: int) -> tuple[pd.DataFrame, dict]:
    """n molecules from the model's own distribution that meet the objective's constraints (its terms are not
    used), drawn by annealed SMC over the latent source's Gaussian inputs, and the report: achieved and
    unconditional fractions, method, molecules decoded, seconds and molecules per second.

    Raises:
        DataError: the model produced no molecule meeting the conditions before the annealing stalled.
    """
    if not objective.constraints:
        raise ConfigError("conditional generation needs at least one condition, e.g. --condition 'qed>=0.7'")
    space = MoleculeSpace(generator, domain, "latent")
    start = time.perf_counter()

    def violation(xi: torch.Tensor) -> np.ndarray:
        scored = objective.score(space.decode(xi))
        # an invalid molecule is further from any condition than a valid one that misses it
        return np.where(scored["valid"], scored["violation"], 1.0 + len(objective.constraints)).astype(float)

    run = AnnealedSampler(violation, space.dim).sample(n)
    conditions = ", ".join(map(str, objective.constraints))
    if not run.met:
        raise DataError(f"the model produced no molecule meeting {conditions} in {run.levels} annealing levels "
                        f"({run.evaluations:,} molecules decoded; the closest missed by {run.closest_miss:.3g}); "
                        "it may never generate such molecules: check the conditions against its training data")
    smiles = space.decode(run.inputs)
    scored = objective.score(smiles)
    seconds = time.perf_counter() - start
    met = scored["valid"] & (scored["violation"] == 0)
    table = pd.DataFrame({"smiles": scored["canonical"].where(scored["valid"], pd.Series(smiles)),
                          "valid": scored["valid"], **{name: scored[name] for name in objective.names},
                          "meets_conditions": met})
    report = {"conditions": conditions, "molecules": n, "achieved_fraction": float(met.mean()),
              "unconditional_fraction": run.unconditional_fraction, "distinct": int(scored["canonical"][met].nunique()),
              "method": run.method, "annealing_levels": run.levels, "molecules_decoded": run.evaluations,
              "seconds": round(seconds, 2), "molecules_per_second": round(n / seconds, 1)}
    return table, report
