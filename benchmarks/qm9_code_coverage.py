"""Where the QM9 LatentGAN's FCD gap comes from (a diagnostic, not a test): the autoencoder's decoder, or the
code generator's coverage of the codes of real molecules.

    .venv/bin/python benchmarks/qm9_code_coverage.py [RUN ...] [-n 10000] [--seed 0] [--code-noise 0.1] [--mixture 100]
                                                     [--recipe moses] [--language smiles]

It decodes, with the `qm9` recipe's autoencoder (pretrained first if the cache lacks it: ~15 min on one thread), n
codes from each source and scores the molecules against the test split (FCD, as `qmolgen train qm9` does): the test
molecules' own codes, the same with Gaussian noise of growing width (how precise a generated code must be),
Gaussians fitted to the training codes and to their atanh (what a generator with no structure would reach), a
Gaussian mixture of --mixture components (slow: ~10 min for 100), and each trained LatentGAN RUN's generator, whose
runs must use the same autoencoder (the recipe's, or --code-noise's: autoencoder.code_noise, pretrained first if not
cached). The share of aromatic molecules is printed beside FCD (QM9's test split has about one in six), with, for
the noisy codes, the share of aromatic molecules' codes that still decode to an aromatic molecule, and for every
source the mean distance from its codes to the nearest of 30,000 training codes (how far off the codes' manifold a
source lands) and the share of the training codes' total variance (trace of the covariance) its codes keep (an
under-dispersed generator keeps little). --recipe takes another LatentGAN recipe (e.g. moses; its autoencoder is
pretrained first if not cached: about 100 minutes on one thread), scored against that recipe's test split the same
way; --language picks the autoencoder's strings (autoencoder.language: selfies or smiles; an invalid SMILES decode
counts against validity and is left out of FCD).
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
from rdkit import Chem

from qmolgen.config import load_recipe
from qmolgen.model import GenerativeModel
from qmolgen.molecules.latent_gan import before_tanh, decode_codes, encode_codes
from qmolgen.molecules.metrics import fcd_score
from qmolgen.molecules.sequence_domain import SequenceMoleculeDomain
from qmolgen.molecules.tokens import canonical_or_none


def aromatic(smiles: str) -> bool:
    """Whether the molecule has an aromatic atom."""
    mol = Chem.MolFromSmiles(smiles)
    return mol is not None and any(atom.GetIsAromatic() for atom in mol.GetAtoms())


def fitted_gaussian_samples(values: torch.Tensor, n: int) -> list[tuple[str, torch.Tensor]]:
    """n draws from a diagonal and from a full-covariance Gaussian fitted to `values` (rows are samples)."""
    mean, std = values.mean(0), values.std(0)
    diagonal = mean + std * torch.randn(n, len(mean))
    covariance = torch.cov(values.T) + 1e-5 * torch.eye(len(mean))
    full = torch.distributions.MultivariateNormal(mean, covariance_matrix=covariance).sample((n,))
    return [("diagonal", diagonal), ("full covariance", full)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="*", help="trained qm9 LatentGAN run folders (or model files)")
    parser.add_argument("-n", type=int, default=10_000, help="codes decoded per source")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--code-noise", type=float, default=None, help="autoencoder.code_noise (default: the recipe's)")
    parser.add_argument("--mixture", type=int, default=0, help="components of a Gaussian mixture row (0: none)")
    parser.add_argument("--recipe", default="qm9", help="a LatentGAN molecule recipe (default: qm9)")
    parser.add_argument("--language", choices=["selfies", "smiles"], default=None,
                        help="autoencoder.language (default: the recipe's)")
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    config = load_recipe(args.recipe)
    if config.get("domain") != "molecules" or config["generator"].get("decoder") != "sequence":
        parser.error(f"--recipe {args.recipe}: not a LatentGAN molecule recipe (its codes come from a sequence "
                     "autoencoder: e.g. qm9, moses)")
    config["generator"]["kind"] = "classical"
    if args.code_noise is not None:
        config["autoencoder"]["code_noise"] = args.code_noise
    if args.language is not None:
        config["autoencoder"]["language"] = args.language
    domain = SequenceMoleculeDomain(config)
    domain.load_data()  # pretrains the autoencoder, or reuses the cached one
    autoencoder, data = domain.network, domain.data
    reference = data.subset("test")
    test = data.split["test"]  # in file order, which QM9 sorts by size: a random subset is representative
    chosen = test[torch.randperm(len(test))[:args.n].numpy()]
    test_codes = encode_codes(autoencoder.encoder, data.tokens[chosen])
    train_codes = encode_codes(autoencoder.encoder, data.tokens[data.split["train"]])
    print(f"test split: {len(reference)} molecules, aromatic share {np.mean([aromatic(s) for s in reference]):.3f}")
    test_aromatic = np.array([aromatic(data.smiles[i]) for i in chosen])
    bank = train_codes[torch.randperm(len(train_codes))[:30_000]]
    train_variance = torch.cov(train_codes.T.double()).trace()
    print("| codes | n | valid | unique | aromatic share | aromatic kept | distance to training codes | variance kept "
          "| FCD vs test ↓ |\n|---|---|---|---|---|---|---|---|---|")

    def score(name: str, codes: torch.Tensor, sources_aromatic: np.ndarray | None = None) -> None:
        decoded = [canonical_or_none(s) for s in decode_codes(autoencoder.decoder, data.vocab, codes, data.max_length)]
        valid = [s for s in decoded if s]
        is_aromatic = np.array([aromatic(s) if s else False for s in decoded])
        kept = f"{is_aromatic[sources_aromatic].mean():.3f}" if sources_aromatic is not None else "–"
        distance = torch.cat([torch.cdist(part, bank).min(1).values for part in codes.split(2000)]).mean()
        variance = torch.cov(codes.T.double()).trace() / train_variance
        print(f"| {name} | {len(codes)} | {len(valid) / len(codes):.3f} | {len(set(valid)) / max(1, len(valid)):.3f} "
              f"| {np.mean([aromatic(s) for s in valid]):.3f} | {kept} | {distance:.2f} | {variance:.2f} "
              f"| {fcd_score(valid, reference):.3f} |", flush=True)

    score("test molecules' codes", test_codes, test_aromatic)
    for sigma in (0.1, 0.2, 0.3, 0.5):
        score(f"test codes + N(0, {sigma}²) per value", (test_codes + sigma * torch.randn_like(test_codes)).clamp(-1, 1),
              test_aromatic)
    # Gaussians fitted in code space, then before tanh (the space `generator.code_space: atanh` trains in): what a
    # generator with no structure would reach in each (on moses_smiles: 2.69 and 2.70, no better before tanh).
    for space, fitted, to_codes in (("training codes", train_codes, lambda x: x.clamp(-1, 1)),
                                    ("atanh(training codes)", before_tanh(train_codes), torch.tanh)):
        for name, drawn in fitted_gaussian_samples(fitted, args.n):
            score(f"Gaussian fit to {space}, {name}", to_codes(drawn))
    if args.mixture:
        from sklearn.mixture import GaussianMixture  # scikit-learn comes with SDV

        mixture = GaussianMixture(args.mixture, covariance_type="full", random_state=args.seed).fit(train_codes.numpy())
        drawn = torch.as_tensor(mixture.sample(args.n)[0], dtype=torch.float32)
        score(f"Gaussian mixture of {args.mixture} fitted to training codes", drawn.clamp(-1, 1))
    for run in args.runs:
        generator = GenerativeModel.load(run).generator.eval()
        with torch.no_grad():
            score(f"LatentGAN {run}", generator.codes(generator.latent(args.n)))


if __name__ == "__main__":
    main()
