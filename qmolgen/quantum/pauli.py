"""The noisy latent circuit's readout in the Heisenberg picture, over Pauli strings, in real arithmetic.

An observable on n qubits is a real vector of 4**n coefficients over the Pauli strings (every readout is
Hermitian), and every step of the circuit maps it linearly (its Pauli transfer matrix): a one-qubit rotation or
channel mixes the four components (I, X, Y, Z) of its qubit, 4 x 4; the CNOT ring permutes the strings and flips
some signs; depolarizing only shrinks every non-identity component. The readout observables (Z_i, Z_i Z_i+1) are
evolved backwards from the measurement to the noise encoding once per weight update. The encoding RY(a)|0> has
Bloch vector (sin a, 0, cos a), so a sample's readout is the observables' I/X/Z coefficients (3**n of them)
dotted with the Kronecker product of its qubits' (1, sin a, cos a): one real matrix product for the batch.

This replaced the same evolution on 2**n x 2**n complex matrices (qmolgen/quantum/density.py keeps the
Schroedinger picture for probabilities and shots), which spent most of its time on complex block copies;
docs/quantum.md has the timings. Transfer matrices come from the gates' and channels' own matrices
(tr(P_j Phi*(P_i)) / 2), not from hand-derived formulas.
"""

from __future__ import annotations

import math

import torch

from qmolgen.quantum.circuits import ring_pairs

_I = torch.eye(2, dtype=torch.complex128)
_X = torch.tensor([[0, 1], [1, 0]], dtype=torch.complex128)
_Y = torch.tensor([[0, -1j], [1j, 0]], dtype=torch.complex128)
_Z = torch.tensor([[1, 0], [0, -1]], dtype=torch.complex128)
PAULIS = torch.stack([_I, _X, _Y, _Z])  # index 0..3 = I, X, Y, Z on one qubit
BLOCH_KEPT = [0, 1, 3]  # the encoding's Bloch vector has no Y component: I, X, Z coefficients are all it reads


def heisenberg_transfer(kraus: torch.Tensor) -> torch.Tensor:
    """The Pauli transfer matrix of the Heisenberg map O -> sum_k K_k^dagger O K_k of one-qubit Kraus operators
    (..., m, 2, 2), shape (..., 4, 4): R[j, i] = tr(P_j Phi*(P_i)) / 2, so coefficients map as c' = R c.
    Differentiable in the Kraus operators (a rotation's angle)."""
    paulis = PAULIS.to(kraus.dtype)
    mapped = torch.einsum("...kba,ibc,...kcd->...iad", kraus.conj(), paulis, kraus)  # Phi*(P_i)
    return torch.einsum("jda,...iad->...ji", paulis, mapped).real / 2


def rotation_kraus(axis: str, thetas: torch.Tensor) -> torch.Tensor:
    """RZ(theta) or RY(theta) for every theta (n,), as single Kraus operators (n, 1, 2, 2) complex128."""
    c, s = torch.cos(thetas / 2).to(torch.complex128), torch.sin(thetas / 2).to(torch.complex128)
    if axis == "Z":
        zero = torch.zeros_like(c)
        rows = [torch.stack([c - 1j * s, zero], -1), torch.stack([zero, c + 1j * s], -1)]
    else:
        rows = [torch.stack([c, -s], -1), torch.stack([s, c], -1)]
    return torch.stack(rows, -2)[:, None]


def channel_kraus(name: str, strength: float) -> torch.Tensor:
    """PennyLane's DepolarizingChannel(p) or AmplitudeDamping(gamma) as Kraus operators (m, 2, 2)."""
    if name == "depolarizing":
        return torch.stack([math.sqrt(1 - strength) * _I] + [math.sqrt(strength / 3) * p for p in (_X, _Y, _Z)])
    keep = math.sqrt(1 - strength)
    return torch.stack([torch.tensor([[1, 0], [0, keep]], dtype=torch.complex128),
                        torch.tensor([[0, math.sqrt(strength)], [0, 0]], dtype=torch.complex128)])


def _cnot_transfer() -> torch.Tensor:
    """The CNOT's (control first) Pauli transfer matrix over the 16 two-qubit strings (control digit first): a
    signed permutation, since a CNOT maps every Pauli string to one Pauli string."""
    cnot = torch.tensor([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 0, 1], [0, 0, 1, 0]], dtype=torch.complex128)
    pairs = torch.einsum("aij,bkl->abikjl", PAULIS, PAULIS).reshape(16, 4, 4)
    mapped = cnot.conj().T @ pairs @ cnot
    return torch.einsum("jba,iab->ji", pairs, mapped).real / 4


