"""Trained priors over bitstrings: a quantum circuit Born machine (QCBM) and classical priors of the same size,
fitted to the same target bits and sampled the same way, so that the downstream comparison is fair.

    qcbm                  the latent circuit's ansatz (layers of RZ·RY and a CNOT ring) started from |0...0>;
                          p(x) = |<x|U(θ)|0>|², trained by MMD on bitstrings, sampled as bitstrings
    prior_bernoulli       independent bits fitted to the target's marginals (n parameters)
    prior_autoregressive  a fully visible sigmoid belief net p(x_i | the k bits before it) with k as large as
                          keeps its parameter count at or below the circuit's (2 n L)

Target bits (`target_bits`): the training data's features (what the critic reads, flattened) projected on their
first n principal components and thresholded at each component's median, so each bit is a balanced, data-derived
coarse feature. The priors are trained before the GAN by the maximum mean discrepancy (Gaussian kernels on the
Hamming distance, bandwidths σ² = 0.25, 1, 4; Liu & Wang 2018) between their exact distribution and the targets'
histogram, then frozen: the GAN trains the decoder on their samples.

Shots (`quantum.shots`): the QCBM's training then sees only shot estimates of its probabilities, and its gradient
is the parameter-shift rule on them (2 P + 1 circuit runs a step, P angles), as on hardware; after training the
device is measured `shots` times once and the GAN draws its bitstrings from that pool, as a hardware user would.
With shots null the exact distribution is used throughout. Every fit reports circuit runs and shots used.
"""

from __future__ import annotations

import math
import time
from abc import ABC, abstractmethod

import torch
from torch import nn

from qmolgen.errors import ConfigError
from qmolgen.quantum import circuits
from qmolgen.quantum.density import circuit_simulator
from qmolgen.quantum.executors import check_executor

PRIOR_KINDS = ("qcbm", "prior_bernoulli", "prior_autoregressive")
BANDWIDTHS = (0.25, 1.0, 4.0)  # σ² of the Gaussian kernels, in units of squared Hamming distance
SPSA_PERTURBATION = 0.1  # radians each angle moves in an SPSA step (quantum.diff_method=spsa)
MAX_TARGET_ROWS = 20_000


def bits_table(n_bits: int) -> torch.Tensor:
    """(2**n, n) bits of every basis state, qubit 0 the most significant (PennyLane's order)."""
    index = torch.arange(2**n_bits)
    return ((index[:, None] >> torch.arange(n_bits - 1, -1, -1)[None, :]) & 1).float()


def target_bits(features: torch.Tensor, n_bits: int, seed: int = 0) -> torch.Tensor:
    """(N, n) bits from real features: the sign of each of the first n principal components against its median
    (at most MAX_TARGET_ROWS rows, a seeded subset).

    Raises:
        ConfigError: fewer feature dimensions than bits.
    """
    x = features.flatten(1).float()
    if x.shape[1] < n_bits:
        raise ConfigError(f"quantum.n_qubits={n_bits} exceeds the {x.shape[1]} features the prior's bits are "
                          "derived from; use fewer qubits")
    generator = torch.Generator().manual_seed(seed)
    if len(x) > MAX_TARGET_ROWS:
        x = x[torch.randperm(len(x), generator=generator)[:MAX_TARGET_ROWS]]
    x = x - x.mean(0)
    _, _, v = torch.linalg.svd(x, full_matrices=False)
    projected = x @ v[:n_bits].T
    return (projected > projected.median(0).values).long()


def histogram(bits: torch.Tensor) -> torch.Tensor:
    """The empirical distribution over the 2**n basis states of (N, n) bits."""
    n = bits.shape[1]
    index = (bits.long() * (2 ** torch.arange(n - 1, -1, -1))).sum(1)
    return torch.bincount(index, minlength=2**n).double() / len(bits)


