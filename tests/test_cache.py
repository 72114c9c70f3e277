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


def _compute_slowly_and_log(log_file, name):
    """Compute entry `name` through the cache, noting each real computation in `log_file`."""
    import time

    def compute():
        with open(log_file, "a") as handle:
            handle.write("computed\n")
        time.sleep(0.5)  # long enough for the other process to find the entry being computed
        return {"values": np.arange(3)}

    return cache.computed(name, compute)["values"].tolist()


def test_concurrent_processes_compute_an_entry_once_and_share_it(tmp_path, monkeypatch):
    import multiprocessing

    monkeypatch.setenv("QMOLGEN_CACHE_DIR", str(tmp_path / "cache"))
    log_file = tmp_path / "log.txt"
    with multiprocessing.get_context("fork").Pool(2) as pool:
        results = pool.starmap(_compute_slowly_and_log, [(log_file, "entry-x"), (log_file, "entry-x")])
    assert results == [[0, 1, 2], [0, 1, 2]]
    assert log_file.read_text().splitlines() == ["computed"]  # the second process waited and loaded it
    # a different entry is computed on its own
    assert _compute_slowly_and_log(log_file, "entry-y") == [0, 1, 2]
    assert log_file.read_text().splitlines() == ["computed", "computed"]


def test_computed_works_without_a_writable_cache_folder(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("QMOLGEN_CACHE_DIR", str(blocker / "cache"))  # under a file: cannot be created
    assert cache.computed("entry", lambda: {"v": np.ones(2)})["v"].tolist() == [1.0, 1.0]
