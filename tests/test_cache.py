import numpy as np

from qmolgen import cache
from qmolgen.molecules.data import load_molecules


def test_encoded_data_is_cached_and_identical(small_smi, tmp_path, monkeypatch):
    monkeypatch.setenv("QMOLGEN_CACHE_DIR", str(tmp_path))
    first = load_molecules(str(small_smi), "auto", "auto")
    assert len(list(tmp_path.glob("molecules-*.npz"))) == 1
    second = load_molecules(str(small_smi), "auto", "auto")
    assert second.smiles == first.smiles and second.spec == first.spec
    assert np.array_equal(second.edges.numpy(), first.edges.numpy())
    assert second.report.to_dict() == first.report.to_dict()


def test_a_damaged_cache_entry_is_recomputed_not_trusted(small_smi, tmp_path, monkeypatch):
    monkeypatch.setenv("QMOLGEN_CACHE_DIR", str(tmp_path))
    first = load_molecules(str(small_smi), "auto", "auto")
    entry = next(tmp_path.glob("molecules-*.npz"))
    entry.write_bytes(b"garbage")
    assert cache.load(entry.stem) is None
    assert load_molecules(str(small_smi), "auto", "auto").smiles == first.smiles


def test_cache_key_depends_on_the_settings():
    assert cache.key("molecules", file="abc", max_atoms=9) != cache.key("molecules", file="abc", max_atoms=10)


def test_statistics_cache_keys_change_with_the_libraries_that_computed_them(monkeypatch):
    from qmolgen import cache

    first = cache.key("chemnet", smiles="x", versions=cache.library_versions("fcd", "rdkit"))
    assert cache.library_versions("rdkit")["rdkit"] not in ("", "not installed")
    monkeypatch.setattr(cache, "library_versions", lambda *names: {n: "0.0" for n in names})
    assert cache.key("chemnet", smiles="x", versions=cache.library_versions("fcd", "rdkit")) != first
