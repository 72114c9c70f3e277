"""What property-targeted generation aims at, as users write it: objectives (`qed`, `2*qed`, `-sa`,
`celecoxib_rediscovery`) and constraints (`sa<=3.5`, `mw>=250`, `similarity>=0.4`).

An `Objective` scores SMILES: the weighted sum of its terms, the total violation of its constraints (0 when all
hold; each gap measured in the property's typical range, so `sa<=3.5` missed by 1 and `mw<=400` missed by 100
weigh alike), and a fitness for optimisers that puts every invalid molecule below every valid one and every
violating molecule below every feasible one. Scores are cached per SMILES string: optimisers revisit molecules.

Properties: RDKit's QED, Crippen logP, the SA score (RDKit Contrib), molecular weight, TPSA, Tanimoto
similarity (Morgan counts, radius 2) to a given molecule, GuacaMol's task scores (guacamol.py), and a
user-supplied scorer (surrogate.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd
from rdkit import Chem
from rdkit.Chem import Crippen, Descriptors, QED

from qmolgen.errors import ConfigError
from qmolgen.molecules.guacamol import TASKS, canonical_without_stereo, tanimoto_to
from qmolgen.molecules.metrics import sascorer
from qmolgen.molecules.moses_metrics import passes_filters

# name -> (function of a sanitised molecule, typical range for measuring constraint gaps, description)
DESCRIPTORS: dict[str, tuple[Callable[[Chem.Mol], float], float, str]] = {
    "qed": (QED.qed, 1.0, "drug-likeness (QED, 0-1, higher is more drug-like)"),
    "logp": (Crippen.MolLogP, 5.0, "Crippen logP"),
    "sa": (sascorer.calculateScore, 5.0, "synthetic accessibility (1 easy - 10 hard)"),
    "mw": (Descriptors.MolWt, 100.0, "molecular weight (Da)"),
    "tpsa": (Descriptors.TPSA, 40.0, "topological polar surface area (A^2)"),
}
SIMILARITY = "similarity"  # to --similar-to
SCORER = "scorer"  # the user's surrogate model
INVALID_FITNESS = -1e6
VIOLATION_PENALTY = 1e3  # per unit of violation: feasibility comes before the objective

TERM = re.compile(r"^\s*(?:([+-]?\d*\.?\d+(?:e[+-]?\d+)?)\s*\*\s*|([+-]))?\s*([A-Za-z_][A-Za-z_0-9]*)\s*$")
CONSTRAINT = re.compile(r"^\s*([A-Za-z_][A-Za-z_0-9]*)\s*(<=|>=|<|>)\s*([+-]?\d*\.?\d+(?:e[+-]?\d+)?)\s*$")


def property_names() -> list[str]:
    """Every name an objective or condition may use: descriptors, similarity, scorer and GuacaMol tasks."""
    return list(dict.fromkeys([*DESCRIPTORS, SIMILARITY, SCORER, *TASKS]))  # GuacaMol's qed is RDKit's


@dataclass(frozen=True)
class Constraint:
    """`property op bound`, op one of <=, >=, <, >."""

    name: str
    op: str
    bound: float
    scale: float

    def __str__(self) -> str:
        return f"{self.name}{self.op}{self.bound:g}"

    def gap(self, value: float) -> float:
        """How far `value` is from meeting the constraint, in the property's typical range (0 when met)."""
        if value is None or np.isnan(value):
            return 1.0
        holds = {"<": value < self.bound, "<=": value <= self.bound, ">": value > self.bound,
                 ">=": value >= self.bound}[self.op]
        return 0.0 if holds else max(abs(value - self.bound) / self.scale, 1e-6)


