"""A subset of GuacaMol's goal-directed benchmarks (Brown et al. 2019, J. Chem. Inf. Model. 59, 1096), scored as
GuacaMol defines them. The `guacamol` package (0.5.5) does not import with current SciPy (`from scipy import
histogram`) and pins rdkit-pypi, so the scoring functions are written here from the paper and the package's
definitions, and cross-checked in tests/test_optimize.py on molecules whose scores follow from the definitions
(the target itself scores 1 on rediscovery, a C11H24 isomer 1 on the isomer task).

A task is a molecule score in [0, 1] and a list of top-k counts; the benchmark score of a set of molecules is
the mean over k of the mean score of the k best distinct molecules (canonical SMILES without stereo, invalid
ones dropped, missing ones counted as 0), exactly GuacaMol's `compute_global_score` with uniform weights.
Fingerprints are GuacaMol's: ECFP4/ECFP6 are RDKit Morgan *count* fingerprints of radius 2/3, FCFP4 the
feature-invariant variant; similarity is Tanimoto on the counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Callable

import numpy as np
from rdkit import Chem, DataStructs
from rdkit.Chem import Crippen, Descriptors, QED, rdFingerprintGenerator

CELECOXIB = "CC1=CC=C(C=C1)C1=CC(=NN1C1=CC=C(C=C1)S(N)(=O)=O)C(F)(F)F"
OSIMERTINIB = "COc1cc(N(C)CCN(C)C)c(NC(=O)C=C)cc1Nc2nccc(n2)c3cn(C)c4ccccc34"
CAMPHOR = "CC1(C)C2CCC1(C)C(=O)C2"
MENTHOL = "CC(C)C1CCC(C)CC1O"


@lru_cache(maxsize=None)
def _generator(radius: int, features: bool):
    invariants = rdFingerprintGenerator.GetMorganFeatureAtomInvGen() if features else None
    return rdFingerprintGenerator.GetMorganGenerator(radius=radius, atomInvariantsGenerator=invariants)


def fingerprint(mol: Chem.Mol, kind: str = "ECFP4"):
    """GuacaMol's fingerprints: ECFP4, ECFP6 (Morgan counts, radius 2 / 3) and FCFP4 (feature invariants)."""
    radius, features = {"ECFP4": (2, False), "ECFP6": (3, False), "FCFP4": (2, True)}[kind]
    return _generator(radius, features).GetSparseCountFingerprint(mol)


def tanimoto_to(smiles: str, kind: str = "ECFP4") -> Callable[[Chem.Mol], float]:
    """mol -> Tanimoto similarity (on fingerprint counts) to the molecule `smiles`."""
    target = fingerprint(Chem.MolFromSmiles(smiles), kind)
    return lambda mol: DataStructs.TanimotoSimilarity(fingerprint(mol, kind), target)


def gaussian(x: float, mu: float, sigma: float) -> float:
    """GaussianModifier of GuacaMol: exp(-((x - mu) / sigma)² / 2), 1 at the target."""
    return float(np.exp(-0.5 * ((x - mu) / sigma) ** 2))


def at_most(x: float, mu: float, sigma: float) -> float:
    """GuacaMol's MinGaussianModifier: 1 up to mu, a Gaussian decay above it."""
    return gaussian(max(x, mu), mu, sigma)


def at_least(x: float, mu: float, sigma: float) -> float:
    """GuacaMol's MaxGaussianModifier: 1 from mu up, a Gaussian decay below it."""
    return gaussian(min(x, mu), mu, sigma)


def geometric_mean(values: list[float]) -> float:
    """Geometric mean of scores in [0, 1] (GuacaMol's MPO aggregation)."""
    return float(np.prod(values) ** (1 / len(values)))


def count_atoms(mol: Chem.Mol, element: str) -> int:
    """Atoms of `element`, implicit hydrogens included."""
    if element == "H":
        mol = Chem.AddHs(mol)
    return sum(atom.GetSymbol() == element for atom in mol.GetAtoms())


def isomer_score(formula: dict[str, int]) -> Callable[[Chem.Mol], float]:
    """GuacaMol's IsomerScoringFunction: geometric mean of a Gaussian (sigma 1) on each element's count and a
    Gaussian (sigma 2) on the total number of atoms, hydrogens included."""
    total = sum(formula.values())

    def score(mol: Chem.Mol) -> float:
        parts = [gaussian(count_atoms(mol, element), n, 1.0) for element, n in formula.items()]
        parts.append(gaussian(Chem.AddHs(mol).GetNumAtoms(), total, 2.0))
        return geometric_mean(parts)
    return score


def _osimertinib_mpo() -> Callable[[Chem.Mol], float]:
    similar = tanimoto_to(OSIMERTINIB, "FCFP4")
    not_too_similar = tanimoto_to(OSIMERTINIB, "ECFP6")

    def score(mol: Chem.Mol) -> float:
        return geometric_mean([min(similar(mol) / 0.8, 1.0), at_most(not_too_similar(mol), 0.85, 0.1),
                               at_least(Descriptors.TPSA(mol), 100, 10), at_most(Crippen.MolLogP(mol), 1, 1)])
    return score


def _median_camphor_menthol() -> Callable[[Chem.Mol], float]:
    camphor, menthol = tanimoto_to(CAMPHOR), tanimoto_to(MENTHOL)
    return lambda mol: geometric_mean([menthol(mol), camphor(mol)])


@dataclass(frozen=True)
class Task:
    """One goal-directed benchmark: its GuacaMol name, score, top-k counts and the best published score."""

    name: str
    title: str
    build: Callable[[], Callable[[Chem.Mol], float]]
    top_counts: tuple[int, ...]
    best_published: float  # GuacaMol paper, Table 2: the best of its baselines (Graph GA, SMILES LSTM, ...)
    best_model: str

    def scorer(self) -> Callable[[Chem.Mol], float]:
        """mol -> the task's score in [0, 1]."""
        return self.build()

    def benchmark_score(self, scores: dict[str, float]) -> tuple[float, dict[str, float]]:
        """GuacaMol's global score from {distinct canonical SMILES: score}: the mean over the top-k counts of
        the mean of the k best scores (zeros where fewer than k molecules were given), and each top-k mean."""
        ranked = sorted(scores.values(), reverse=True)
        tops = {}
        for k in self.top_counts:
            best = ranked[:k]
            tops[f"top_{k}"] = sum(best) / k  # fewer than k molecules: the missing ones count 0
        return float(np.mean(list(tops.values()))), tops


TASKS = {task.name: task for task in [
    Task("celecoxib_rediscovery", "Celecoxib rediscovery", lambda: tanimoto_to(CELECOXIB), (1,), 1.000,
         "Graph GA, SMILES LSTM"),
    Task("qed", "QED", lambda: QED.qed, (1, 10, 100), 0.948, "every baseline"),
    Task("isomers_c11h24", "C11H24 isomers", lambda: isomer_score({"C": 11, "H": 24}), (159,), 0.993,
         "SMILES LSTM"),
    Task("median_molecules_1", "Median molecules 1 (camphor, menthol)", _median_camphor_menthol, (1, 10, 100),
         0.438, "SMILES LSTM"),
    Task("osimertinib_mpo", "Osimertinib MPO", _osimertinib_mpo, (1, 10, 100), 0.953, "Graph GA"),
]}


def canonical_without_stereo(mol: Chem.Mol) -> str:
    """GuacaMol's canonical form for deduplication: canonical SMILES with stereocentres removed."""
    return Chem.MolToSmiles(mol, isomericSmiles=False)
