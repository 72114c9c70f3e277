"""Benchmark scripts refuse inputs they cannot measure before any slow work starts."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_code_coverage_refuses_a_recipe_without_a_sequence_autoencoder():
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "qm9_code_coverage.py"), "--recipe", "qm9_graph"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert "--recipe qm9_graph: not a LatentGAN molecule recipe" in result.stderr
