"""`qmolgen benchmark`: the plan, convergence, a sweep that survives a failing run and resumes, the report."""

import csv
import json
from pathlib import Path

import pytest
import torch

from qmolgen.benchmark.claim import BETTER, TIED, WORSE, claim_summary, claim_table, verdict
from qmolgen.benchmark.plan import Cell, domain_metrics, plan
from qmolgen.domain import Metric
from qmolgen.benchmark.report import convergence, write_report
from qmolgen.benchmark.sweep import run_sweep, threads_per_run
from qmolgen.errors import ConfigError
from tests.conftest import TINY_DIGITS


def test_every_model_gets_the_same_budget_and_peers_their_quick_epochs(tmp_path):
    cells = plan("credit", seeds=2, budget=["train.epochs=3"], quick=True)
    models = [c.model for c in cells if c.seed == 0]
    assert models == ["hybrid", "classical", "quantum_patch", "size_matched", "qcbm", "prior_bernoulli",
                      "prior_autoregressive", "sdv_gaussian_copula", "sdv_ctgan",
                      "sdv_tvae"]
    for cell in cells:
        assert cell.overrides[-2:] == ("train.epochs=3", f"seed={cell.seed}")  # --budget after the quick budget
    peers = {c.peer: c.peer_options for c in cells if c.peer}
    assert peers == {"gaussian_copula": {}, "ctgan": {"epochs": 2}, "tvae": {"epochs": 2}}
    with pytest.raises(ConfigError, match="unknown key 'train.epoch'"):
        plan("credit", seeds=1, budget=["train.epoch=3"])
    with pytest.raises(ConfigError, match="train.epochs must be >= 1; got 0"):  # once, before 21 runs fail alike
        plan("credit", seeds=3, budget=["train.epochs=0"])
    from qmolgen.resources import recipes_dir

    recipe = tmp_path / "nothing.yaml"  # the digits recipe without its benchmark section
    recipe.write_text((recipes_dir() / "digits.yaml").read_text().split("benchmark:")[0])
    with pytest.raises(ConfigError, match="no benchmark section"):
        plan(str(recipe), seeds=1)


def test_convergence_is_the_first_epoch_within_five_percent_of_the_best():
    records = [{"epoch": e, "train_seconds": 10.0 * e, "fid": f, "q": q}
               for e, f, q in [(1, 40.0, 0.50), (2, 10.4, 0.80), (3, 12.0, 0.86), (4, 10.0, 0.84)]]
    assert convergence(records, Metric("fid", "FID", False)) == (2, 20.0)  # 10.4 <= 1.05 x the best, 10.0
    assert convergence(records, Metric("q", "quality", True)) == (3, 30.0)  # 0.80 < 0.95 x the best, 0.86
    assert convergence(records, Metric("missing", "x", True)) == (None, None)


def test_the_claim_is_judged_by_the_means_against_the_seed_spread():
    assert verdict([0.90, 0.91, 0.92], [0.80, 0.81, 0.82], higher_is_better=True) == BETTER
    assert verdict([0.90, 0.91, 0.92], [0.80, 0.81, 0.82], higher_is_better=False) == WORSE
    assert verdict([0.7, 0.9, 1.1], [0.80, 0.81, 0.82], higher_is_better=True) == TIED  # 0.09 ahead, spread 0.2
    assert verdict([1.0], [0.5, 0.6], higher_is_better=True) == "needs 2+ seeds of each"
    metrics = domain_metrics("digits")
    rows = [{"model": model, "seed": seed, "status": "ok", "quality": fid, "train_seconds": 100.0 + seed}
            for model, fids in {"hybrid": (10.0, 11.0), "classical": (20.0, 21.0), "size_matched": (1.0, 1.0),
                                "an_ablation": (1.0, 1.0)}.items()
            for seed, fid in enumerate(fids)]
    table = claim_table(rows, metrics)
    assert "| axis | hybrid vs classical | hybrid vs size_matched |" in table
    assert "| FID (digits classifier) | hybrid better | hybrid worse |" in table
    assert "| training time (s) | within seed spread | within seed spread |" in table
    assert "quantum_patch" not in table and "an_ablation" not in table  # only the claim's rivals, when they ran
    assert claim_summary(rows, metrics) == ("vs classical: better on 1, within the spread on 1, worse on 0 of 2 axes; "
                                            "vs size_matched: better on 0, within the spread on 1, worse on 1 of 2 axes")


