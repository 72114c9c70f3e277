"""Rebuild datasets/moses_*.smi.gz from the PyPI package molsets 0.3.1 (offline; run from the repo root):

    pip install --no-deps molsets==0.3.1 && python datasets/make_moses.py

MOSES (Polykovskiy et al. 2020) ships a training set of 1,584,663 molecules and two test sets of 176,074
(random) and 176,225 (scaffold split) molecules. This script writes:
    moses_train.smi.gz           200,000 training molecules, a seeded random subset (numpy seed 0)
    moses_valid.smi.gz           10,000 further training molecules (disjoint from the above), for validation
    moses_test.smi.gz            the whole test set           (FCD/Test, SNN/Test, Frag/Test, Scaff/Test)
    moses_test_scaffolds.smi.gz  the whole scaffold test set  (FCD/TestSF, ...)
one SMILES per line, unchanged, gzipped with a fixed mtime so the rebuild is byte-for-byte reproducible.
"""

import gzip
import importlib.util
import io
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
N_TRAIN, N_VALID = 200_000, 10_000


def _read(path: Path) -> list[str]:
    with gzip.open(path, "rt") as handle:
        lines = handle.read().split("\n")
    assert lines[0].strip() == "SMILES", f"{path}: unexpected header {lines[0]!r}"
    return [line.strip() for line in lines[1:] if line.strip()]


def _write(name: str, smiles: list[str]) -> None:
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0, compresslevel=9) as gz:
        gz.write("".join(f"{s}\n" for s in smiles).encode())
    (HERE / name).write_bytes(buffer.getvalue())
    print(f"wrote {len(smiles)} molecules to {HERE / name}")


def main() -> None:
    spec = importlib.util.find_spec("moses")  # locate the data without importing moses (it needs fcd_torch)
    if spec is None:
        raise SystemExit("molsets is not installed: pip install --no-deps molsets==0.3.1")
    data = Path(spec.submodule_search_locations[0]) / "dataset" / "data"
    train = _read(data / "train.csv.gz")
    pick = np.random.default_rng(0).permutation(len(train))
    _write("moses_train.smi.gz", [train[i] for i in np.sort(pick[:N_TRAIN])])
    _write("moses_valid.smi.gz", [train[i] for i in np.sort(pick[N_TRAIN:N_TRAIN + N_VALID])])
    _write("moses_test.smi.gz", _read(data / "test.csv.gz"))
    _write("moses_test_scaffolds.smi.gz", _read(data / "test_scaffolds.csv.gz"))


if __name__ == "__main__":
    main()
