"""The sampling ablation benchmark runs on a trained model and explains bad input instead of a traceback."""

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "qm9_sampling.py"


def sampling(*args):
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], capture_output=True, text=True)


def test_sampling_ablation_scores_every_way_and_summarises_them(trained):
    done = sampling(trained, "--samples", 40, "--no-fcd")
    assert done.returncode == 0, done.stderr
    table = [line for line in done.stdout.splitlines() if line.startswith("| molecules |")]
    assert len(table) == 5  # the five ways, one summary row each
    assert any("one latent for all" in line for line in table)


@pytest.mark.slow
def test_sampling_ablation_explains_bad_input(tmp_path):
    missing = sampling(tmp_path / "no-such-run", "--no-fcd")
    assert missing.returncode == 1 and missing.stderr.startswith("Error:") and "Traceback" not in missing.stderr
    zero = sampling(tmp_path, "--samples", 0)
    assert zero.returncode == 2 and "--samples" in zero.stderr and "must be a whole number >= 1" in zero.stderr
