"""SGRN: cosine graphs -> LRGR -> joint graph -> GRGR -> L_inter + xi L_intra (method.md 3-7)."""

from __future__ import annotations

import torch
from torch import Tensor

from sgrn.graphs import (
    agreed_weight,
    concat_graph,
    enhanced_weight,
    joint_graph,
    knn_mask,
    overlap_graph,
    rebase,
    signed,
)
from sgrn.methods.base import Method
from sgrn.methods.losses import block_inter_loss, half_binary_loss, inter_loss, intra_loss, paired_similarity


class SGRN(Method):
    """SGRN's targets and loss for one batch.

    When ``batch_size`` is given, k must be smaller than it (checked only when the kNN mask
    or the gate, the two users of k, is on).
    """

    name = "sgrn"

    @torch.no_grad()
    def targets(self, f_img: Tensor, f_txt: Tensor) -> dict[str, Tensor]:
        """S (section 6; with grgr off, mu S_J of section 5), the rebased intra-modal graphs
        S'_I, S'_T (section 4) and, for the `local` form of L_intra, their kNN masks N_I, N_T;
        all (m, m)."""
        p = self.params

        def local_graph(c: Tensor) -> Tensor:
            return rebase(c, p["k"], p["gamma"], p["omega"], p["knn"], p["gate"], p["rebase_form"])

        c_img, c_txt = self.cosine_graphs(f_img, f_txt)
        r_img, r_txt = local_graph(c_img), local_graph(c_txt)
        s_img, s_txt = signed(r_img), signed(r_txt)
        # grgr off zeroes GRGR's two strengths, whatever its form: no cross term, W = 1 exactly
        cross, epsilon = (p["cross"], p["epsilon"]) if p["grgr"] else (0.0, 0.0)
        form = p["grgr_form"]
        s_cross = overlap_graph(r_img, r_txt) if form == "overlap" and cross != 0 else None
        s_joint = joint_graph(s_img, s_txt, p["beta"], p["eta"], cross, s_cross)
        w = (agreed_weight if form == "agreed" else enhanced_weight)(s_img, s_txt, p["kappa"], epsilon)
        out = {"S": p["mu"] * (w * s_joint), "S_img": s_img, "S_txt": s_txt}
        if "local" in p["intra_form"].split("+"):
            out.update(N_img=knn_mask(c_img, p["k"]), N_txt=knn_mask(c_txt, p["k"]))
        return out

    def loss(
        self, h_img: Tensor, h_txt: Tensor, targets: dict[str, Tensor]
    ) -> tuple[Tensor, dict[str, Tensor]]:
        """L = L_inter + xi L_intra + zeta L_hash-real - pair mean(diag(H^_I H^_T^T)) (section 7)
        on tanh outputs (m, c); under GRGR's concatenated reading (section 6) L_inter is over the
        (2m, 2m) joint target [[mu S'_I, S], [S^T, mu S'_T]].

        A term whose weight is 0 is only logged, outside the autograd graph; the terms are
        returned detached.
        """
        p = self.params
        if p["grgr"] and p["grgr_form"] == "concat":
            mu = p["mu"]  # the diagonal blocks scaled as the cross-modal target S is
            s_block = concat_graph(mu * targets["S_img"], targets["S"], mu * targets["S_txt"])
            inter = block_inter_loss(h_img, h_txt, s_block, p["lambda1"], p["lambda2"])
        else:
            inter = inter_loss(h_img, h_txt, targets["S"], p["lambda1"], p["lambda2"])
        grad = torch.is_grad_enabled()
        with torch.set_grad_enabled(grad and p["xi"] != 0):
            intra = intra_loss(p["intra_form"], h_img, h_txt,
                               {"S": targets["S_img"], "N": targets.get("N_img")},
                               {"S": targets["S_txt"], "N": targets.get("N_txt")}, p["mu"])
        total = inter + p["xi"] * intra if p["xi"] != 0 else inter
        terms = {"inter": inter.detach(), "intra": intra.detach()}
        if p["zeta"] != 0:
            hash_real = half_binary_loss(h_img, h_txt, targets["S"])
            total = total + p["zeta"] * hash_real
            terms["hash_real"] = hash_real.detach()
        if p["pair"] != 0:
            pair = paired_similarity(h_img, h_txt)
            total = total - p["pair"] * pair
            terms["pair"] = pair.detach()
        return total, terms


METHOD = SGRN
