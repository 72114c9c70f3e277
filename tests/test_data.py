import gzip

import pytest

from qmolgen.errors import DataError
from qmolgen.molecules.data import load_molecules, read_smiles


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_invalid_lines_are_listed_with_line_numbers(tmp_path):
    path = write(tmp_path, "m.smi", "CCO\nC1CC\nc1ccccc1\nnonsense\n" + "CCN\n" * 10)
    with pytest.raises(DataError, match=r"2 of 14: SMILES could not be parsed by RDKit \(lines 2, 4\).*data.skip_invalid=true"):
        load_molecules(path)


def test_skip_invalid_counts_every_left_out_line(tmp_path):
    lines = ["CCO", "C1CC", "CC(=O)Oc1ccccc1C(=O)O", "C[NH3+]"] + ["CCN", "CC=O", "OCCO"] * 4
    data = load_molecules(write(tmp_path, "m.smi", "\n".join(lines)), atom_types=["C", "N", "O"], max_atoms=9,
                          skip_invalid=True)
    report = data.report.to_dict()
    assert report["n_lines"] == 16 and report["n_used"] == 13
    assert report["problems"]["too large"]["lines"] == [3]
    assert report["problems"]["formal charges are not supported"]["lines"] == [4]
    assert report["problems"]["SMILES could not be parsed by RDKit"]["lines"] == [2]


def test_oversized_molecules_are_reported_not_dropped(tmp_path):
    path = write(tmp_path, "m.smi", "\n".join(["CCCCCCCCCCCC"] + ["CCO"] * 12))
    with pytest.raises(DataError, match=r"1 of 13: too large \(lines 1\)"):
        load_molecules(path, max_atoms=9)


def test_csv_with_smiles_column_and_auto_vocabulary(tmp_path):
    rows = "id,SMILES\n" + "".join(f"{i},{s}\n" for i, s in enumerate(["CCCl", "CCO", "c1ccncc1", "CC#N"] * 4))
    data = load_molecules(write(tmp_path, "m.csv", rows))
    assert set(data.spec.atom_types) == {"C", "N", "O", "Cl"} and data.spec.atom_types[0] == "C"
    assert data.spec.max_atoms == 6
    assert data.nodes.shape == (16, 6) and data.edges.shape == (16, 6, 6)


def test_csv_without_smiles_column_is_explained(tmp_path):
    with pytest.raises(DataError, match="no 'smiles' column"):
        read_smiles(write(tmp_path, "m.csv", "id,mol\n1,CCO\n"))
    with pytest.raises(DataError, match="empty"):
        read_smiles(write(tmp_path, "e.csv", ""))
    with pytest.raises(DataError, match="not found"):
        read_smiles(str(tmp_path / "missing.smi"))


def test_gzipped_smi_with_names_and_comments(tmp_path):
    path = tmp_path / "m.smi.gz"
    with gzip.open(path, "wt") as handle:
        handle.write("# a comment\nCCO ethanol\n\nCCN\tethylamine\n")
    assert read_smiles(str(path)) == [(2, "CCO"), (4, "CCN")]


def test_split_is_fixed_disjoint_and_covers_the_data(small_smi):
    a = load_molecules(str(small_smi), ["C", "N", "O", "F"], 9, split_seed=0)
    b = load_molecules(str(small_smi), ["C", "N", "O", "F"], 9, split_seed=0)
    sizes = {k: len(v) for k, v in a.split.items()}
    assert sizes == {"train": 1200, "valid": 150, "test": 150}
    assert all((a.split[k] == b.split[k]).all() for k in a.split)
    together = set().union(*(set(v.tolist()) for v in a.split.values()))
    assert len(together) == 1500