class Objective:
    """Scores molecules for optimisation and conditional generation.

    Build one with `Objective.parse`; `objective.score(smiles)` returns a table with one row per input.
    """

    def __init__(self, terms: list[tuple[float, str]], constraints: list[Constraint],
                 functions: dict[str, Callable[[Chem.Mol], float]]):
        self.terms, self.constraints, self.functions = terms, constraints, functions
        self.names = list(dict.fromkeys([name for _, name in terms] + [c.name for c in constraints]))
        self._cache: dict[str, dict] = {}

    @classmethod
    def parse(cls, objectives: list[str] | tuple[str, ...] = (), constraints: list[str] | tuple[str, ...] = (),
              similar_to: str | None = None, scorer: Callable[[Chem.Mol], float] | None = None,
              need_objective: bool = True) -> "Objective":
        """From texts: objectives like `qed`, `0.5*logp`, `-sa`, `osimertinib_mpo` (summed, maximised) and
        constraints like `sa<=3.5`, `similarity>=0.4`. A text with a comparison may also be passed among the
        objectives; it is treated as a constraint. need_objective=False allows constraints alone (conditions).

        Raises:
            ConfigError: a malformed text, an unknown property, `similarity` without a target molecule, `scorer`
                without a scorer, or no objective at all; every problem at once.
        """
        problems, terms, parsed = [], [], []
        for text in [*objectives, *constraints]:
            if CONSTRAINT.match(text):
                name, op, bound = CONSTRAINT.match(text).groups()
                parsed.append((name.lower(), op, float(bound)))
            elif TERM.match(text) and text in objectives:
                weight, sign, name = TERM.match(text).groups()
                terms.append((float(weight) if weight else -1.0 if sign == "-" else 1.0, name.lower()))
            else:
                problems.append(f"{text!r} is neither an objective (`qed`, `2*qed`, `-sa`) nor a constraint "
                                "(`sa<=3.5`, `mw>=250`)")
        if need_objective and not terms and not problems:
            problems.append("no objective to maximise: give at least one, e.g. --objective qed")
        used = {name for _, name in terms} | {name for name, _, _ in parsed}
        for name in sorted(used - set(property_names())):
            problems.append(f"unknown property {name!r}; known: {', '.join(property_names())}")
        if SIMILARITY in used and not similar_to:
            problems.append("`similarity` needs the molecule to be similar to (--similar-to SMILES)")
        if similar_to and Chem.MolFromSmiles(similar_to) is None:
            problems.append(f"--similar-to {similar_to!r} is not a valid SMILES")
        if SCORER in used and scorer is None:
            problems.append("`scorer` needs a trained scorer (--scorer measured.csv)")
        if problems:
            raise ConfigError("; ".join(problems))
        functions = {name: DESCRIPTORS[name][0] for name in used if name in DESCRIPTORS}
        functions.update({name: TASKS[name].scorer() for name in used if name in TASKS})
        if SIMILARITY in used:
            functions[SIMILARITY] = tanimoto_to(similar_to)
        if SCORER in used:
            functions[SCORER] = scorer
        scales = {name: DESCRIPTORS[name][1] if name in DESCRIPTORS else 1.0 for name in used}
        return cls(terms, [Constraint(n, op, bound, scales[n]) for n, op, bound in parsed], functions)

    def __str__(self) -> str:
        text = " + ".join(name if w == 1 else f"{w:g}*{name}" for w, name in self.terms)
        return text + "".join(f", {c}" for c in self.constraints)

    def _score_one(self, smiles: str | None) -> dict:
        mol = Chem.MolFromSmiles(smiles) if smiles else None
        if mol is None:
            return {"canonical": None, "valid": False, "score": np.nan, "violation": np.nan,
                    "fitness": INVALID_FITNESS, **{name: np.nan for name in self.names}}
        values = {name: float(self.functions[name](mol)) for name in self.names}
        score = sum(w * values[name] for w, name in self.terms)
        violation = sum(c.gap(values[c.name]) for c in self.constraints)
        return {"canonical": canonical_without_stereo(mol), "valid": True, "score": score, "violation": violation,
                "fitness": score - VIOLATION_PENALTY * violation, **values}

    def score(self, smiles: list[str | None]) -> pd.DataFrame:
        """One row per input: canonical SMILES (no stereo; None if invalid), valid, score (the objective),
        violation (0 = every constraint met), fitness (for optimisers) and each property used."""
        rows = []
        for s in smiles:
            key = s or ""
            if key not in self._cache:
                self._cache[key] = self._score_one(s)
            rows.append(self._cache[key])
        return pd.DataFrame(rows, columns=["canonical", "valid", "score", "violation", "fitness", *self.names])


def medchem_pass(smiles: list[str]) -> list[bool]:
    """Whether each (valid) molecule passes MOSES's medicinal-chemistry filters (MCF, PAINS, ring size, charge,
    atom types): the check that shows reward hacking by molecules no chemist would make."""
    return [passes_filters(Chem.MolFromSmiles(s)) for s in smiles]
