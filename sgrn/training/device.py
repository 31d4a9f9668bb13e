"""Which torch device a step runs on, checked before any work is done."""
from __future__ import annotations

import torch

from sgrn.settings.paramfile import ParamsError


class DeviceError(ParamsError):
    """A device or device option this machine cannot honour; the message names the key."""


def pick_device(name: str, key: str = "train.device") -> torch.device:
    """auto = the first CUDA device when there is one, else the CPU; `cuda[:N]` must exist."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise DeviceError(f"{key}: '{name}' but this machine has no CUDA device "
                              "(use auto or cpu)")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise DeviceError(f"{key}: '{name}' but this machine has {torch.cuda.device_count()} "
                              "CUDA device(s)")
    return device


def use_cuda_graphs(option: str | bool, device: torch.device, key: str = "train.cuda_graphs") -> bool:
    """auto = on for CUDA, off elsewhere; true on a device that is not CUDA is refused."""
    if option == "auto":
        return device.type == "cuda"
    if option is True and device.type != "cuda":
        raise DeviceError(f"{key}: true, but training runs on {device} (CUDA graphs need a CUDA "
                          "device; use auto or false)")
    if option not in (True, False):
        raise DeviceError(f"{key}: {option!r}: expected auto, true or false")
    return bool(option)
