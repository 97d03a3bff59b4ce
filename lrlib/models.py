"""The two CNNs the book trains.

* :func:`small_cnn`: two conv layers for 28x28 MNIST digits. No batch norm, on
  purpose: without it the network is sensitive to the learning rate, which is
  what the book studies.
* :func:`fast_cifar_cnn`: a conv/batch-norm/GELU network with max-pooling in the
  style of the CIFAR-10 speed-run networks (airbench), for the ``gpu`` budget.
"""
from __future__ import annotations

from torch import nn

__all__ = ["small_cnn", "fast_cifar_cnn", "make_model", "model_name"]


def small_cnn(width: int = 16, num_classes: int = 10, in_channels: int = 1) -> nn.Module:
    """conv(w)-relu-pool, conv(2w)-relu-pool, linear: about 25k parameters at ``width=16``."""
    if width < 1:
        raise ValueError(f"width must be >= 1, got {width}")
    return nn.Sequential(
        nn.Conv2d(in_channels, width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(width, 2 * width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(2 * width * 7 * 7, num_classes),
    )


def _conv_bn_gelu(c_in: int, c_out: int) -> list[nn.Module]:
    return [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.GELU()]


def _block(c_in: int, c_out: int) -> list[nn.Module]:
    """conv, 2x2 max-pool, BN, GELU, then conv, BN, GELU: one stage of the speed-run networks."""
    return [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.MaxPool2d(2), nn.BatchNorm2d(c_out), nn.GELU(),
            *_conv_bn_gelu(c_out, c_out)]


def fast_cifar_cnn(width: int = 64, num_classes: int = 10) -> nn.Module:
    """A CIFAR-10 network in the style of the speed-run records (airbench-like) for 32x32x3 images.

    A conv-BN-GELU stem, then three stages of conv, max-pool, BN, GELU, conv, BN, GELU with
    ``width``, ``4 * width`` and ``4 * width`` channels (32 -> 16 -> 8 -> 4 pixels), a global max-pool
    and a linear classifier: about 2M parameters at ``width=64``.
    """
    if width < 1:
        raise ValueError(f"width must be >= 1, got {width}")
    w = width
    return nn.Sequential(
        *_conv_bn_gelu(3, w // 2 if w > 1 else 1),
        *_block(w // 2 if w > 1 else 1, w), *_block(w, 4 * w), *_block(4 * w, 4 * w),
        nn.AdaptiveMaxPool2d(1), nn.Flatten(), nn.Linear(4 * w, num_classes, bias=False),
    )


def model_name(dataset: str) -> str:
    """The name of the network :func:`make_model` builds for ``dataset`` (recorded in run configs)."""
    if dataset == "mnist5k":
        return "small_cnn"
    if dataset == "cifar10":
        return "fast_cifar_cnn"
    raise ValueError(f"dataset must be 'mnist5k' or 'cifar10', got {dataset!r}")


def make_model(dataset: str, width: int) -> nn.Module:
    """The network a budget trains on ``dataset`` (``"mnist5k"`` or ``"cifar10"``)."""
    if dataset == "mnist5k":
        return small_cnn(width)
    if dataset == "cifar10":
        return fast_cifar_cnn(width)
    raise ValueError(f"dataset must be 'mnist5k' or 'cifar10', got {dataset!r}")
