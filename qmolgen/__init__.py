"""qmolgen: hybrid quantum-classical generative models for molecules, images and tables.

    from qmolgen import Synthesizer
    synth = Synthesizer.from_recipe("qm9").fit(["CCO", "c1ccccc1", ...])

The public API: `Synthesizer` (qmolgen.api), the errors it raises (qmolgen.errors), and the recipes
(`recipe_names`). The `qmolgen` command line is a thin layer over it.
"""
__version__ = "0.1.0"

__all__ = ["Synthesizer", "recipe_names", "QmolgenError", "ConfigError", "DataError", "CheckpointError",
           "NotFittedError", "OutputExistsError", "__version__"]


def __getattr__(name: str):
    # Imported on first use: torch, PennyLane and RDKit take seconds, which `qmolgen --version` should not pay.
    if name == "Synthesizer":
        from qmolgen.api import Synthesizer

        return Synthesizer
    if name == "recipe_names":
        from qmolgen.config import recipe_names

        return recipe_names
    if name in __all__:
        from qmolgen import errors

        return getattr(errors, name)
    raise AttributeError(f"module 'qmolgen' has no attribute {name!r}")
