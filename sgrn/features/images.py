"""Decoding and resizing JPEGs in DataLoader workers, with errors that name the file."""
from __future__ import annotations

from pathlib import Path

import torch
from PIL import Image, UnidentifiedImageError
from torch.utils.data import Dataset
from torchvision import transforms

from sgrn.data.errors import DataError

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def imagenet_transform(size: int = 224) -> transforms.Compose:
    return transforms.Compose([
        transforms.Resize(size),
        transforms.CenterCrop(size),
        transforms.ToTensor(),
        transforms.Normalize(IMAGENET_MEAN, IMAGENET_STD),
    ])


class ImageFiles(Dataset):
    """Images given by paths relative to `root`, in row order."""

    def __init__(self, root: str | Path, paths: list[str], transform=None):
        self.root = Path(root)
        self.paths = paths
        self.transform = transform or imagenet_transform()

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int) -> torch.Tensor:
        path = self.root / self.paths[i]
        try:
            with Image.open(path) as img:
                img.load()
                return self.transform(img.convert("RGB"))
        except FileNotFoundError:
            raise DataError(f"{path}: image of row {i + 1} not found") from None
        except (UnidentifiedImageError, OSError, SyntaxError) as err:
            raise DataError(f"{path}: image of row {i + 1} cannot be decoded as JPEG/PNG ({err})") from None
