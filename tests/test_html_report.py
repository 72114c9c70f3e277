"""report.html: self-contained (images embedded, nothing fetched), written for every run and benchmark, and it
loads in headless Chromium without a broken image or a script error."""

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from qmolgen.report.html import render, write_html

DOCS = Path(__file__).resolve().parents[1] / "docs"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
                  "--enable-logging=stderr", "--v=0", "--virtual-time-budget=5000"]


def test_images_are_embedded_and_a_missing_one_stays_visible(tmp_path):
    shutil.copy(DOCS / "dp-epsilon" / "quality_vs_epsilon.png", tmp_path / "chart.png")
    page = render("# Title\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n![chart](chart.png)\n\n![gone](gone.png)\n",
                  tmp_path, "t")
    assert "<table>" in page and 'src="data:image/png;base64,' in page
    assert 'src="gone.png"' in page  # left as is: the page's check marks it broken
    assert "http://" not in page and "https://" not in page  # no CDN, nothing fetched
    assert re.search(r"Made with python [\d.]+, qmolgen [\d.]+, torch", page)


def test_every_training_run_writes_its_report(trained_digits):
    page = (trained_digits / "report.html").read_text()
    assert page.count('src="data:image/png;base64,') == 2  # training curves and samples
    assert "Final metrics" in page and "FID" in page and "quantum:" in page  # metrics by label, the config


def test_a_table_run_shows_column_associations(trained_credit):
    assert (trained_credit / "correlations.png").stat().st_size > 5000
    page = (trained_credit / "report.html").read_text()
    assert page.count('src="data:image/png;base64,') == 3 and "Column associations" in page


def test_associations_measure_dependence_on_every_pair_of_types():
    import numpy as np
    import pandas as pd

    from qmolgen.tables.files import association

    rng = np.random.default_rng(0)
    x = rng.normal(size=500)
    noise = pd.Series(rng.normal(size=500))
    sign, same_sign = pd.Series(np.where(x > 0, "a", "b")), pd.Series(np.where(x > 0, "u", "v"))
    assert association(pd.Series(x), pd.Series(2 * x + 1), True, True) == pytest.approx(1.0)
    assert association(sign, same_sign, False, False) == pytest.approx(1.0)  # Cramér's V of a relabelling
    assert association(pd.Series(x), sign, True, False) > 0.7  # correlation ratio of a split at 0
    assert association(noise, sign, True, False) < 0.15 and association(noise, pd.Series(x), True, True) < 0.15


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _open(page: Path, tmp_path: Path) -> tuple[str, str]:
    """The DOM after load, and Chromium's log, for the page at `page`."""
    binary = _chromium()
    if binary is None:
        if os.environ.get("QMOLGEN_REQUIRE_BROWSER"):  # .ci/run sets it: CI must not skip this
            pytest.fail("chromium is not installed; .ci/run installs Debian's chromium package")
        pytest.skip("needs Debian's chromium package (apt-get install chromium)")
    result = subprocess.run([binary, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom",
                             page.resolve().as_uri()], capture_output=True, text=True, timeout=120)
    return result.stdout, result.stderr


@pytest.mark.slow
def test_reports_load_in_headless_chromium_without_broken_images_or_errors(trained_digits, tmp_path):
    benchmark = tmp_path / "benchmark"
    shutil.copytree(DOCS / "benchmark-credit_dp-e10", benchmark)
    write_html((benchmark / "report.md").read_text(), benchmark, benchmark / "report.html", "benchmark")
    for page, images in ((trained_digits / "report.html", 2), (benchmark / "report.html", 4)):
        dom, log = _open(page, tmp_path)
        body = re.search(r"<body[^>]*>", dom).group(0)
        assert f'data-images="{images} images, 0 broken"' in body, (page, body)
        assert "data-errors" not in body, body
        console = [line for line in log.splitlines() if "CONSOLE" in line]
        assert not console, console
