"""MOSES metrics, each on cases whose answer is known independently of the implementation."""

import gzip
import math
from collections import Counter

import numpy as np
import pytest
from rdkit import Chem, DataStructs
from rdkit.Chem import rdFingerprintGenerator

from qmolgen.molecules.moses_metrics import (ReferenceStats, cosine_similarity, fingerprints, fragments,
                                             moses_metrics, nearest_similarity, passes_filters, scaffold,
                                             unique_at)
from qmolgen.resources import datasets_dir


def test_moses_test_molecules_pass_the_filters_they_were_selected_by():
    with gzip.open(datasets_dir() / "moses_test.smi.gz", "rt") as handle:
        smiles = [next(handle).strip() for _ in range(200)]
    assert all(passes_filters(Chem.MolFromSmiles(s)) for s in smiles)


@pytest.mark.parametrize("smiles, why", [
    ("C[NH3+]", "charged"),
    ("C1CCCCCCC1", "eight-membered ring"),
    ("CC[Si](C)(C)C", "silicon is not an allowed atom"),
    ("S=C1SC(=Cc2ccccc2)C(=O)N1", "benzylidene rhodanine, the classic PAINS ene_rhod"),
    ("C=CC#N", "MCF1: an acrylonitrile"),
])
def test_filters_reject_known_bad_molecules(smiles, why):
    assert not passes_filters(Chem.MolFromSmiles(smiles)), why


def test_nearest_similarity_matches_rdkit_tanimoto():
    smiles = ["CCO", "c1ccccc1O", "CC(=O)Oc1ccccc1C(=O)O", "CCN(CC)CC", "O=C(O)c1ccccc1"]
    mols = [Chem.MolFromSmiles(s) for s in smiles]
    generator = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=1024)
    fps = [generator.GetFingerprint(m) for m in mols]
    expected = [max(DataStructs.BulkTanimotoSimilarity(fps[i], fps[2:])) for i in range(2)]
    got = nearest_similarity(fingerprints(mols[:2]), fingerprints(mols[2:]))
    assert got == pytest.approx(expected, abs=1e-6)
    assert nearest_similarity(fingerprints(mols), fingerprints(mols)) == pytest.approx(np.ones(5))
    # packed references, read in blocks smaller than the sets, give the same values
    packed = np.packbits(fingerprints(mols[2:]), axis=1)
    assert nearest_similarity(fingerprints(mols[:2]), packed, packed=True, block=1, reference_block=2) == \
        pytest.approx(expected, abs=1e-6)


def test_cosine_similarity_fragments_scaffolds_and_unique_at_k():
    assert cosine_similarity(Counter(a=1, b=1), Counter(a=1)) == pytest.approx(1 / math.sqrt(2))
    assert cosine_similarity(Counter(), Counter(a=1)) is None
    assert scaffold(Chem.MolFromSmiles("Cc1ccccc1")) is None  # one ring: below MOSES's two-ring minimum
    assert scaffold(Chem.MolFromSmiles("CCc1ccc(-c2ccccc2)cc1")) == "c1ccc(-c2ccccc2)cc1"
    # BRICS cuts ethyl benzoate into ethyl (link type 4), ether O (3), carbonyl (1/6) and phenyl (16).
    assert sorted(fragments(Chem.MolFromSmiles("CCOC(=O)c1ccccc1"))) == \
        sorted(["[16*]c1ccccc1", "[1*]C([6*])=O", "[3*]O[3*]", "[4*]CC"])
    assert unique_at(["A", "A", "B"], 2) == 0.5 and unique_at(["A", "B"], 3) is None


def test_reference_statistics_computed_in_chunks_equal_those_of_the_whole_set(tmp_path, monkeypatch):
    monkeypatch.setenv("QMOLGEN_CACHE_DIR", str(tmp_path))
    smiles = ["CC(=O)Nc1ccc(O)cc1", "c1ccc2ccccc2c1", "CCN(CC)CC", "not a molecule", "O=C(O)c1ccccc1OC(C)=O",
              "C1CCC2(CC1)CCCC2", "c1ccc(-c2ccncc2)cc1", "CC1=CC(=O)C=CC1=O"]
    whole = ReferenceStats(smiles, "whole")  # one chunk
    chunked = ReferenceStats(smiles, "chunked", chunk=3)  # three chunks, one with the unparsable line
    assert whole.packed_fingerprints.shape == (7, 128)
    assert np.array_equal(whole.packed_fingerprints, chunked.packed_fingerprints)
    assert list(whole.fragments.items()) == list(chunked.fragments.items()) and whole.fragments["[4*]CC"] == 3
    assert whole.scaffolds == chunked.scaffolds and whole.scaffolds["c1ccc2ccccc2c1"] == 1
    # the generated side is chunked too: the same SNN, Frag and Scaff
    generated = ["CC(=O)Nc1ccc(O)cc1", "c1ccc2ccccc2c1", "CCCCN", "c1ccc(-c2ccccc2)cc1", "C1CCC2(CC1)CCCC2"]
    one, three = moses_metrics(generated, whole, "/T"), moses_metrics(generated, whole, "/T", chunk=2)
    assert one == pytest.approx(three, abs=1e-12) and 0 < one["snn/T"] < 1 and one["scaff/T"] > 0
