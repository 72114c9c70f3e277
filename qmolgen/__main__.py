"""`python -m qmolgen ...` runs the same CLI as the `qmolgen` console script."""

from qmolgen.cli import main

main(prog_name="qmolgen")