@pytest.mark.heavy
@pytest.mark.slow
def test_a_sweep_records_a_failed_run_goes_on_and_resumes_without_redoing_finished_ones(tmp_path):
    """The first sweep runs both cells at once (--jobs 2), the second one at a time."""
    good = Cell("digits", "classical", 0, ("generator.kind=classical", *TINY_DIGITS, "seed=0"))
    bad = Cell("digits", "hybrid", 0, (*TINY_DIGITS, "train.batch_size=100000", "seed=0"))  # fails when it trains
    cells = [bad, good]
    assert run_sweep(cells, tmp_path, jobs=2) == {"finished": 1, "kept": 0, "failed": 1}
    finished = tmp_path / "digits" / "classical-s0" / "final_metrics.json"
    stamp = finished.stat().st_mtime_ns
    assert "larger than the" in (tmp_path / "digits" / "hybrid-s0" / "error.txt").read_text()
    assert run_sweep(cells, tmp_path) == {"finished": 0, "kept": 1, "failed": 1}  # the failed one is retried
    assert finished.stat().st_mtime_ns == stamp
    report = write_report(cells, tmp_path, "qmolgen benchmark digits").read_text()
    assert "| classical | 1 / 1 |" in report and "| hybrid | 0 / 1 |" in report
    assert "hybrid seed 0: Error: train.batch_size=100000 is larger than the 1437 training samples" in report and "FID (digits classifier) ↓" in report
    rows = list(csv.DictReader((tmp_path / "results.csv").open()))
    assert [(r["model"], r["status"]) for r in rows] == [("hybrid", "failed"), ("classical", "ok")]
    ok = rows[1]
    assert int(ok["cpu_threads"]) == threads_per_run(2) and f"CPU threads per run: {threads_per_run(2)}." in report
    assert float(ok["peak_rss_mb"]) > 100 and 1 <= int(ok["epochs_to_convergence"]) <= 2 and float(ok["quality"]) > 0
    assert ok["device"] == ("cuda" if torch.cuda.is_available() else "cpu")  # train.device=auto, recorded per run
    for chart in ("quality", "epochs_to_convergence", "train_seconds", "memory_vs_quality"):
        assert (tmp_path / f"digits_{chart}.png").stat().st_size > 1000


