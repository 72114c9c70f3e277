import math

import numpy as np
import pytest
import torch
from torch import nn

from qmolgen.errors import ConfigError
from qmolgen.quantum import circuits
from qmolgen.quantum.latent import (GaussianLatent, PatchQuantumGenerator, QuantumLatent, SizeMatchedLatent,
                                    circuit_resources, count_parameters, latent_source, training_circuit_cost)
from qmolgen.quantum.statevector import StatevectorCircuit


def per_sample_reference(latent: QuantumLatent, noise: torch.Tensor) -> torch.Tensor:
    """A plain per-sample PennyLane QNode on default.qubit in float64: the circuit's definition."""
    qnode = circuits.latent_qnode(latent.n_qubits, latent.readout)
    weights = latent.weights.detach().double()
    return torch.stack([torch.stack(list(qnode(torch.arcsin(z).double(), weights))) for z in noise])


def hand_written_latent(angles: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """The latent circuit written out with NumPy matrices, independent of PennyLane and of the project's code:
    RY(angle) per qubit, then per layer RZ(w0) RY(w1) per qubit and CNOTs around the ring, read out as <Z_i>
    then <Z_i Z_i+1> around the ring."""
    n = len(angles)

    def ry(t):
        return np.array([[np.cos(t / 2), -np.sin(t / 2)], [np.sin(t / 2), np.cos(t / 2)]], dtype=complex)

    def rz(t):
        return np.diag([np.exp(-0.5j * t), np.exp(0.5j * t)])

    def one(state, gate, q):
        return np.moveaxis(np.tensordot(gate, state, axes=([1], [q])), 0, q)

    def cnot(state, control, target):
        state = state.copy()
        index = [slice(None)] * n
        index[control] = 1
        flipped = state[tuple(index)]
        state[tuple(index)] = np.flip(flipped, axis=target - (target > control))
        return state

    state = np.zeros((2,) * n, dtype=complex)
    state[(0,) * n] = 1
    for q in range(n):
        state = one(state, ry(angles[q]), q)
    for layer in weights:
        for q in range(n):
            state = one(one(state, rz(layer[q, 0]), q), ry(layer[q, 1]), q)
        for q in range(n):
            state = cnot(state, q, (q + 1) % n)
    probs = np.abs(state) ** 2
    signs = [np.array([1, -1]).reshape([2 if a == q else 1 for a in range(n)]) for q in range(n)]
    z = [np.sum(probs * signs[q]) for q in range(n)]
    zz = [np.sum(probs * signs[q] * signs[(q + 1) % n]) for q in range(n)]
    return np.array(z + zz)


def test_production_size_circuit_matches_a_hand_written_one():
    """8 qubits, 3 layers, ZZ readout: the shipped recipes' circuit, against matrices written out by hand."""
    torch.manual_seed(7)
    latent = QuantumLatent(8, 3, "zz")
    latent.weights.data = torch.rand_like(latent.weights) * 2 * math.pi
    noise = torch.rand(3, 8) * 2 - 1
    ours = latent.from_noise(noise).detach().double().numpy()
    weights = latent.weights.detach().double().numpy()
    for row, z in zip(ours, noise.double().numpy()):
        np.testing.assert_allclose(row, hand_written_latent(np.arcsin(z), weights), atol=1e-5)


@pytest.mark.parametrize("n_qubits,n_layers,readout", [(1, 1, "z"), (2, 2, "zz"), (4, 3, "zz"), (6, 2, "z")])
def test_batched_statevector_matches_pennylane_qnode(n_qubits, n_layers, readout):
    torch.manual_seed(0)
    latent = QuantumLatent(n_qubits, n_layers, readout)
    latent.weights.data = torch.rand_like(latent.weights) * 2 * math.pi  # far from the near-identity start
    noise = torch.rand(5, n_qubits) * 2 - 1
    assert torch.allclose(latent.from_noise(noise).double(), per_sample_reference(latent, noise), atol=1e-5)


def test_pennylane_broadcast_executor_matches_reference():
    torch.manual_seed(1)
    latent = QuantumLatent(3, 2, "zz", executor="pennylane")
    latent.weights.data = torch.rand_like(latent.weights) * 6
    noise = torch.rand(4, 3) * 2 - 1
    assert torch.allclose(latent.from_noise(noise).double(), per_sample_reference(latent, noise), atol=1e-5)


def test_lightning_adjoint_device_matches_reference():
    torch.manual_seed(2)
    latent = QuantumLatent(3, 2, "z", executor="pennylane", device="lightning.qubit", diff_method="adjoint")
    noise = torch.rand(3, 3) * 2 - 1
    out = latent.from_noise(noise)
    assert torch.allclose(out.double(), per_sample_reference(latent, noise), atol=1e-5)
    out.sum().backward()
    backprop = QuantumLatent(3, 2, "z")  # the default simulator, differentiated by backpropagation
    backprop.weights.data = latent.weights.data.clone()
    backprop.from_noise(noise).sum().backward()
    assert backprop.weights.grad.abs().sum() > 0.1
    assert torch.allclose(latent.weights.grad, backprop.weights.grad, atol=1e-5)


def test_torch_executor_gradients_match_pennylane_at_production_size():
    """The fast simulator's shortcuts (product-state first layer, last ring folded into the readout) keep
    PennyLane's gradients: 8 qubits, 3 layers, ZZ readout, a random weighting of the outputs."""
    torch.manual_seed(6)
    fast = QuantumLatent(8, 3, "zz")
    fast.weights.data = torch.rand_like(fast.weights) * 2 * math.pi
    reference = QuantumLatent(8, 3, "zz", executor="pennylane")
    reference.weights.data = fast.weights.data.clone()
    noise = torch.rand(4, 8) * 2 - 1
    weighting = torch.randn(4, fast.dim)
    (fast.from_noise(noise) * weighting).sum().backward()
    (reference.from_noise(noise) * weighting).sum().backward()
    assert fast.weights.grad.abs().max() > 0.1
    assert torch.allclose(fast.weights.grad, reference.weights.grad, atol=1e-4)


def test_shots_use_parameter_shift_and_estimate_the_exact_values():
    torch.manual_seed(3)
    exact = QuantumLatent(2, 1, "z")
    shot_based = QuantumLatent(2, 1, "z", executor="pennylane", shots=4000)
    shot_based.weights.data = exact.weights.data.clone()
    noise = torch.rand(2, 2) * 2 - 1
    estimate = shot_based.from_noise(noise)
    assert torch.allclose(estimate, exact.from_noise(noise), atol=0.1)  # 4000 shots: std of <Z> <= 0.016
    estimate.sum().backward()
    exact.from_noise(noise).sum().backward()
    # parameter shift: each component is (f+ - f-) / 2 over 4 expectation values, std <= sqrt(8 / 4000) / 2 = 0.022
    assert exact.weights.grad.abs().max() > 0.3
    assert torch.allclose(shot_based.weights.grad, exact.weights.grad, atol=0.12)


@pytest.mark.parametrize("readout", ["z", "zz"])
def test_every_circuit_parameter_gets_a_nonzero_gradient(readout):
    torch.manual_seed(4)
    latent = QuantumLatent(5, 3, readout)
    latent.weights.data = torch.rand_like(latent.weights) * 2 * math.pi
    out = latent(64)
    (out * torch.randn_like(out)).sum().backward()
    assert (latent.weights.grad.abs() > 1e-6).all(), latent.weights.grad


def test_latent_is_not_confined_to_a_low_dimensional_surface():
    """The Jacobian d latent / d noise has full rank n: every noise direction moves the latent."""
    torch.manual_seed(5)
    latent = QuantumLatent(6, 3, "zz")
    latent.weights.data = torch.rand_like(latent.weights) * 2 * math.pi
    for _ in range(3):
        noise = torch.rand(6) * 1.6 - 0.8
        jac = torch.autograd.functional.jacobian(lambda z: latent.from_noise(z[None])[0], noise)
        assert jac.shape == (12, 6)
        assert torch.linalg.matrix_rank(jac, atol=1e-4) == 6


def test_weight_shape_errors_are_explicit():
    with pytest.raises(ConfigError, match=r"expected weights of shape \(3, 8, 2\) .* got \(3, 8\)"):
        circuits.check_weights(torch.zeros(3, 8), 8, 3)
    sim = StatevectorCircuit(4)
    with pytest.raises(ConfigError, match="expected weights of shape"):
        sim(torch.zeros(2, 4), torch.zeros(2, 3, 2))


def test_torch_executor_refuses_what_it_cannot_simulate():
    with pytest.raises(ConfigError, match="without shots; .* with quantum.shots=100 set quantum.executor=pennylane"):
        PatchQuantumGenerator(3, 2, n_patches=2, executor="torch", shots=100)
    with pytest.raises(ConfigError, match="differentiates by the parameter-shift rule .*got backprop"):
        QuantumLatent(4, 2, executor="torch", shots=100, diff_method="backprop")
    with pytest.raises(ConfigError, match="quantum.shots must be a positive number"):
        QuantumLatent(4, 2, executor="torch", shots=0)
    with pytest.raises(ConfigError, match="readout"):
        QuantumLatent(4, 2, readout="xyz")


def test_patch_generator_outputs_one_distribution_per_patch():
    gen = PatchQuantumGenerator(3, 2, n_patches=4)
    probs = gen(7)
    assert probs.shape == (7, 32)
    assert torch.allclose(probs.view(7, 4, 8).sum(-1), torch.ones(7, 4), atol=1e-5)


def test_size_matched_control_has_at_most_the_circuit_parameter_count():
    budget = math.prod(circuits.weight_shapes(8, 3))
    control = SizeMatchedLatent(8, 16, budget)
    assert 0.6 * budget <= count_parameters(control) <= budget
    assert control(10).shape == (10, 16)


def test_circuits_side_by_side_are_each_its_own_circuit_on_its_own_noise_with_matched_controls():
    torch.manual_seed(0)
    pair = QuantumLatent(3, 2, "zz", n_circuits=2)
    assert pair.weights.shape == (2, 2, 3, 2) and pair.dim == 12 and pair.gaussian_dim == 6
    noise = torch.rand(5, 6) * 2 - 1
    values = pair.from_noise(noise)
    for i in range(2):  # each half is one circuit's readout of its own three noise values, through its own angles
        single = QuantumLatent(3, 2, "zz")
        with torch.no_grad():
            single.weights.copy_(pair.weights[i])
        assert torch.allclose(values[:, 6 * i:6 * (i + 1)], single.from_noise(noise[:, 3 * i:3 * (i + 1)]), atol=1e-6)
    assert not torch.allclose(values[:, :6], values[:, 6:])  # different angles, different noise
    assert pair(4).shape == (4, 12)
    holder = nn.Module()
    holder.latent = pair
    assert circuit_resources(holder)["circuit_count"] == 2
    assert training_circuit_cost(holder, 10, 2, 8)["circuit_runs_training"] == 2 * 96
    q = {"n_qubits": 3, "n_layers": 2, "readout": "zz", "executor": "torch", "device": "default.qubit",
         "shots": None, "diff_method": "best", "circuits": 2, "prior_noise": 2}
    assert latent_source("classical", q).dim == 12  # the Gaussian control matches the latent size
    wide = {**q, "n_qubits": 8, "n_layers": 3}  # the recipes' circuit: room for the size-matched transform
    matched = latent_source("size_matched", wide)
    assert matched.dim == 32 and count_parameters(matched) <= 2 * math.prod(circuits.weight_shapes(8, 3))
    with pytest.raises(ConfigError, match="quantum.circuits"):
        latent_source("qcbm", q)
    with pytest.raises(ConfigError, match="quantum.circuits"):
        QuantumLatent(3, 2, n_circuits=0)
    with pytest.raises(ConfigError, match="quantum.circuits"):  # refused for the controls too, not a 0-value latent
        latent_source("classical", {**q, "circuits": 0})


def test_patch_probabilities_match_the_pennylane_probs_qnode():
    torch.manual_seed(6)
    gen = PatchQuantumGenerator(3, 2, n_patches=2)
    gen.weights.data = torch.rand_like(gen.weights) * 2 * math.pi
    noise = torch.rand(4, 3) * 2 - 1
    angles = torch.arcsin(noise)
    qnode = circuits.probs_qnode(3)
    for patch, weights in enumerate(gen.weights.detach().double()):
        reference = torch.stack([qnode(a.double(), weights) for a in angles])
        assert torch.allclose(gen.simulator.probs(angles, weights).double(), reference, atol=1e-5), patch


def test_patch_generator_runs_on_pennylane_and_with_shots():
    torch.manual_seed(0)
    exact = PatchQuantumGenerator(3, 2, 2)
    on_pennylane = PatchQuantumGenerator(3, 2, 2, executor="pennylane")
    shot_based = PatchQuantumGenerator(3, 2, 2, executor="pennylane", shots=4000)
    on_pennylane.weights.data = shot_based.weights.data = exact.weights.data.clone()
    outputs = []
    for generator in (exact, on_pennylane, shot_based):
        torch.manual_seed(1)  # the same noise draw for all three
        outputs.append(generator(4))
    assert torch.allclose(outputs[0], outputs[1], atol=1e-5)
    assert (outputs[2] - outputs[0]).abs().max() < 0.05  # 4000 shots: std of a probability <= 0.008
    with pytest.raises(ConfigError, match="without shots; for device='default.qubit' with quantum.shots=100 set quantum.exec"):
        PatchQuantumGenerator(3, 2, 2, shots=100)


def test_device_and_diff_method_are_checked_before_training_with_the_working_alternatives():
    with pytest.raises(ConfigError, match=r"diff_method=backprop cannot differentiate sampled results \(quantum.shots=100\)"):
        QuantumLatent(2, 1, "z", executor="pennylane", shots=100, diff_method="backprop")
    with pytest.raises(ConfigError, match=r"device 'lightning.qubit' cannot run this circuit with quantum.diff_method="
                                          r"backprop .*methods that work here: best, adjoint, parameter-shift"):
        QuantumLatent(2, 1, "z", executor="pennylane", device="lightning.qubit", diff_method="backprop")
    with pytest.raises(ConfigError, match="quantum.diff_method must be one of"):
        QuantumLatent(2, 1, "z", executor="pennylane", diff_method="magic")
    # the README's example: lightning with the recipes' default diff_method (best) works
    QuantumLatent(2, 1, "z", executor="pennylane", device="lightning.qubit", diff_method="best")


def test_depolarizing_noise_on_the_mixed_simulator_shrinks_the_readout_toward_zero():
    torch.manual_seed(6)
    clean = QuantumLatent(3, 2, "z")
    clean.weights.data = torch.rand_like(clean.weights) * 2 * math.pi
    noise = torch.rand(4, 3) * 2 - 1
    expected = clean.from_noise(noise).detach().double()
    for p in (0.0, 0.05):
        noisy = QuantumLatent(3, 2, "z", executor="pennylane", device="default.mixed",
                              noise={"depolarizing": p, "amplitude_damping": 0.0})
        noisy.weights.data = clean.weights.data.clone()
        out = noisy.from_noise(noise).detach().double()
        if p == 0:
            assert torch.allclose(out, expected, atol=1e-5)
        else:
            # single-qubit depolarizing scales <Z> by (1 - 4p/3) per layer before the CNOTs spread it: strictly
            # smaller in magnitude, and by no more than the two layers' worth
            assert (out.abs() < expected.abs() + 1e-9).all() and (out.abs() >= expected.abs() * 0.7**2 - 0.3).all()
            assert not torch.allclose(out, expected, atol=1e-3)
    with pytest.raises(ConfigError, match="needs a mixed-state simulator: set quantum.device=default.mixed"):
        QuantumLatent(3, 2, "z", executor="pennylane", noise={"depolarizing": 0.01})
    with pytest.raises(ConfigError, match="simulates default.qubit and default.mixed .* for device='lightning.qubit'"):
        QuantumLatent(3, 2, "z", device="lightning.qubit", noise={"depolarizing": 0.01})


def test_born_machine_on_a_noisy_device_is_a_distribution_that_noise_flattens():
    from qmolgen.quantum.prior import BornMachine

    torch.manual_seed(7)
    clean = BornMachine(3, 2)
    noisy = BornMachine(3, 2, executor="pennylane", device="default.mixed", noise={"amplitude_damping": 0.0,
                                                                                   "depolarizing": 0.2})
    noisy.weights.data = clean.weights.data.clone()
    p, q = clean.probabilities().detach(), noisy.probabilities().detach()
    assert q.sum().item() == pytest.approx(1.0) and (q >= 0).all()
    uniform = torch.full_like(p, 1 / 8)
    assert (q - uniform).abs().sum() < (p - uniform).abs().sum()  # depolarizing pulls toward the uniform


@pytest.mark.slow
def test_qiskit_aer_runs_the_latent_with_shots_and_a_noise_model():
    torch.manual_seed(8)
    exact = QuantumLatent(2, 1, "z")
    noise = torch.rand(3, 2) * 2 - 1
    expected = exact.from_noise(noise).detach()
    clean = QuantumLatent(2, 1, "z", executor="pennylane", device="qiskit.aer", shots=4000)
    noisy = QuantumLatent(2, 1, "z", executor="pennylane", device="qiskit.aer", shots=4000,
                          noise={"depolarizing": 0.3})
    clean.weights.data = noisy.weights.data = exact.weights.data.clone()
    assert (clean.from_noise(noise).detach() - expected).abs().max() < 0.1  # std of <Z> at 4000 shots <= 0.016
    shrunk = noisy.from_noise(noise).detach()
    assert (shrunk.abs() < expected.abs() - 0.05).any()  # depolarizing rotations pull <Z> toward 0


def test_training_circuit_cost_counts_gradient_runs_only_where_shots_make_them_real():
    shots = nn.Module()
    shots.latent = QuantumLatent(3, 2, "z", executor="pennylane", shots=100)  # parameter shift: 2 x 12 runs
    spsa = nn.Module()
    spsa.latent = QuantumLatent(3, 2, "z", executor="pennylane", shots=100, diff_method="spsa")
    patches = nn.Module()
    patches.latent = PatchQuantumGenerator(2, 1, 3)  # 3 circuits of 4 angles, simulated exactly
    # 10 critic steps and 2 generator steps at batch 8: 96 samples
    cost = training_circuit_cost(shots, 10, 2, 8)
    assert cost["circuit_runs_training"] == 96 + 16 * 24 and cost["shots_total"] == 100 * (96 + 16 * 24)
    assert cost["hardware_circuit_runs"] == 96 + 16 * 24 and cost["hardware_shots"] == cost["shots_total"]
    assert training_circuit_cost(spsa, 10, 2, 8)["circuit_runs_training"] == 96 + 16 * 2
    exact = training_circuit_cost(patches, 10, 2, 8)
    assert exact["circuit_runs_training"] == 3 * 96 and exact["shots_total"] is None
    assert exact["hardware_circuit_runs"] == 3 * (96 + 16 * 8) and exact["hardware_shots"] == 1000 * 3 * (96 + 128)
    classical = nn.Module()
    classical.latent = GaussianLatent(4)
    assert training_circuit_cost(classical, 10, 2, 8) == {}


def test_torch_executor_with_shots_estimates_values_and_parameter_shift_gradients():
    """The batched simulator measured with shots: its readout is an unbiased estimate of the exact one and its
    gradient (parameter-shift, each shifted circuit measured too) an unbiased estimate of the exact gradient."""
    torch.manual_seed(3)
    exact = QuantumLatent(4, 2, "zz")
    sampled = QuantumLatent(4, 2, "zz", shots=20000)
    sampled.weights.data = exact.weights.data = torch.rand_like(exact.weights) * 2 * math.pi
    noise = torch.rand(3, 4) * 2 - 1
    coefficients = torch.randn(3, exact.dim)
    values = exact.from_noise(noise)
    (values * coefficients).sum().backward()
    estimate = sampled.from_noise(noise)
    (estimate * coefficients).sum().backward()
    # one readout from 20,000 shots: standard error <= 1 / sqrt(20,000) = 0.007; 5 standard errors
    assert (estimate - values).abs().max() < 0.035 and not torch.equal(estimate, values.detach())
    # each gradient entry sums 2 x 3 x 8 such estimates (x |coefficient| / 2): a few hundredths of noise
    assert torch.allclose(sampled.weights.grad, exact.weights.grad, atol=0.15)
    assert torch.corrcoef(torch.stack([sampled.weights.grad.flatten(), exact.weights.grad.flatten()]))[0, 1] > 0.99
    # with few shots the values are multiples of 1 / shots, as measured frequencies are
    few = QuantumLatent(4, 2, "zz", shots=8)
    counts = few.from_noise(noise) * 8
    assert torch.equal(counts, counts.round())


@pytest.mark.parametrize("n_qubits, n_layers, noise", [(4, 3, {"depolarizing": 0.05, "amplitude_damping": 0.1}),
                                                       (5, 2, {"amplitude_damping": 0.2}),
                                                       (3, 2, {"depolarizing": 0.3})])
def test_torch_density_matrices_match_default_mixed_values_and_gradients(n_qubits, n_layers, noise):
    from qmolgen.quantum.density import DensityMatrixCircuit

    torch.manual_seed(n_qubits)
    weights = (torch.rand(n_layers, n_qubits, 2, dtype=torch.float64) * 2 * math.pi).requires_grad_()
    angles = torch.rand(3, n_qubits, dtype=torch.float64) * 2 - 1
    qnode = circuits.latent_qnode(n_qubits, "zz", device="default.mixed", noise=noise)
    reference = torch.stack(list(qnode(angles, weights)), -1)
    mix = torch.arange(1.0, reference.shape[1] + 1, dtype=torch.float64)  # every readout weighs in the gradient
    reference_grad, = torch.autograd.grad((reference * mix).sum(), weights)
    simulator = DensityMatrixCircuit(n_qubits, noise, zz_readout=True, dtype=torch.complex128)
    values = simulator(angles, weights)  # the Heisenberg picture
    grad, = torch.autograd.grad((values * mix).sum(), weights)
    assert torch.allclose(values, reference, atol=1e-5) and torch.allclose(grad, reference_grad, atol=1e-5)
    assert not torch.allclose(values, StatevectorCircuit(n_qubits, True, torch.complex128)(angles, weights), atol=1e-2)
    # the Schroedinger picture (used for probabilities and shots) agrees with it to rounding
    from_states = simulator.probs(angles, weights.detach()) @ simulator.readout_table
    assert torch.allclose(from_states, values.detach(), atol=1e-12)
    assert torch.allclose(simulator.probs(angles, weights.detach()).sum(1), torch.ones(3, dtype=torch.float64))


def test_noise_on_the_torch_executor_trains_every_quantum_kind():
    from qmolgen.quantum.density import DensityMatrixCircuit
    from qmolgen.quantum.prior import BornMachine

    noise = {"depolarizing": 0.05, "amplitude_damping": 0.0}
    torch.manual_seed(9)
    latent = QuantumLatent(4, 2, "zz", noise=noise)
    assert isinstance(latent.simulator, DensityMatrixCircuit)
    reference = QuantumLatent(4, 2, "zz", executor="pennylane", device="default.mixed", noise=noise)
    reference.weights.data = latent.weights.data.clone()
    z = torch.rand(5, 4) * 2 - 1
    assert torch.allclose(latent.from_noise(z), reference.from_noise(z).float(), atol=1e-5)
    latent.from_noise(z).sum().backward()
    assert latent.weights.grad.abs().min() > 0
    shot_based = QuantumLatent(4, 2, "zz", shots=20000, noise=noise)
    shot_based.weights.data = latent.weights.data.clone()
    assert (shot_based.from_noise(z) - latent.from_noise(z)).abs().max() < 0.05  # std of a mean <= 0.007
    patches = PatchQuantumGenerator(3, 2, 2, noise=noise)
    assert torch.allclose(patches(4).reshape(4, 2, 8).sum(-1), torch.ones(4, 2), atol=1e-5)
    clean, noisy = BornMachine(3, 2), BornMachine(3, 2, noise={"depolarizing": 0.2})
    noisy.weights.data = clean.weights.data.clone()
    on_mixed = BornMachine(3, 2, executor="pennylane", device="default.mixed", noise={"depolarizing": 0.2})
    on_mixed.weights.data = clean.weights.data.clone()
    assert torch.allclose(noisy.probabilities(), on_mixed.probabilities(), atol=1e-6)


def test_density_matrix_observables_are_reused_only_while_the_weights_are_unchanged():
    from qmolgen.quantum.density import DensityMatrixCircuit

    torch.manual_seed(10)
    simulator = DensityMatrixCircuit(3, {"depolarizing": 0.1}, zz_readout=True, dtype=torch.complex128)
    weights = torch.rand(2, 3, 2, dtype=torch.float64)
    angles = torch.rand(4, 3, dtype=torch.float64)
    with torch.no_grad():
        first = simulator(angles, weights)
        kept = simulator._kept[1]
        assert torch.equal(simulator(angles, weights), first) and simulator._kept[1] is kept  # reused
        weights[0, 0, 0] += 0.5  # an optimiser step changes the weights in place
        moved = simulator(angles, weights)
    assert simulator._kept[1] is not kept and not torch.allclose(moved, first)
    assert torch.allclose(moved, simulator(angles, weights.clone().requires_grad_()).detach(), atol=1e-12)


def test_pauli_transfer_matrices_follow_the_textbook_conjugations():
    from qmolgen.quantum.pauli import channel_kraus, heisenberg_transfer, rotation_kraus

    theta = torch.tensor([0.7], dtype=torch.float64)
    c, s = math.cos(0.7), math.sin(0.7)
    ry, rz = heisenberg_transfer(rotation_kraus("Y", theta))[0], heisenberg_transfer(rotation_kraus("Z", theta))[0]
    # columns are the images of I, X, Y, Z: RY^dagger Z RY = cos Z - sin X, RZ^dagger X RZ = cos X - sin Y
    assert torch.allclose(ry[:, 3], torch.tensor([0, -s, 0, c], dtype=torch.float64))
    assert torch.allclose(rz[:, 1], torch.tensor([0, c, -s, 0], dtype=torch.float64))
    p = 0.3
    assert torch.allclose(heisenberg_transfer(channel_kraus("depolarizing", p)),
                          torch.diag(torch.tensor([1, 1 - 4 * p / 3, 1 - 4 * p / 3, 1 - 4 * p / 3], dtype=torch.float64)))
    damping = heisenberg_transfer(channel_kraus("amplitude_damping", p))
    assert torch.allclose(damping[:, 3], torch.tensor([p, 0, 0, 1 - p], dtype=torch.float64))  # Z -> (1-g) Z + g I


def test_the_ring_transfer_is_the_ring_unitary_conjugating_every_pauli_string():
    from qmolgen.quantum.pauli import PAULIS, ring_transfer

    n = 3
    ring = torch.eye(2**n, dtype=torch.complex128)[StatevectorCircuit(n).ring_perm]  # new_state = ring @ state
    source, sign = ring_transfer(n)
    strings = torch.stack([torch.kron(torch.kron(PAULIS[a], PAULIS[b]), PAULIS[c])
                           for a in range(4) for b in range(4) for c in range(4)])
    for i, string in enumerate(strings):
        conjugated = ring.conj().T @ string @ ring  # Heisenberg: U^dagger P U, itself one signed Pauli string
        coefficients = torch.einsum("jab,ba->j", strings, conjugated).real / 2**n
        j = int(coefficients.abs().argmax())
        assert coefficients.abs().sum() == pytest.approx(1) and source[j] == i and sign[j] == coefficients[j]


def test_a_one_qubit_latent_reads_its_z_alone_on_every_executor():
    torch.manual_seed(11)
    z = torch.rand(3, 1) * 2 - 1
    exact = QuantumLatent(1, 2, "zz")
    for other in (QuantumLatent(1, 2, "zz", executor="pennylane"), QuantumLatent(1, 2, "zz", noise={"depolarizing": 0.0})):
        other.weights.data = exact.weights.data.clone()
        assert torch.allclose(exact.from_noise(z), other.from_noise(z).float(), atol=1e-5)
    noisy = QuantumLatent(1, 2, "zz", noise={"depolarizing": 0.2})
    noisy.weights.data = exact.weights.data.clone()
    assert noisy.from_noise(z).shape == (3, circuits.latent_dim(1, "zz")) == (3, 1)
    assert (noisy.from_noise(z).abs() < exact.from_noise(z).abs()).all()  # depolarizing shrinks <Z>
