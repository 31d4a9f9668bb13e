"""SGRN: cosine graphs -> LRGR -> joint graph -> GRGR -> L_inter + xi L_intra (method.md 3-7)."""

from __future__ import annotations

import torch
from torch import Tensor

from sgrn.graphs import enhanced_weight, joint_graph, rebase, signed
from sgrn.methods.base import Method
from sgrn.methods.spec import TABLES
from sgrn.methods.losses import inter_loss, intra_loss

PARAMS = TABLES["sgrn"]  # the hyper-parameters, with ranges: sgrn/methods/spec.py


class SGRN(Method):
    """SGRN's targets and loss for one batch.

    When ``batch_size`` is given, k must be smaller than it (checked only when the kNN mask
    or the gate, the two users of k, is on).
    """

    name = "sgrn"

    @torch.no_grad()
    def targets(self, f_img: Tensor, f_txt: Tensor) -> dict[str, Tensor]:
        """S (section 6) and the rebased intra-modal graphs S'_I, S'_T (section 4), (m, m)."""
        p = self.params

        def local_graph(c: Tensor) -> Tensor:
            return signed(rebase(c, p["k"], p["gamma"], p["omega"], p["knn"], p["gate"]))

        c_img, c_txt = self.cosine_graphs(f_img, f_txt)
        s_img, s_txt = local_graph(c_img), local_graph(c_txt)
        s_joint = joint_graph(s_img, s_txt, p["beta"], p["eta"])
        w = enhanced_weight(s_img, s_txt, p["kappa"], p["epsilon"])
        return {"S": p["mu"] * (w * s_joint), "S_img": s_img, "S_txt": s_txt}

    def loss(
        self, h_img: Tensor, h_txt: Tensor, targets: dict[str, Tensor]
    ) -> tuple[Tensor, dict[str, float]]:
        """L = L_inter + xi L_intra (section 7) on tanh outputs (m, c); terms as floats."""
        p = self.params
        inter = inter_loss(h_img, h_txt, targets["S"], p["lambda1"], p["lambda2"])
        # With xi = 0 the intra term is only logged: keep it out of the autograd graph.
        with torch.set_grad_enabled(torch.is_grad_enabled() and p["xi"] != 0):
            intra = intra_loss(h_img, h_txt, targets["S_img"], targets["S_txt"], p["mu"])
        total = inter + p["xi"] * intra if p["xi"] != 0 else inter
        return total, {"inter": inter.detach(), "intra": intra.detach()}
