"""Trained priors over bitstrings: the kernel trick, each prior's fit, parameter shift on shots, and the
end-to-end runs that record the fit beside the GAN's numbers."""

import json
import math

import pytest
import torch

from qmolgen.errors import ConfigError
from qmolgen.quantum import prior as P


def explicit_mmd(p, q, n):
    bits = P.bits_table(n)
    hamming = torch.cdist(bits, bits, p=1)
    d = (p - q).double()
    return sum(d @ torch.exp(-hamming.double() / (2 * s)) @ d for s in P.BANDWIDTHS) / len(P.BANDWIDTHS)


def test_product_kernel_mmd_equals_the_explicit_kernel_matrix():
    torch.manual_seed(0)
    p, q = torch.rand(32).double(), torch.rand(32).double()
    p, q = p / p.sum(), q / q.sum()
    assert float(P.mmd(p, q, 5)) == pytest.approx(float(explicit_mmd(p, q, 5)), rel=1e-10)
    assert float(P.mmd(p, p, 5)) == 0.0


def test_target_bits_are_balanced_principal_component_signs():
    torch.manual_seed(1)
    features = torch.randn(1000, 3) @ torch.tensor([[3.0, 0, 0], [0, 1.0, 0], [0, 0, 0.1]])
    bits = P.target_bits(features, 2)
    assert bits.shape == (1000, 2) and bits.float().mean(0).tolist() == pytest.approx([0.5, 0.5], abs=0.01)
    # the first bit follows the largest-variance direction (the first feature), up to its sign
    agreement = (bits[:, 0] == (features[:, 0] > features[:, 0].median()).long()).float().mean()
    assert max(agreement, 1 - agreement) > 0.99
    with pytest.raises(ConfigError, match="quantum.n_qubits=4 exceeds the 3 features"):
        P.target_bits(features, 4)


def correlated_bits(n=6, rows=4000):
    """Bits with strong pairwise structure that independent bits cannot fit."""
    torch.manual_seed(2)
    first = (torch.rand(rows, 1) < 0.5).long()
    noise = (torch.rand(rows, n) < 0.1).long()
    return first.expand(rows, n) ^ noise


@pytest.mark.slow
def test_bernoulli_matches_marginals_and_richer_priors_fit_correlations_better():
    bits = correlated_bits()
    target = P.histogram(bits)
    reports = {}
    for name, prior in (("bernoulli", P.BernoulliPrior(6)), ("autoregressive", P.AutoregressivePrior(6, 36)),
                        ("qcbm", P.BornMachine(6, 3))):
        torch.manual_seed(3)
        reports[name] = prior.fit(bits, 300, 0.05)
        assert all(not p.requires_grad for p in prior.parameters())  # frozen: the GAN never trains it
        assert reports[name]["prior_mmd"] == pytest.approx(float(P.mmd(prior.probabilities(), target, 6)), rel=1e-6)
    marginal = (P.bits_table(6) * P.BernoulliPrior(6).probabilities()[:, None]).sum(0)  # 0.5 at initialisation
    assert marginal.tolist() == pytest.approx([0.5] * 6)
    assert reports["autoregressive"]["prior_params"] <= 36 and reports["qcbm"]["prior_params"] == 36
    assert reports["autoregressive"]["prior_mmd"] < reports["bernoulli"]["prior_mmd"] / 3
    assert reports["qcbm"]["prior_kl"] < reports["bernoulli"]["prior_kl"]


def test_parameter_shift_on_exact_estimates_equals_backpropagation():
    torch.manual_seed(4)
    machine = P.BornMachine(4, 2)
    target = P.histogram(correlated_bits(4))
    P.mmd(machine.probabilities(), target, 4).backward()
    exact = machine.weights.grad.clone()
    machine.weights.grad = None
    machine.shots = 10**9  # take the shot path, but with estimates replaced by exact probabilities
    machine._estimate = machine._probs
    assert machine._gradient_step(target) == 1 + 2 * machine.weights.numel()
    assert torch.allclose(machine.weights.grad, exact, atol=1e-9)


def test_shots_train_from_estimates_and_sample_a_measured_pool():
    bits = correlated_bits(4)
    torch.manual_seed(5)
    machine = P.BornMachine(4, 2, shots=500)
    report = machine.fit(bits, 20, 0.05)
    assert report["circuit_runs"] == 20 * (1 + 2 * 16) + 1 and report["shots_total"] == report["circuit_runs"] * 500
    assert len(machine.pool) == 500
    samples = machine(2000)
    assert samples.shape == (2000, 4) and set(samples.unique().tolist()) <= {-1.0, 1.0}
    pooled = {tuple(row) for row in (machine.table[machine.pool] * 2 - 1).tolist()}
    assert {tuple(row) for row in samples.tolist()} <= pooled  # only measured bitstrings are drawn



@pytest.mark.slow
def test_spsa_estimates_the_gradient_with_three_runs_a_step_and_fits_with_shots():
    torch.manual_seed(6)
    bits = correlated_bits(4)
    target = P.histogram(bits)
    machine = P.BornMachine(4, 2, diff_method="spsa")  # exact probabilities: only SPSA's own noise
    P.mmd(machine.probabilities(), target, 4).backward()
    exact = machine.weights.grad.clone().flatten()
    total = torch.zeros_like(exact)
    for _ in range(3000):  # E[slope along Δ · Δ] = the gradient, up to O(c²)
        assert machine._gradient_step(target) == 3
        total += machine.weights.grad.flatten()
    mean = total / 3000
    assert torch.nn.functional.cosine_similarity(mean, exact, dim=0) > 0.95
    assert mean.norm() == pytest.approx(float(exact.norm()), rel=0.15)
    noisy = P.BornMachine(4, 2, shots=500, diff_method="spsa")
    start = float(P.mmd(noisy.probabilities().detach().double(), target, 4))
    report = noisy.fit(bits, 300, 0.02)
    assert report["circuit_runs"] == 300 * 3 + 1 == report["hardware_circuit_runs"]
    assert report["prior_mmd"] < start / 3
@pytest.mark.parametrize("kind", ["qcbm", "prior_autoregressive"])
def test_prior_kinds_train_end_to_end_and_record_the_fit(kind, tmp_path_factory):
    from tests.conftest import TINY_DIGITS, train_tiny

    folder = train_tiny(tmp_path_factory, "digits", [*TINY_DIGITS, f"generator.kind={kind}", "quantum.prior_steps=30"])
    final = json.loads((folder / "final_metrics.json").read_text())
    fit = json.loads((folder / "prior.json").read_text())
    assert final["prior_mmd"] == fit["prior_mmd"] > 0 and fit["prior_steps"] == 30
    budget = 2 * 4 * 2  # 4 qubits x 2 layers x 2 angles
    assert final["params_quantum"] == (budget if kind == "qcbm" else 0)
    assert fit["prior_params"] <= budget and math.isfinite(final["fid"])
    if kind == "qcbm":  # no encoding: starts from |0000>; the fit's cost on a device at 1 + 2P runs a step
        assert final["circuit_gates"] == {"RY": 8, "RZ": 8, "CNOT": 8}
        assert fit["hardware_circuit_runs"] == 30 * (1 + 2 * 16) + 1
