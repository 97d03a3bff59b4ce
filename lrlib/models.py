"""The two CNNs the book trains.

* :func:`small_cnn`: two conv layers for 28x28 MNIST digits. No batch norm, on
  purpose: without it the network is sensitive to the learning rate, which is
  what the book studies.
* :func:`fast_cifar_cnn`: a compact conv/batch-norm network in the style of the
  CIFAR-10 speed-run networks, for the ``gpu`` budget.
"""
from __future__ import annotations

from torch import nn

__all__ = ["small_cnn", "fast_cifar_cnn", "make_model"]


def small_cnn(width: int = 16, num_classes: int = 10, in_channels: int = 1) -> nn.Module:
    """conv(w)-relu-pool, conv(2w)-relu-pool, linear: about 25k parameters at ``width=16``."""
    if width < 1:
        raise ValueError(f"width must be >= 1, got {width}")
    return nn.Sequential(
        nn.Conv2d(in_channels, width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(width, 2 * width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(2 * width * 7 * 7, num_classes),
    )


def _conv_bn(c_in: int, c_out: int, pool: bool) -> list[nn.Module]:
    layers: list[nn.Module] = [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False)]
    if pool:
        layers.append(nn.MaxPool2d(2))
    layers += [nn.BatchNorm2d(c_out), nn.GELU()]
    return layers


def fast_cifar_cnn(width: int = 64, num_classes: int = 10) -> nn.Module:
    """A 4-stage conv/BN/GELU net for 32x32x3 images (roughly 2M parameters at ``width=64``)."""
    if width < 1:
        raise ValueError(f"width must be >= 1, got {width}")
    w = width
    return nn.Sequential(
        *_conv_bn(3, w, pool=False),
        *_conv_bn(w, 2 * w, pool=True), *_conv_bn(2 * w, 2 * w, pool=False),
        *_conv_bn(2 * w, 4 * w, pool=True), *_conv_bn(4 * w, 4 * w, pool=False),
        *_conv_bn(4 * w, 4 * w, pool=True),
        nn.AdaptiveMaxPool2d(1), nn.Flatten(), nn.Linear(4 * w, num_classes),
    )


def make_model(dataset: str, width: int) -> nn.Module:
    """The network a budget trains on ``dataset`` (``"mnist5k"`` or ``"cifar10"``)."""
    if dataset == "mnist5k":
        return small_cnn(width)
    if dataset == "cifar10":
        return fast_cifar_cnn(width)
    raise ValueError(f"dataset must be 'mnist5k' or 'cifar10', got {dataset!r}")
