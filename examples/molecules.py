"""Fit a LatentGAN on your own SMILES held in memory, sample molecules, score them, search its latent space for
the best ones under a constraint, sample molecules that meet a condition, save and reload the model.

Run: .venv/bin/python examples/molecules.py [--full]
Without --full the budget is tiny (under a minute on a laptop CPU) and the molecules are poor; --full uses the
recipe's own budget (tens of minutes: the autoencoder is pretrained first).
"""

import gzip
import sys
import tempfile
from pathlib import Path

from qmolgen import Synthesizer
from qmolgen.resources import datasets_dir

TINY = {"autoencoder.epochs": 3, "autoencoder.steps_per_epoch": 60, "autoencoder.hidden": 64,
        "autoencoder.code_dim": 16, "autoencoder.lr": 0.005, "generator.hidden": [32], "critic.hidden": [32],
        "train.epochs": 2, "train.steps_per_epoch": 20, "evaluate.epoch_samples": 100,
        "evaluate.final_samples": 300, "evaluate.fcd": False, "quantum.n_qubits": 4, "quantum.n_layers": 2}

# Any list of SMILES works; here, the first 2,000 molecules of the shipped QM9 file stand in for yours.
with gzip.open(datasets_dir() / "qm9.smi.gz", "rt") as handle:
    smiles = [next(handle).split()[0] for _ in range(2000)]

settings = {"seed": 0, **({} if "--full" in sys.argv else TINY)}
synth = Synthesizer.from_recipe("molecules", **settings)  # hybrid: quantum latent -> code -> GRU decoder
synth.fit(smiles)
print(synth)
print({k: synth.metrics[k] for k in ("validity", "uniqueness", "novelty", "train_seconds")})

table = synth.sample(500, seed=1, properties=False)  # columns: smiles (None when invalid), valid
print(table.head())
scores = synth.evaluate(table)  # against the held-out test split of `smiles`
print(f"validity {scores['validity']:.3f}, uniqueness {scores['uniqueness']:.3f}, novelty {scores['novelty']}")

# Latent-space search: the most drug-like molecules with SA score <= 4 the model can make (CMA-ES, 300 molecules)
best, report = synth.optimize(["qed", "sa<=4"], budget=300, n=5, seed=0)
print(best[["rank", "smiles", "qed", "sa", "passes_filters"]])
print(f"best QED {report['best_score']:.3f} after {report['scoring_calls']} molecules in {report['seconds']} s")
# Conditional sampling: molecules from the model's own distribution that meet the condition
print(synth.sample(10, seed=2, where=["qed>=0.4"])[["smiles", "qed"]].head())

with tempfile.TemporaryDirectory() as folder:
    path = Path(folder) / "my-molecules.pt"
    synth.save(path)  # the same weights-only file as a run folder's model.pt: `qmolgen generate` reads it
    again = Synthesizer.load(path)
    assert again.sample(20, seed=1, properties=False).equals(synth.sample(20, seed=1, properties=False))
    print("saved, reloaded, and the same seed gives the same molecules")
