"""The image domain as the trainer sees it: digits data, generator and critic from config, sampling, metrics.

Generator kinds (config `generator.kind`), identical but for the latent source / decoder:
    hybrid         quantum circuit latent -> MLP image decoder
    classical      Gaussian latent of the same size -> the same decoder (the classical GAN)
    size_matched   uniform noise -> tanh MLP with <= the circuit's parameter count -> the same decoder
    quantum_patch  patch circuits whose post-selected Born probabilities are the pixels (Huang et al. 2021)
"""

from __future__ import annotations

import logging

import numpy as np
import torch

from qmolgen.domain import Domain, DomainMetrics, Metric
from qmolgen.errors import ConfigError
from qmolgen.images.data import ImageData, check_images, load_images, write_image_file
from qmolgen.images.files import write_grid, write_images
from qmolgen.images.metrics import evaluate_images
from qmolgen.images.networks import BornImageDecoder, ImageCritic, ImageGenerator, MLPImageDecoder
from qmolgen.quantum.latent import PatchQuantumGenerator, generator_source

log = logging.getLogger("qmolgen")


METRICS = DomainMetrics(
    quality=Metric("fid", "FID (digits classifier)", False),
    validation=Metric("fid", "FID (digits classifier) against the test split", False),
    collapse="1 − coverage (Naeem et al. 2020, k = 5): the share of real test images with no generated image "
             "among their 5 nearest neighbours",
    summary=("fid", "fid_floor", "classes_covered", "coverage"),
    # Inception-based FID values are not comparable with these: the label says which network.
    labels={"fid": "FID (digits classifier)", "fid_floor": "FID (digits classifier) floor"})


def build_generator(config: dict) -> ImageGenerator:
    """The image generator config['generator']['kind'] names: a latent source and the MLP decoder, or patch
    circuits and the Born decoder (quantum_patch)."""
    g = config["generator"]
    source = generator_source(config, lambda q: BornImageDecoder.patches_needed(q["patch_qubits"], q["patch_ancillas"]))
    if isinstance(source, PatchQuantumGenerator):
        q = config["quantum"]
        return ImageGenerator(source, BornImageDecoder(q["patch_qubits"], q["patch_ancillas"], source.n_patches))
    return ImageGenerator(source, MLPImageDecoder(source.dim, list(g["decoder_hidden"])))


def floor_images(train: np.ndarray, n: int) -> np.ndarray:
    """n real training images for the FID floor: FID depends on the number of images, so the floor is computed
    on as many as the model is scored on (drawn with replacement when the split holds fewer; seed 0)."""
    rng = np.random.default_rng(0)
    return train[rng.choice(len(train), n, replace=n > len(train))]


@torch.no_grad()
def sample_images(generator: ImageGenerator, n: int, batch_size: int = 1000) -> np.ndarray:
    """n images from the generator, (n, 8, 8) in [0, 1], drawn in batches."""
    generator.eval()
    return np.concatenate([generator(min(batch_size, n - start))[0].numpy() for start in range(0, n, batch_size)])


class ImageDomain(Domain):
    """Everything image-specific the shared trainer and the CLI need, built from one config."""

    name = "images"
    metrics = METRICS
    write_data = staticmethod(write_image_file)

    def __init__(self, config: dict, spec: dict | None = None):
        self.config = config
        self.data: ImageData | None = None

    def load_data(self) -> tuple[torch.Tensor]:
        """Read and split the images; the training images, (N, 8, 8)."""
        self.data = load_images(self.config["data"]["path"])
        train, _ = self.data.subset("train")
        log.info("data: %d images (%d train, %d test)", len(self.data.images), len(train),
                 len(self.data.split["test"]))
        return (torch.from_numpy(train),)

    def load_reference(self) -> None:
        """Read and split the data: all that evaluate needs."""
        self.load_data()

    def data_report(self) -> dict:
        """The dataset, its size and split (and the class counts when it has labels)."""
        _, train_labels = self.data.subset("train")
        report = {"dataset": self.config["data"]["path"], "n_images": len(self.data.images),
                  "split": {k: len(v) for k, v in self.data.split.items()}}
        if (train_labels >= 0).all():  # own images carry no labels
            report["train_class_counts"] = np.bincount(train_labels, minlength=10).tolist()
        return report

    def spec_dict(self) -> dict:
        """The image shape: all a trained image model needs besides its weights."""
        return {"image_shape": [8, 8]}

    @staticmethod
    def spec_from_dict(d: dict) -> dict:
        """The spec back from spec_dict's output (it is plain data already)."""
        return d

    def build_generator(self) -> ImageGenerator:
        """See the module-level build_generator."""
        return build_generator(self.config)

    def build_critic(self) -> ImageCritic:
        """The convolutional critic (critic.channels, critic.pack)."""
        c = self.config["critic"]
        return ImageCritic(list(c["channels"]), c["pack"])

    def real_to_input(self, batch: tuple[torch.Tensor]) -> tuple[torch.Tensor]:
        """Training images are what the critic reads already."""
        return batch

    def _reference(self) -> np.ndarray:
        return self.data.subset("test")[0]

    def epoch_metrics(self, generator: ImageGenerator) -> dict:
        """FID (digits classifier) and class coverage on a few samples after every epoch, against the test
        split (monitoring only: nothing is selected on it)."""
        metrics = evaluate_images(sample_images(generator, self.config["evaluate"]["epoch_samples"]),
                                  self._reference())
        return {k: metrics[k] for k in ("fid", "classes_covered", "confident_share", "coverage", "density")}

    def final_metrics(self, generator: ImageGenerator) -> dict:
        """The full report on evaluate.final_samples samples, with the real-data floor beside it."""
        n = self.config["evaluate"]["final_samples"]
        metrics = evaluate_images(sample_images(generator, n), self._reference())
        floor = evaluate_images(floor_images(self.data.subset("train")[0], n), self._reference())
        metrics.update({"fid_floor": floor["fid"], "coverage_floor": floor["coverage"]})
        return metrics

    def evaluate(self, samples) -> dict:
        """Image metrics of an (N, 8, 8) array in [0, 1] against the test split."""
        return evaluate_images(check_images(samples, "samples"), self._reference())

    def sample(self, generator: ImageGenerator, n: int) -> np.ndarray:
        """n images, (n, 8, 8) in [0, 1]."""
        return sample_images(generator, n)

    def write_samples(self, images: np.ndarray, path: str | None, force: bool = False) -> str:
        """Write images as a PNG grid and a .npy array; an output path is required."""
        if not path:
            raise ConfigError("image samples need an output file: -o grid.png or -o images.npy (writes both)")
        return write_images(images, path, force)

    def write_preview(self, generator: ImageGenerator, path, n: int = 100) -> None:
        """A 10 x 10 grid of samples."""
        write_grid(sample_images(generator, n), path, force=True)
