import numpy as np
import pytest

from qmolgen.molecules import graphs
from qmolgen.molecules.graphs import GraphSpec

SPEC = GraphSpec(("C", "N", "O", "F"), 9)


def test_aspirin_has_13_heavy_atoms_and_is_too_large_for_qm9_graphs():
    mol = graphs.parse_smiles("CC(=O)Oc1ccccc1C(=O)O")
    assert mol.GetNumAtoms() == 13
    assert graphs.encode(mol, SPEC).startswith("too large")
    nodes, edges = graphs.encode(mol, GraphSpec(("C", "O"), 13))
    assert (nodes > 0).sum() == 13 and (edges > 0).sum() == 2 * 13  # 13 bonds, stored symmetrically


@pytest.mark.parametrize("smiles", ["c1ccccc1O", "CC#N", "O=C1CCC(F)N1", "c1cc[nH]c1", "OCC1OC1C=O"])
def test_encode_then_decode_gives_back_the_molecule(smiles):
    nodes, edges = graphs.encode(graphs.parse_smiles(smiles), SPEC)
    assert (edges == edges.T).all()
    canonical, _ = graphs.to_smiles(graphs.build_molecule(nodes, edges, SPEC))
    assert canonical == graphs.canonical(smiles)  # aromaticity is re-perceived from the kekule form


def test_unrepresentable_molecules_give_reasons_not_exceptions():
    assert graphs.parse_smiles("C1CC") is None
    assert graphs.parse_smiles("not a smiles") is None
    assert "formal charges" in graphs.encode(graphs.parse_smiles("C[NH3+]"), SPEC)
    assert "Cl" in graphs.encode(graphs.parse_smiles("CCCl"), SPEC)


def test_argmax_decoding_of_a_pentavalent_carbon_is_invalid():
    nodes = np.array([1, 1, 1, 1, 1, 1, 0, 0, 0])
    edges = np.zeros((9, 9), dtype=int)
    edges[0, 1:6] = edges[1:6, 0] = 1
    canonical, raw = graphs.to_smiles(graphs.build_molecule(nodes, edges, SPEC))
    assert canonical is None and raw.count("C") == 6


def test_valence_decoding_gives_valid_connected_molecules_from_random_probabilities():
    rng = np.random.default_rng(0)
    n_valid = 0
    for _ in range(200):
        node_p = rng.dirichlet(np.ones(5), size=9)
        edge_p = rng.dirichlet(np.ones(4), size=(9, 9))
        edge_p = (edge_p + edge_p.transpose(1, 0, 2)) / 2
        nodes, edges = graphs.valence_decode(node_p, edge_p, SPEC)
        canonical, _ = graphs.to_smiles(graphs.build_molecule(nodes, edges, SPEC))
        if (nodes > 0).any():
            n_valid += canonical is not None and "." not in canonical
            # several fluorines can make a connected molecule impossible; anything else must be valid
    assert n_valid >= 150


def test_valence_decoding_keeps_a_confident_molecule_unchanged():
    nodes, edges = graphs.encode(graphs.parse_smiles("O=C1CCC(F)N1"), SPEC)
    node_p = np.eye(5)[nodes] * 0.9 + 0.02
    edge_p = np.eye(4)[edges] * 0.9 + 0.025
    decoded = graphs.valence_decode(node_p, edge_p, SPEC)
    canonical, _ = graphs.to_smiles(graphs.build_molecule(*decoded, SPEC))
    assert canonical == graphs.canonical("O=C1CCC(F)N1")
