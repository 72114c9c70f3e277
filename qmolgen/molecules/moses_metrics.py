"""MOSES benchmark metrics (Polykovskiy et al. 2020) for generated molecules against a reference set.

Written from the paper's definitions because the reference implementation (molsets 0.3.1) no longer imports
with current RDKit (it needs `rdkit.six`); each metric is checked on known cases in tests/test_moses_metrics.py.
The medicinal-chemistry (MCF) and PAINS SMARTS are MOSES's own files, shipped in datasets/moses_filters/.

    unique@k   distinct canonical SMILES among the first k valid samples, / k
    SNN        mean over samples of the highest Tanimoto similarity (Morgan r=2, 1024 bits) to any reference
    Frag       cosine similarity of BRICS-fragment count vectors (samples vs reference)
    Scaff      cosine similarity of Bemis-Murcko scaffold count vectors (scaffolds with >= 2 rings)
    filters    share of valid samples passing MOSES's filters: no ring of >= 8 atoms, no charge, only
               C N S O F Cl Br H, no MCF or PAINS match
"""

from __future__ import annotations

import csv
from collections import Counter
from functools import lru_cache

import numpy as np
import torch
from rdkit import Chem, DataStructs
from rdkit.Chem import AllChem, rdFingerprintGenerator
from rdkit.Chem.Scaffolds import MurckoScaffold

from qmolgen import cache
from qmolgen.molecules.metrics import classify, fcd_score, reference_fcd, smiles_digest
from qmolgen.resources import datasets_dir

ALLOWED_ATOMS = {"C", "N", "S", "O", "F", "Cl", "Br", "H"}
_MORGAN_1024 = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=1024)


@lru_cache(maxsize=1)
def _filter_patterns() -> list[Chem.Mol]:
    folder = datasets_dir() / "moses_filters"
    with (folder / "mcf.csv").open(newline="") as handle:
        smarts = [row["smarts"] for row in csv.DictReader(handle)]
    with (folder / "wehi_pains.csv").open(newline="") as handle:
        smarts += [row[0].strip() for row in csv.reader(handle) if row]
    return [Chem.MolFromSmarts(s) for s in smarts]


def passes_filters(mol: Chem.Mol) -> bool:
    """MOSES's filters (module docstring) for one sanitised molecule."""
    if any(len(ring) >= 8 for ring in mol.GetRingInfo().AtomRings()):
        return False
    if any(a.GetFormalCharge() != 0 or a.GetSymbol() not in ALLOWED_ATOMS for a in mol.GetAtoms()):
        return False
    with_h = Chem.AddHs(mol)
    return not any(with_h.HasSubstructMatch(p) for p in _filter_patterns())


def fingerprints(mols: list[Chem.Mol]) -> np.ndarray:
    """(N, 1024) uint8 Morgan bits (radius 2), MOSES's fingerprint for SNN."""
    out = np.zeros((len(mols), 1024), dtype=np.uint8)
    for i, mol in enumerate(mols):
        DataStructs.ConvertToNumpyArray(_MORGAN_1024.GetFingerprint(mol), out[i])
    return out


def fragments(mol: Chem.Mol) -> list[str]:
    """BRICS fragments of a molecule as SMILES (MOSES's Frag metric)."""
    return Chem.MolToSmiles(AllChem.FragmentOnBRICSBonds(mol)).split(".")


def scaffold(mol: Chem.Mol, min_rings: int = 2) -> str | None:
    """Bemis-Murcko scaffold SMILES with at least `min_rings` rings, else None (MOSES's Scaff metric)."""
    try:
        core = MurckoScaffold.GetScaffoldForMol(mol)
    except (ValueError, RuntimeError):
        return None
    smiles = Chem.MolToSmiles(core)
    return smiles if smiles and core.GetRingInfo().NumRings() >= min_rings else None


def cosine_similarity(a: Counter, b: Counter) -> float | None:
    """Cosine similarity of two count vectors (fragment or scaffold counts); None when either is empty."""
    if not a or not b:
        return None
    keys = sorted(set(a) | set(b))
    va = np.array([a.get(k, 0) for k in keys], dtype=float)
    vb = np.array([b.get(k, 0) for k in keys], dtype=float)
    return float(va @ vb / np.linalg.norm(va) / np.linalg.norm(vb))


def nearest_similarity(generated: np.ndarray, reference: np.ndarray, packed: bool = False, block: int = 2048,
                       reference_block: int = 8192) -> np.ndarray:
    """For each generated fingerprint, its highest Tanimoto similarity to any reference fingerprint.

    `reference` holds 0/1 bits, (M, 1024) uint8, or with packed=True the same packed 8 to a byte (np.packbits):
    it is unpacked and converted a block at a time, so memory stays at a few (block x reference_block) float
    matrices whatever M is (MOSES's test set: 176,074 molecules, 721 MB as one float matrix)."""
    best = []
    for start in range(0, len(generated), block):
        gen = torch.from_numpy(generated[start:start + block]).float()
        gen_bits = gen.sum(1, keepdim=True)
        top = torch.zeros(len(gen))
        for r in range(0, len(reference), reference_block):
            part = reference[r:r + reference_block]
            part = np.unpackbits(part, axis=1)[:, :generated.shape[1]] if packed else part
            ref = torch.from_numpy(np.ascontiguousarray(part)).float()
            inter = gen @ ref.T
            union = gen_bits + ref.sum(1)[None, :] - inter
            # two empty fingerprints count as identical (similarity 1), as RDKit's Tanimoto does
            sim = torch.where(union > 0, inter / union.clamp_min(1), torch.ones_like(inter))
            top = torch.maximum(top, sim.max(1).values)
        best.append(top)
    return torch.cat(best).numpy()