@pytest.mark.heavy
@pytest.mark.slow
def test_quick_benchmark_of_every_recipe_runs_end_to_end(tmp_path):
    """`qmolgen benchmark all --quick`: every model and peer of every recipe, one seed, a few minutes."""
    from click.testing import CliRunner

    from qmolgen.cli import main

    result = CliRunner().invoke(main, ["--quiet", "benchmark", "all", "--quick", "--seeds", "1",
                                       "--jobs", "2", "--out", str(tmp_path)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader((tmp_path / "results.csv").open()))
    # qm9: 8 models; digits: 7; credit: 7 and 3 SDV peers (the trained priors are models of each)
    assert len(rows) == 8 + 7 + 10 and all(r["status"] == "ok" for r in rows), [r["error"] for r in rows]
    trained = [r for r in rows if not r["model"].startswith("sdv_")]  # every qmolgen run has a validation curve
    assert all(1 <= int(r["epochs_to_convergence"]) <= 2 and int(r["cpu_threads"]) == 1 for r in trained), trained
    report = (tmp_path / "report.md").read_text()
    for heading in ("## qm9", "## digits", "## credit", "FCD ↓", "FID (digits classifier) ↓", "SDMetrics quality ↑"):
        assert heading in report
    assert "qmolgen benchmark all --seeds 1 --quick --jobs 2" in report
    for recipe in ("qm9", "digits", "credit"):
        assert (tmp_path / f"{recipe}_memory_vs_quality.png").is_file()


def test_the_prior_verdict_compares_qcbm_with_the_matched_priors_and_shows_their_fit():
    from qmolgen.benchmark.claim import PRIOR, PRIOR_RIVALS
    from qmolgen.benchmark.report import prior_fit_table

    def row(model, fid, mmd):
        return {"model": model, "status": "ok", "quality": fid, "prior_params": 48, "prior_mmd": mmd,
                "prior_kl": 10 * mmd, "prior_tv": 0.3}

    rows = [row("qcbm", 10.0 + s / 10, 0.001) for s in range(3)] + \
        [row("prior_bernoulli", 20.0 + s / 10, 0.003) for s in range(3)] + \
        [row("prior_autoregressive", 10.05 + s / 10, 0.002) for s in range(3)]
    metrics = domain_metrics("digits")
    table = claim_table(rows, metrics, PRIOR, PRIOR_RIVALS)
    assert table.splitlines()[0] == "| axis | qcbm vs prior_bernoulli | qcbm vs prior_autoregressive |"
    assert "| FID (digits classifier) | qcbm better | within seed spread |" in table
    assert "vs prior_bernoulli: better on 1" in claim_summary(rows, metrics, PRIOR, PRIOR_RIVALS)
    assert "| qcbm | 48 | 1.000 ± 0.000 | 0.010 ± 0.000 | 0.300 ± 0.000 |" in prior_fit_table(rows)


def test_models_outside_the_recipe_are_refused_by_name(tmp_path):
    from click.testing import CliRunner

    from qmolgen.cli import main

    result = CliRunner().invoke(main, ["benchmark", "credit_dp", "--models", "hybrid,hybird", "--out", str(tmp_path)])
    assert result.exit_code == 2 and "no model hybird in credit_dp" in result.output
    assert "hybrid_mst" in result.output  # the models there are, to pick from
    assert not any(tmp_path.iterdir())


@pytest.mark.heavy
@pytest.mark.slow
def test_a_dp_benchmark_compares_dp_sgd_with_mst_at_one_epsilon(tmp_path):
    from click.testing import CliRunner

    from qmolgen.cli import main

    result = CliRunner().invoke(main, ["--quiet", "benchmark", "credit_dp", "--quick", "--seeds", "1", "--models",
                                       "hybrid,mst", "--budget", "privacy.epsilon=3", "--out", str(tmp_path)],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    rows = {r["model"]: r for r in csv.DictReader((tmp_path / "results.csv").open())}
    assert set(rows) == {"hybrid", "mst"} and all(r["status"] == "ok" for r in rows.values())
    assert 2.5 < float(rows["hybrid"]["dp_epsilon"]) <= 3.0  # what DP-SGD's accountant says it spent
    assert float(rows["mst"]["dp_epsilon"]) == 3.0 and float(rows["mst"]["dp_delta"]) < 1 / 2227
    report = (tmp_path / "report.md").read_text()
    assert "DP ε spent (δ)" in report and "--models hybrid,mst" in report


def test_a_grid_multiplies_the_models_and_names_each_point():
    from qmolgen.benchmark.plan import grid_points

    assert grid_points([]) == [("", ())]
    points = grid_points(["quantum.n_qubits=4,8", "quantum.shots=100,1000"])
    assert [label for label, _ in points] == ["n_qubits=4,shots=100", "n_qubits=4,shots=1000",
                                              "n_qubits=8,shots=100", "n_qubits=8,shots=1000"]
    assert points[1][1] == ("quantum.n_qubits=4", "quantum.shots=1000")
    cells = plan("credit", seeds=2, quick=True, grid=["quantum.n_qubits=3,4"])
    hybrid = [c for c in cells if c.model.startswith("hybrid")]
    assert [c.name for c in hybrid] == ["hybrid@n_qubits=3-s0", "hybrid@n_qubits=3-s1", "hybrid@n_qubits=4-s0",
                                       "hybrid@n_qubits=4-s1"]
    assert hybrid[2].overrides[-2:] == ("quantum.n_qubits=4", "seed=0")  # the grid after the budget
    assert sum(c.peer is not None for c in cells) == 3 * 2  # peers are not multiplied by a qmolgen key
    for bad, message in [("quantum.n_qubits", "not KEY=VALUE1"), ("quantum.n_qubitz=3,4", "unknown key")]:
        with pytest.raises(ConfigError, match=message):
            plan("credit", seeds=1, grid=[bad])
    with pytest.raises(ConfigError, match="twice"):
        grid_points(["a.b=1", "a.b=2"])


@pytest.mark.heavy
@pytest.mark.slow
def test_the_ray_backend_runs_a_grid_records_a_failure_and_resumes(tmp_path):
    """`qmolgen benchmark credit --quick --seeds 1 --backend ray` on a local Ray instance (a few models)."""
    from click.testing import CliRunner

    from qmolgen.cli import main

    def benchmark(*extra):
        return CliRunner().invoke(main, ["--quiet", "benchmark", "credit", "--quick", "--seeds", "1", "--backend",
                                         "ray", "--jobs", "2", "--models", "hybrid,sdv_gaussian_copula",
                                         "--out", str(tmp_path), *extra], catch_exceptions=False)

    # batch_size=100000 is larger than the training set: that cell fails when it trains, the others go on
    result = benchmark("--grid", "train.batch_size=50,100000")
    assert result.exit_code == 0, result.output
    rows = {r["model"]: r for r in csv.DictReader((tmp_path / "results.csv").open())}
    assert set(rows) == {"hybrid@batch_size=50", "hybrid@batch_size=100000", "sdv_gaussian_copula"}
    assert rows["hybrid@batch_size=100000"]["status"] == "failed"
    assert "larger than the" in (tmp_path / "credit" / "hybrid@batch_size=100000-s0" / "error.txt").read_text()
    assert all(rows[m]["status"] == "ok" and float(rows[m]["quality"]) > 0
               for m in ("hybrid@batch_size=50", "sdv_gaussian_copula")), rows
    assert "--backend ray" in (tmp_path / "report.md").read_text()
    finished = tmp_path / "credit" / "hybrid@batch_size=50-s0" / "final_metrics.json"
    stamp = finished.stat().st_mtime_ns
    result = benchmark("--grid", "train.batch_size=50,100000")
    assert "0 runs finished now, 2 kept from before, 1 failed" in result.output  # the failed one is retried
    assert finished.stat().st_mtime_ns == stamp


@pytest.mark.heavy
@pytest.mark.slow
def test_the_ray_backend_joins_a_cluster_of_two_nodes_by_address(tmp_path):
    """Two Ray nodes (raylets) on this machine, room for one cell each, joined with --address as a cluster would be: both
    cells run at once, one on each node, write to the shared --out, and the driver builds the report."""
    import ray
    from click.testing import CliRunner
    from ray.cluster_utils import Cluster

    from qmolgen.cli import main

    cpus = threads_per_run(2)  # what each cell of --jobs 2 asks for: each node fits one cell
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": cpus})
    try:
        cluster.add_node(num_cpus=cpus)
        result = CliRunner().invoke(main, ["--quiet", "benchmark", "credit", "--quick", "--seeds", "2", "--backend",
                                           "ray", "--address", cluster.address, "--jobs", "2", "--models",
                                           "classical", "--out", str(tmp_path)], catch_exceptions=False)
    finally:
        ray.shutdown()
        cluster.shutdown()
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader((tmp_path / "results.csv").open()))
    assert [(r["seed"], r["status"]) for r in rows] == [("0", "ok"), ("1", "ok")]
    nodes = {json.loads((tmp_path / "credit" / f"classical-s{seed}" / "node.json").read_text())["ray_node_id"]
             for seed in (0, 1)}
    assert len(nodes) == 2  # one cell on each node


def test_backend_options_are_checked_before_anything_runs(tmp_path):
    from click.testing import CliRunner

    from qmolgen.cli import main

    result = CliRunner().invoke(main, ["benchmark", "credit", "--address", "head:6379", "--out", str(tmp_path)])
    assert result.exit_code == 2 and "--address is for --backend ray" in result.output
    result = CliRunner().invoke(main, ["benchmark", "credit", "--backend", "spark", "--out", str(tmp_path)])
    assert result.exit_code == 2 and "'spark' is not one of 'local', 'ray'" in result.output
    result = CliRunner().invoke(main, ["benchmark", "credit", "--grid", "quantum.n_qubits", "--out", str(tmp_path)])
    assert result.exit_code == 1 and "not KEY=VALUE1,VALUE2" in result.output
    assert not any(tmp_path.iterdir())


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/status").is_file(), reason="reads process states from /proc (Linux)")
@pytest.mark.parametrize("stderr", ["file", "pipe"])
def test_a_cell_process_ends_when_the_sweep_that_started_it_is_killed(tmp_path, stderr):
    import subprocess
    import sys
    import time

    # A "sweep" starts a "cell" that would sleep for a minute, naming itself as the parent as the sweep does,
    # prints the cell's pid and exits at once, as a sweep stopped with `kill` does (here even before the cell
    # has finished starting): the orphaned cell must end by itself within seconds, and say why where it can. The
    # real sweep reads the cell's stderr through a pipe, which dies with it: writing the reason then fails, and
    # the cell must still stop (it once kept training).
    cell = ("from qmolgen.benchmark.cell import exit_when_orphaned; import time; "
            "exit_when_orphaned(0.1); time.sleep(60)")
    log = tmp_path / "stderr.txt"
    target = f"open({str(log)!r}, 'w')" if stderr == "file" else "subprocess.PIPE"
    sweep = ("import os, subprocess, sys; "
             f"env = {{**os.environ, 'QMOLGEN_PARENT_PID': str(os.getpid())}}; "
             f"print(subprocess.Popen([sys.executable, '-c', {cell!r}], env=env, stdout=subprocess.DEVNULL, "
             f"stderr={target}).pid)")
    started = time.time()
    pid = int(subprocess.run([sys.executable, "-c", sweep], capture_output=True, text=True, check=True).stdout)

    def running() -> bool:
        status = Path(f"/proc/{pid}/status")
        try:
            state = next(line for line in status.read_text().splitlines() if line.startswith("State:"))
        except (FileNotFoundError, ProcessLookupError):
            return False
        return "Z" not in state.split()[1]  # a zombie has exited and waits to be reaped

    while running() and time.time() < started + 30:
        time.sleep(0.2)
    assert not running() and time.time() < started + 30  # well before its minute of sleep
    if stderr == "file":
        assert "rerun the sweep" in log.read_text()
