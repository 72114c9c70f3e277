"""Batched PyTorch density-matrix simulation of the latent circuit under gate noise, for training on a CPU.

The same circuit as `circuits.ansatz` with `noise`: after every layer's CNOT ring, each channel (depolarizing,
amplitude damping, in the order given) acts on every qubit, as PennyLane's default.mixed applies them. The
batch's states are one (batch, 2**n, 2**n) complex tensor, and nothing is built at full size: the first layer is
a pure product state (its density matrix one outer product), an RZ layer is one diagonal phase on each side, an
RY layer is a Kronecker product applied one half of the register at a time on each side, the ring permutes rows
and columns, and a channel mixes the 2 x 2 blocks of its qubit. The readout that training differentiates is
computed in the Heisenberg picture over Pauli strings instead (qmolgen/quantum/pauli.py). Tests hold readouts and
gradients to default.mixed within 1e-5.

Memory grows as 4**n a sample (8 qubits: 512 KB at complex64), so it is meant for the recipes' 4-10 qubits.
"""

from __future__ import annotations

import math

import torch

from qmolgen.quantum.circuits import active_noise, check_weights
from qmolgen.quantum.pauli import PauliReadout
from qmolgen.quantum.statevector import StatevectorCircuit


def _on_qubit_blocks(rho: torch.Tensor, qubit: int, n_qubits: int) -> torch.Tensor:
    """View (B, 2**n, 2**n) as (B, high, 2, low, high, 2, low): the row and column bit of `qubit` exposed."""
    high, low = 2**qubit, 2 ** (n_qubits - qubit - 1)
    return rho.reshape(len(rho), high, 2, low, high, 2, low)


def _mix_blocks(rho: torch.Tensor, qubit: int, n_qubits: int, keep: list[list[float]],
                flipped: list[list[float]]) -> torch.Tensor:
    """A one-qubit channel in the form both of these channels take: block (r, c) of `qubit` becomes
    keep[r][c] * rho_rc + flipped[r][c] * rho_(1-r)(1-c) (the flipped term is X rho X's block). Out of place, in
    four full-size operations, so autograd records no slice copies."""
    blocks = _on_qubit_blocks(rho, qubit, n_qubits)
    shape = (1, 1, 2, 1, 1, 2, 1)
    real = rho.real.dtype
    out = blocks * torch.tensor(keep, dtype=real).view(shape)
    out = out + blocks.flip(2, 5) * torch.tensor(flipped, dtype=real).view(shape)
    return out.reshape(rho.shape)


def depolarize(rho: torch.Tensor, qubit: int, n_qubits: int, p: float) -> torch.Tensor:
    """PennyLane's DepolarizingChannel(p): (1 - p) rho + p/3 (X rho X + Y rho Y + Z rho Z), which is
    (1 - 4p/3) rho + 2p/3 Tr_q(rho) (x) I: the off-diagonal blocks shrink by 1 - 4p/3, and each diagonal block
    keeps 1 - 2p/3 of itself and gains 2p/3 of the other."""
    off, own, other = 1 - 4 * p / 3, 1 - 2 * p / 3, 2 * p / 3
    return _mix_blocks(rho, qubit, n_qubits, [[own, off], [off, own]], [[other, 0.0], [0.0, other]])


def amplitude_damp(rho: torch.Tensor, qubit: int, n_qubits: int, gamma: float) -> torch.Tensor:
    """PennyLane's AmplitudeDamping(gamma): |1> decays to |0> with probability gamma; coherences shrink by
    sqrt(1 - gamma)."""
    keep = math.sqrt(1 - gamma)
    return _mix_blocks(rho, qubit, n_qubits, [[1.0, keep], [keep, 1 - gamma]], [[gamma, 0.0], [0.0, 0.0]])


CHANNELS = {"depolarizing": depolarize, "amplitude_damping": amplitude_damp}