def kernel_apply(v: torch.Tensor, n_bits: int, sigma2: float) -> torch.Tensor:
    """K v for the Gaussian kernel exp(-hamming(x, y) / (2 σ²)) over all 2**n bitstrings. The kernel is a product
    of 2x2 kernels, one per bit, so K v costs n 2**n operations instead of 4**n."""
    a = math.exp(-1.0 / (2 * sigma2))
    shaped = v.reshape((2,) * n_bits)
    for axis in range(n_bits):
        shaped = shaped + a * shaped.flip(axis)
    return shaped.reshape(-1)


def mmd(p: torch.Tensor, q: torch.Tensor, n_bits: int) -> torch.Tensor:
    """Squared MMD between two distributions over the 2**n bitstrings, averaged over BANDWIDTHS."""
    d = p - q
    return sum((d * kernel_apply(d, n_bits, s)).sum() for s in BANDWIDTHS) / len(BANDWIDTHS)


def fit_quality(p: torch.Tensor, q: torch.Tensor, n_bits: int) -> dict:
    """How well a prior's exact distribution p fits the target histogram q."""
    p, q = p.double(), q.double()
    eps = 1e-12
    kl = float((q * (torch.log(q + eps) - torch.log(p + eps))).sum())
    return {"prior_mmd": float(mmd(p, q, n_bits)), "prior_kl": kl, "prior_tv": float(0.5 * (p - q).abs().sum())}


class BitPrior(nn.Module, ABC):
    """A distribution over n bits that is fitted once (`fit`) and then sampled: forward(batch) returns the bits
    as ±1 values, followed by `noise_dim` standard normal values when set."""

    def __init__(self, n_bits: int, noise_dim: int = 0, shots: int | None = None):
        super().__init__()
        self.n_bits, self.noise_dim, self.shots = n_bits, noise_dim, shots
        self.dim = n_bits + noise_dim
        self.register_buffer("table", bits_table(n_bits), persistent=False)
        # the measured bitstrings (basis-state indices) the GAN draws from when shots are set; saved with the model
        self.register_buffer("pool", torch.zeros(shots or 0, dtype=torch.long))

    @abstractmethod
    def probabilities(self) -> torch.Tensor:
        """The exact distribution over the 2**n basis states (differentiable in the prior's parameters)."""

    def freeze(self) -> None:
        """Fix the fitted prior: the GAN trains the decoder on its samples, never the prior itself."""
        for p in self.parameters():
            p.requires_grad_(False)
        self._frozen = None

    def remeasure(self, draw_pool: bool = True) -> None:
        """After the fitted parameters were changed (circuit fine-tuning, molecules/latent_search.py): recompute the
        distribution sampled, and with shots (draw_pool) measure a new pool from it, as a device would."""
        self._frozen = None
        if self.shots and draw_pool:
            self.pool = torch.multinomial(self.distribution(), self.shots, replacement=True)

    def distribution(self) -> torch.Tensor:
        """The distribution the prior samples: computed once after freezing (a noisy device's simulation is slow),
        every time before (while it is being fitted)."""
        if any(p.requires_grad for p in self.parameters()):
            return self.probabilities().detach().float()
        if getattr(self, "_frozen", None) is None:
            self._frozen = self.probabilities().detach().float()
        return self._frozen

    def forward(self, batch_size: int) -> torch.Tensor:
        """Latents: sampled bitstrings as ±1 (from the exact distribution, or from the measured pool with
        shots) followed by `noise_dim` standard normal values."""
        with torch.no_grad():
            if self.shots:
                index = self.pool[torch.randint(len(self.pool), (batch_size,), device=self.pool.device)]
            else:
                index = torch.multinomial(self.distribution(), batch_size, replacement=True)
        out = 2 * self.table[index] - 1
        if self.noise_dim:
            out = torch.cat([out, torch.randn(batch_size, self.noise_dim)], dim=1)
        return out

    @property
    def gaussian_dim(self) -> int:
        """Standard normal inputs from_gaussian takes: one that picks the bitstring, then the normal values."""
        return 1 + self.noise_dim

    def from_gaussian(self, g: torch.Tensor) -> torch.Tensor:
        """Samples for standard normal inputs: the first picks the bitstring by inverting the prior's cumulative
        distribution (the measured pool's, with shots) at its normal CDF; the rest are the appended noise."""
        with torch.no_grad():
            u = torch.special.ndtr(g[:, 0].double())
            if self.shots:
                index = self.pool[(u * len(self.pool)).long().clamp(max=len(self.pool) - 1)]
            else:
                cumulative = torch.cumsum(self.distribution().double(), 0)
                index = torch.searchsorted(cumulative / cumulative[-1], u).clamp(max=len(cumulative) - 1)
        out = 2 * self.table[index] - 1
        return torch.cat([out, g[:, 1:]], dim=1) if self.noise_dim else out

    def fit(self, bits: torch.Tensor, steps: int, lr: float) -> dict:
        """Fit to (N, n) target bits by MMD with Adam, freeze, and (with shots) measure the pool; returns the fit
        report: prior_mmd / prior_kl / prior_tv of the exact distribution, steps, seconds, circuit runs, shots."""
        target = histogram(bits)
        start, runs = time.perf_counter(), 0
        params = [p for p in self.parameters() if p.requires_grad]
        optimiser = torch.optim.Adam(params, lr=lr)
        for _ in range(steps):
            optimiser.zero_grad()
            runs += self._gradient_step(target)
            optimiser.step()
        self.freeze()
        with torch.no_grad():
            exact = self.probabilities().double()
            if self.shots:
                self.pool = torch.multinomial(exact.float(), self.shots, replacement=True)
                runs += 1
        report = {"prior_kind": type(self).__name__, "prior_bits": self.n_bits,
                  "prior_params": sum(p.numel() for p in params), "prior_steps": steps,
                  "prior_seconds": round(time.perf_counter() - start, 2), **fit_quality(exact, target, self.n_bits)}
        if isinstance(self, BornMachine):
            report.update({"circuit_runs": runs, "shots_total": runs * self.shots if self.shots else None,
                           **self.hardware_estimate(steps)})
        return report

    def _gradient_step(self, target: torch.Tensor) -> int:
        """Set .grad of the parameters for one step of MMD; returns the circuit runs it took (0: classical)."""
        mmd(self.probabilities().double(), target, self.n_bits).backward()
        return 0


