"""Image quality and mode-collapse metrics, all computed on the shipped digits classifier.

    fid               FID (digits classifier): Frechet distance between Gaussian fits of the classifier's
                      penultimate features of the samples and of the reference (test) images
    classes_covered   digit classes (of 10) that at least 1 % of the samples are confidently (p >= 0.9)
                      labelled as
    confident_share   share of samples the classifier labels with p >= 0.9 (blurry or mixed digits are not)
    class_kl          KL(generated || reference) of the classifier's label histograms (0 = same class mix;
                      log 10 = 2.30 when every sample is one class of a balanced reference)
    precision, recall, density, coverage
                      Naeem et al. 2020 (k = 5) on the same features, reference = the test images
    mode_collapse_rate  1 - coverage: the share of reference images whose 5-nearest-neighbour ball holds no
                      sample, i.e. the part of the real distribution the generator does not reach
"""

from __future__ import annotations

import contextlib
import io
import warnings

import numpy as np

from qmolgen.images.classifier import classify, load_classifier

CONFIDENT = 0.9
MIN_CLASS_SHARE = 0.01
NEAREST_K = 5


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Frechet distance of Gaussian fits to two feature sets (the FCD package's, as used for molecules)."""
    from fcd import calculate_frechet_distance

    with warnings.catch_warnings():
        # Dead ReLU features of a collapsed generator make a singular covariance; the package then adds a
        # small ridge itself, so SciPy's warnings about it (and its own deprecated argument) are noise here.
        warnings.simplefilter("ignore")
        distance = calculate_frechet_distance(a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False))
    return max(0.0, float(distance))  # rounding can give -1e-12 for identical sets


def class_histogram(probs: np.ndarray) -> np.ndarray:
    """Share of images the classifier assigns to each class (from its probabilities)."""
    return np.bincount(probs.argmax(1), minlength=probs.shape[1]) / len(probs)


def evaluate_images(images: np.ndarray, reference: np.ndarray) -> dict:
    """All image metrics for checked (N, 8, 8) `images` against `reference` images (the test split)."""
    model = load_classifier()
    feats, probs = classify(model, images)
    ref_feats, ref_probs = classify(model, reference)
    confident = probs.max(1) >= CONFIDENT
    per_class = np.bincount(probs.argmax(1)[confident], minlength=10)
    generated, real = class_histogram(probs), class_histogram(ref_probs)
    seen = generated > 0
    from prdc import compute_prdc

    with contextlib.redirect_stdout(io.StringIO()):  # prdc prints the set sizes; our stdout carries data
        prdc = compute_prdc(ref_feats, feats, NEAREST_K)
    out = {
        "n_samples": len(images),
        "n_reference": len(reference),
        "fid": frechet_distance(feats, ref_feats),
        "classes_covered": int((per_class >= max(1, MIN_CLASS_SHARE * len(images))).sum()),
        "confident_share": float(confident.mean()),
        "class_kl": float(np.sum(generated[seen] * np.log(generated[seen] / real[seen]))),
        **{k: float(v) for k, v in prdc.items()},
    }
    out["mode_collapse_rate"] = 1.0 - out["coverage"]
    out["class_histogram"] = [round(float(v), 4) for v in generated]
    return out
