"""Conditional sampling against SDV's sample_from_conditions, on the same conditions and the same training rows,
measured in this one run:

    .venv/bin/python benchmarks/conditional_sampling.py [--rows 2000] [--model credit] [--sdv gaussian_copula]

For each condition (SDV takes equalities only, so these are equalities, from common to rare): the share of
real training rows that meet it; then for the qmolgen model (default: the shipped credit model) and for the SDV
synthesizer (fitted here on the credit recipe's training rows): the fraction of the requested rows delivered
that meet the condition, rows per second, and SDMetrics quality of the delivered rows against the real
training rows that meet it (how well each system's conditional matches the data's). SDV gives up on a batch
after its max_tries_per_batch rounds of rejection; what it returned by then is what is counted.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import logging
import time
import warnings

CONDITIONS = ({"Status": "bad"}, {"Home": "other"}, {"Status": "bad", "Home": "rent"},
              {"Records": "yes", "Job": "partime"}, {"Marital": "widow", "Job": "partime"})


def _quiet(call):
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        warnings.simplefilter("ignore")
        return call()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--model", default="credit", help="a table run folder, model.pt or pretrained name")
    parser.add_argument("--sdv", default="gaussian_copula", choices=("gaussian_copula", "ctgan", "tvae"))
    args = parser.parse_args()
    logging.getLogger("qmolgen").setLevel(logging.WARNING)

    from sdv.sampling import Condition

    from qmolgen.api import Synthesizer
    from qmolgen.baselines.sdv import SDVBaseline
    from qmolgen.errors import DataError
    from qmolgen.tables.data import load_table_section
    from qmolgen.tables.metrics import quality

    synth = Synthesizer.load(args.model)
    data = load_table_section(synth.config["data"])
    train, metadata = data.subset("train"), data.metadata.to_dict()
    peer = _quiet(lambda: SDVBaseline(args.sdv, data.metadata).fit(train))
    synth.sample(100, seed=0, where=["Status=bad"])  # warm-up

    print(f"{args.rows} rows per condition; qmolgen model {args.model!r}, SDV {args.sdv} fitted on "
          f"{len(train)} training rows\n")
    print("| condition | real share | qmolgen delivered | qmolgen rows/s | qmolgen quality | "
          "SDV delivered | SDV rows/s | SDV quality |")
    print("|---|---|---|---|---|---|---|---|")
    for condition in CONDITIONS:
        real = train
        for name, value in condition.items():
            real = real[real[name] == value]
        cells = [" & ".join(f"{k}={v}" for k, v in condition.items()), f"{len(real) / len(train):.3f}"]
        start = time.perf_counter()
        try:
            rows = synth.sample(args.rows, seed=0, where=[f"{k}={v}" for k, v in condition.items()])
        except DataError:
            rows = train.iloc[:0]
        seconds = time.perf_counter() - start
        cells += _scored(rows, condition, args.rows, seconds, real, metadata, quality)
        start = time.perf_counter()
        try:
            rows = _quiet(lambda: peer.synthesizer.sample_from_conditions(
                [Condition(num_rows=args.rows, column_values=condition)]))
        except Exception as exc:  # SDV raises when no row at all could be made; count that as none delivered
            print(f"  (SDV: {type(exc).__name__}: {str(exc)[:120]})")
            rows = train.iloc[:0]
        if isinstance(rows, dict):  # SDV 2.x returns {table name: rows}
            rows = next(iter(rows.values()))
        seconds = time.perf_counter() - start
        cells += _scored(rows, condition, args.rows, seconds, real, metadata, quality)
        print("| " + " | ".join(cells) + " |", flush=True)


def _scored(rows, condition, requested, seconds, real, metadata, quality) -> list[str]:
    meeting = rows
    for name, value in condition.items():
        meeting = meeting[meeting[name] == value]
    score = quality(real, meeting[real.columns], metadata)["quality"] if len(meeting) >= 20 and len(real) >= 20 else None
    return [f"{len(meeting) / requested:.3f}", f"{len(meeting) / seconds:,.0f}",
            "–" if score is None else f"{score:.3f}"]


if __name__ == "__main__":
    main()
