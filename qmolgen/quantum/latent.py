"""Latent sources: noise -> latent vector. Quantum circuit (the hybrid), Gaussian (the classical GAN) and a
classical noise transform with as many parameters as the circuit (the size-matched control).

Every source samples its own noise from torch's global generator, so one seed fixes a run. Every source also
maps standard normal inputs to its output (`gaussian_dim`, `from_gaussian(g)`), with g ~ N(0, I) giving the
same distribution as `forward`: samplers that move through a Gaussian space (the tables' conditional
sampler) then work with any source.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from qmolgen.errors import ConfigError
from qmolgen.quantum import circuits
from qmolgen.quantum.prior import PRIOR_KINDS, build_prior
from qmolgen.quantum.density import circuit_simulator
from qmolgen.quantum.executors import check_executor
from qmolgen.quantum.statevector import sampled_readout



def uniform_noise(batch_size: int, n: int) -> torch.Tensor:
    """Noise z ~ U(-1, 1), shape (batch_size, n)."""
    return torch.rand(batch_size, n) * 2 - 1


def uniform_from_gaussian(g: torch.Tensor) -> torch.Tensor:
    """Standard normal values -> uniform in [-1, 1] (through the normal CDF): the same noise as uniform_noise."""
    return 2 * torch.special.ndtr(g) - 1


class QuantumLatent(nn.Module):
    """Variational circuit whose expectation values are the latent vector.

    Args:
        n_qubits, n_layers: circuit size.
        readout: 'z' (n values) or 'zz' (also neighbouring <Z Z>, 2n values for n > 2).
        executor: 'torch' simulates the batch as one statevector (exact, fast, training default; with `shots`
            it measures each sample's state `shots` times and differentiates by the parameter-shift rule);
            'pennylane' runs the PennyLane QNode on `device` with PennyLane broadcasting over the batch.
        device, shots, diff_method: passed to PennyLane when executor='pennylane'.
        n_circuits: independent copies of the circuit, each with its own angles and its own noise, their readouts
            side by side: a latent of n_circuits x dim values with n_circuits x n_qubits degrees of freedom, where one
            wider circuit would cost 2**n amplitudes a sample.
    """

    def __init__(self, n_qubits: int = 8, n_layers: int = 3, readout: str = "zz", executor: str = "torch",
                 device: str = "default.qubit", shots: int | None = None, diff_method: str = "best",
                 noise: dict | None = None, n_circuits: int = 1):
        super().__init__()
        if n_qubits < 1 or n_layers < 1 or n_circuits < 1:
            raise ConfigError(f"quantum.n_qubits, quantum.n_layers and quantum.circuits must be >= 1; got {n_qubits}, "
                              f"{n_layers}, {n_circuits}")
        check_executor(executor, device, shots, noise, torch_shots=True, diff_method=diff_method)
        self.n_qubits, self.n_layers, self.readout, self.executor = n_qubits, n_layers, readout, executor
        self.shots, self.diff_method, self.n_circuits = shots, diff_method, n_circuits
        self.dim = n_circuits * circuits.latent_dim(n_qubits, readout)
        # Small random start: near-identity layers keep the early latent close to the encoded noise. One circuit
        # keeps the (layers, qubits, 2) layout of the models saved before `circuits` existed.
        shape = circuits.weight_shapes(n_qubits, n_layers)
        self.weights = nn.Parameter(0.1 * torch.randn((n_circuits, *shape) if n_circuits > 1 else shape))
        if executor == "torch":
            self.simulator = circuit_simulator(n_qubits, noise, zz_readout=readout == "zz")
        else:
            self.qnode = circuits.latent_qnode(n_qubits, readout, device, shots, diff_method, noise)

    def _readout(self, angles: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        """One circuit's latent values for its encoding angles (B, n_qubits) -> (B, dim / n_circuits)."""
        if self.executor == "torch" and self.shots:
            return sampled_readout(self.simulator, angles, weights, self.shots)
        if self.executor == "torch":
            return self.simulator(angles, weights).float()
        values = self.qnode(angles, weights)
        return torch.stack(list(values), dim=-1).float()

    def from_noise(self, noise: torch.Tensor) -> torch.Tensor:
        """Latent vectors for given noise z in [-1, 1], shape (B, n_circuits * n_qubits) -> (B, dim)."""
        angles = torch.arcsin(noise.clamp(-1, 1)).split(self.n_qubits, dim=1)
        weights = self.weights.reshape(self.n_circuits, *self.weights.shape[-3:])
        return torch.cat([self._readout(a, w) for a, w in zip(angles, weights)], dim=1)

    def forward(self, batch_size: int) -> torch.Tensor:
        """Latent vectors for fresh uniform noise, (batch_size, dim)."""
        return self.from_noise(uniform_noise(batch_size, self.gaussian_dim))

    @property
    def gaussian_dim(self) -> int:
        """Standard normal inputs from_gaussian takes: one per qubit of every circuit."""
        return self.n_circuits * self.n_qubits

    def from_gaussian(self, g: torch.Tensor) -> torch.Tensor:
        """Latents for standard normal inputs g: the same distribution as forward (see GaussianInput)."""
        return self.from_noise(uniform_from_gaussian(g))


class GaussianLatent(nn.Module):
    """Standard normal latent with no parameters: the classical GAN baseline."""

    def __init__(self, dim: int):
        super().__init__()
        self.dim = dim

    def forward(self, batch_size: int) -> torch.Tensor:
        """Standard normal latent vectors, (batch_size, dim)."""
        return torch.randn(batch_size, self.dim)

    @property
    def gaussian_dim(self) -> int:
        """Standard normal inputs from_gaussian takes: the latent size."""
        return self.dim

    def from_gaussian(self, g: torch.Tensor) -> torch.Tensor:
        """The latent is its Gaussian input."""
        return g


class SizeMatchedLatent(nn.Module):
    """Uniform noise of the circuit's input size through a small tanh MLP with at most as many trainable
    parameters as the circuit: tells whether the circuit beats a classical transform of the same size.

    Args:
        noise_dim: noise size (the circuit's qubit count).
        dim: latent size (the circuit's readout length).
        budget: parameter count to match (the circuit's weight count).
    """

    def __init__(self, noise_dim: int, dim: int, budget: int):
        super().__init__()
        # params(h) = noise_dim*h + h + h*dim + dim; take the largest h that fits the budget.
        hidden = max(1, math.floor((budget - dim) / (noise_dim + 1 + dim)))
        self.noise_dim, self.dim = noise_dim, dim
        self.net = nn.Sequential(nn.Linear(noise_dim, hidden), nn.Tanh(), nn.Linear(hidden, dim), nn.Tanh())

    def forward(self, batch_size: int) -> torch.Tensor:
        """Latent vectors for fresh uniform noise, (batch_size, dim)."""
        return self.net(uniform_noise(batch_size, self.noise_dim))

    @property
    def gaussian_dim(self) -> int:
        """Standard normal inputs from_gaussian takes: the noise size."""
        return self.noise_dim

    def from_gaussian(self, g: torch.Tensor) -> torch.Tensor:
        """Latents for standard normal inputs (mapped to uniform noise first)."""
        return self.net(uniform_from_gaussian(g))


class PatchQuantumGenerator(nn.Module):
    """Pure quantum generator (Huang et al. 2021): `n_patches` sub-circuits whose Born probabilities,
    concatenated, are the output features. No trainable classical layer; all circuits share one noise draw.

    Returns (B, n_patches * 2**n_qubits) probabilities, each patch summing to one. The executor, device, shots
    and diff_method work as for QuantumLatent (with shots, each patch's probabilities are shot estimates).
    """

    def __init__(self, n_qubits: int, n_layers: int, n_patches: int, executor: str = "torch",
                 device: str = "default.qubit", shots: int | None = None, diff_method: str = "best",
                 noise: dict | None = None):
        super().__init__()
        check_executor(executor, device, shots, noise)
        self.n_qubits, self.n_layers, self.n_patches, self.executor = n_qubits, n_layers, n_patches, executor
        self.shots, self.diff_method = shots, diff_method
        self.dim = n_patches * 2**n_qubits
        self.weights = nn.Parameter(0.1 * torch.randn(n_patches, *circuits.weight_shapes(n_qubits, n_layers)))
        if executor == "torch":
            self.simulator = circuit_simulator(n_qubits, noise)
        else:
            self.qnode = circuits.probs_qnode(n_qubits, device, shots, diff_method, noise)

    def forward(self, batch_size: int) -> torch.Tensor:
        """Patch probabilities for fresh uniform noise, (batch_size, n_patches * 2**n_qubits)."""
        return self.from_noise(uniform_noise(batch_size, self.n_qubits))

    def from_noise(self, noise: torch.Tensor) -> torch.Tensor:
        """Patch probabilities for given noise in [-1, 1], every patch fed the same noise."""
        angles = torch.arcsin(noise.clamp(-1, 1))
        run = self.simulator.probs if self.executor == "torch" else self.qnode
        return torch.cat([run(angles, w).float() for w in self.weights], dim=1)

    @property
    def gaussian_dim(self) -> int:
        """Standard normal inputs from_gaussian takes: one per qubit."""
        return self.n_qubits

    def from_gaussian(self, g: torch.Tensor) -> torch.Tensor:
        """Patch probabilities for standard normal inputs (mapped to uniform noise first)."""
        return self.from_noise(uniform_from_gaussian(g))


def count_parameters(module: nn.Module) -> int:
    """Number of trainable parameters of a module."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


LATENT_KINDS = ("hybrid", "classical", "size_matched", *PRIOR_KINDS)


def latent_source(kind: str, quantum: dict) -> nn.Module:
    """The latent source of a decoder-based generator kind, sized from the recipe's `quantum` section:
    the circuit (hybrid), Gaussian noise of the circuit's latent size (classical), or a classical transform
    with at most the circuit's parameter count (size_matched). Every domain builds its baselines here."""
    q = quantum
    n_circuits = q.get("circuits", 1)  # models saved before quantum.circuits: one circuit
    if not isinstance(n_circuits, int) or n_circuits < 1:  # the controls are sized by it too, not only the circuit
        raise ConfigError(f"quantum.circuits must be a whole number >= 1 (circuits side by side); got {n_circuits!r}")
    if kind in PRIOR_KINDS:  # a trained prior over bitstrings (fitted by qmolgen.model before the GAN)
        if n_circuits != 1:
            raise ConfigError(f"quantum.circuits={n_circuits} sets the hybrid's circuits side by side; the Born-machine "
                              f"prior ({kind}) is one circuit: leave quantum.circuits at 1 (or raise quantum.n_qubits)")
        return build_prior(kind, q)
    if kind == "hybrid":
        return QuantumLatent(q["n_qubits"], q["n_layers"], q["readout"], q["executor"], q["device"], q["shots"],
                             q["diff_method"], q.get("noise"), n_circuits)
    # The controls match the hybrid's latent size (and the size-matched one its angle count) circuit for circuit.
    latent_size = n_circuits * circuits.latent_dim(q["n_qubits"], q["readout"])
    if kind == "classical":
        return GaussianLatent(latent_size)
    if kind == "size_matched":
        budget = n_circuits * math.prod(circuits.weight_shapes(q["n_qubits"], q["n_layers"]))
        return SizeMatchedLatent(n_circuits * q["n_qubits"], latent_size, budget)
    raise ConfigError(f"no latent source for generator kind {kind!r}; kinds with a latent: {LATENT_KINDS}")


PATCH_KIND = "quantum_patch"


def generator_source(config: dict, patches_needed=None) -> nn.Module:
    """The source of the generator that config['generator']['kind'] names, checked against the kinds the
    domain offers: a latent source (see latent_source) for a decoder, or, for quantum_patch, patch circuits
    whose Born probabilities the domain's Born decoder reads. `patches_needed(quantum_section)` says how many
    patches that decoder needs; a domain without a Born decoder passes None and offers no quantum_patch."""
    kind, q = config["generator"]["kind"], config["quantum"]
    kinds = (*LATENT_KINDS, PATCH_KIND) if patches_needed else LATENT_KINDS
    if kind not in kinds:
        raise ConfigError(f"generator.kind must be one of {kinds}; got {kind!r}")
    if kind == PATCH_KIND:
        return PatchQuantumGenerator(q["patch_qubits"], q["n_layers"], patches_needed(q), q["executor"], q["device"],
                                     q["shots"], q["diff_method"], q.get("noise"))
    return latent_source(kind, q)


def circuit_resources(generator: nn.Module) -> dict:
    """The generator's circuit resources (see circuits.resources) for final_metrics.json; {} without a circuit."""
    source = getattr(generator, "latent", None)
    if isinstance(source, QuantumLatent):
        return circuits.resources(source.n_qubits, source.n_layers, circuits=source.n_circuits)
    if isinstance(source, PatchQuantumGenerator):
        return circuits.resources(source.n_qubits, source.n_layers, circuits=source.n_patches)
    if type(source).__name__ == "BornMachine":
        return circuits.resources(source.n_bits, source.n_layers, encoded=False)
    return {}


def training_circuit_cost(generator: nn.Module, critic_steps: int, generator_steps: int, batch_size: int,
                          shots_per_second: float = 1000.0) -> dict:
    """What training ran on the generator's circuit (hybrid, quantum_patch), for final_metrics.json; {} otherwise.

    Every generated sample is one circuit run per circuit (each noise draw is a different circuit): a critic step
    draws a batch, a generator step draws one and differentiates it. `circuit_runs_training` counts the runs made
    here: with shots a differentiated sample also takes its gradient rule's runs (parameter shift 2 P, P angles per
    circuit; SPSA 2; finite differences P), simulated exactly it takes none; `shots_total` is their shots. The
    `hardware_*` keys estimate the same training on a device, where every run is measured (`quantum.shots`, else
    1,000 shots) and gradients take the parameter-shift rule's runs (SPSA's when configured), at a stated shot
    rate. Evaluation samples are not counted."""
    source = getattr(generator, "latent", None)
    if not isinstance(source, (QuantumLatent, PatchQuantumGenerator)):
        return {}
    circuits_per_sample = getattr(source, "n_patches", None) or source.n_circuits
    angles = source.weights.numel() // circuits_per_sample
    shots = source.shots
    rule_runs = {"spsa": 2, "finite-diff": angles}.get(source.diff_method, 2 * angles)
    forward_only = critic_steps * max(batch_size, 2) + generator_steps * batch_size
    gradient = generator_steps * batch_size * rule_runs
    runs = circuits_per_sample * (forward_only + (gradient if shots else 0))
    hardware_runs = circuits_per_sample * (forward_only + gradient)
    hardware_shots = hardware_runs * (shots or 1000)
    return {"circuit_runs_training": runs, "shots_total": runs * shots if shots else None,
            "hardware_circuit_runs": hardware_runs, "hardware_shots": hardware_shots,
            "hardware_hours_at_1k_shots_per_s": round(hardware_shots / shots_per_second / 3600, 1)}


def is_circuit_parameter(name: str) -> bool:
    """Whether a generator parameter (by its name in named_parameters) holds circuit rotation angles."""
    return name.endswith("latent.weights")


def parameter_counts(generator: nn.Module) -> dict:
    """The generator's own parameters split into quantum (circuit angles) and classical: the trainable ones plus a
    fitted prior's (frozen, but trained), not a pretrained decoder it only borrows."""
    own = [(name, p) for name, p in generator.named_parameters() if p.requires_grad or name.startswith("latent.")]
    quantum = sum(p.numel() for name, p in own if is_circuit_parameter(name))
    return {"params_quantum": quantum, "params_classical": sum(p.numel() for _, p in own) - quantum}
