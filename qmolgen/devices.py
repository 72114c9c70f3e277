"""Which torch device a run trains on (`train.device`): `auto` takes CUDA when torch sees a GPU, else the CPU.

A run trains inside `on_device(device)`: torch's default device is set for the block, so the networks, the
latent draws and the batched statevector simulation are created there without every module passing a
device around; the training tensors are moved to the networks' device by the trainer. Trained generators
come back to the CPU, where sampling and saved models live.
"""

from __future__ import annotations

import contextlib

import torch

from qmolgen.errors import ConfigError


def resolve_device(name: str | None) -> torch.device:
    """`auto` (or null): CUDA when available, else CPU; `cpu`; `cuda` or `cuda:N`, refused when torch sees
    no such GPU (so a recipe written for a GPU machine fails at config time on a laptop, saying so)."""
    name = "auto" if name is None else str(name).strip().lower()
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name == "cuda" or name.startswith("cuda:"):
        try:
            device = torch.device(name)
        except RuntimeError:
            raise ConfigError(f"train.device={name!r} is not a device; use auto, cpu, cuda or cuda:N") from None
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise ConfigError(f"train.device={name} but torch sees no GPU (torch.cuda.is_available() is False, "
                              f"torch {torch.__version__}); use train.device=auto or cpu")
        if (device.index or 0) >= count:
            raise ConfigError(f"train.device={name} but torch sees {count} GPU(s): cuda:0..cuda:{count - 1}")
        return device
    raise ConfigError(f"train.device must be auto, cpu, cuda or cuda:N; got {name!r}")


def on_device(device: torch.device):
    """The block runs with `device` as torch's default device (nothing changes on the CPU)."""
    return contextlib.nullcontext() if device.type == "cpu" else device


def device_record(device: torch.device) -> dict:
    """What final_metrics.json records: the device, and the card's name on a GPU."""
    record = {"device": str(device)}
    if device.type == "cuda":
        record["device_name"] = torch.cuda.get_device_name(device)
    return record


def module_device(module: torch.nn.Module) -> torch.device:
    """The device a module's weights are on (the CPU for a module without any)."""
    return next((p.device for p in module.parameters()), torch.device("cpu"))


def move_to_cpu(generator: torch.nn.Module, domain) -> None:
    """After training on a GPU: the generator, and the networks and tensors its domain holds (a pretrained
    autoencoder, reference codes), back to the CPU. A no-op for a CPU run."""
    generator.to("cpu")
    for name, value in vars(domain).items():
        if isinstance(value, torch.nn.Module):
            value.to("cpu")
        elif isinstance(value, torch.Tensor) and value.device.type != "cpu":
            setattr(domain, name, value.cpu())


@contextlib.contextmanager
def on_cpu(module: torch.nn.Module):
    """The block with `module` on the CPU and the CPU as torch's default device, then `module` back where it
    was. Scoring runs here: the metrics' own models (ChemNet, the digits classifier) and RDKit are CPU code."""
    device = module_device(module)
    if device.type == "cpu":
        yield module
        return
    module.to("cpu")
    try:
        with torch.device("cpu"):
            yield module
    finally:
        module.to(device)
