"""SMILES <-> dense graph tensors, with RDKit.

A molecule of at most `max_atoms` heavy atoms becomes
    nodes (max_atoms,)            atom-type index; 0 = no atom, 1.. = the vocabulary's elements
    edges (max_atoms, max_atoms)  bond-type index; 0 = no bond, 1 single, 2 double, 3 triple (symmetric)
Aromatic bonds are kekulised into alternating single/double bonds before encoding, so the model never
has to produce an aromatic flag; RDKit re-perceives aromaticity when a generated graph is sanitised.
Hydrogens are implicit and filled in by RDKit's valence model. Formal charges cannot be represented:
such molecules are reported as unsupported rather than encoded wrongly.

Parsers return None (with a reason) instead of raising, so callers can count failures.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from rdkit import Chem, RDLogger

RDLogger.DisableLog("rdApp.*")  # parse failures are counted and reported by the callers

BOND_TYPES = (None, Chem.BondType.SINGLE, Chem.BondType.DOUBLE, Chem.BondType.TRIPLE)
BOND_ORDER = {Chem.BondType.SINGLE: 1, Chem.BondType.DOUBLE: 2, Chem.BondType.TRIPLE: 3}
MAX_VALENCE = {"C": 4, "N": 3, "O": 2, "F": 1, "S": 6, "Cl": 1, "Br": 1, "I": 1, "P": 5, "B": 3, "Si": 4}


@dataclass(frozen=True)
class GraphSpec:
    """The fixed graph size and vocabulary a model is built for."""

    atom_types: tuple[str, ...]
    max_atoms: int

    @property
    def n_node_types(self) -> int:
        """Atom types plus one 'no atom' type."""
        return len(self.atom_types) + 1

    @property
    def n_edge_types(self) -> int:
        """Bond types including 'no bond'."""
        return len(BOND_TYPES)


def parse_smiles(smiles: str) -> Chem.Mol | None:
    """RDKit molecule from SMILES, or None if it does not parse and sanitise."""
    if not smiles:
        return None
    return Chem.MolFromSmiles(smiles)


def canonical(smiles: str) -> str | None:
    """RDKit's canonical SMILES, or None when the SMILES does not parse."""
    mol = parse_smiles(smiles)
    return Chem.MolToSmiles(mol) if mol is not None else None


def encode(mol: Chem.Mol, spec: GraphSpec) -> tuple[np.ndarray, np.ndarray] | str:
    """Graph tensors for a molecule, or a short reason string when it cannot be represented."""
    if mol.GetNumAtoms() > spec.max_atoms:
        return f"too large ({mol.GetNumAtoms()} heavy atoms > max_atoms={spec.max_atoms})"
    symbols = [a.GetSymbol() for a in mol.GetAtoms()]
    unknown = sorted(set(symbols) - set(spec.atom_types))
    if unknown:
        return f"element(s) {', '.join(unknown)} not in atom_types {list(spec.atom_types)}"
    if any(a.GetFormalCharge() != 0 for a in mol.GetAtoms()):
        return "formal charges are not supported"
    if any(a.GetNumRadicalElectrons() for a in mol.GetAtoms()):
        return "radicals are not supported"
    mol = Chem.Mol(mol)
    try:
        Chem.Kekulize(mol, clearAromaticFlags=True)
    except Chem.KekulizeException:
        return "aromatic system cannot be kekulised"
    nodes = np.zeros(spec.max_atoms, dtype=np.int64)
    edges = np.zeros((spec.max_atoms, spec.max_atoms), dtype=np.int64)
    for atom in mol.GetAtoms():
        nodes[atom.GetIdx()] = spec.atom_types.index(atom.GetSymbol()) + 1
    for bond in mol.GetBonds():
        kind = BOND_TYPES.index(bond.GetBondType()) if bond.GetBondType() in BOND_TYPES else -1
        if kind < 1:
            return f"bond type {bond.GetBondType()} is not supported"
        i, j = bond.GetBeginAtomIdx(), bond.GetEndAtomIdx()
        edges[i, j] = edges[j, i] = kind
    return nodes, edges


