"""Batched PyTorch statevector simulation of the circuits in `circuits.py`, for fast training.

One call simulates the whole batch: the state is a (batch, 2**n) complex tensor; RZ layers are one
diagonal phase, RY acts on one qubit axis at a time, the CNOT ring is a fixed permutation of amplitudes
and the readout is one matmul of the probabilities with a sign table. Wire 0 is the most significant
bit, as in PennyLane; tests hold this executor to PennyLane's default.qubit within 1e-5.

Two shortcuts made it faster than simulating every gate (forward 1.5x, with backward 1.3x; docs/quantum.md):
up to the first CNOT ring every qubit is on its own, so the encoding and the first layer's rotations are a
2-vector per qubit and the register their Kronecker product; and the last ring only permutes basis states
before a Z-basis readout, so it is folded into the readout table instead of applied.
"""

from __future__ import annotations

import torch

from qmolgen.quantum.circuits import check_weights, ring_pairs


def _bit_signs(n_qubits: int) -> torch.Tensor:
    """(2**n, n) table of Z eigenvalues: +1 where qubit i is 0 in the basis state, -1 where it is 1."""
    index = torch.arange(2**n_qubits)
    bits = (index[:, None] >> torch.arange(n_qubits - 1, -1, -1)[None, :]) & 1
    return 1.0 - 2.0 * bits.double()


def _cnot_ring_permutation(n_qubits: int) -> torch.Tensor:
    """Index map p with new_state = state[:, p] for the CNOT ring applied in order."""
    perm = torch.arange(2**n_qubits)
    for control, target in ring_pairs(n_qubits):
        c_bit = 1 << (n_qubits - 1 - control)
        t_bit = 1 << (n_qubits - 1 - target)
        # new[x] = old[x XOR t_bit if control bit of x set]; composing: perm = perm[step]
        step = torch.arange(2**n_qubits)
        flip = (step & c_bit) != 0
        step = torch.where(flip, step ^ t_bit, step)
        perm = perm[step]
    return perm


def _kron_all(matrices: torch.Tensor) -> torch.Tensor:
    """Kronecker product of a stack of matrices, the first one acting on the most significant qubit."""
    out = torch.ones(1, 1, dtype=matrices.dtype)
    for m in matrices:
        out = torch.kron(out, m)
    return out


def _product_state(qubits: torch.Tensor) -> torch.Tensor:
    """Kronecker product of per-qubit states (B, k, 2) -> (B, 2**k), the first qubit most significant."""
    state = torch.ones(len(qubits), 1, dtype=qubits.dtype)
    for i in range(qubits.shape[1]):
        state = (state[:, :, None] * qubits[:, i, None, :]).reshape(len(qubits), -1)
    return state


