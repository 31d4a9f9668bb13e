"""Packed binary codes of feature rows, streamed through a hash net block by block."""
from __future__ import annotations

import numpy as np
import torch

from sgrn.files.featurefile import BLOCK, Features
from sgrn.retrieval.codes import binarize, pack_codes
from sgrn.training.nets import encode


def packed_codes(net: torch.nn.Module, feats: Features, modality: str, idx: np.ndarray,
                 device: torch.device, block: int = BLOCK) -> np.ndarray:
    """uint8 (len(idx), bits / 8) codes of rows `idx` (ascending) of 'image' or 'text'."""
    out = [pack_codes(binarize(encode(net, torch.from_numpy(x).to(device)).cpu().numpy()))
           for x in feats.blocks(modality, idx, block)]
    if not out:
        return np.zeros((0, net.hash.out_features // 8), dtype=np.uint8)
    return np.concatenate(out)
