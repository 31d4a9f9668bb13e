"""SGRN: cosine graphs -> LRGR -> joint graph -> GRGR -> L_inter + xi L_intra (method.md 3-7)."""

from __future__ import annotations

import torch
from torch import Tensor

from sgrn.graphs import cosine_graph, enhanced_weight, joint_graph, rebase, signed
from sgrn.methods.spec import TABLES, check_standardised, resolve_method_params
from sgrn.methods.losses import inter_loss, intra_loss

PARAMS = TABLES["sgrn"]  # the hyper-parameters, with ranges: sgrn/methods/spec.py


class SGRN:
    """SGRN's targets and loss for one batch.

    ``batch_size`` is the number of rows each graph will have (the training batch, or n for
    a global graph); when given, k must be smaller than it (checked only when the kNN mask
    or the gate, the two users of k, is on). ``standardised`` = (image, text): whether each
    modality's features were z-scored, so that its cosine graph is (1 + cos) / 2 (section 3).
    """

    name = "sgrn"

    def __init__(
        self,
        batch_size: int | None = None,
        *,
        standardised: tuple[bool, bool] = (False, False),
        **params: object,
    ) -> None:
        self.params = resolve_method_params(self.name, params, batch_size)
        self.standardised = check_standardised(self.name, standardised)

    def __repr__(self) -> str:
        args = [f"{k}={v!r}" for k, v in self.params.items()]
        return f"SGRN({', '.join(args)}, standardised={self.standardised!r})"

    @torch.no_grad()
    def targets(self, f_img: Tensor, f_txt: Tensor) -> dict[str, Tensor]:
        """S (section 6) and the rebased intra-modal graphs S'_I, S'_T (section 4), (m, m)."""
        p = self.params

        def local_graph(f: Tensor, standardised: bool) -> Tensor:
            c = cosine_graph(f.detach().float(), standardised=standardised)
            return signed(rebase(c, p["k"], p["gamma"], p["omega"], p["knn"], p["gate"]))

        std_img, std_txt = self.standardised
        s_img, s_txt = local_graph(f_img, std_img), local_graph(f_txt, std_txt)
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
