"""Memory benchmark (not a test): peak RSS of MOSES's SNN step (nearest Tanimoto neighbour of each generated
molecule in the test set), as qmolgen computes it, against holding the reference set as one float matrix (how it
was computed before; the final evaluation of the `moses` run then peaked at 5.3 GB).

    .venv/bin/python benchmarks/snn_memory.py [--reference 176074] [--generated 2048]

Random 1,024-bit fingerprints with MOSES-like density; each way runs in its own fresh process, which reports its
peak resident memory above what it held before the step. Both give the same similarities (checked here).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import numpy as np


def fingerprints(n: int, seed: int) -> np.ndarray:
    """n random fingerprints, about 4 % of 1,024 bits set (drug-like molecules' Morgan radius-2 density)."""
    rng = np.random.default_rng(seed)  # drawn in blocks so that the inputs' own peak stays small
    return np.concatenate([(rng.random((min(8192, n - i), 1024), dtype=np.float32) < 0.04).astype(np.uint8)
                           for i in range(0, n, 8192)])


def whole_matrix(generated: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """The former way: the whole reference as one float matrix, then blocks of it against the generated."""
    import torch

    ref = torch.from_numpy(reference).float()
    ref_bits = ref.sum(1)
    gen = torch.from_numpy(generated).float()
    top = torch.zeros(len(gen))
    for r in range(0, len(ref), 50_000):
        inter = gen @ ref[r:r + 50_000].T
        union = gen.sum(1, keepdim=True) + ref_bits[None, r:r + 50_000] - inter
        top = torch.maximum(top, torch.where(union > 0, inter / union.clamp_min(1), torch.ones_like(inter)).max(1).values)
    return top.numpy()


def measure(way: str, n_reference: int, n_generated: int) -> dict:
    """Run one way in this process; its peak RSS above the inputs' (MB), seconds and the mean similarity."""
    from qmolgen.molecules.moses_metrics import nearest_similarity

    generated, reference = fingerprints(n_generated, 0), fingerprints(n_reference, 1)
    packed = np.packbits(reference, axis=1)  # what the cache holds; the former way unpacked it whole
    del reference
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    start = time.perf_counter()
    if way == "blocks":
        sims = nearest_similarity(generated, packed, packed=True)
    else:
        sims = whole_matrix(generated, np.unpackbits(packed, axis=1))
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"way": way, "peak_mb_above_inputs": round(peak - before), "seconds": round(seconds, 1),
            "mean_similarity": float(sims.mean())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reference", type=int, default=176_074)
    parser.add_argument("--generated", type=int, default=2048)
    parser.add_argument("--way", choices=["blocks", "whole"], help=argparse.SUPPRESS)  # one measurement (child)
    args = parser.parse_args()
    if args.reference < 1 or args.generated < 1:
        parser.error("--reference and --generated must be >= 1")
    if args.way:
        print(json.dumps(measure(args.way, args.reference, args.generated)))
        return
    print(f"SNN: {args.generated} generated against {args.reference} reference fingerprints, each way in a fresh "
          "process")
    print("| way | peak RSS above the inputs | seconds | mean similarity |")
    print("|---|---|---|---|")
    rows = []
    for way in ("whole", "blocks"):
        done = subprocess.run([sys.executable, __file__, "--way", way, "--reference", str(args.reference),
                               "--generated", str(args.generated)], capture_output=True, text=True, check=True)
        rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
        r = rows[-1]
        label = "one float matrix (before)" if way == "whole" else "packed, in blocks (qmolgen)"
        print(f"| {label} | {r['peak_mb_above_inputs']:,} MB | {r['seconds']} | {r['mean_similarity']:.6f} |")
    if abs(rows[0]["mean_similarity"] - rows[1]["mean_similarity"]) > 1e-6:
        sys.exit("the two ways disagree")
    print(f"memory ratio: {rows[0]['peak_mb_above_inputs'] / max(rows[1]['peak_mb_above_inputs'], 1):.1f}x less")


if __name__ == "__main__":
    main()