def _digits(n_qubits: int) -> torch.Tensor:
    """(4**n, n) base-4 digits of every string index, the first qubit most significant."""
    index = torch.arange(4**n_qubits)
    return (index[:, None] // 4 ** torch.arange(n_qubits - 1, -1, -1)[None, :]) % 4


def ring_transfer(n_qubits: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The Heisenberg map of the CNOT ring over all 4**n strings as (source, sign): c'[j] = sign[j] c[source[j]].
    The ring applies its CNOTs in order, so their Heisenberg maps compose last CNOT first."""
    transfer = _cnot_transfer().round().long()
    local_source = transfer.abs().argmax(1)  # row j's one non-zero column
    local_sign = transfer.gather(1, local_source[:, None])[:, 0]
    digits = _digits(n_qubits)
    place = 4 ** torch.arange(n_qubits - 1, -1, -1)
    source, sign = torch.arange(4**n_qubits), torch.ones(4**n_qubits, dtype=torch.long)
    # c_out = sign * c_in[source], composed with each CNOT's map in turn, the ring's last CNOT first
    for control, target in reversed(ring_pairs(n_qubits)):
        local = 4 * digits[:, control] + digits[:, target]
        moved = local_source[local]
        step = (torch.arange(4**n_qubits) + (moved // 4 - digits[:, control]) * place[control]
                + (moved % 4 - digits[:, target]) * place[target])
        source, sign = source[step], local_sign[local] * sign[step]
    return source, sign


def _on_every_qubit(coefficients: torch.Tensor, matrices: torch.Tensor) -> torch.Tensor:
    """matrices[q] (n, 4, 4) applied to qubit q's Pauli digit of coefficients (K, 4**n), every qubit.

    Two qubits at a time, by their 16 x 16 Kronecker product, as a batched matrix product over the digits before
    the pair with the digits after it as columns, which needs no transposed copies. Measured at 8 qubits (forward
    and backward): pairs took a third of the time of one qubit at a time and about half of an einsum over one axis
    (its permutation copies dominate); three or four at a time were slower (more arithmetic)."""
    out, count, n_qubits = coefficients, len(coefficients), len(matrices)
    for start in range(0, n_qubits, 2):
        group = matrices[start:start + 2]
        mixing = group[0] if len(group) == 1 else torch.kron(group[0], group[1])
        after = 4 ** (n_qubits - start - len(group))
        if after == 1:  # the last digits: rows times the matrix's transpose
            out = out.reshape(-1, len(mixing)) @ mixing.T
        elif after >= 256:  # bmm with the matrix broadcast; matmul would transpose (copy) both sides
            blocks = out.reshape(-1, len(mixing), after)
            out = torch.bmm(mixing.expand(len(blocks), -1, -1), blocks)
        else:  # short columns: bmm's many tiny products are slow here, einsum's copy is cheaper
            out = torch.einsum("ab,xbj->xaj", mixing, out.reshape(-1, len(mixing), after))
    return out.reshape(count, -1)


class PauliReadout(torch.nn.Module):
    """Heisenberg-picture readout <Z_i> (and <Z_i Z_i+1>) of ansatz(angles, weights, noise), exact and
    differentiable in the weights; the values default.mixed gives (tests hold them within 1e-5).

    Args:
        n_qubits: number of qubits.
        noise: {channel: strength}, every channel on every qubit after every layer's ring, in this order.
        zz_readout: also read <Z_i Z_i+1> around the ring.
        dtype: torch.float32 or torch.float64.
    """

    def __init__(self, n_qubits: int, noise: dict, zz_readout: bool, dtype: torch.dtype = torch.float32):
        super().__init__()
        self.n_qubits, self.dtype = n_qubits, dtype
        place = 4 ** torch.arange(n_qubits - 1, -1, -1)
        strings = [3 * place[i] for i in range(n_qubits)]  # Z on qubit i, I elsewhere
        if zz_readout:
            strings += [3 * (place[a] + place[b]) for a, b in ring_pairs(n_qubits)]
        readout = torch.zeros(len(strings), 4**n_qubits, dtype=dtype)
        readout[torch.arange(len(strings)), torch.tensor(strings)] = 1
        self.register_buffer("readout", readout, persistent=False)
        # The channels act after the ring, in the order given; their Heisenberg maps compose last channel first
        channels = torch.eye(4, dtype=torch.float64)
        for name, strength in noise.items():
            channels = channels @ heisenberg_transfer(channel_kraus(name, strength))
        self.register_buffer("channels", channels.to(dtype), persistent=False)
        source, sign = ring_transfer(n_qubits)
        self.register_buffer("ring_source", source, persistent=False)
        self.register_buffer("ring_sign", sign.to(dtype), persistent=False)
        kept = torch.tensor(BLOCH_KEPT)
        digits3 = (torch.arange(3**n_qubits)[:, None] // 3 ** torch.arange(n_qubits - 1, -1, -1)[None, :]) % 3
        self.register_buffer("encoded_strings", (kept[digits3] * place).sum(1), persistent=False)

    def observables(self, weights: torch.Tensor) -> torch.Tensor:
        """The readout observables evolved back to the noise encoding: their I/X/Z coefficients (K, 3**n)."""
        n_qubits, n_layers = self.n_qubits, len(weights)
        coefficients = _on_every_qubit(self.readout, self.channels.expand(n_qubits, 4, 4))  # the last layer's
        for i, layer in enumerate(weights.flip(0)):  # the last layer first
            coefficients = coefficients[:, self.ring_source] * self.ring_sign
            # the layer's rotations: U = RY RZ on every qubit, so U^dagger O U maps by R_RZ R_RY; then, in the
            # same pass, the channels that end the layer before it
            maps = (heisenberg_transfer(rotation_kraus("Z", layer[:, 0]))
                    @ heisenberg_transfer(rotation_kraus("Y", layer[:, 1]))).to(self.dtype)
            if i < n_layers - 1:
                maps = self.channels @ maps
            coefficients = _on_every_qubit(coefficients, maps)
        return coefficients[:, self.encoded_strings]

    def encoded(self, angles: torch.Tensor) -> torch.Tensor:
        """The encoded states' (1, sin a, cos a) per qubit, Kronecker product over the qubits: (B, 3**n)."""
        per_qubit = torch.stack([torch.ones_like(angles), torch.sin(angles), torch.cos(angles)], -1)
        product = torch.ones(len(angles), 1, dtype=angles.dtype)
        for q in range(self.n_qubits):
            product = (product[:, :, None] * per_qubit[:, q, None, :]).reshape(len(angles), -1)
        return product

    def forward(self, angles: torch.Tensor, observables: torch.Tensor) -> torch.Tensor:
        """The readout of every sample, (B, K), from observables(weights)."""
        return self.encoded(angles.to(self.dtype)) @ observables.T
