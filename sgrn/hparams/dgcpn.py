"""DGCPN's hyper-parameters (AAAI 2021, docs/method.md section 9); defaults are DGCPN's."""

from __future__ import annotations

import math

from sgrn.hparams import Param

# DGCPN (AAAI 2021), method.md section 9; defaults are DGCPN's
TABLE: dict[str, Param] = {
    "global_graph": Param(True),
    # learning rate of both hash nets (DGCPN: SGD, lr 0.005), instead of train.lr_image / lr_text
    "lr": Param(0.005, low=0, high=1, low_open=True),
    # edges kept per row of S_pair, as a fraction of the m rows: k = neighbour_count(k_fraction,
    # m), at least 1, self included (DGCPN: 2,000 of 5,000); 1 keeps every edge
    "k_fraction": Param(0.4, low=0, high=1, low_open=True),
    "a1": Param(0.01, low=0, high=1),  # text weight in S_pair = a1 C_T + (1 - a1) C_I
    "a2": Param(0.3, low=0, high=1),  # weight of the neighbour coherence in S
    "mu": Param(1.5, low=0, low_open=True),  # scale of the target S (as DJSRH's mu)
    "gamma_c": Param(0.1, low=0),  # weight of the consistency terms, 0 = off [ours]
    "half_binary": Param(0.5, low=0),  # weight of the half-binary terms, 0 = off [ours]
}


def neighbour_count(k_fraction: float, m: int) -> int:
    """DGCPN's k for a graph of ``m`` rows: k_fraction * m rounded half up, within [1, m]."""
    return min(m, max(1, math.floor(k_fraction * m + 0.5)))
