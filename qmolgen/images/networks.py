"""Image generator (latent source + decoder), the Born-probability decoder of the patch quantum GAN, and
the CNN critic. Images are (B, 8, 8) grey levels in [0, 1]."""

from __future__ import annotations

import torch
from torch import nn

from qmolgen.errors import ConfigError

IMAGE_SIDE = 8


class MLPImageDecoder(nn.Module):
    """Latent vector -> standardised per dimension -> hidden LeakyReLU layers -> 64 sigmoid pixels.

    The standardisation (batch statistics while training, running ones when sampling) puts every latent
    source on the same scale: circuit expectation values spread about 0.2 around their mean at the start,
    Gaussian noise 1, and without it the quantum latent starts out looking like a constant to the decoder.
    """

    def __init__(self, latent_dim: int, hidden: list[int]):
        super().__init__()
        layers, width = [nn.BatchNorm1d(latent_dim, affine=False)], latent_dim
        for size in hidden:
            layers += [nn.Linear(width, size), nn.LeakyReLU(0.2)]
            width = size
        self.net = nn.Sequential(*layers, nn.Linear(width, IMAGE_SIDE * IMAGE_SIDE), nn.Sigmoid())

    def forward(self, latent: torch.Tensor) -> torch.Tensor:
        """Latent vectors (B, latent) -> images (B, 8, 8) in [0, 1]."""
        return self.net(latent).view(-1, IMAGE_SIDE, IMAGE_SIDE)


class BornImageDecoder(nn.Module):
    """Pixels from the Born probabilities of patch circuits, as in Huang et al. 2021 (and PennyLane's
    quantum GAN demo): each patch's last `n_ancillas` qubits are measured and post-selected on |0..0>,
    which makes the map non-linear; the remaining probabilities are renormalised and divided by their
    maximum, giving 2**(qubits - ancillas) pixels in [0, 1] per patch, filled row by row. No parameters.
    """

    def __init__(self, patch_qubits: int, n_ancillas: int, n_patches: int):
        super().__init__()
        if not 0 <= n_ancillas < patch_qubits:
            raise ConfigError(f"quantum.patch_ancillas must be >= 0 and < quantum.patch_qubits ({patch_qubits}); "
                              f"got {n_ancillas}")
        self.n_ancillas, self.n_patches = n_ancillas, n_patches
        self.pixels_per_patch = 2 ** (patch_qubits - n_ancillas)
        if n_patches * self.pixels_per_patch != IMAGE_SIDE * IMAGE_SIDE:
            raise ConfigError(f"{n_patches} patches of {self.pixels_per_patch} pixels do not make an 8x8 image")

    @staticmethod
    def patches_needed(patch_qubits: int, n_ancillas: int) -> int:
        """How many patch circuits cover the 64 pixels; raises ConfigError when the patch size does not divide them."""
        per_patch = 2 ** (patch_qubits - n_ancillas)
        if (IMAGE_SIDE * IMAGE_SIDE) % per_patch:
            raise ConfigError(f"2**(patch_qubits - patch_ancillas) = {per_patch} pixels per patch do not divide "
                              "the 64 pixels; choose patch_qubits - patch_ancillas between 0 and 6")
        return IMAGE_SIDE * IMAGE_SIDE // per_patch

    def forward(self, probs: torch.Tensor) -> torch.Tensor:
        # Wire 0 is the most significant bit (PennyLane's order), so the ancillas are the fastest index.
        """Patch probabilities -> images: each patch's probabilities with the ancillas in |0>, renormalised and scaled
        to a maximum of 1 (Huang et al. 2021)."""
        kept = probs.view(len(probs), self.n_patches, self.pixels_per_patch, 2 ** self.n_ancillas)[..., 0]
        kept = kept / kept.sum(-1, keepdim=True).clamp_min(1e-12)
        pixels = kept / kept.amax(-1, keepdim=True).clamp_min(1e-12)
        return pixels.reshape(-1, IMAGE_SIDE, IMAGE_SIDE)


class ImageGenerator(nn.Module):
    """Latent source + image decoder: the one generator shape shared by the hybrid and every baseline."""

    def __init__(self, latent: nn.Module, decoder: nn.Module):
        super().__init__()
        self.latent, self.decoder = latent, decoder

    def forward(self, batch_size: int) -> tuple[torch.Tensor]:
        """A batch of generated images, as a 1-tuple (the trainer's generator interface)."""
        return (self.decoder(self.latent(batch_size)),)


class ImageCritic(nn.Module):
    """Small CNN: two strided convolutions (8x8 -> 4x4 -> 2x2), LeakyReLU, no normalisation (which would
    break the per-sample gradient penalty), then a linear score. With pack > 1 it scores groups of `pack`
    images stacked as channels (PacGAN)."""

    def __init__(self, channels: list[int], pack: int = 1):
        super().__init__()
        if len(channels) != 2:
            raise ConfigError(f"critic.channels takes two widths (8x8 -> 4x4 -> 2x2); got {channels}")
        self.pack = pack
        a, b = channels
        self.net = nn.Sequential(
            nn.Conv2d(pack, a, 3, stride=2, padding=1), nn.LeakyReLU(0.2),
            nn.Conv2d(a, b, 3, stride=2, padding=1), nn.LeakyReLU(0.2),
            nn.Flatten(), nn.Linear(b * 2 * 2, 1),
        )

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Critic scores, one per packed group of `pack` images."""
        return self.net(images.reshape(-1, self.pack, IMAGE_SIDE, IMAGE_SIDE)).squeeze(-1)
