"""qmolgen: hybrid quantum-classical generative models for molecules, images and tables.

    from qmolgen import Synthesizer
    synth = Synthesizer.from_recipe("qm9").fit(["CCO", "c1ccccc1", ...])

The public API: `Synthesizer` (qmolgen.api), the errors it raises (qmolgen.errors), and the recipes
(`recipe_names`). The `qmolgen` command line is a thin layer over it.
"""
__version__ = "0.1.0"

from qmolgen.errors import (CheckpointError, ConfigError, DataError, NotFittedError,  # noqa: E402 (light: no deps)
                            OutputExistsError, QmolgenError)

# Synthesizer (qmolgen.api) and recipe_names (qmolgen.config) are also importable from here, on first use (see
# __getattr__); they are left out of __all__ only so that tools that resolve it eagerly (pdoc) do not trip.
__all__ = ["QmolgenError", "ConfigError", "DataError", "CheckpointError", "NotFittedError", "OutputExistsError",
           "__version__"]
LAZY = ("Synthesizer", "recipe_names")


def __getattr__(name: str):
    # Imported on first use: torch, PennyLane and RDKit take seconds, which `qmolgen --version` should not pay.
    if name == "Synthesizer":
        from qmolgen.api import Synthesizer

        return Synthesizer
    if name == "recipe_names":
        from qmolgen.config import recipe_names

        return recipe_names
    raise AttributeError(f"module 'qmolgen' has no attribute {name!r}")
