"""The sampling ablation benchmark runs on a trained model and explains bad input instead of a traceback."""

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "qm9_sampling.py"


def sampling(*args):
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], capture_output=True, text=True)


@pytest.mark.slow
def test_sampling_ablation_scores_every_way_and_summarises_them(trained):
    done = sampling(trained, "--samples", 40, "--no-fcd")
    assert done.returncode == 0, done.stderr
    table = [line for line in done.stdout.splitlines() if line.startswith("| molecules |")]
    assert len(table) == 5  # the five ways, one summary row each
    assert any("one latent for all" in line for line in table)


@pytest.mark.heavy
@pytest.mark.slow
def test_sampling_ablation_explains_bad_input(tmp_path):
    missing = sampling(tmp_path / "no-such-run", "--no-fcd")
    assert missing.returncode == 1 and missing.stderr.startswith("Error:") and "Traceback" not in missing.stderr
    zero = sampling(tmp_path, "--samples", 0)
    assert zero.returncode == 2 and "--samples" in zero.stderr and "must be a whole number >= 1" in zero.stderr


@pytest.mark.heavy
@pytest.mark.slow
def test_shot_sampling_benchmark_prints_every_sampler_against_pennylane():
    script = SCRIPT.parent / "shot_sampling.py"
    done = subprocess.run([sys.executable, str(script), "--qubits", "3", "--layers", "1", "--shots", "2000",
                           "--repeats", "1"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    rows = [line for line in done.stdout.splitlines() if line.startswith("| qcbm") or line.startswith("| PennyLane")]
    assert len(rows) == 4 and "| PennyLane qml.sample, default.qubit |" in done.stdout and "| 1.00x |" in done.stdout
    bad = subprocess.run([sys.executable, str(script), "--shots", "0"], capture_output=True, text=True)
    assert bad.returncode == 2 and "must be >= 1" in bad.stderr
