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
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "qm9_code_coverage.py"), "--language", "inchi"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "--language: invalid choice: 'inchi'" in result.stderr


def test_quality_against_epsilon_lets_a_later_rerun_replace_a_model_at_that_epsilon(tmp_path):
    header = "model,seed,status,quality,dp_epsilon\n"
    first, rerun = tmp_path / "first", tmp_path / "rerun"
    first.mkdir(), rerun.mkdir()
    (first / "results.csv").write_text(header + "gan,0,ok,0.70,10\ngan,1,ok,0.80,10\nmst,0,ok,0.88,10\n"
                                       "gan,0,ok,0.60,2.96\n")
    (rerun / "results.csv").write_text(header + "gan,0,ok,0.90,10\ngan,1,ok,0.92,10\n")
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "dp_quality_vs_epsilon.py"), str(first),
                             str(rerun), "--out", str(tmp_path / "out")], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    table = (tmp_path / "out" / "table.md").read_text()
    # gan at 10 from the rerun only (0.91, not the mean of four runs); at 3 and mst from the first folder
    assert "| gan | 0.600 (1) | 0.910 ± 0.014 (2) |" in table and "| mst | – | 0.880 (1) |" in table
