"""Chemistry metrics for a list of generated SMILES (any source, valid or not).

Definitions (N = number of generated strings, including empty or unparsable ones):
    validity            strict: RDKit-sanitisable AND a single connected fragment, / N
    validity_loose      MolGAN's: RDKit-sanitisable, fragments allowed, / N
    uniqueness          distinct canonical SMILES among strictly valid / strictly valid
    novelty             distinct valid not in the training set / distinct valid
    vu, vun             distinct valid / N  and  distinct valid novel / N  (DiGress's V.U and V.U.N)
    mode_collapse_rate  1 - uniqueness: the share of valid samples that repeat an earlier one
    top_share           share of valid samples taken by the single most frequent molecule
    fcd                 Frechet ChemNet Distance (fcd package) of the valid samples to the reference set
    int_div             1 - mean pairwise Tanimoto similarity (Morgan r=2, 2048 bits) of distinct valid
    qed/logp/sa         mean of each property over valid samples, and *_w1: Wasserstein-1 distance of its
                        distribution to the reference set's
"""

from __future__ import annotations

import hashlib
import logging
import os
import sys
from collections import Counter
from functools import lru_cache

import numpy as np
from rdkit import Chem, DataStructs, RDConfig
from rdkit.Chem import QED, Crippen, rdFingerprintGenerator

from qmolgen import cache
from qmolgen.errors import DataError

log = logging.getLogger("qmolgen")

sys.path.append(os.path.join(RDConfig.RDContribDir, "SA_Score"))
import sascorer  # noqa: E402  (RDKit Contrib, shipped inside the rdkit wheel)

INTDIV_MAX = 2000
_MORGAN = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=2048)


def classify(smiles: list[str | None]) -> tuple[list[str | None], list[bool], list[bool]]:
    """Canonical SMILES (None if not sanitisable), loose validity and strict validity for each string."""
    canonical, loose, strict = [], [], []
    for s in smiles:
        mol = Chem.MolFromSmiles(s) if s else None
        c = Chem.MolToSmiles(mol) if mol is not None and mol.GetNumAtoms() else None
        canonical.append(c)
        loose.append(c is not None)
        strict.append(c is not None and "." not in c)
    return canonical, loose, strict


def properties(smiles: str) -> tuple[float, float, float]:
    """(QED, Crippen logP, SA score) of one valid SMILES."""
    mol = Chem.MolFromSmiles(smiles)
    return QED.qed(mol), Crippen.MolLogP(mol), sascorer.calculateScore(mol)


def internal_diversity(smiles: list[str], seed: int = 0) -> float | None:
    """1 - mean pairwise Tanimoto similarity over at most INTDIV_MAX molecules (a seeded subset);
    None for fewer than two molecules."""
    if len(smiles) < 2:
        return None
    if len(smiles) > INTDIV_MAX:
        pick = np.random.default_rng(seed).choice(len(smiles), INTDIV_MAX, replace=False)
        smiles = [smiles[i] for i in pick]
    fps = [_MORGAN.GetFingerprint(Chem.MolFromSmiles(s)) for s in smiles]
    total = 0.0
    for i in range(1, len(fps)):
        total += sum(DataStructs.BulkTanimotoSimilarity(fps[i], fps[:i]))
    pairs = len(fps) * (len(fps) - 1) / 2
    return 1.0 - total / pairs


@lru_cache(maxsize=1)
def _chemnet():
    import fcd

    return fcd.load_ref_model()


