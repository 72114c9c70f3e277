"""The exceptions users see; each message says what went wrong, where, and how to fix it."""


class QmolgenError(Exception):
    """Base class: the CLI prints these as `Error: ...` and exits 1."""


class ConfigError(QmolgenError):
    """A recipe, override or argument is not valid."""


class DataError(QmolgenError):
    """Input data (SMILES file, CSV, array) cannot be used as given."""


class CheckpointError(QmolgenError):
    """A checkpoint or run folder is missing, corrupt, truncated or from another tool or recipe."""


class NotFittedError(QmolgenError):
    """A model was asked to sample or save before it was trained."""


class OutputExistsError(QmolgenError):
    """An output file exists and --force was not given."""