class DensityMatrixCircuit(StatevectorCircuit):
    """Simulates ansatz(angles, weights, noise) for a batch and returns the readout (or probabilities), exactly:
    the expectation values default.mixed gives, differentiable in the weights by autograd.

    The readout is computed in the Heisenberg picture (pauli.PauliReadout): everything after the noise encoding is
    the same for every sample, so each readout observable is evolved backwards through it once per weight update
    and a sample's value is one dot product with its encoded state. The Schroedinger picture (`density`) is kept
    for probabilities and shots.

    Args:
        n_qubits: number of qubits.
        noise: {channel: strength} (circuits.active_noise), applied to every qubit after every layer.
        zz_readout: also return <Z_i Z_i+1> around the ring.
        dtype: torch.complex64 (fast) or torch.complex128 (reference precision).
    """

    def __init__(self, n_qubits: int, noise: dict, zz_readout: bool = False, dtype: torch.dtype = torch.complex64):
        super().__init__(n_qubits, zz_readout, dtype)
        self.noise = dict(noise)
        real = torch.float32 if dtype == torch.complex64 else torch.float64
        self.readout = PauliReadout(n_qubits, self.noise, zz_readout, real)
        # Observables evolved without gradients, kept with the weights they came from: a GAN's critic steps sample
        # the generator n_critic times between weight updates, and each evolution costs as much as a forward pass
        self._kept: tuple[torch.Tensor, torch.Tensor] | None = None

    def _channel_steps(self) -> list[tuple[str, float, int]]:
        """(channel, strength, qubit) in the order the circuit applies them after a layer."""
        return [(name, strength, q) for name, strength in self.noise.items() for q in range(self.n_qubits)]

    def _channels(self, rho: torch.Tensor) -> torch.Tensor:
        """Every channel on every qubit, in the circuit's order."""
        for name, strength, qubit in self._channel_steps():
            rho = CHANNELS[name](rho, qubit, self.n_qubits, strength)
        return rho

    def _conjugate_by_ry(self, rho: torch.Tensor, thetas: torch.Tensor) -> torch.Tensor:
        """U rho U^T for U the Kronecker product of RY(theta_i) (real), one half of the register at a time:
        f(M) = (U M)^T applies U to M's columns as L V R^T (V a column as a hi x lo matrix), and f(f(rho)) is
        U rho U^T."""
        left, right = self._ry_halves(thetas, rho.dtype)
        right_t = right.T
        split = self.n_qubits // 2
        batch, dim = rho.shape[0], rho.shape[1]
        hi, lo = 2**split, 2 ** (self.n_qubits - split)
        for _ in range(2):
            columns = rho.transpose(1, 2).reshape(batch * dim, hi, lo)
            rho = (left @ columns @ right_t).reshape(batch, dim, dim)
        return rho

    def _rz_phase(self, layer: torch.Tensor) -> torch.Tensor:
        """The diagonal of the layer's RZ rotations: exp(-i/2 sum_i t_i sign_i(b)) per basis state b."""
        return torch.polar(torch.ones_like(self.signs[:, 0]), -0.5 * (self.signs @ layer[:, 0]))

    def _first_state(self, angles: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        check_weights(weights, self.n_qubits, len(weights))
        real = self.signs.dtype
        return self._first_layer(angles.to(real), weights[0].to(real)).to(self.dtype)

    def density(self, angles: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        """The final density matrices, (B, 2**n, 2**n) complex (Schroedinger picture)."""
        state = self._first_state(angles, weights).index_select(1, self.ring_perm)
        rho = self._channels(state[:, :, None] * state.conj()[:, None, :])
        for layer in weights[1:].to(self.signs.dtype):
            phase = self._rz_phase(layer)
            rho = rho * (phase[:, None] * phase.conj()[None, :])
            rho = self._conjugate_by_ry(rho, layer[:, 1])
            rho = self._channels(rho.index_select(1, self.ring_perm).index_select(2, self.ring_perm))
        return rho

    def _observables(self, weights: torch.Tensor) -> torch.Tensor:
        """The readout observables evolved back to the encoding (PauliReadout.observables), reused while the weights
        hold the same values and need no gradient."""
        if torch.is_grad_enabled() and weights.requires_grad:
            return self.readout.observables(weights)
        if self._kept is None or not torch.equal(self._kept[0], weights):
            self._kept = (weights.detach().clone(), self.readout.observables(weights.detach()))
        return self._kept[1]

    def probs(self, angles: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        """Born probabilities of all basis states (the density matrices' diagonals), shape (B, 2**n), real."""
        return torch.diagonal(self.density(angles, weights), dim1=1, dim2=2).real

    def amplitudes(self, angles: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        """Not defined under noise: raises TypeError (the state is mixed; see density())."""
        raise TypeError("a noisy circuit's state is mixed: it has a density matrix (density()), not amplitudes")

    @torch.no_grad()
    def measured(self, angles: torch.Tensor, weights: torch.Tensor, shots: int) -> torch.Tensor:
        """The readout estimated from `shots` bitstrings drawn from each sample's noisy Born distribution."""
        probs = self.probs(angles, weights).float().clamp_min(0)
        draws = torch.multinomial(probs, shots, replacement=True)
        counts = torch.zeros_like(probs).scatter_add_(1, draws, torch.ones_like(draws, dtype=probs.dtype))
        return counts @ self.readout_table.float() / shots

    def forward(self, angles: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        """Latent readout: <Z_i> (and <Z_i Z_i+1>), shape (B, latent_dim)."""
        check_weights(weights, self.n_qubits, len(weights))
        return self.readout(angles, self._observables(weights))


def circuit_simulator(n_qubits: int, noise: dict | None = None, zz_readout: bool = False,
                      dtype: torch.dtype = torch.complex64) -> StatevectorCircuit:
    """The torch executor's simulator: statevectors when the circuit is noiseless, density matrices under noise."""
    noise = active_noise(noise)
    if noise:
        return DensityMatrixCircuit(n_qubits, noise, zz_readout, dtype)
    return StatevectorCircuit(n_qubits, zz_readout, dtype)
