"""AlexNet fc7 (after ReLU, 4096-d), the image feature of method.md section 2."""
from __future__ import annotations

import hashlib
from pathlib import Path

import torch
from torch import nn

from sgrn.data.errors import DataError

FC7_DIM = 4096


class AlexNetFC7(nn.Module):
    """AlexNet up to the second fully connected layer and its ReLU; dropout is inactive in eval."""

    def __init__(self, net: nn.Module):
        super().__init__()
        self.features = net.features
        self.avgpool = net.avgpool
        self.fc = net.classifier[:6]  # Dropout, fc6, ReLU, Dropout, fc7, ReLU

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.avgpool(self.features(x))
        return self.fc(torch.flatten(x, 1))


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def load_alexnet_fc7(weights: str, seed: int = 0) -> tuple[AlexNetFC7, dict[str, str]]:
    """Build the fc7 extractor. `weights`: 'imagenet', 'random' (seeded) or a state_dict file.

    Returns the model in eval mode and the identity of the weights, for the HDF5 attributes.
    """
    from torchvision.models import AlexNet_Weights, alexnet  # here: torchvision loads only to build the net

    if weights == "random":
        torch.manual_seed(seed)
        net = alexnet(weights=None)
        identity = {"weights": "random", "weights_seed": str(seed)}
    elif weights == "imagenet":
        try:
            net = alexnet(weights=AlexNet_Weights.IMAGENET1K_V1)
        except Exception as err:  # no network, no cache
            raise FileNotFoundError(
                "extract.weights: 'imagenet' needs torchvision's AlexNet weights "
                f"(alexnet-owt-7be5be79.pth under $TORCH_HOME/hub/checkpoints) and they could not be "
                f"loaded ({type(err).__name__}: {err}); put the file there or set extract.weights "
                "to its path") from None
        identity = {"weights": "imagenet", "weights_name": "AlexNet_Weights.IMAGENET1K_V1"}
    else:
        path = Path(weights)
        if not path.is_file():
            raise FileNotFoundError(f"extract.weights: '{weights}' is neither 'imagenet', 'random' "
                                    "nor an existing state_dict file")
        net = alexnet(weights=None)
        state = torch.load(path, map_location="cpu", weights_only=True)
        try:
            net.load_state_dict(state)
        except RuntimeError as err:
            raise DataError(f"{path}: not an AlexNet state_dict in torchvision's layout: {err}") from None
        identity = {"weights": "file", "weights_path": str(path), "weights_sha256": _sha256(path)}
    model = AlexNetFC7(net).eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model, identity
