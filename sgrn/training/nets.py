"""Hash networks of method.md section 2: tanh(alpha * z) heads on image and text features."""
from __future__ import annotations

import math

import torch
from torch import nn


class ImageHashNet(nn.Module):
    """Linear(d_image, bits) on frozen image features (DJSRH's hash layer)."""

    def __init__(self, d_in: int, bits: int):
        super().__init__()
        self.hash = nn.Linear(d_in, bits)

    def forward(self, x: torch.Tensor, alpha: float = 1.0) -> torch.Tensor:
        return torch.tanh(alpha * self.hash(x))


class TextHashNet(nn.Module):
    """Linear(d_text, hidden) -> ReLU -> Linear(hidden, bits) (DJSRH's text net).

    hidden = 0: a single Linear(d_text, bits), for the affine maps of closed-form methods.
    """

    def __init__(self, d_in: int, bits: int, hidden: int = 4096):
        super().__init__()
        if hidden == 0:
            self.body, self.hash = nn.Identity(), nn.Linear(d_in, bits)
        else:
            self.body = nn.Sequential(nn.Linear(d_in, hidden), nn.ReLU(inplace=True))
            self.hash = nn.Linear(hidden, bits)

    def forward(self, x: torch.Tensor, alpha: float = 1.0) -> torch.Tensor:
        return torch.tanh(alpha * self.hash(self.body(x)))


def alpha_at(schedule: str, epoch: int) -> float:
    """DJSRH's continuation: alpha = sqrt(epoch + 1); 'one' switches it off."""
    if schedule == "sqrt_epoch":
        return math.sqrt(epoch + 1)
    if schedule == "one":
        return 1.0
    raise ValueError(f"train.alpha: unknown schedule '{schedule}' (allowed: sqrt_epoch, one)")


@torch.inference_mode()
def encode(net: nn.Module, x: torch.Tensor, batch_size: int = 4096) -> torch.Tensor:
    """Real-valued codes of `x` in batches; the sign is taken by the caller."""
    net.eval()
    out = [net(x[i:i + batch_size]) for i in range(0, len(x), batch_size)]
    return torch.cat(out) if out else x.new_zeros((0, net.hash.out_features))
