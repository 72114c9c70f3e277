"""What a benchmark runs: one cell per model and seed, read from the recipe's `benchmark:` section.

Every qmolgen model of a recipe trains with the recipe's own `train:` section (plus `--budget` overrides,
the same for every cell), so budgets are equal by construction; a model's entry only changes what it is
(generator kind, and for the patch GAN the circuit's learning rate).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from qmolgen.baselines import PEERS, peer_model_name
from qmolgen.config import load_config
from qmolgen.domain import DomainMetrics
from qmolgen.errors import ConfigError
from qmolgen.train.wgan import TrainSettings

# `qmolgen benchmark all`: the recipes that ship their own data.
ALL_RECIPES = ("qm9", "digits", "credit")
EPOCH_PEERS = ("ctgan", "tvae")  # SDV synthesizers trained for epochs (GaussianCopula is fitted in one go)


def domain_metrics(recipe: str) -> DomainMetrics:
    """How the report reads the recipe's numbers: its domain's declared metrics."""
    from qmolgen.model import domain_class

    return domain_class(load_config(recipe)).metrics


@dataclass(frozen=True)
class Cell:
    """One training run of the sweep: `model` with `seed`, a qmolgen model (overrides) or an SDV peer."""

    recipe: str
    model: str
    seed: int
    overrides: tuple[str, ...] = ()
    peer: str | None = None  # a peer system (qmolgen.baselines.PEERS)
    peer_options: dict = field(default_factory=dict, hash=False)

    @property
    def name(self) -> str:
        """The cell's folder name: model and seed (e.g. hybrid-s0)."""
        return f"{self.model}-s{self.seed}"


def grid_points(grid: list[str] | tuple[str, ...]) -> list[tuple[str, tuple[str, ...]]]:
    """The cartesian product of `KEY=V1,V2,...` texts: (label, overrides) per point; [("", ())] without a grid.

    Raises:
        ConfigError: a text that is not KEY=V1,V2,... or a key given twice.
    """
    axes = []
    for text in grid:
        key, _, values = text.partition("=")
        options = [v.strip() for v in values.split(",") if v.strip()]
        if not key.strip() or not options:
            raise ConfigError(f"--grid {text!r} is not KEY=VALUE1,VALUE2,... (e.g. --grid quantum.n_qubits=4,8,12)")
        if key.strip() in [k for k, _ in axes]:
            raise ConfigError(f"--grid names {key.strip()!r} twice; give its values in one --grid")
        axes.append((key.strip(), options))
    points = [("", ())]
    for key, options in axes:
        short = key.rsplit(".", 1)[-1]
        points = [(f"{label}{',' if label else ''}{short}={v}", (*overrides, f"{key}={v}"))
                  for label, overrides in points for v in options]
    return points


def plan(recipe: str, seeds: int, budget: list[str] = (), quick: bool = False,
         grid: list[str] | tuple[str, ...] = ()) -> list[Cell]:
    """Every cell of `recipe`'s benchmark: its models (and peers) x seeds 0..seeds-1, and with `grid` (texts
    `KEY=V1,V2,...`) every qmolgen model at every point of the grid, named `model@key=value,...`."""
    config = load_config(recipe)
    section = config.get("benchmark")
    if not section or not section.get("models"):
        raise ConfigError(f"recipe {recipe!r} has no benchmark section; recipes with one: {', '.join(ALL_RECIPES)}")
    if seeds < 1:
        raise ConfigError(f"--seeds must be >= 1; got {seeds}")
    shared = [*(section.get("quick", []) if quick else []), *budget]
    cells = []
    for model, overrides in section["models"].items():
        for label, point in grid_points(grid):
            # A mistyped budget or grid key or an out-of-range value fails here, once, before anything trains.
            TrainSettings(**load_config(recipe, [*overrides, *shared, *point])["train"]).check()
            name = f"{model}@{label}" if label else model
            for seed in range(seeds):
                cells.append(Cell(config["recipe"], name, seed, (*overrides, *shared, *point, f"seed={seed}")))
    quick_epochs = section.get("quick_peer_epochs") if quick else None
    for peer in section.get("peers") or []:
        if peer not in PEERS:
            raise ConfigError(f"recipe {recipe!r}: unknown benchmark peer {peer!r}; peers: {', '.join(PEERS)}")
        options = {"epochs": quick_epochs} if quick_epochs and peer in EPOCH_PEERS else {}
        for seed in range(seeds):
            cells.append(Cell(config["recipe"], peer_model_name(peer), seed, (*shared, f"seed={seed}"), peer, options))
    return cells
