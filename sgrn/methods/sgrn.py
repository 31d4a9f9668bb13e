"""SGRN: cosine graphs -> LRGR -> joint graph -> GRGR -> L_inter + xi L_intra (method.md 3-7)."""

from __future__ import annotations

import torch
from torch import Tensor

from sgrn.graphs import cosine_graph, enhanced_weight, joint_graph, rebase, signed
from sgrn.methods._params import Param, check_batch_size, resolve
from sgrn.methods.losses import inter_loss, intra_loss

PARAMS = {
    "knn": Param(True),  # LRGR kNN mask on/off (section 4)
    "k": Param(10, low=1),  # neighbours per row, self included; < batch size
    "gate": Param(True),  # LRGR sigmoid gate on/off
    "gamma": Param(10.0, low=0, low_open=True),  # gate steepness
    "omega": Param(0.5, low=0, high=1),  # weight of the association graph Q
    "beta": Param(0.9, low=0, high=1),  # image weight in the joint graph (section 5)
    "eta": Param(0.4, low=0, high=1),  # weight of the second-order term S~ S~^T / m
    "mu": Param(1.5, low=0, low_open=True),  # scale of the targets (sections 6, 7)
    "epsilon": Param(0.3, low=0, high=1),  # GRGR enhanced-weight strength, 0 = off
    "kappa": Param(5.0, low=0, low_open=True),  # GRGR agreement sharpness
    "lambda1": Param(0.1, low=0),  # image-image term of L_inter
    "lambda2": Param(0.1, low=0),  # text-text term of L_inter
    "xi": Param(0.1, low=0),  # weight of L_intra, 0 = off
    "standardise": Param(False),  # features were z-scored: C = (1 + cos) / 2 (section 3)
}


class SGRN:
    """SGRN's targets and loss for one batch.

    ``batch_size`` is the number of rows each graph will have (the training batch, or n for
    a global graph); when given, k must be smaller than it (checked only when the kNN mask
    or the gate, the two users of k, is on).
    """

    name = "sgrn"

    def __init__(self, batch_size: int | None = None, **params: object) -> None:
        check_batch_size(self.name, batch_size)
        p = resolve(self.name, PARAMS, params)
        if (p["knn"] or p["gate"]) and batch_size is not None and p["k"] >= batch_size:
            raise ValueError(
                f"{self.name}: k={p['k']} must be smaller than the batch size {batch_size} "
                "(k counts neighbours within a batch, self included)"
            )
        self.params = p

    def __repr__(self) -> str:
        return f"SGRN({', '.join(f'{k}={v!r}' for k, v in self.params.items())})"

    @torch.no_grad()
    def targets(self, f_img: Tensor, f_txt: Tensor) -> dict[str, Tensor]:
        """S (section 6) and the rebased intra-modal graphs S'_I, S'_T (section 4), (m, m)."""
        p = self.params

        def local_graph(f: Tensor) -> Tensor:
            c = cosine_graph(f.detach().float(), standardised=p["standardise"])
            return signed(rebase(c, p["k"], p["gamma"], p["omega"], p["knn"], p["gate"]))

        s_img, s_txt = local_graph(f_img), local_graph(f_txt)
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
        return total, {"inter": inter.item(), "intra": intra.item()}