class BornMachine(BitPrior):
    """A quantum circuit Born machine: the latent circuit's trainable layers applied to |0...0>, read out as
    bitstrings. Its angles are named `weights` like the latent circuit's, so they count as quantum parameters."""

    def __init__(self, n_qubits: int, n_layers: int, noise_dim: int = 0, shots: int | None = None,
                 executor: str = "torch", device: str = "default.qubit", diff_method: str = "best",
                 noise: dict | None = None):
        super().__init__(n_qubits, noise_dim, shots)
        self.n_layers, self.diff_method = n_layers, diff_method
        self.weights = nn.Parameter(torch.rand(*circuits.weight_shapes(n_qubits, n_layers)) * 2 * math.pi)
        # Probabilities are computed analytically (torch statevector, or a PennyLane device, e.g. default.mixed
        # with quantum.noise); shots are simulated by sampling them, so one code path serves every device.
        if executor == "torch":
            check_executor(executor, device, None, noise)  # shots are drawn from the exact probabilities below
            self.simulator = circuit_simulator(n_qubits, noise, dtype=torch.complex128)
        else:
            self.qnode = circuits.probs_qnode(n_qubits, device, None, diff_method, noise)

    def runs_per_step(self) -> int:
        """Circuit runs one fitting step takes on a device: the estimate itself and its gradient rule's shifted
        runs (parameter shift: 2 per angle; SPSA: 2 whatever the angle count)."""
        return 1 + (2 if self.diff_method == "spsa" else 2 * self.weights.numel())

    def hardware_estimate(self, steps: int, shots_per_second: float = 1000.0) -> dict:
        """What this fit would cost on a device: runs_per_step circuit runs a step, each of `shots` shots (1,000
        when exact), plus one final measurement, at a stated shot rate."""
        shots = self.shots or 1000
        runs = steps * self.runs_per_step() + 1
        return {"hardware_circuit_runs": runs, "hardware_shots": runs * shots,
                "hardware_hours_at_1k_shots_per_s": round(runs * shots / shots_per_second / 3600, 2)}

    def _probs(self, weights: torch.Tensor) -> torch.Tensor:
        start = torch.zeros(1, self.n_bits, dtype=torch.float64)
        if hasattr(self, "simulator"):
            return self.simulator.probs(start, weights.double())[0]
        return self.qnode(start, weights.double()).reshape(-1, 2**self.n_bits)[0].double()

    def probabilities(self) -> torch.Tensor:
        """The circuit's exact Born probabilities of all 2**n bitstrings."""
        return self._probs(self.weights)

    def _estimate(self, weights: torch.Tensor) -> torch.Tensor:
        """Probabilities as `shots` measurements estimate them (exact when shots is None)."""
        exact = self._probs(weights)
        if not self.shots:
            return exact
        counts = torch.bincount(torch.multinomial(exact.float(), self.shots, replacement=True), minlength=len(exact))
        return counts.double() / self.shots

    def _gradient_step(self, target: torch.Tensor) -> int:
        if self.diff_method == "spsa":
            return self._spsa_step(target)
        if not self.shots:  # exact simulation: backpropagation gives the parameter-shift gradient exactly
            super()._gradient_step(target)
            return 1  # one simulated run (hardware would need 1 + 2 P: see hardware_estimate)
        # d p(x) / d θ_k = (p_{θ_k + π/2}(x) - p_{θ_k - π/2}(x)) / 2 for each rotation angle, on shot estimates
        with torch.no_grad():
            weights = self.weights.detach()
            p = self._estimate(weights)
            d_loss = self._mmd_slope(p, target)
            grad = torch.zeros_like(weights)
            for k in range(weights.numel()):
                shift = torch.zeros(weights.numel(), dtype=weights.dtype)
                shift[k] = math.pi / 2
                shift = shift.view_as(weights)
                grad.view(-1)[k] = (d_loss * (self._estimate(weights + shift) - self._estimate(weights - shift))).sum() / 2
        self.weights.grad = grad
        return 1 + 2 * weights.numel()

    def _mmd_slope(self, p: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """d MMD² / d p at the (estimated) probabilities p: the chain rule's first factor."""
        return sum(2 * kernel_apply(p - target, self.n_bits, s) for s in BANDWIDTHS) / len(BANDWIDTHS)

    def _spsa_step(self, target: torch.Tensor) -> int:
        """Simultaneous perturbation (Spall 1992): all angles shifted at once by ±c along a random ±1 direction Δ;
        the slope along Δ, from two (shot) estimates, times Δ estimates the gradient. 3 runs a step for any number
        of angles, where parameter shift takes 1 + 2 P; noisier, so it needs more steps."""
        with torch.no_grad():
            weights = self.weights.detach()
            direction = torch.randint(0, 2, weights.shape, dtype=torch.int64).to(weights.dtype) * 2 - 1
            d_loss = self._mmd_slope(self._estimate(weights), target)
            c = SPSA_PERTURBATION
            slope = (d_loss * (self._estimate(weights + c * direction) - self._estimate(weights - c * direction))
                     ).sum() / (2 * c)
        self.weights.grad = slope * direction
        return 3


class BernoulliPrior(BitPrior):
    """Independent bits: n logits, fitted in closed form to the target's marginals."""

    def __init__(self, n_bits: int, noise_dim: int = 0):
        super().__init__(n_bits, noise_dim)
        self.logits = nn.Parameter(torch.zeros(n_bits))

    def probabilities(self) -> torch.Tensor:
        """Probabilities of all 2**n bitstrings under independent bits."""
        on = torch.sigmoid(self.logits.double())
        return torch.prod(self.table.double() * on + (1 - self.table.double()) * (1 - on), dim=1)

    def fit(self, bits: torch.Tensor, steps: int, lr: float) -> dict:
        """Set each bit's probability to its share in the target bits (maximum likelihood); no gradient steps."""
        with torch.no_grad():  # the maximum-likelihood marginals; no steps needed
            share = bits.double().mean(0).clamp(1e-4, 1 - 1e-4)
            self.logits.copy_(torch.log(share / (1 - share)))
        return super().fit(bits, 0, lr)


class AutoregressivePrior(BitPrior):
    """p(x) = Π_i σ(±(b_i + Σ_{i-k <= j < i} W_ij x_j)): a banded fully visible sigmoid belief net whose parameter
    count (n + the band) is at most `budget`, trained by the same MMD as the Born machine."""

    def __init__(self, n_bits: int, budget: int, noise_dim: int = 0):
        super().__init__(n_bits, noise_dim)
        band = 0
        while band < n_bits - 1 and n_bits + self._band_size(n_bits, band + 1) <= budget:
            band += 1
        self.band = band
        mask = torch.zeros(n_bits, n_bits)
        for i in range(n_bits):
            mask[i, max(0, i - band):i] = 1
        self.register_buffer("mask", mask, persistent=False)
        self.bias = nn.Parameter(torch.zeros(n_bits))
        self.coupling = nn.Parameter(torch.zeros(int(mask.sum())))

    @staticmethod
    def _band_size(n: int, band: int) -> int:
        return sum(min(i, band) for i in range(n))

    def probabilities(self) -> torch.Tensor:
        """Probabilities of all 2**n bitstrings: the product of each bit's sigmoid conditional on the earlier bits
        it is connected to."""
        weights = torch.zeros(self.n_bits, self.n_bits, dtype=torch.float64)
        weights[self.mask.bool()] = self.coupling.double()
        x = self.table.double()
        logits = self.bias.double() + x @ weights.T
        return torch.exp((x * nn.functional.logsigmoid(logits) + (1 - x) * nn.functional.logsigmoid(-logits)).sum(1))


def build_prior(kind: str, quantum: dict) -> BitPrior:
    """The prior `kind` sized from the recipe's quantum section (n_qubits bits, the circuit's parameter budget)."""
    q = quantum
    n, noise = q["n_qubits"], q["prior_noise"]
    if kind == "qcbm":
        return BornMachine(n, q["n_layers"], noise, q["shots"], q["executor"], q["device"], q["diff_method"],
                           q.get("noise"))
    if kind == "prior_bernoulli":
        return BernoulliPrior(n, noise)
    if kind == "prior_autoregressive":
        return AutoregressivePrior(n, math.prod(circuits.weight_shapes(n, q["n_layers"])), noise)
    raise ConfigError(f"no prior for generator kind {kind!r}; priors: {PRIOR_KINDS}")


def fit_prior(prior: BitPrior, dataset: tuple[torch.Tensor, ...], real_to_input, quantum: dict, seed: int) -> dict:
    """Fit `prior` to the bits of the training data: the tensors the critic reads (`real_to_input` of a seeded
    subset of at most MAX_TARGET_ROWS rows, flattened), reduced by `target_bits`. Returns the fit report."""
    rows = torch.randperm(len(dataset[0]), generator=torch.Generator().manual_seed(seed))[:MAX_TARGET_ROWS]
    features = torch.cat([t.flatten(1).float() for t in real_to_input(tuple(t[rows] for t in dataset))], dim=1)
    return prior.fit(target_bits(features, prior.n_bits, seed), quantum["prior_steps"], quantum["prior_lr"])
