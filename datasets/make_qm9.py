"""Rebuild datasets/qm9.smi.gz from the PyPI package qm9pack 1.0.3 (offline; run from the repo root):

    pip install qm9pack==1.0.3 && python datasets/make_qm9.py

Writes one line per QM9 molecule, in QM9 index order: "<SMILES>\t<QM9 index>", gzipped with a fixed
mtime so the file is byte-for-byte reproducible. The SMILES are QM9's own (GDB-17) strings, unchanged.
"""

import csv
import gzip
import importlib.util
import io
from pathlib import Path

OUT = Path(__file__).resolve().parent / "qm9.smi.gz"


def main() -> None:
    # qm9pack's __init__ imports pkg_resources; locate its data folder without importing it.
    spec = importlib.util.find_spec("qm9pack")
    if spec is None:
        raise SystemExit("qm9pack is not installed: pip install qm9pack==1.0.3")
    data = Path(spec.submodule_search_locations[0]) / "data"
    rows = []
    for part in ("qm9_part1.csv", "qm9_part2.csv", "qm9_part3.csv"):
        with (data / part).open(newline="") as handle:
            rows += [(int(r["Index"]), r["SMILES"]) for r in csv.DictReader(handle)]
    rows.sort()
    text = "".join(f"{smiles}\t{index}\n" for index, smiles in rows)
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0, compresslevel=9) as gz:
        gz.write(text.encode())
    OUT.write_bytes(buffer.getvalue())
    print(f"wrote {len(rows)} molecules to {OUT}")


if __name__ == "__main__":
    main()
