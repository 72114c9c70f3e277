"""The digits classifier behind "FID (digits classifier)": a small CNN trained deterministically on the
digits train split. Its penultimate features stand in for the Inception features of FID (no Inception
weights offline, and they would mean little for 8x8 images); its labels give the class metrics.

The weights ship in qmolgen/pretrained/digits_classifier.pt and are identified by a digest of their
values, checked on every load. Rebuild them (and see whether they match) with:
    python -m qmolgen.images.classifier [--out FILE]
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import sys
from functools import lru_cache

import numpy as np
import torch
from torch import nn

from qmolgen.errors import CheckpointError
from qmolgen.resources import pretrained_dir

FEATURES = 64
FILENAME = "digits_classifier.pt"
SHIPPED_DIGEST = "904cbfea95e48b9aef8a5523a8ac71d81b00fb20c4d33d2902455aacc4ecc8ab"
TRAIN_SEED, EPOCHS, BATCH, LR = 0, 30, 64, 1e-3


class DigitClassifier(nn.Module):
    """(B, 8, 8) images in [0, 1] -> 10 class logits; `features` gives the 64-value penultimate layer."""

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(),
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(64 * 4 * 4, FEATURES), nn.ReLU(),
        )
        self.out = nn.Linear(FEATURES, 10)

    def features(self, images: torch.Tensor) -> torch.Tensor:
        """The penultimate-layer features FID is computed on, (B, features) for (B, 8, 8) images."""
        return self.body(images.reshape(-1, 1, 8, 8))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Class logits (B, 10) for (B, 8, 8) images."""
        return self.out(self.features(images))


@contextlib.contextmanager
def _deterministic():
    """One thread and deterministic kernels, so the same seed gives the same weights bit for bit."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(False)
        torch.set_num_threads(threads)


def _shift(batch: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Each image moved by up to one pixel in each direction (zero fill), so features tolerate small shifts."""
    padded = nn.functional.pad(batch, (1, 1, 1, 1))
    dx, dy = torch.randint(0, 3, (2, len(batch)), generator=generator)
    return torch.stack([padded[i, y:y + 8, x:x + 8] for i, (x, y) in enumerate(zip(dx.tolist(), dy.tolist()))])


def train_classifier(images: np.ndarray, labels: np.ndarray, seed: int = TRAIN_SEED,
                     epochs: int = EPOCHS) -> DigitClassifier:
    """Train on (N, 8, 8) images in [0, 1] with integer labels; deterministic for a given seed."""
    with _deterministic():
        generator = torch.Generator().manual_seed(seed)
        torch.manual_seed(seed)
        model = DigitClassifier()
        optimiser = torch.optim.Adam(model.parameters(), lr=LR)
        x, y = torch.from_numpy(images), torch.from_numpy(labels)
        for _ in range(epochs):
            order = torch.randperm(len(x), generator=generator)
            for start in range(0, len(x), BATCH):
                idx = order[start:start + BATCH]
                loss = nn.functional.cross_entropy(model(_shift(x[idx], generator)), y[idx])
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
    return model.eval()


def weights_digest(state_dict: dict) -> str:
    """SHA-256 of the weights' names, shapes and values (not of the file, whose zip records vary)."""
    digest = hashlib.sha256()
    for name, tensor in sorted(state_dict.items()):
        digest.update(f"{name}{tuple(tensor.shape)}".encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


@lru_cache(maxsize=1)
def load_classifier() -> DigitClassifier:
    """The shipped classifier, after checking its digest.

    Raises:
        CheckpointError: the file is missing or its weights are not the ones the metrics were defined with.
    """
    path = pretrained_dir() / FILENAME
    if not path.is_file():
        raise CheckpointError(f"{path} is missing; rebuild it with `python -m qmolgen.images.classifier`")
    state = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(state, dict) or weights_digest(state) != SHIPPED_DIGEST:
        raise CheckpointError(f"{path} does not hold the shipped digits classifier (digest mismatch), so FID "
                              "values would not be comparable; reinstall qmolgen or rebuild it with "
                              "`python -m qmolgen.images.classifier`")
    model = DigitClassifier()
    model.load_state_dict(state)
    return model.eval()


@torch.no_grad()
def classify(model: DigitClassifier, images: np.ndarray, batch: int = 2048) -> tuple[np.ndarray, np.ndarray]:
    """(penultimate features (N, 64), class probabilities (N, 10)) of (N, 8, 8) images."""
    feats, probs = [], []
    for start in range(0, len(images), batch):
        f = model.features(torch.as_tensor(images[start:start + batch]))
        feats.append(f.numpy())
        probs.append(model.out(f).softmax(-1).numpy())
    return np.concatenate(feats).astype(np.float64), np.concatenate(probs)


def main(argv: list[str] | None = None) -> int:
    """Rebuild the shipped digits classifier from the training split (command line entry point)."""
    from qmolgen.images.data import load_images
    from qmolgen.outputs import atomic_path

    parser = argparse.ArgumentParser(description="Rebuild the digits classifier behind FID (digits classifier).")
    parser.add_argument("--out", default=str(pretrained_dir() / FILENAME), help="where to write the weights")
    parser.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    args = parser.parse_args(argv)
    data = load_images()
    model = train_classifier(*data.subset("train"))
    test_images, test_labels = data.subset("test")
    _, probs = classify(model, test_images)
    accuracy = float((probs.argmax(1) == test_labels).mean())
    digest = weights_digest(model.state_dict())
    with atomic_path(args.out, args.force) as tmp:
        torch.save(model.state_dict(), tmp)
    same = "matches the shipped digest" if digest == SHIPPED_DIGEST else f"differs from the shipped {SHIPPED_DIGEST}"
    print(f"wrote {args.out}: test accuracy {accuracy:.4f} on {len(test_labels)} images; digest {digest} ({same})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
