"""The variational circuits, written once in PennyLane: the reference definition and the route to any device.

Latent circuit, per sample:
    noise encoding  RY(arcsin z_i) on every qubit i, z ~ U(-1, 1)   (independent noise on every qubit)
    L layers of     RZ(w[l, i, 0]) RY(w[l, i, 1]) on every qubit, then a ring of CNOTs
    readout         <Z_i> for every qubit, optionally <Z_i Z_{i+1}> around the ring

RZ comes before RY inside a layer so that no rotation is immediately followed by a Z-basis readout it
commutes with: every trainable parameter changes the output (tests check each gradient is non-zero).

The patch circuit of the pure quantum GAN has the same ansatz but reads out the Born probabilities of
all basis states (Huang et al. 2021).
"""

from __future__ import annotations

import pennylane as qml

from qmolgen.errors import ConfigError

READOUTS = ("z", "zz")


def weight_shapes(n_qubits: int, n_layers: int) -> tuple[int, int, int]:
    """Shape of the trainable weights: (layers, qubits, 2 rotations: RZ then RY)."""
    return (n_layers, n_qubits, 2)


def latent_dim(n_qubits: int, readout: str) -> int:
    """Length of the latent vector: one <Z_i> per qubit, plus one <Z_i Z_i+1> per ring edge for 'zz'."""
    if readout not in READOUTS:
        raise ConfigError(f"quantum.readout must be one of {READOUTS}; got {readout!r}")
    if readout == "z" or n_qubits < 2:
        return n_qubits
    return n_qubits + (n_qubits if n_qubits > 2 else 1)


def ring_pairs(n_qubits: int) -> list[tuple[int, int]]:
    """Neighbouring qubit pairs of the CNOT ring (a single pair for two qubits)."""
    if n_qubits < 2:
        return []
    if n_qubits == 2:
        return [(0, 1)]
    return [(i, (i + 1) % n_qubits) for i in range(n_qubits)]


def check_weights(weights, n_qubits: int, n_layers: int) -> None:
    """Raise a clear error when the weights do not have the shape the circuit needs."""
    expected = weight_shapes(n_qubits, n_layers)
    got = tuple(weights.shape)
    if got != expected:
        raise ConfigError(
            f"expected weights of shape {expected} for {n_qubits} qubits and {n_layers} layers; got {got}"
        )


NOISE_CHANNELS = {"depolarizing": qml.DepolarizingChannel, "amplitude_damping": qml.AmplitudeDamping}
MIXED_DEVICES = ("default.mixed",)  # simulators that apply the channels written into the circuit
NOISE_MODEL_DEVICES = ("qiskit.aer",)  # simulators that take the same noise as a device noise model


def active_noise(noise: dict | None) -> dict:
    """The noise channels set to a nonzero strength (quantum.noise), checked.

    Raises:
        ConfigError: an unknown channel or a strength outside [0, 1].
    """
    noise = {k: float(v) for k, v in (noise or {}).items() if v}
    for name, strength in noise.items():
        if name not in NOISE_CHANNELS:
            raise ConfigError(f"quantum.noise.{name} is not a known channel; channels: {list(NOISE_CHANNELS)}")
        if not 0 <= strength <= 1:
            raise ConfigError(f"quantum.noise.{name} must lie in [0, 1]; got {strength}")
    return noise


def ansatz(angles, weights, n_qubits: int, noise: dict | None = None) -> None:
    """Noise encoding followed by the trainable layers. `angles` may carry a leading batch dimension.
    `noise` ({channel: strength}, see NOISE_CHANNELS) applies each channel to every qubit after every layer,
    a simple model of gate errors (a mixed-state device simulates it)."""
    for i in range(n_qubits):
        qml.RY(angles[..., i], wires=i)
    for layer in weights:
        for i in range(n_qubits):
            qml.RZ(layer[i, 0], wires=i)
            qml.RY(layer[i, 1], wires=i)
        for a, b in ring_pairs(n_qubits):
            qml.CNOT(wires=[a, b])
        for name, strength in (noise or {}).items():
            for i in range(n_qubits):
                NOISE_CHANNELS[name](strength, wires=i)


def resources(n_qubits: int, n_layers: int, encoded: bool = True, circuits: int = 1) -> dict:
    """Gate counts of `circuits` copies of the ansatz (with the RY noise encoding unless encoded=False): what a
    device would run per sample, and its depth in layers."""
    ring = len(ring_pairs(n_qubits))
    return {"circuit_qubits": n_qubits, "circuit_layers": n_layers, "circuit_count": circuits,
            "circuit_gates": {"RY": circuits * n_qubits * (n_layers + (1 if encoded else 0)),
                              "RZ": circuits * n_qubits * n_layers, "CNOT": circuits * ring * n_layers}}


def latent_measurements(n_qubits: int, readout: str) -> list:
    """Expectation values that make up the latent vector, in a fixed order."""
    measurements = [qml.expval(qml.PauliZ(i)) for i in range(n_qubits)]
    if readout == "zz":
        measurements += [qml.expval(qml.PauliZ(a) @ qml.PauliZ(b)) for a, b in ring_pairs(n_qubits)]
    return measurements


def qiskit_noise_model(noise: dict):
    """quantum.noise as a Qiskit Aer noise model: each channel on every one-qubit gate (the circuit's rotations),
    the closest match to the per-layer channels default.mixed applies."""
    from qiskit_aer.noise import NoiseModel, amplitude_damping_error, depolarizing_error

    model = NoiseModel()
    errors = [depolarizing_error(p, 1) if name == "depolarizing" else amplitude_damping_error(p)
              for name, p in noise.items()]
    error = errors[0]
    for more in errors[1:]:
        error = error.compose(more)
    model.add_all_qubit_quantum_error(error, ["ry", "rz"])
    return model


