"""DJSRH (Su et al., ICCV 2019) on the shared pipeline (method.md section 9, first bullet).

Cosine graphs (section 3), joint graph (section 5), S = mu S_J, L_inter only (section 7).
Written on its own, not as SGRN with switches, so that the reduction of SGRN to DJSRH is a
test and not a tautology.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from sgrn.graphs import joint_graph, signed
from sgrn.methods.base import Method
from sgrn.methods.losses import code_similarity


class DJSRH(Method):
    """DJSRH's target S = mu S_J and its loss for one batch."""

    name = "djsrh"

    @torch.no_grad()
    def targets(self, f_img: Tensor, f_txt: Tensor) -> dict[str, Tensor]:
        """S = mu S_J, and the intra-modal graphs S_I, S_T it is built from, (m, m)."""
        p = self.params
        s_img, s_txt = map(signed, self.cosine_graphs(f_img, f_txt))
        s = p["mu"] * joint_graph(s_img, s_txt, p["beta"], p["eta"])
        return {"S": s, "S_img": s_img, "S_txt": s_txt}

    def loss(
        self, h_img: Tensor, h_txt: Tensor, targets: dict[str, Tensor]
    ) -> tuple[Tensor, dict[str, Tensor]]:
        """MSE of the three code similarities against S, on tanh outputs (m, c)."""
        p, s = self.params, targets["S"]
        sim_it = code_similarity(h_img, h_txt)
        sim_ii = code_similarity(h_img, h_img)
        sim_tt = code_similarity(h_txt, h_txt)
        total = (
            F.mse_loss(sim_it, s)
            + p["lambda1"] * F.mse_loss(sim_ii, s)
            + p["lambda2"] * F.mse_loss(sim_tt, s)
        )
        return total, {"inter": total.detach()}


METHOD = DJSRH
