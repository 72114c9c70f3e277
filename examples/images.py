"""Fit the hybrid image GAN on an in-memory array of 8x8 grey images, sample, score (FID on the digits
classifier's features), save and reload.

Run: .venv/bin/python examples/images.py [--full]
"""

import sys
import tempfile
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits

from qmolgen import Synthesizer

TINY = {"train.epochs": 2, "train.steps_per_epoch": 20, "evaluate.epoch_samples": 200,
        "evaluate.final_samples": 500, "quantum.n_qubits": 4, "quantum.n_layers": 2}

images = load_digits().images / 16.0  # (N, 8, 8) in [0, 1]: your own array of this shape works the same way

synth = Synthesizer.from_recipe("digits", seed=0, **({} if "--full" in sys.argv else TINY))
synth.fit(images)
print(synth, f"FID {synth.metrics['fid']:.1f} (floor {synth.metrics['fid_floor']:.1f})")

samples = synth.sample(500, seed=1)  # a NumPy array (500, 8, 8) in [0, 1]
print(samples.shape, f"mean pixel {samples.mean():.3f} (real {images.mean():.3f})")
print({k: round(v, 3) for k, v in synth.evaluate(samples).items() if k in ("fid", "coverage", "classes_covered")})

with tempfile.TemporaryDirectory() as folder:
    synth.write_samples(samples[:64], Path(folder) / "grid.png")  # a PNG grid and grid.npy beside it
    synth.save(Path(folder) / "digits.pt")
    # the same call (same seed, same number: a batch of 8 and one of 500 may round the last bit differently)
    np.testing.assert_array_equal(Synthesizer.load(Path(folder) / "digits.pt").sample(500, seed=1), samples)
    print("wrote a grid, saved, reloaded; the same seed gives the same images")
