"""Peak memory of `qmolgen export` as the row count grows: with chunked writing it should stay flat.

    .venv/bin/python benchmarks/export_memory.py RUN_FOLDER [--rows 20000 200000] [--chunk-size 10000]

Each export runs in its own process; prints its peak resident memory and the ratio to the smallest run.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def peak_rss_mb(command: list[str]) -> tuple[float, float]:
    """(peak resident MB, seconds) of one child process, read with wait4 so only that child counts."""
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    if status != 0:
        raise SystemExit(f"{' '.join(command)} failed: {process.stderr.read().decode()[-2000:]}")
    return usage.ru_maxrss / 1024, time.perf_counter() - start  # ru_maxrss is in KiB on Linux


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", help="a table run folder (or `credit` once a pretrained model ships)")
    parser.add_argument("--rows", type=int, nargs="+", default=[20_000, 200_000])
    parser.add_argument("--chunk-size", type=int, default=10_000)
    args = parser.parse_args(argv)
    qmolgen = str(Path(sys.executable).with_name("qmolgen"))
    results = []
    with tempfile.TemporaryDirectory() as folder:
        for n in args.rows:
            out = Path(folder) / f"rows{n}.parquet"
            mb, seconds = peak_rss_mb([qmolgen, "--quiet", "export", args.run, "-n", str(n), "-o", str(out),
                                       "--chunk-size", str(args.chunk_size), "--seed", "0"])
            results.append((n, mb, seconds))
    base = results[0][1]
    print(f"{'rows':>10} {'peak MB':>9} {'x smallest':>10} {'seconds':>8}")
    for n, mb, seconds in results:
        print(f"{n:>10} {mb:>9.0f} {mb / base:>10.2f} {seconds:>8.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
