"""Every example under examples/ runs to the end as a user would run it (tiny budgets)."""

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "examples").glob("*.py"))


def test_there_is_an_example_for_each_domain():
    assert {p.stem for p in EXAMPLES} >= {"molecules", "images", "tables"}


@pytest.mark.heavy
@pytest.mark.slow
@pytest.mark.parametrize("script", EXAMPLES, ids=lambda p: p.stem)
def test_example_runs(script, tmp_path):
    import os

    env = {**os.environ, "QMOLGEN_CACHE_DIR": str(tmp_path / "cache")}
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=tmp_path, env=env,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "same seed gives the same" in done.stdout