class ReferenceStats:
    """What the metrics need of a reference set (fingerprints, fragment and scaffold counts), computed once
    and cached on disk by the set's contents."""

    def __init__(self, smiles: list[str], digest: str, chunk: int = 10_000):
        name = cache.key("moses-reference", smiles=digest, versions=cache.library_versions("rdkit"))
        hit = cache.computed(name, lambda: self._compute(smiles, chunk))
        self.packed_fingerprints = hit["fingerprints"]  # 8 bits a byte: 22 MB for MOSES's test set, not 180
        self.fragments = Counter(dict(zip(map(str, hit["frag_keys"]), map(int, hit["frag_counts"]))))
        self.scaffolds = Counter(dict(zip(map(str, hit["scaff_keys"]), map(int, hit["scaff_counts"]))))

    @staticmethod
    def _compute(smiles: list[str], chunk: int) -> dict[str, np.ndarray]:
        # `chunk` molecules at a time: RDKit molecules of a whole test set (176,074) would take gigabytes
        packed, frags, scaffs = [], Counter(), Counter()
        for start in range(0, len(smiles), chunk):
            mols = [m for m in (Chem.MolFromSmiles(s) for s in smiles[start:start + chunk]) if m is not None]
            packed.append(np.packbits(fingerprints(mols), axis=1))
            frags.update(f for m in mols for f in fragments(m))
            scaffs.update(s for s in map(scaffold, mols) if s)
        return {"fingerprints": np.concatenate(packed) if packed else np.zeros((0, 128), np.uint8),
                "frag_keys": np.array(list(frags)), "frag_counts": np.array(list(frags.values())),
                "scaff_keys": np.array(list(scaffs)), "scaff_counts": np.array(list(scaffs.values()))}


def unique_at(valid: list[str], k: int) -> float | None:
    """unique@k: None when fewer than k valid samples exist (the metric is undefined there)."""
    if len(valid) < k:
        return None
    return len(set(valid[:k])) / k


def moses_metrics(valid: list[str], reference: ReferenceStats, suffix: str, chunk: int = 10_000) -> dict:
    """SNN, Frag and Scaff of valid canonical SMILES against one reference set, keys ending in `suffix`.
    RDKit molecules are made `chunk` at a time, as for the reference (30,000 drug-like ones at once raised the
    run's resident memory by about a gigabyte that the allocator did not give back)."""
    if not valid:
        return {f"snn{suffix}": None, f"frag{suffix}": None, f"scaff{suffix}": None}
    similarities, frags, scaffs = [], Counter(), Counter()
    for start in range(0, len(valid), chunk):
        mols = [Chem.MolFromSmiles(s) for s in valid[start:start + chunk]]
        similarities.append(nearest_similarity(fingerprints(mols), reference.packed_fingerprints, packed=True))
        frags.update(f for m in mols for f in fragments(m))
        scaffs.update(s for s in map(scaffold, mols) if s)
    return {f"snn{suffix}": float(np.concatenate(similarities).mean()),
            f"frag{suffix}": cosine_similarity(frags, reference.fragments),
            f"scaff{suffix}": cosine_similarity(scaffs, reference.scaffolds)}


def filters_rate(valid: list[str]) -> float | None:
    """Share of valid molecules passing MOSES's medicinal-chemistry and PAINS filters; None when none is valid."""
    if not valid:
        return None
    return sum(passes_filters(Chem.MolFromSmiles(s)) for s in valid) / len(valid)


def moses_report(samples: list[str | None], splits: dict[str, list[str]], with_fcd: bool = True) -> dict:
    """The MOSES metrics of generated strings (in sample order; invalid ones are skipped) against a dataset's
    canonical splits: 'test', optionally 'test_scaffolds' (the .../TestSF metrics), and 'train' for the FCD
    floor: the FCD of as many training molecules as samples against the same test statistics (FCD/Test
    itself is evaluate_smiles's `fcd`)."""
    canonical, _, strict = classify(samples)
    valid = [c for c, ok in zip(canonical, strict) if ok]
    out = {"unique@1k": unique_at(valid, 1000), "unique@10k": unique_at(valid, 10_000), "filters": filters_rate(valid)}
    for split, suffix in (("test", "/Test"), ("test_scaffolds", "/TestSF")):
        if not splits.get(split):
            continue
        reference = splits[split]
        out.update(moses_metrics(valid, ReferenceStats(reference, smiles_digest(reference)), suffix))
        if with_fcd and split != "test":
            out[f"fcd{suffix}"] = fcd_score(valid, reference)
    if with_fcd and splits.get("train") and splits.get("test"):
        train = splits["train"]
        pick = np.random.default_rng(0).choice(len(train), min(len(samples), len(train)), replace=False)
        out["fcd_train_floor"] = reference_fcd([train[i] for i in np.sort(pick)], splits["test"])
    return out