class StatevectorCircuit(torch.nn.Module):
    """Simulates ansatz(angles, weights) for a batch of noise angles and returns probabilities or readouts.

    Args:
        n_qubits: number of qubits.
        zz_readout: also return <Z_i Z_i+1> around the ring.
        dtype: torch.complex64 (fast) or torch.complex128 (reference precision).
    """

    def __init__(self, n_qubits: int, zz_readout: bool = False, dtype: torch.dtype = torch.complex64):
        super().__init__()
        self.n_qubits = n_qubits
        self.dtype = dtype
        real = torch.float32 if dtype == torch.complex64 else torch.float64
        signs = _bit_signs(n_qubits)
        readout = [signs]
        if zz_readout and n_qubits > 1:  # one qubit has no ring: its latent is <Z> alone (circuits.latent_dim)
            readout.append(torch.stack([signs[:, a] * signs[:, b] for a, b in ring_pairs(n_qubits)], dim=1))
        self.register_buffer("signs", signs.to(real), persistent=False)
        self.register_buffer("readout_table", torch.cat(readout, dim=1).to(real), persistent=False)
        ring = _cnot_ring_permutation(n_qubits)
        self.register_buffer("ring_perm", ring, persistent=False)
        # probs(P x) @ T = probs(x) @ T[P^-1]: the readout of the state before the last ring.
        self.register_buffer("readout_before_ring", self.readout_table[torch.argsort(ring)], persistent=False)

    def _first_layer(self, angles: torch.Tensor, layer: torch.Tensor) -> torch.Tensor:
        """RY(v_i) RZ(w_i) RY(angle_i)|0> on every qubit i (encoding and the first layer's rotations, before any
        CNOT): a product state, built as the Kronecker product of one complex 2-vector per qubit, (B, 2**n)."""
        half = angles / 2
        e = torch.polar(torch.ones_like(layer[:, 0]), -layer[:, 0] / 2)  # RZ(w)'s phase on |0>, conjugate on |1>
        up, down = torch.cos(half) * e, torch.sin(half) * e.conj()  # (B, n) complex
        c, s = torch.cos(layer[:, 1] / 2), torch.sin(layer[:, 1] / 2)
        zero, one = c * up - s * down, s * up + c * down  # RY(v)
        qubits = torch.stack([zero, one], dim=2)  # (B, n, 2)
        # Each half of the register first, then one outer product: its backward is two small batched matmuls.
        split = self.n_qubits // 2
        left, right = _product_state(qubits[:, :split]), _product_state(qubits[:, split:])
        return (left[:, :, None] * right[:, None, :]).reshape(len(angles), -1)

    def _ry_halves(self, thetas: torch.Tensor, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
        """The Kronecker product of RY(theta_i) over each half of the register, (left, right) with
        RY(theta) = left (x) right."""
        c, s = torch.cos(thetas / 2), torch.sin(thetas / 2)
        rotations = torch.stack([torch.stack([c, -s], -1), torch.stack([s, c], -1)], -2)  # (n, 2, 2)
        split = self.n_qubits // 2
        return _kron_all(rotations[:split]).to(dtype), _kron_all(rotations[split:]).to(dtype)

    def _ry_layer(self, state: torch.Tensor, thetas: torch.Tensor) -> torch.Tensor:
        """RY(theta_i) on every qubit i: the Kronecker product of the 2x2 rotations, applied as one
        matrix per half of the register (two small matmuls instead of n single-qubit passes)."""
        split = self.n_qubits // 2
        left, right = self._ry_halves(thetas, state.dtype)
        shaped = state.reshape(len(state), 2**split, 2 ** (self.n_qubits - split))
        return (left @ shaped @ right.T).reshape(len(state), -1)

    def _before_last_ring(self, angles: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        """The state after every gate but the last CNOT ring, (B, 2**n) complex."""
        check_weights(weights, self.n_qubits, len(weights))
        real = self.signs.dtype
        weights = weights.to(real)
        state = self._first_layer(angles.to(real), weights[0]).to(self.dtype)
        for layer in weights[1:]:
            state = state.index_select(1, self.ring_perm)  # the previous layer's ring
            # RZ(t)|b> = exp(-i t/2 * sign_b): one diagonal phase for all qubits of the layer.
            phase = -0.5 * (self.signs @ layer[:, 0])
            state = state * torch.polar(torch.ones_like(phase), phase)
            state = self._ry_layer(state, layer[:, 1])
        return state

    def amplitudes(self, angles: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        """Final state amplitudes, shape (B, 2**n), complex."""
        return self._before_last_ring(angles, weights).index_select(1, self.ring_perm)

    def probs(self, angles: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        """Born probabilities of all basis states, shape (B, 2**n), real."""
        amps = self.amplitudes(angles, weights)
        return amps.real**2 + amps.imag**2

    @torch.no_grad()
    def measured(self, angles: torch.Tensor, weights: torch.Tensor, shots: int) -> torch.Tensor:
        """The readout estimated from `shots` bitstrings drawn from each sample's Born distribution (measuring
        before the last CNOT ring with the permuted readout table gives the same readout distribution)."""
        amps = self._before_last_ring(angles, weights)
        probs = (amps.real**2 + amps.imag**2).float()
        draws = torch.multinomial(probs, shots, replacement=True)  # (B, shots) basis states
        counts = torch.zeros_like(probs).scatter_add_(1, draws, torch.ones_like(draws, dtype=probs.dtype))
        return counts @ self.readout_before_ring.float() / shots

    def forward(self, angles: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        """Latent readout: <Z_i> (and <Z_i Z_i+1>), shape (B, latent_dim)."""
        amps = self._before_last_ring(angles, weights)
        return (amps.real**2 + amps.imag**2) @ self.readout_before_ring


class _ShotReadout(torch.autograd.Function):
    """The readout estimated from `shots` measured bitstrings per sample, differentiated in the circuit's angles by
    the parameter-shift rule, each shifted circuit measured with the same number of shots, as on a device.

    Every angle drives one RY or RZ gate (exp(-i t P / 2)), so d<O>/dt = (<O>(t + pi/2) - <O>(t - pi/2)) / 2
    holds exactly; with shots both terms are estimates, and so is the gradient (unbiased, with shot noise)."""

    @staticmethod
    def forward(ctx, angles, weights, simulator, shots):
        ctx.save_for_backward(angles, weights)
        ctx.simulator, ctx.shots = simulator, shots
        return simulator.measured(angles, weights, shots)

    @staticmethod
    def backward(ctx, grad_out):
        angles, weights = ctx.saved_tensors
        flat = weights.detach().reshape(-1)
        grad = torch.zeros_like(flat)
        with torch.no_grad():
            for j in range(len(flat)):
                shifted = flat.repeat(2, 1)
                shifted[0, j] += torch.pi / 2
                shifted[1, j] -= torch.pi / 2
                plus = ctx.simulator.measured(angles, shifted[0].view_as(weights), ctx.shots)
                minus = ctx.simulator.measured(angles, shifted[1].view_as(weights), ctx.shots)
                grad[j] = (grad_out * (plus - minus)).sum() / 2
        return None, grad.view_as(weights), None, None


def sampled_readout(simulator: StatevectorCircuit, angles: torch.Tensor, weights: torch.Tensor,
                    shots: int) -> torch.Tensor:
    """<Z_i> (and <Z_i Z_i+1>) estimated from `shots` measurements per sample, (B, latent_dim), with
    parameter-shift gradients in `weights` (2 x weights.numel() more measured circuits per sample); the noise
    angles get no gradient (they are inputs, not trained)."""
    return _ShotReadout.apply(angles.detach(), weights, simulator, shots)
