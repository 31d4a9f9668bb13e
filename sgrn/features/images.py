"""Decoding and resizing images in DataLoader workers, with errors that name the file.

Workers hand over uint8 (size, size, 3) crops: the centre square resized to ``size``
(torchvision's Resize + CenterCrop in one antialiased resize), a quarter of the bytes of
float tensors. The main process turns a batch into the normalised float input with
`to_model_input`; its NHWC layout becomes a channels-last NCHW tensor without a copy.
Decoding is PIL's (libjpeg-turbo, libpng), JPEGs at least twice the input size at a reduced
DCT scale (``draft``), several times faster. Neither step imports torchvision (a second and a
half of start-up, which a one-image `sgrn search --image` would wait for): PIL decodes a JPEG to
the same pixels as torchvision's decoder, and `resize_square` is torchvision's uint8 resize,
both checked on real images by tests/test_backbones.py.
"""
from __future__ import annotations

import io
import platform
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, UnidentifiedImageError
from torch.utils.data import Dataset

from sgrn.data.errors import DataError

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def worker_init(_worker_id: int) -> None:
    """One torch thread per decoding worker: the main process's forward pass owns the cores."""
    torch.set_num_threads(1)


def native_uint8_resize() -> bool:
    """Whether torch resizes uint8 images itself (bilinear, antialiased): the CPUs where
    torchvision's resize hands it uint8 (AVX2, AVX512, ARM); elsewhere through float32."""
    return torch.backends.cpu.get_cpu_capability() in ("AVX2", "AVX512") or platform.machine() in ("aarch64", "arm64")


def resize_square(square: torch.Tensor, size: int) -> torch.Tensor:
    """A (3, s, s) uint8 image resized to (3, size, size), antialiased bilinear: the pixels of
    torchvision's ``transforms.v2.functional.resize(square, [size, size], antialias=True)``,
    which calls the same torch kernel, without importing torchvision."""
    batch = square.unsqueeze(0)
    if native_uint8_resize():
        return F.interpolate(batch, size=[size, size], mode="bilinear", align_corners=False, antialias=True)[0]
    out = F.interpolate(batch.float(), size=[size, size], mode="bilinear", align_corners=False, antialias=True)
    return out.round_().to(torch.uint8)[0]


def centre_square(chw: torch.Tensor, size: int) -> torch.Tensor:
    """The centre square of a (3, h, w) uint8 image resized (antialiased bilinear) to
    (size, size), returned as an (size, size, 3) view."""
    h, w = chw.shape[1:]
    s = min(h, w)
    top, left = (h - s) // 2, (w - s) // 2
    square = chw[:, top:top + s, left:left + s]
    if s != size:
        square = resize_square(square, size)
    return square.permute(1, 2, 0)


def decode_rgb(path: Path, size: int) -> torch.Tensor:
    """An image file as a (3, h, w) uint8 tensor, decoded by PIL; JPEGs with a short side of at
    least twice ``size`` at a reduced DCT scale."""
    data = path.read_bytes()
    with Image.open(io.BytesIO(data)) as img:  # refuses non-images
        if img.format == "JPEG" and min(img.size) >= 2 * size:
            img.draft("RGB", (size, size))
        return torch.from_numpy(np.array(img.convert("RGB"), dtype=np.uint8)).permute(2, 0, 1)


class Preprocess:
    """Size and normalisation of a backbone's input; `to_model_input` maps uint8 batches."""

    def __init__(self, size: int = 224, mean=IMAGENET_MEAN, std=IMAGENET_STD):
        self.size = size
        self.mean = tuple(mean)
        self.std = tuple(std)

    def blank(self) -> torch.Tensor:
        return torch.zeros(self.size, self.size, 3, dtype=torch.uint8)

    def to_model_input(self, batch: torch.Tensor) -> torch.Tensor:
        """(B, H, W, 3) uint8 -> (B, 3, H, W) float32, channels-last, normalised."""
        std = torch.tensor(self.std, dtype=torch.float32, device=batch.device)
        mean = torch.tensor(self.mean, dtype=torch.float32, device=batch.device)
        x = torch.empty(batch.shape, dtype=torch.float32, device=batch.device)
        x.copy_(batch)
        x.mul_(1 / (255 * std)).sub_(mean / std)  # per channel, the last axis of NHWC
        return x.permute(0, 3, 1, 2)  # NCHW view in channels-last memory order


class ImageFiles(Dataset, Preprocess):
    """Images given by paths relative to `root`, in row order.

    Items are (uint8 tensor, error): a file that cannot be read yields a blank image and the
    message, so that the main process raises one clean DataError instead of a worker's
    wrapped traceback (see `raise_first_error`).
    """

    def __init__(self, root: str | Path, paths: list[str], size: int = 224,
                 mean=IMAGENET_MEAN, std=IMAGENET_STD):
        Preprocess.__init__(self, size, mean, std)
        self.root = Path(root)
        self.paths = paths

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, str]:
        path = self.root / self.paths[i]
        try:
            return centre_square(decode_rgb(path, self.size), self.size), ""
        except FileNotFoundError:
            error = f"{path}: image of row {i + 1} not found"
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError, RuntimeError) as err:
            error = f"{path}: image of row {i + 1} cannot be decoded as JPEG/PNG ({err})"
        return self.blank(), error


class ArrayImages(Dataset, Preprocess):
    """Images stored as pixel arrays in .mat files (DCMH's IAll), read one by one."""

    def __init__(self, parts: list[dict], rows: np.ndarray, size: int = 224,
                 mean=IMAGENET_MEAN, std=IMAGENET_STD):
        Preprocess.__init__(self, size, mean, std)
        self.parts = parts
        self.rows = np.asarray(rows, dtype=np.int64)
        self.offsets = np.cumsum([0] + [p["items"] for p in parts])
        self._handles: dict[str, object] = {}

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, str]:
        import h5py

        from sgrn.data.matfile import pixel_item

        row = int(self.rows[i])
        k = int(np.searchsorted(self.offsets, row, side="right") - 1)
        part = self.parts[k]
        where = f"{part['file']} key '{part['key']}': item {row - int(self.offsets[k]) + 1}"
        try:
            handle = None
            if part["version"] == "v7.3":
                handle = self._handles.get(part["file"])
                if handle is None:  # opened in the worker that uses it
                    handle = self._handles[part["file"]] = h5py.File(part["file"], "r")
            pixels = pixel_item(part, row - int(self.offsets[k]), handle)
        except (OSError, ValueError, KeyError, IndexError) as err:
            return self.blank(), f"{where} cannot be read ({err})"
        if pixels.dtype != np.uint8 or pixels.ndim != 3 or pixels.shape[2] != 3:
            return self.blank(), (f"{where}: expected uint8 pixels of shape (height, width, 3), "
                                  f"got {pixels.dtype} {pixels.shape}")
        return centre_square(torch.from_numpy(pixels).permute(2, 0, 1), self.size), ""


def raise_first_error(errors: list[str]) -> None:
    failed = [e for e in errors if e]
    if failed:
        more = f" (and {len(failed) - 1} more in this batch)" if len(failed) > 1 else ""
        raise DataError(failed[0] + more)
