"""Datasets from ``popgen-hub simulate`` / ``import`` as PyTorch datasets, read shard by shard.

``ShardDataset(path)[i]`` is ``(image, label)`` of replicate ``i`` as tensors; only the shard
being read is in memory, so datasets larger than RAM feed a ``torch.utils.data.DataLoader``
(give each worker its own copy: the default). ``popgen-hub train --data`` loads the arrays
whole instead, which is faster for datasets that fit.
"""

from __future__ import annotations

from bisect import bisect_right
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from ..datasets import REMAKE_SHARD, load_manifest, open_arrays, shard_images
from ..files import DatasetFolder


class ShardDataset(Dataset):
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.manifest = load_manifest(self.path)
        self.labels = list(self.manifest["labels"])
        n, size = self.manifest["n"], self.manifest["shard_size"]
        self._starts = list(range(0, n, size))
        self._n = n
        self._cached: tuple[int, np.ndarray, np.ndarray] | None = None

    def __len__(self) -> int:
        return self._n

    def _shard(self, shard: int) -> tuple[np.ndarray, np.ndarray]:
        if self._cached is None or self._cached[0] != shard:
            with open_arrays(DatasetFolder(self.path).shard(shard), REMAKE_SHARD) as arrays:
                self._cached = (shard, shard_images(arrays), arrays["labels"])
        return self._cached[1], self._cached[2]

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        if not 0 <= index < self._n:
            raise IndexError(f"replicate {index} is outside {self.path} (0..{self._n - 1})")
        shard = bisect_right(self._starts, index) - 1
        images, labels = self._shard(shard)
        offset = index - self._starts[shard]
        return torch.from_numpy(images[offset]), torch.tensor(labels[offset])


__all__ = ["ShardDataset"]