def build_molecule(nodes: np.ndarray, edges: np.ndarray, spec: GraphSpec) -> Chem.RWMol:
    """Unsanitised RDKit molecule from type indices; bonds touching empty nodes are ignored."""
    mol = Chem.RWMol()
    index = {}
    for i, t in enumerate(nodes):
        if t > 0:
            index[i] = mol.AddAtom(Chem.Atom(spec.atom_types[t - 1]))
    for i in index:
        for j in index:
            if i < j and edges[i, j] > 0:
                mol.AddBond(index[i], index[j], BOND_TYPES[edges[i, j]])
    return mol


def to_smiles(mol: Chem.RWMol) -> tuple[str | None, str]:
    """(canonical SMILES, raw SMILES): canonical is None when RDKit cannot sanitise the molecule.

    The raw SMILES is written without sanitisation so an invalid sample can still be inspected.
    """
    raw = Chem.MolToSmiles(mol, canonical=False) if mol.GetNumAtoms() else ""
    if mol.GetNumAtoms() == 0:
        return None, raw
    candidate = Chem.Mol(mol)
    try:
        Chem.SanitizeMol(candidate)
    except Exception:  # RDKit raises several sanitisation exception types
        return None, raw
    return Chem.MolToSmiles(candidate), raw


def argmax_decode(node_probs: np.ndarray, edge_probs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Most likely type for every node and edge (MolGAN's decoding): validity is entirely the model's."""
    edges = edge_probs.argmax(-1)
    edges = np.triu(edges, 1)
    return node_probs.argmax(-1), edges + edges.T


def valence_decode(node_probs: np.ndarray, edge_probs: np.ndarray, spec: GraphSpec) -> tuple[np.ndarray, np.ndarray]:
    """Decode a probabilistic graph into a connected, valence-respecting one where possible.

    Atoms are the most likely types. Bonds are then taken greedily in order of P(bond): first a maximum
    spanning tree (so the molecule is one fragment), then every other bond whose most likely type is a
    bond, each at the highest order not above its most likely one that both atoms' free valences allow.
    This is a fixed sampling rule shared by every model that uses the decoder; `argmax_decode` reports
    what the network alone gets right.
    """
    nodes = node_probs.argmax(-1)
    present = [i for i in range(len(nodes)) if nodes[i] > 0]
    free = {i: MAX_VALENCE.get(spec.atom_types[nodes[i] - 1], 4) for i in present}
    edges = np.zeros((len(nodes), len(nodes)), dtype=np.int64)
    bond_prob = 1.0 - edge_probs[..., 0]
    wanted = edge_probs.argmax(-1)
    candidates = sorted(
        ((bond_prob[i, j], i, j) for a, i in enumerate(present) for j in present[a + 1:]), reverse=True
    )
    parent = {i: i for i in present}

    def root(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def add(i, j, order):
        order = min(order, free[i], free[j])
        if order < 1:
            return False
        edges[i, j] = edges[j, i] = order
        free[i] -= order
        free[j] -= order
        return True

    for _, i, j in candidates:  # spanning tree first, at bond order 1 so no atom runs out of valence early
        if root(i) != root(j) and add(i, j, 1):
            parent[root(i)] = root(j)
    for _, i, j in candidates:
        target = int(wanted[i, j])
        if edges[i, j] and target > edges[i, j]:  # raise a tree bond to its most likely order
            extra = min(target - edges[i, j], free[i], free[j])
            if extra > 0:
                edges[i, j] = edges[j, i] = edges[i, j] + extra
                free[i] -= extra
                free[j] -= extra
        elif not edges[i, j] and target > 0:
            add(i, j, target)
    return nodes, edges


def is_single_fragment(smiles: str) -> bool:
    """Whether the SMILES is one connected molecule (no '.')."""
    return "." not in smiles
