"""The text hash net in numpy (ours, for speed): its weights kept in codes.h5 beside the codes it
made, and its forward pass, so that a tag query (``sgrn search --tags``, the page) needs
neither torch nor model.pt.

encode writes the group ``text_net``: datasets ``weight0, bias0, weight1, bias1, ...`` of the
net's Linear layers in order, float32 as trained. The forward pass is that of
sgrn.training.nets.TextHashNet at alpha 1 (what encoding uses): ReLU between the layers, tanh at the
end; tests/test_textnet.py checks it against the torch net.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

GROUP = "text_net"


@dataclass(frozen=True)
class TextNet:
    """Linear layers (weight (out, in), bias (out,)) applied in order; ReLU between, tanh last."""

    weights: tuple[np.ndarray, ...]
    biases: tuple[np.ndarray, ...]

    @property
    def d_in(self) -> int:
        return int(self.weights[0].shape[1])

    @property
    def bits(self) -> int:
        return int(self.weights[-1].shape[0])

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Real-valued codes (n, bits) of float32 feature rows (n, d_in)."""
        h = np.asarray(x, dtype=np.float32)
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            h = h @ w.T + b
            if i < len(self.weights) - 1:
                np.maximum(h, 0, out=h)
        return np.tanh(h)


def write_text_net(f, net) -> None:
    """Keep the Linear layers of a TextHashNet (torch) in the open h5py file ``f``."""
    from torch import nn

    body = list(net.body.modules())
    if any(not isinstance(m, (nn.Linear, nn.ReLU, nn.Sequential, nn.Identity)) for m in body):
        raise TypeError("write_text_net: the text net's body holds layers other than Linear and ReLU: "
                        "its numpy forward would differ")
    layers = [m for m in body if isinstance(m, nn.Linear)] + [net.hash]
    group = f.create_group(GROUP)
    for i, layer in enumerate(layers):
        group.create_dataset(f"weight{i}", data=layer.weight.detach().cpu().numpy().astype(np.float32))
        group.create_dataset(f"bias{i}", data=layer.bias.detach().cpu().numpy().astype(np.float32))


def read_text_net(f) -> TextNet | None:
    """The text net kept in an open codes.h5, None when the file has none (written before)."""
    if GROUP not in f:
        return None
    group = f[GROUP]
    n = sum(1 for name in group if name.startswith("weight"))
    weights = tuple(group[f"weight{i}"][()] for i in range(n))
    biases = tuple(group[f"bias{i}"][()] for i in range(n))
    for i in range(n):
        if weights[i].ndim != 2 or biases[i].shape != (weights[i].shape[0],) or (
                i and weights[i].shape[1] != weights[i - 1].shape[0]):
            raise ValueError(f"{f.filename}: {GROUP}/weight{i} {weights[i].shape} and bias{i} "
                             f"{biases[i].shape} do not chain into a net")
    return TextNet(weights, biases) if n else None
