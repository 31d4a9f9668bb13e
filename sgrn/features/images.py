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
    """Images given by paths relative to `root`, in row order.

    Items are (tensor, error): a file that cannot be read yields a blank tensor and the
    message, so that the main process raises one clean DataError instead of a worker's
    wrapped traceback (see `raise_first_error`).
    """

    def __init__(self, root: str | Path, paths: list[str], size: int = 224):
        self.root = Path(root)
        self.paths = paths
        self.size = size
        self.transform = imagenet_transform(size)

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, str]:
        path = self.root / self.paths[i]
        try:
            with Image.open(path) as img:
                img.load()
                return self.transform(img.convert("RGB")), ""
        except FileNotFoundError:
            error = f"{path}: image of row {i + 1} not found"
        except (UnidentifiedImageError, OSError, SyntaxError) as err:
            error = f"{path}: image of row {i + 1} cannot be decoded as JPEG/PNG ({err})"
        return torch.zeros(3, self.size, self.size), error


def raise_first_error(errors: list[str]) -> None:
    failed = [e for e in errors if e]
    if failed:
        more = f" (and {len(failed) - 1} more in this batch)" if len(failed) > 1 else ""
        raise DataError(failed[0] + more)
