"""The two files training writes, read back by train, encode and search: nothing else
touches their formats.

* the checkpoint (model.pt): format "sgrn-checkpoint-1", the best model and how it was made;
* the training state (train_state.pt): everything needed to resume an interrupted run,
  tagged with the identity (params hash) of the run it belongs to.
"""
from __future__ import annotations

import logging
from pathlib import Path

import torch

from sgrn.data.errors import DataError
from sgrn.files.atomic import atomic_path
from sgrn.training.nets import ImageHashNet, TextHashNet

log = logging.getLogger(__name__)

CHECKPOINT_FORMAT = "sgrn-checkpoint-1"


class CheckpointError(DataError):
    """A model file that is unreadable, of another format, or of another run."""


def save_checkpoint(checkpoint: dict, path: str | Path) -> None:
    with atomic_path(path) as tmp:
        torch.save(checkpoint, tmp)


def read_checkpoint(path: str | Path, expect: dict | None = None) -> dict:
    """The checkpoint at `path`, its format checked and each field of `expect` matched."""
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as err:  # a truncated or foreign file
        raise CheckpointError(f"{path}: not a readable checkpoint ({type(err).__name__}: {err})") from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{path}: field 'format': expected {CHECKPOINT_FORMAT!r}")
    for field, expected in (expect or {}).items():
        if ckpt.get(field) != expected:
            raise CheckpointError(f"{path}: field '{field}' is {ckpt.get(field)!r}, expected "
                                  f"{expected!r} (a checkpoint of another run)")
    return ckpt


def load_nets(checkpoint: dict, device: torch.device) -> tuple[ImageHashNet, TextHashNet]:
    """The checkpoint's two hash nets, in eval mode on `device`."""
    dims, bits = checkpoint["dims"], checkpoint["bits"]
    img_net = ImageHashNet(dims["image"], bits)
    txt_net = TextHashNet(dims["text"], bits, hidden=checkpoint["train"]["text_hidden"])
    img_net.load_state_dict(checkpoint["model"]["image"])
    txt_net.load_state_dict(checkpoint["model"]["text"])
    return img_net.to(device).eval(), txt_net.to(device).eval()


def load_train_state(path: Path, identity: str) -> dict | None:
    """The saved training state at `path` if it belongs to this exact run, else None."""
    if not path.is_file():
        return None
    try:
        saved = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as err:  # a state file cut short by a crash: start again
        log.warning("%s: unreadable training state (%s); starting from scratch", path, err)
        return None
    if not isinstance(saved, dict) or saved.get("identity") != identity:
        log.warning("%s: training state of other params or features; starting from scratch", path)
        return None
    return saved["state"]


def save_train_state(path: Path, identity: str, state: dict) -> None:
    save_checkpoint({"identity": identity, "state": state}, path)
