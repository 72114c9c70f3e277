"""Where the QM9 LatentGAN's FCD gap comes from (a diagnostic, not a test): the autoencoder's decoder, or the
code generator's coverage of the codes of real molecules.

    .venv/bin/python benchmarks/qm9_code_coverage.py [RUN ...] [-n 10000] [--seed 0]

It decodes, with the `qm9` recipe's autoencoder (pretrained first if the cache lacks it: ~15 min on one thread),
n codes from each source and scores the molecules against the test split (FCD, as `qmolgen train qm9` does):
the test molecules' own codes, the same with Gaussian noise of growing width (how precise a generated code must
be), Gaussians fitted to the training codes (what a generator with no structure would reach), and each trained
LatentGAN RUN's generator, whose runs must use the same autoencoder (the recipe's, as every `qm9` run does).
The share of aromatic molecules is printed beside FCD: QM9's test split has about one in six.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
from rdkit import Chem

from qmolgen.config import load_recipe
from qmolgen.model import GenerativeModel
from qmolgen.molecules.latent_gan import decode_codes, encode_codes
from qmolgen.molecules.metrics import fcd_score
from qmolgen.molecules.sequence_domain import SequenceMoleculeDomain
from qmolgen.molecules.tokens import canonical_or_none


def aromatic(smiles: str) -> bool:
    """Whether the molecule has an aromatic atom."""
    mol = Chem.MolFromSmiles(smiles)
    return mol is not None and any(atom.GetIsAromatic() for atom in mol.GetAtoms())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="*", help="trained qm9 LatentGAN run folders (or model files)")
    parser.add_argument("-n", type=int, default=10_000, help="codes decoded per source")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    config = load_recipe("qm9")
    config["generator"]["kind"] = "classical"
    domain = SequenceMoleculeDomain(config)
    domain.load_data()  # pretrains the autoencoder, or reuses the cached one
    autoencoder, data = domain.network, domain.data
    reference = data.subset("test")
    test = data.split["test"]  # in file order, which QM9 sorts by size: a random subset is representative
    chosen = test[torch.randperm(len(test))[:args.n].numpy()]
    test_codes = encode_codes(autoencoder.encoder, data.tokens[chosen])
    train_codes = encode_codes(autoencoder.encoder, data.tokens[data.split["train"]])
    print(f"test split: {len(reference)} molecules, aromatic share {np.mean([aromatic(s) for s in reference]):.3f}")
    print("| codes | n | valid | unique | aromatic share | FCD vs test ↓ |\n|---|---|---|---|---|---|")

    def score(name: str, codes: torch.Tensor) -> None:
        decoded = [canonical_or_none(s) for s in decode_codes(autoencoder.decoder, data.vocab, codes, data.max_length)]
        valid = [s for s in decoded if s]
        print(f"| {name} | {len(codes)} | {len(valid) / len(codes):.3f} | {len(set(valid)) / max(1, len(valid)):.3f} "
              f"| {np.mean([aromatic(s) for s in valid]):.3f} | {fcd_score(valid, reference):.3f} |", flush=True)

    score("test molecules' codes", test_codes)
    for sigma in (0.1, 0.2, 0.3):
        score(f"test codes + N(0, {sigma}²) per value", (test_codes + sigma * torch.randn_like(test_codes)).clamp(-1, 1))
    mean, std = train_codes.mean(0), train_codes.std(0)
    score("Gaussian fit to training codes, diagonal", (mean + std * torch.randn(args.n, len(mean))).clamp(-1, 1))
    covariance = torch.cov(train_codes.T) + 1e-5 * torch.eye(len(mean))
    gaussian = torch.distributions.MultivariateNormal(mean, covariance_matrix=covariance)
    score("Gaussian fit to training codes, full covariance", gaussian.sample((args.n,)).clamp(-1, 1))
    for run in args.runs:
        generator = GenerativeModel.load(run).generator.eval()
        with torch.no_grad():
            score(f"LatentGAN {run}", generator(args.n)[0])


if __name__ == "__main__":
    main()
