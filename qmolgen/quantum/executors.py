"""Which executor runs a circuit: the project's torch simulators, or a PennyLane device; checked at config time."""

from __future__ import annotations

from qmolgen.errors import ConfigError
from qmolgen.quantum import circuits

EXECUTORS = ("torch", "pennylane")
TORCH_DEVICES = ("default.qubit", "default.mixed")  # what the torch executor simulates: statevectors, or density
#                                                    matrices when quantum.noise is set (qmolgen/quantum/density.py)


def check_executor(executor: str, device: str, shots: int | None, noise: dict | None = None,
                   torch_shots: bool = False, diff_method: str = "best") -> None:
    """The torch executor simulates default.qubit (statevectors) or, with noise, default.mixed (density matrices),
    and where `torch_shots` measures them with shots, differentiating by the parameter-shift rule; anything else
    runs through PennyLane.

    Raises:
        ConfigError: an unknown executor; another device (or shots where not supported, or shots with a gradient
            method other than the parameter-shift rule) with the torch executor.
    """
    if executor not in EXECUTORS:
        raise ConfigError(f"quantum.executor must be one of {EXECUTORS}; got {executor!r}")
    circuits.active_noise(noise)  # checked: known channels, strengths in [0, 1]
    if executor == "torch" and ((shots is not None and not torch_shots) or device not in TORCH_DEVICES):
        raise ConfigError(
            f"quantum.executor=torch simulates {' and '.join(TORCH_DEVICES)} (noise: quantum.noise)"
            f"{'' if torch_shots else ' without shots'}; for device={device!r}"
            f"{'' if torch_shots or shots is None else f' with quantum.shots={shots}'} set quantum.executor=pennylane"
        )
    if shots is not None and shots < 1:
        raise ConfigError(f"quantum.shots must be a positive number of measurements or null (exact); got {shots}")
    if executor == "torch" and shots is not None and diff_method not in ("best", "parameter-shift"):
        raise ConfigError(f"quantum.executor=torch with quantum.shots={shots} differentiates by the parameter-shift "
                          f"rule (quantum.diff_method=best or parameter-shift; got {diff_method}); for "
                          f"{diff_method} set quantum.executor=pennylane")
