import pytest

from qmolgen.errors import DataError
from qmolgen.molecules.metrics import evaluate_smiles, fcd_score, internal_diversity


def test_counts_follow_the_documented_definitions():
    smiles = ["CCO", "OCC", "CCN", "C.C", "C1CC", "", None, "c1ccccc1", "CCF", "CCF"]
    train = {"CCO", "c1ccccc1"}
    m = evaluate_smiles(smiles, train, with_fcd=False, with_properties=False)
    # strictly valid: CCO, OCC(=CCO), CCN, c1ccccc1, CCF, CCF -> 6; loose adds C.C -> 7
    assert m["validity"] == pytest.approx(0.6) and m["validity_loose"] == pytest.approx(0.7)
    # distinct valid: CCO, CCN, c1ccccc1, CCF -> 4 of 6
    assert m["uniqueness"] == pytest.approx(4 / 6) and m["vu"] == pytest.approx(0.4)
    assert m["novelty"] == pytest.approx(0.5) and m["vun"] == pytest.approx(0.2)
    assert m["mode_collapse_rate"] == pytest.approx(1 - 4 / 6)
    assert m["top_share"] == pytest.approx(2 / 6)


def test_collapse_measures_are_undefined_without_a_valid_sample():
    m = evaluate_smiles(["C1CC", "", None], train={"CCO"}, with_fcd=False)
    assert m["validity"] == 0.0 and m["uniqueness"] == 0.0 and m["vun"] == 0.0
    assert m["top_share"] is None and m["mode_collapse_rate"] is None
    assert m["novelty"] is None and m["novelty_note"] == "no valid molecule: novelty is not defined"


def test_properties_and_diversity():
    m = evaluate_smiles(["CCO", "c1ccccc1", "CC(=O)O"], with_fcd=False)
    assert 0 < m["qed"] < 1 and 1 < m["sa"] < 10
    assert internal_diversity(["CCO", "CCO"]) == pytest.approx(0.0)
    assert internal_diversity(["CCO", "c1ccccc1"]) > 0.8


def test_nothing_to_evaluate_is_an_error():
    with pytest.raises(DataError):
        evaluate_smiles([])


@pytest.mark.heavy
@pytest.mark.slow
def test_fcd_is_near_zero_for_the_same_set_and_large_for_a_different_one(small_smi):
    smiles = small_smi.read_text().split()
    same = fcd_score(smiles[:600], smiles[:600])
    halves = fcd_score(smiles[:600], smiles[600:1200])
    other = fcd_score(["C" * k for k in range(1, 9)] * 20 + ["CCO", "CCN"] * 20, smiles[:600])
    assert abs(same) < 1e-3
    assert halves < other and other > 10
    assert fcd_score(smiles[:50], smiles[:1]) is None  # a one-molecule reference (a tiny validation split)
