"""Fit the hybrid table GAN on a pandas DataFrame, sample rows, score quality and privacy, export a large
table in chunks, save and reload.

Run: .venv/bin/python examples/tables.py [--full]
"""

import sys
import tempfile
from pathlib import Path

import pandas as pd

from qmolgen import Synthesizer
from qmolgen.resources import datasets_dir

TINY = {"train.epochs": 2, "train.steps_per_epoch": 10, "evaluate.epoch_samples": 300,
        "evaluate.final_samples": 1000, "quantum.n_qubits": 4, "quantum.n_layers": 2}

table = pd.read_csv(datasets_dir() / "credit.csv")  # any DataFrame: SDV detects each column's type

synth = Synthesizer.from_recipe("credit", seed=0, **({} if "--full" in sys.argv else TINY))
synth.fit(table)  # 50 % of the rows are held out for the quality, efficacy and privacy metrics
print(synth, f"SDMetrics quality {synth.metrics['quality']:.3f}")

rows = synth.sample(1000, seed=1)  # a DataFrame with the table's columns and types
print(rows.head())
scores = synth.evaluate(rows)
print({k: scores[k] for k in ("quality", "dcr_overfitting_protection", "mia_auc") if k in scores})

with tempfile.TemporaryDirectory() as folder:
    print(synth.export_table(20_000, Path(folder) / "synthetic.parquet", seed=2, chunk_size=5000))
    synth.save(Path(folder) / "credit.pt")
    again = Synthesizer.load(Path(folder) / "credit.pt")
    pd.testing.assert_frame_equal(again.sample(50, seed=3), synth.sample(50, seed=3))
    print("exported 20,000 rows, saved, reloaded; the same seed gives the same rows")