def make_device(name: str, n_qubits: int, shots: int | None, noise: dict | None = None):
    """A PennyLane device by name; shots=None means exact expectation values. With noise on a device that takes
    a noise model (qiskit.aer), the noise goes to the device."""
    options = {"noise_model": qiskit_noise_model(noise)} if noise and name in NOISE_MODEL_DEVICES else {}
    try:
        device = qml.device(name, wires=n_qubits, **options)
    except Exception as exc:  # PennyLane raises several types for unknown or broken plugins
        raise ConfigError(
            f"could not create PennyLane device {name!r} ({exc}); use default.qubit, lightning.qubit "
            "or an installed plugin's device name"
        ) from exc
    return device, shots


DIFF_METHODS = ("best", "backprop", "adjoint", "parameter-shift", "spsa", "finite-diff")
SHOT_DIFF_METHODS = ("best", "parameter-shift", "spsa", "finite-diff")  # the ones that work on sampled results


def _build(n_qubits: int, measure, device: str, shots: int | None, diff_method: str, noise: dict | None = None):
    dev, shots = make_device(device, n_qubits, shots, noise)
    channels = None if device in NOISE_MODEL_DEVICES else noise  # a noise model carries it instead

    @qml.qnode(dev, interface="torch", diff_method=diff_method)
    def circuit(angles, weights):
        ansatz(angles, weights, n_qubits, channels)
        return measure()

    return qml.set_shots(circuit, shots=shots) if shots is not None else circuit


def _try(n_qubits: int, measure, device: str, shots: int | None, diff_method: str, noise: dict | None = None):
    """(the QNode, None) when it builds and one forward and backward pass on a batch of 2 runs; else (None, the
    error in short). Device errors (unknown names, broken plugins) are ConfigErrors of their own."""
    import torch

    weights = (0.1 * torch.ones(1, n_qubits, 2, dtype=torch.float64)).requires_grad_()
    try:
        circuit = _build(n_qubits, measure, device, shots, diff_method, noise)
        out = circuit(torch.zeros(2, n_qubits, dtype=torch.float64), weights)
        values = torch.stack(list(out), -1) if isinstance(out, (list, tuple)) else out
        values.sum().backward()
    except ConfigError:
        raise
    except Exception as exc:  # PennyLane and its plugins raise many types for unsupported combinations
        return None, f"{type(exc).__name__}: {str(exc).splitlines()[0][:160] if str(exc) else ''}"
    return circuit, None


def _qnode(n_qubits: int, measure, device: str, shots: int | None, diff_method: str, noise: dict | None = None):
    """A torch-interface QNode running `ansatz` then returning `measure()`, checked before any training: a
    device / shots / diff_method combination that cannot run is refused here, naming the methods that do.
    With shots, gradients need a sampling-friendly method (best = parameter-shift); none is swapped in silently.

    Raises:
        ConfigError: unknown diff_method, backprop/adjoint with shots, noise on a device without channels, or a
            device that cannot run it.
    """
    noise = active_noise(noise)
    if noise and device not in MIXED_DEVICES + NOISE_MODEL_DEVICES:
        raise ConfigError(f"quantum.noise ({noise}) needs a mixed-state simulator: set quantum.device=default.mixed "
                          f"(or qiskit.aer with the qiskit extra; got {device!r})")
    if diff_method not in DIFF_METHODS:
        raise ConfigError(f"quantum.diff_method must be one of {DIFF_METHODS}; got {diff_method!r}")
    if shots is not None and diff_method not in SHOT_DIFF_METHODS:
        raise ConfigError(f"quantum.diff_method={diff_method} cannot differentiate sampled results "
                          f"(quantum.shots={shots}); use one of {SHOT_DIFF_METHODS} (best = parameter-shift)")
    circuit, problem = _try(n_qubits, measure, device, shots, diff_method, noise)
    if problem:
        candidates = SHOT_DIFF_METHODS if shots is not None else DIFF_METHODS
        working = [m for m in candidates if m != diff_method and _try(n_qubits, measure, device, shots, m, noise)[1] is None]
        raise ConfigError(f"PennyLane device {device!r} cannot run this circuit with quantum.diff_method="
                          f"{diff_method}{f' and quantum.shots={shots}' if shots is not None else ''} ({problem}); "
                          f"methods that work here: {', '.join(working) or 'none'}")
    return circuit


def latent_qnode(n_qubits: int, readout: str, device: str = "default.qubit", shots: int | None = None,
                 diff_method: str = "best", noise: dict | None = None):
    """A QNode mapping (noise angles, weights) to the latent expectation values.

    Args:
        n_qubits: number of qubits (= noise dimension).
        readout: 'z' or 'zz' (see module docstring).
        device: any installed PennyLane device name.
        shots: None for exact values; an integer samples, and gradients then use parameter-shift.
        diff_method: one of DIFF_METHODS ('best' lets PennyLane pick for the device and shots).
    Returns:
        A QNode f(angles, weights) returning a list of expectation tensors (batched if angles is).
    """
    return _qnode(n_qubits, lambda: latent_measurements(n_qubits, readout), device, shots, diff_method, noise)


def probs_qnode(n_qubits: int, device: str = "default.qubit", shots: int | None = None,
                diff_method: str = "best", noise: dict | None = None):
    """A QNode returning the Born probabilities of all 2**n basis states (the patch circuit, the Born machine)."""
    return _qnode(n_qubits, lambda: qml.probs(wires=range(n_qubits)), device, shots, diff_method, noise)
