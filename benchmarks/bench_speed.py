"""Speed benchmark (not a test): latent throughput of three circuit execution paths, and each recipe's training
cycle for the hybrid against the classical GAN with the same decoder, critic and batch.

    .venv/bin/python benchmarks/bench_speed.py [--qubits 8] [--layers 3] [--batch 512] [--recipes credit,digits] [--noise]

Prints samples/s and the ratios, all measured in this one run (the two models' cycles interleaved, median of
repeats after a warm-up, one torch thread unless OMP_NUM_THREADS says otherwise). `--recipes qm9` loads the
cached autoencoder (or pretrains it first, about 30 minutes on 2 cores).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import torch

from qmolgen.config import load_config
from qmolgen.model import domain_for
from qmolgen.quantum import circuits
from qmolgen.quantum.latent import QuantumLatent
from qmolgen.seeding import seed_everything
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


def noisy_latent_throughput(n_qubits: int, n_layers: int, batch: int, depolarizing: float = 0.01) -> dict[str, float]:
    """Samples/s of the latent circuit under depolarizing noise, exact, forward only and forward + backward:
    PennyLane's default.mixed (a few samples: it takes seconds each) against the torch executor's Heisenberg-picture
    readout over Pauli strings (qmolgen/quantum/pauli.py) at the recipes' batch."""
    torch.manual_seed(0)
    noise = {"depolarizing": depolarizing}
    mixed = QuantumLatent(n_qubits, n_layers, "zz", executor="pennylane", device="default.mixed", noise=noise)
    dense = QuantumLatent(n_qubits, n_layers, "zz", noise=noise)
    few, noise_batch = torch.rand(4, n_qubits) * 2 - 1, torch.rand(batch, n_qubits) * 2 - 1

    def forward(latent, z):
        with torch.no_grad():
            if hasattr(latent, "simulator"):
                latent.simulator._kept = None  # every repeat evolves the observables again, as after a weight update
            latent.from_noise(z)

    return {"PennyLane default.mixed, forward": len(few) / median_seconds(lambda: forward(mixed, few), 1),
            "qmolgen torch executor (Pauli strings), forward": batch / median_seconds(lambda: forward(dense, noise_batch), 5),
            "qmolgen torch executor (Pauli strings), forward+backward":
                batch / median_seconds(lambda: dense.from_noise(noise_batch).sum().backward(), 5)}


def training_cycle(recipe: str, kind: str):
    """One WGAN-GP cycle (n_critic critic steps + one generator step) of `recipe` with generator `kind`, on a fixed
    real batch of its training data; returns (cycle function, generator, batch size)."""
    config = load_config(recipe, [f"generator.kind={kind}"])
    seed_everything(0)
    domain = domain_for(config)
    domain.progress = False
    data = domain.load_data()
    generator = domain.build_generator()
    settings = TrainSettings(**config["train"])
    trainer = AdversarialTrainer(generator, domain.build_critic(), settings, domain.real_to_input, progress=False)
    real = domain.real_to_input(tuple(t[:settings.batch_size] for t in data))

    def cycle():
        for _ in range(settings.n_critic):
            trainer.critic_step(real)
        trainer.generator_step(settings.batch_size)

    return cycle, generator, settings.batch_size


def interleaved_medians(functions: dict, repeats: int) -> dict[str, float]:
    """Median seconds of each function, run in turn so that a busy machine slows them alike."""
    for fn in functions.values():
        fn()  # warm-up
    times = {name: [] for name in functions}
    for _ in range(repeats):
        for name, fn in functions.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}


def recipe_cycles(recipe: str, repeats: int) -> dict[str, float]:
    """The recipe's cycle for the classical GAN and the hybrid, and the circuit alone at the recipe's batch."""
    classical, _, _ = training_cycle(recipe, "classical")
    hybrid, generator, batch = training_cycle(recipe, "hybrid")
    circuit = generator.latent

    def circuit_forward():
        with torch.no_grad():
            circuit(batch)

    def circuit_forward_backward():
        circuit(batch).sum().backward()

    seconds = interleaved_medians({"classical": classical, "hybrid": hybrid}, repeats)
    seconds.update(interleaved_medians({"forward": circuit_forward, "forward_backward": circuit_forward_backward},
                                       3 * repeats))
    seconds["batch"] = batch
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--qubits", type=int, default=8)
    parser.add_argument("--layers", type=int, default=3)
    parser.add_argument("--batch", type=int, default=512)
    parser.add_argument("--recipes", default="credit,digits,qm9_graph",
                        help="comma-separated recipes whose training cycle to time (default: %(default)s)")
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--noise", action="store_true",
                        help="also time the latent under gate noise: default.mixed against the torch density matrices")
    parser.add_argument("--noise-batch", type=int, default=128, help="the torch executor's batch with --noise")
    args = parser.parse_args()
    if "OMP_NUM_THREADS" not in os.environ:
        torch.set_num_threads(1)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    print(f"\nLatent samples/s, {args.qubits} qubits, {args.layers} layers, batch {args.batch}, forward+backward:")
    rates = latent_throughput(args.qubits, args.layers, args.batch)
    slowest = min(rates.values())
    for name, rate in rates.items():
        print(f"  {name:52s} {rate:12,.0f} /s   {rate / slowest:8.1f}x")
    if args.noise:
        print(f"\nLatent samples/s under depolarizing noise 0.01, {args.qubits} qubits, {args.layers} layers "
              f"(density matrices; default.mixed on 4 samples, the torch executor on {args.noise_batch}):")
        rates = noisy_latent_throughput(args.qubits, args.layers, args.noise_batch)
        slowest = min(rates.values())
        for name, rate in rates.items():
            print(f"  {name:52s} {rate:12,.1f} /s   {rate / slowest:8.1f}x")
    print("\nTraining cycle (n_critic critic steps + 1 generator step), each recipe's own batch, median ms:")
    print("| recipe | batch | classical GAN | hybrid | hybrid / classical | circuit forward | circuit forward+backward |")
    print("|---|---|---|---|---|---|---|")
    for recipe in args.recipes.split(","):
        t = recipe_cycles(recipe.strip(), args.repeats)
        print(f"| {recipe} | {t['batch']} | {t['classical'] * 1e3:.1f} | {t['hybrid'] * 1e3:.1f} | "
              f"{t['hybrid'] / t['classical']:.2f}x | {t['forward'] * 1e3:.2f} | {t['forward_backward'] * 1e3:.2f} |")


if __name__ == "__main__":
    main()
