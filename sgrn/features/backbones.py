"""The image backbones extract can run, by the name used in ``extract.backbone``."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from torch import nn

from sgrn.features.images import IMAGENET_MEAN, IMAGENET_STD


@dataclass(frozen=True)
class Backbone:
    name: str
    dim: int
    feature: str                  # what the feature is, recorded in features.h5
    size: int                     # square input side
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    load: Callable[[str, int], tuple[nn.Module, dict[str, str]]]  # (weights, seed)


def _alexnet(weights: str, seed: int):
    from sgrn.features.alexnet import load_alexnet_fc7

    return load_alexnet_fc7(weights, seed)


def _lite0(weights: str, seed: int):
    from sgrn.features.efficientnet import load_efficientnet_lite0

    return load_efficientnet_lite0(weights, seed)


BACKBONES = {
    "alexnet": Backbone("alexnet", 4096, "AlexNet fc7 after ReLU", 224, IMAGENET_MEAN, IMAGENET_STD,
                        _alexnet),
    "efficientnet_lite0": Backbone("efficientnet_lite0", 1280,
                                   "EfficientNet-Lite0 head after ReLU6, global average pool",
                                   224, (127 / 255,) * 3, (128 / 255,) * 3, _lite0),
}


def get_backbone(name: str) -> Backbone:
    if name not in BACKBONES:
        raise ValueError(f"extract.backbone: unknown backbone {name!r} (known: {sorted(BACKBONES)})")
    return BACKBONES[name]
