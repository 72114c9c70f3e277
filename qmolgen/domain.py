"""The domain contract: what the shared trainer, the models, the CLI, the benchmark and the plots may ask of a
domain (molecules as graphs or sequences, images, tables), declared once.

A domain is built from one config (and, for a trained model, the `spec` saved with its weights). Everything
domain-specific (data, networks, metrics and how they are named) lives behind this interface, so adding a
domain means writing one class that satisfies `Domain`, and registering it in `qmolgen.model.domain_class`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol, runtime_checkable

import torch
from torch import nn


@dataclass(frozen=True)
class Metric:
    """One reported number: its key in final_metrics.json (or metrics.jsonl for per-epoch ones), how it is
    printed, and which direction is better."""

    key: str
    label: str
    higher_is_better: bool


@dataclass(frozen=True)
class DomainMetrics:
    """How a domain's numbers are named and read: by the CLI's summary, `qmolgen evaluate`, the training-curve
    plots and the benchmark report."""

    quality: Metric  # the headline number, from final_metrics.json
    validation: Metric  # per epoch, on held-out data: epochs to convergence are counted on it
    collapse: str  # what the mode-collapse rate (final_metrics.json key mode_collapse_rate) means here
    also: tuple[Metric, ...] = ()  # further quality columns of the benchmark report
    summary: tuple[str, ...] = ()  # final_metrics.json keys echoed when a run finishes
    labels: dict[str, str] = field(default_factory=dict, hash=False)  # printed names of keys that need one

    def label(self, key: str) -> str:
        """How `key` is printed: its label, else the key itself."""
        return self.labels.get(key, key)


@runtime_checkable
class Domain(Protocol):
    """What every domain provides. `config` is the run's validated config; `spec` is what a trained model needs
    besides its weights (a vocabulary, a table transformer), None before training."""

    name: ClassVar[str]  # the config's `domain` value: molecules, images or tables
    metrics: ClassVar[DomainMetrics]

    def __init__(self, config: dict, spec: Any | None = None) -> None: ...

    # -- data ----------------------------------------------------------------------------------------------
    def load_data(self) -> tuple[torch.Tensor, ...]:
        """Read, check and split config['data']; return the training tensors the trainer batches over.
        Raises DataError naming every problem (file, line or column, what, how to fix)."""

    def load_reference(self) -> None:
        """Read and split the data without preparing training (no pretraining): all that evaluate needs."""

    def data_report(self) -> dict:
        """What load_data read and left out (written to data_report.json)."""

    @staticmethod
    def write_data(data: Any, folder: Path) -> Path:
        """Write in-memory data (a list of SMILES, an image array, a DataFrame) as the file load_data reads,
        so a run fitted on in-memory data is resumable; returns the file's path. Raises DataError on data of
        the wrong type."""

    def spec_dict(self) -> dict:
        """The spec as plain data, saved beside the weights (weights-only checkpoints hold no objects)."""

    @staticmethod
    def spec_from_dict(d: dict) -> Any:
        """The spec back from spec_dict's output."""

    # -- networks --------------------------------------------------------------------------------------
    def build_generator(self) -> nn.Module:
        """The generator config['generator']['kind'] names (latent source -> decoder)."""

    def build_critic(self) -> nn.Module | None:
        """The critic (None for models trained by likelihood, whose `adversarial` is False)."""

    def real_to_input(self, batch: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, ...]:
        """A batch of training tensors as the critic reads them."""

    # -- evaluation and samples --------------------------------------------------------------------------
    def epoch_metrics(self, generator: nn.Module) -> dict:
        """Monitoring after each epoch on held-out data (metrics.jsonl); includes metrics.validation.key."""

    def final_metrics(self, generator: nn.Module) -> dict:
        """The full report of a trained generator (final_metrics.json); includes metrics.quality.key."""

    def evaluate(self, samples: Any) -> dict:
        """Score samples of the domain's natural type against the loaded data's held-out split."""

    def sample(self, generator: nn.Module, n: int, **options) -> Any:
        """n samples in the domain's natural type (a DataFrame of SMILES, an image array, a DataFrame)."""

    def write_samples(self, samples: Any, path: str | None, force: bool = False) -> str:
        """Write samples atomically (never over an existing file unless force); returns what was written."""

    def write_preview(self, generator: nn.Module, path: str | Path) -> None:
        """A picture of a few samples (samples.png in the run folder)."""
