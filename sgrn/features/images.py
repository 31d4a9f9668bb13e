"""Decoding and resizing images in DataLoader workers, with errors that name the file.

JPEGs are decoded at a reduced DCT scale when they are at least twice the input size
(PIL's ``draft``): the result is the same resize of the same picture, several times faster.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError
from torch.utils.data import Dataset
from torchvision import transforms

from sgrn.data.errors import DataError

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def imagenet_transform(size: int = 224, mean=IMAGENET_MEAN, std=IMAGENET_STD) -> transforms.Compose:
    """Short side to ``size``, centre crop, scaled to [0, 1] and normalised."""
    return transforms.Compose([
        transforms.Resize(size),
        transforms.CenterCrop(size),
        transforms.ToTensor(),
        transforms.Normalize(mean, std),
    ])


def worker_init(_worker_id: int) -> None:
    """One torch thread per decoding worker: the main process's forward pass owns the cores."""
    torch.set_num_threads(1)


class ImageFiles(Dataset):
    """Images given by paths relative to `root`, in row order.

    Items are (tensor, error): a file that cannot be read yields a blank tensor and the
    message, so that the main process raises one clean DataError instead of a worker's
    wrapped traceback (see `raise_first_error`).
    """

    def __init__(self, root: str | Path, paths: list[str], size: int = 224,
                 mean=IMAGENET_MEAN, std=IMAGENET_STD):
        self.root = Path(root)
        self.paths = paths
        self.size = size
        self.transform = imagenet_transform(size, mean, std)

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, str]:
        path = self.root / self.paths[i]
        try:
            with Image.open(path) as img:
                img.draft("RGB", (self.size, self.size))
                img.load()
                return self.transform(img.convert("RGB")), ""
        except FileNotFoundError:
            error = f"{path}: image of row {i + 1} not found"
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as err:
            error = f"{path}: image of row {i + 1} cannot be decoded as JPEG/PNG ({err})"
        return torch.zeros(3, self.size, self.size), error


def check_image(path: Path, size: int = 224) -> str:
    """'' when ``path`` decodes (at a reduced scale, quickly), else why not."""
    try:
        with Image.open(path) as img:
            img.draft("RGB", (max(1, size // 8), max(1, size // 8)))
            img.load()
        return ""
    except FileNotFoundError:
        return "not found"
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as err:
        return f"cannot be decoded ({err})"


class ArrayImages(Dataset):
    """Images stored as pixel arrays in .mat files (DCMH's IAll), read one by one."""

    def __init__(self, parts: list[dict], rows: np.ndarray, size: int = 224,
                 mean=IMAGENET_MEAN, std=IMAGENET_STD):
        self.parts = parts
        self.rows = np.asarray(rows, dtype=np.int64)
        self.offsets = np.cumsum([0] + [p["items"] for p in parts])
        self.size = size
        self.transform = imagenet_transform(size, mean, std)
        self._handles: dict[str, object] = {}

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, str]:
        import h5py

        from sgrn.data.matfile import pixel_item

        row = int(self.rows[i])
        k = int(np.searchsorted(self.offsets, row, side="right") - 1)
        part = self.parts[k]
        try:
            handle = None
            if part["version"] == "v7.3":
                handle = self._handles.get(part["file"])
                if handle is None:  # opened in the worker that uses it
                    handle = self._handles[part["file"]] = h5py.File(part["file"], "r")
            pixels = pixel_item(part, row - int(self.offsets[k]), handle)
            if pixels.dtype != np.uint8:
                return torch.zeros(3, self.size, self.size), (
                    f"{part['file']} key '{part['key']}': item {row + 1}: expected uint8 pixels, "
                    f"got {pixels.dtype}")
            return self.transform(Image.fromarray(pixels, "RGB")), ""
        except (OSError, ValueError, KeyError) as err:
            return torch.zeros(3, self.size, self.size), (
                f"{part['file']} key '{part['key']}': item {row + 1} cannot be read ({err})")


def raise_first_error(errors: list[str]) -> None:
    failed = [e for e in errors if e]
    if failed:
        more = f" (and {len(failed) - 1} more in this batch)" if len(failed) > 1 else ""
        raise DataError(failed[0] + more)
