"""Speed benchmark (not a test): latent throughput of three circuit execution paths, and the hybrid
model's training step against the classical GAN's with the same decoder, critic and batch.

    .venv/bin/python benchmarks/bench_speed.py [--qubits 8] [--layers 3] [--batch 512]

Prints samples/s and the ratios, all measured in this one run (median of repeats after a warm-up).
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from qmolgen.config import load_config
from qmolgen.molecules.domain import build_critic, build_generator, to_onehot
from qmolgen.molecules.graphs import GraphSpec
from qmolgen.quantum import circuits
from qmolgen.quantum.latent import QuantumLatent
from qmolgen.train.wgan import AdversarialTrainer, TrainSettings


def median_seconds(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def latent_throughput(n_qubits: int, n_layers: int, batch: int) -> dict[str, float]:
    """Samples/s, forward + backward with respect to the circuit weights."""
    torch.manual_seed(0)
    fast = QuantumLatent(n_qubits, n_layers, "z")
    broadcast = QuantumLatent(n_qubits, n_layers, "z", executor="pennylane")
    qnode = circuits.latent_qnode(n_qubits, "z")
    noise = torch.rand(batch, n_qubits) * 2 - 1
    few = noise[:32]  # a per-sample loop is too slow for a full batch

    def per_sample():
        out = torch.stack([torch.stack(list(qnode(torch.arcsin(z), broadcast.weights))) for z in few])
        out.sum().backward()

    results = {}
    results["PennyLane QNode, one call per sample"] = len(few) / median_seconds(per_sample, 3)
    results["PennyLane default.qubit, broadcast over the batch"] = batch / median_seconds(
        lambda: broadcast.from_noise(noise).sum().backward(), 5)
    results["qmolgen batched torch statevector"] = batch / median_seconds(
        lambda: fast.from_noise(noise).sum().backward(), 20)
    return results


def training_step_seconds(kind: str, batch: int) -> float:
    """Median seconds of one WGAN-GP cycle (n_critic critic steps + one generator step) on QM9-sized graphs."""
    torch.manual_seed(0)
    config = load_config("qm9", [f"generator.kind={kind}", f"train.batch_size={batch}"])
    spec = GraphSpec(("C", "N", "O", "F"), 9)
    trainer = AdversarialTrainer(build_generator(config, spec), build_critic(config, spec),
                                 TrainSettings(**config["train"]), lambda b: to_onehot(*b, spec), progress=False)
    nodes = torch.randint(0, 5, (batch, 9))
    edges = torch.randint(0, 4, (batch, 9, 9))
    edges = torch.triu(edges, 1) + torch.triu(edges, 1).transpose(1, 2)
    real = to_onehot(nodes, edges, spec)

    def cycle():
        for _ in range(trainer.settings.n_critic):
            trainer.critic_step(real)
        trainer.generator_step(batch)

    return median_seconds(cycle, 20)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--qubits", type=int, default=8)
    parser.add_argument("--layers", type=int, default=3)
    parser.add_argument("--batch", type=int, default=512)
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    print(f"\nLatent samples/s, {args.qubits} qubits, {args.layers} layers, batch {args.batch}, forward+backward:")
    rates = latent_throughput(args.qubits, args.layers, args.batch)
    slowest = min(rates.values())
    for name, rate in rates.items():
        print(f"  {name:52s} {rate:12,.0f} /s   {rate / slowest:8.1f}x")
    print("\nTraining cycle (5 critic steps + 1 generator step), qm9 recipe, batch 128:")
    hybrid = training_step_seconds("hybrid", 128)
    classical = training_step_seconds("classical", 128)
    print(f"  classical GAN (Gaussian latent)   {classical * 1e3:8.1f} ms")
    print(f"  hybrid (8-qubit circuit latent)   {hybrid * 1e3:8.1f} ms")
    print(f"  hybrid / classical                {hybrid / classical:8.2f}x   (target <= 1.3x)")


if __name__ == "__main__":
    main()