def _chemnet_stats(smiles: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    import fcd

    activations = fcd.get_predictions(_chemnet(), list(smiles), device="cpu")
    return activations.mean(0), np.cov(activations.T)


def smiles_digest(smiles) -> str:
    """SHA-256 of a sequence of SMILES in order: the cache key of anything computed from that set."""
    return hashlib.sha256("\n".join(smiles).encode()).hexdigest()


@lru_cache(maxsize=4)
def _reference_stats(smiles: tuple[str, ...]):
    """ChemNet mean and covariance of a reference set: in memory, and on disk across runs."""
    name = cache.key("chemnet", smiles=smiles_digest(smiles), versions=cache.library_versions("fcd", "rdkit"))
    stats = cache.computed(name, lambda: dict(zip(("mu", "sigma"), _chemnet_stats(smiles))))
    return stats["mu"], stats["sigma"]


@lru_cache(maxsize=4)
def _reference_properties(smiles: tuple[str, ...]) -> np.ndarray:
    name = cache.key("properties", smiles=smiles_digest(smiles), versions=cache.library_versions("rdkit"))
    return cache.computed(name, lambda: {"values": np.array([properties(s) for s in smiles])})["values"]


def fcd_score(generated: list[str], reference: list[str]) -> float | None:
    """Frechet ChemNet Distance between two SMILES sets (reference statistics cached per process)."""
    import fcd

    if len(generated) < 2 or len(reference) < 2:  # no covariance from one molecule
        return None
    mu1, sigma1 = _chemnet_stats(tuple(generated))
    mu2, sigma2 = _reference_stats(tuple(reference))
    return float(fcd.utils.calculate_frechet_distance(mu1, sigma1, mu2, sigma2))


def reference_fcd(first: list[str], second: list[str]) -> float:
    """FCD between two fixed sets (e.g. training molecules against the test split), both sides' ChemNet
    statistics cached on disk: a floor that every run of a recipe shares is computed once."""
    import fcd

    mu1, sigma1 = _reference_stats(tuple(first))
    mu2, sigma2 = _reference_stats(tuple(second))
    return float(fcd.utils.calculate_frechet_distance(mu1, sigma1, mu2, sigma2))


def evaluate_smiles(smiles: list[str | None], train: set[str] | None = None, reference: list[str] | None = None,
                    with_fcd: bool = True, with_properties: bool = True) -> dict:
    """All metrics of the module docstring for `smiles`.

    Args:
        smiles: generated strings; None or '' counts as invalid.
        train: canonical training SMILES for novelty (skipped when None).
        reference: canonical reference SMILES (test split) for FCD and property distances.
        with_fcd, with_properties: compute the slower metrics.
    """
    from scipy.stats import wasserstein_distance

    n = len(smiles)
    if n == 0:
        raise DataError("no molecules to evaluate: the input holds no SMILES")
    canonical, loose, strict = classify(smiles)
    valid = [c for c, ok in zip(canonical, strict) if ok]
    counts = Counter(valid)
    distinct = list(counts)
    out = {"n_samples": n, "validity": len(valid) / n, "validity_loose": sum(loose) / n}
    out["uniqueness"] = len(distinct) / len(valid) if valid else 0.0
    out["vu"] = len(distinct) / n
    # Undefined without a valid sample: None, not a number that would read as total collapse.
    out["mode_collapse_rate"] = 1.0 - out["uniqueness"] if valid else None
    out["top_share"] = counts.most_common(1)[0][1] / len(valid) if valid else None
    if train is not None:
        novel = [s for s in distinct if s not in train]
        # Undefined without a valid sample (None with the reason), as mode_collapse_rate.
        out["novelty"] = len(novel) / len(distinct) if distinct else None
        if not distinct:
            out["novelty_note"] = "no valid molecule: novelty is not defined"
        out["vun"] = len(novel) / n
    out["int_div"] = internal_diversity(distinct)
    if with_properties and valid:
        props = np.array([properties(s) for s in valid])
        for k, name in enumerate(("qed", "logp", "sa")):
            out[name] = float(props[:, k].mean())
            if reference:
                out[f"{name}_w1"] = float(wasserstein_distance(props[:, k], _reference_properties(tuple(reference))[:, k]))
    if with_fcd and reference:
        out["fcd"] = fcd_score(valid, reference)
    return out
