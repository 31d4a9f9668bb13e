"""SRCH (Wang et al., IJCAI 2020) on the shared pipeline (method.md section 9, SRCH).

"Set and Rebase": a sparse graph is *set* from each modality's feature neighbourhoods and
kept fixed; it is *rebased* on the current codes, in alternation with the training of the
hash nets; hash auto-encoders tie the codes to the features. Two forms (`form`):

edges [the statement's, read second-hand: method.md says which parts are ours]
    E_X the kNN edge set of modality X (fixed), a_X its degrees,
    C_X(i, j) = mean(a_X) / sqrt(a_X(i) a_X(j)) on E_X;
    Z = (H_I + H_T) / 2 the shared code [ours], d_ij = |z_i - z_j|^2 / c;
    rebase   S_ij = lam / (lam + d_ij), the minimiser of the two terms below over S (codes fixed)
    loss     sum_X sum_E_X C_X S^2 d  [+ lam sum_X sum_E_X C_X (S - 1)^2, the sparsity prior]
             + gamma 1/2 mean (Z - B)^2 + autoencoder [sum_X mean (H_X - B)^2 + reconstruction]
             + beta |Z^T Z / m - I|^2 / c, B = sign(Z) detached (BB^T = nI as a penalty [ours])
dense [ours, the former reconstruction]
    set      A0 = (N_I + N_T) / 2, N_X the symmetric kNN mask of C_X (k, self included)
    rebase   A  = (1 - rho) A0 + rho N_B, N_B the kNN mask of the codes' cosine graph,
             B = sign(H_I + H_T) of the batch, detached
    loss     MSE(H^_I H^_T^T, mu A) + intra [MSE(H^_I H^_I^T, mu A) + MSE(H^_T H^_T^T, mu A)]
             + gamma mean (|H| - 1)^2 + delta reconstruction

The reconstruction decodes each modality's unit-length features with a linear decoder
(`SRCHDecoders`, a module the trainer optimises): from the shared code Z (`decode_from:
shared`, the statement's X ~ W^T B with Z for B so that it shapes the codes) or from either
modality's codes (`each`, ours).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from sgrn.graphs import EPS, knn_mask
from sgrn.methods.base import Method
from sgrn.methods.losses import binary_codes, code_similarity

# --------------------------------------------------------------------------- form "edges"


def edge_set(c: Tensor, k: int) -> Tensor:
    """E in {0, 1}: the symmetric kNN mask of a cosine graph (k neighbours, self included),
    its diagonal 0: the edges between two different items."""
    e = knn_mask(c, k).clone()
    e.fill_diagonal_(0.0)
    return e


def degree_weights(e: Tensor) -> Tensor:
    """C(i, j) = mean(a) / sqrt(a_i a_j) on the edges of ``e`` (0 elsewhere), a = e's degrees."""
    a = e.sum(dim=1)
    inv = torch.where(a > 0, a.clamp_min(EPS).rsqrt(), torch.zeros_like(a))
    return e * a.mean() * inv[:, None] * inv[None, :]


def code_distances(z: Tensor) -> Tensor:
    """d_ij = |z_i - z_j|^2 / c: squared distances per bit of the rows of ``z`` (m, c)."""
    sq = (z * z).sum(dim=1)
    d = sq[:, None] + sq[None, :] - 2 * (z @ z.T)
    d = 0.5 * (d + d.T)
    d.fill_diagonal_(0.0)
    return d.clamp_min(0.0) / z.shape[1]


def rebased_weights(d: Tensor, lam: float) -> Tensor:
    """S = lam / (lam + d): for each pair, the S in [0, 1] that minimises S^2 d + lam (S - 1)^2
    (the semantic term plus the sparsity prior of one edge; its degree weight cancels)."""
    return lam / (lam + d)


def _edge_mean(values: Tensor, weights: tuple[Tensor, ...]) -> Tensor:
    # the count stays a tensor: no host sync, so that the step can be captured as a CUDA graph
    count = sum((w > 0).sum() for w in weights).clamp_min(1)
    return sum((w * values).sum() for w in weights) / count


def semantic_loss(d: Tensor, s: Tensor, weights: tuple[Tensor, ...]) -> Tensor:
    """sum over modalities X and edges of E_X of C_X S^2 d, divided by the number of edges."""
    return _edge_mean(s * s * d, weights)


def sparsity_loss(s: Tensor, weights: tuple[Tensor, ...]) -> Tensor:
    """sum over modalities X and edges of E_X of C_X (S - 1)^2, divided by the number of edges."""
    return _edge_mean((s - 1) ** 2, weights)


def decorrelation_loss(z: Tensor) -> Tensor:
    """|Z^T Z / m - I|_F^2 / c: the constraint B B^T = n I (bits uncorrelated) as a penalty."""
    m, c = z.shape
    g = z.T @ z / m
    return ((g - torch.eye(c, dtype=z.dtype, device=z.device)) ** 2).sum() / c


# --------------------------------------------------------------------------- form "dense"


def set_graph(c_img: Tensor, c_txt: Tensor, k: int) -> Tensor:
    """A0 = (N_I + N_T) / 2 in {0, 1/2, 1}: 1 where both modalities' kNN graphs hold the
    edge, 1/2 where one does; the diagonal is 1 (self is its own neighbour)."""
    return (knn_mask(c_img, k) + knn_mask(c_txt, k)) / 2


def code_graph(b: Tensor, k: int) -> Tensor:
    """N_B: the symmetric kNN mask of the codes' cosine graph (1 + cos(b_i, b_j)) / 2."""
    return knn_mask((1 + code_similarity(b, b)) / 2, k)


def rebase_graph(a0: Tensor, b: Tensor, k: int, rho: float) -> Tensor:
    """A = (1 - rho) A0 + rho N_B: the set graph moved towards the codes' neighbourhoods."""
    return (1 - rho) * a0 + rho * code_graph(b, k)


def quantisation_loss(h_img: Tensor, h_txt: Tensor) -> Tensor:
    """mean (|H| - 1)^2 over both modalities: tanh outputs pushed to the binary corners."""
    return ((h_img.abs() - 1) ** 2).mean() + ((h_txt.abs() - 1) ** 2).mean()


class SRCHDecoders(nn.Module):
    """The decoders of the hash auto-encoders: codes (c) -> unit-length features of each
    modality, linear, initialised at zero.

    A randomly initialised decoder to d features puts out rows of norm about sqrt(d / 3)
    against targets of norm 1: its error, and the gradient it sends into the codes, grow with
    d (on the demo's 1,280-d image features the first steps saturated every tanh and froze
    the codes). From zero, the error starts at |F^|^2 = 1 per row and the codes feel the
    decoders only as far as these have learned to read them."""

    def __init__(self, dims: tuple[int, int], bits: int) -> None:
        super().__init__()
        self.image = nn.Linear(bits, dims[0])
        self.text = nn.Linear(bits, dims[1])
        for layer in (self.image, self.text):
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)

    def forward(self, codes: tuple[Tensor, ...], f_img: Tensor, f_txt: Tensor) -> Tensor:
        """Sum over both decoders and the given codes of the mean squared row error
        |D_X(H) - F^_X|^2: each modality decoded from each code of ``codes``."""
        total = f_img.new_zeros(())
        for decoder, f in ((self.image, f_img), (self.text, f_txt)):
            target = F.normalize(f, dim=1, eps=EPS)
            for h in codes:
                total = total + ((decoder(h) - target) ** 2).sum(dim=1).mean()
        return total


class SRCH(Method):
    """SRCH's set graph or edge weights (targets), rebased on the batch's codes in the loss."""

    name = "srch"
    uses_features = True

    def __init__(self, batch_size=None, **kwargs) -> None:
        super().__init__(batch_size, **kwargs)
        self.rows = batch_size  # rows of the set graph: the batch, or n with global_graph
        self.decoders: SRCHDecoders | None = None

    def code_neighbours(self, m: int) -> int:
        """k of the code graph of a batch of ``m``: k itself, or, when k counts neighbours
        among the n rows of a global set graph (the trainer scales it to n), the same
        fraction of the batch, within [1, m - 1]."""
        k = self.params["k"]
        if self.rows is None or self.rows == m:
            return k
        return max(1, min(m - 1, round(k * m / self.rows)))

    @torch.no_grad()
    def targets(self, f_img: Tensor, f_txt: Tensor) -> dict[str, Tensor]:
        """Over the rows given (a batch or the training set), (m, m) each: form edges,
        {"C_I", "C_T"}: each modality's degree weights on its edge set; form dense, {"A0"}:
        the set graph."""
        c_img, c_txt = self.cosine_graphs(f_img, f_txt)
        k = self.params["k"]
        if self.params["form"] == "edges":
            return {"C_I": degree_weights(edge_set(c_img, k)), "C_T": degree_weights(edge_set(c_txt, k))}
        return {"A0": set_graph(c_img, c_txt, k)}

    def build(self, dims: tuple[int, int], bits: int) -> None:
        self.decoders = SRCHDecoders(dims, bits)

    def modules(self) -> list[nn.Module]:
        return [] if self.decoders is None else [self.decoders]

    def loss(
        self, h_img: Tensor, h_txt: Tensor, targets: dict[str, Tensor],
        features: tuple[Tensor, Tensor] | None = None,
    ) -> tuple[Tensor, dict[str, Tensor]]:
        """The loss on tanh outputs (m, c) and its terms, of the block's `form`.

        Without ``features`` (or before `build`) the reconstruction term is 0; with its weight
        0 (autoencoder, or delta in form dense) it is logged but not in the loss (nor in the autograd graph)."""
        if self.params["form"] == "edges":
            total, terms = self._edges_loss(h_img, h_txt, targets)
        else:
            total, terms = self._dense_loss(h_img, h_txt, targets)
        p = self.params
        weight = p["autoencoder"] if p["form"] == "edges" else p["delta"]
        rec = h_img.new_zeros(())
        if features is not None and self.decoders is not None:
            codes = ((h_img + h_txt) / 2,) if p["decode_from"] == "shared" else (h_img, h_txt)
            with torch.set_grad_enabled(torch.is_grad_enabled() and weight != 0):
                rec = self.decoders(codes, *features)
            if weight != 0:
                total = total + weight * rec
        return total, {**terms, "reconstruction": rec.detach()}

    def _edges_loss(self, h_img: Tensor, h_txt: Tensor, targets: dict[str, Tensor]) -> tuple[Tensor, dict]:
        p = self.params
        weights = (targets["C_I"], targets["C_T"])
        z = (h_img + h_txt) / 2
        with torch.no_grad():  # the rebasing step: codes fixed (float32 at least, as the targets)
            dtype = torch.promote_types(weights[0].dtype, z.dtype)
            s = rebased_weights(code_distances(z.detach().to(dtype)), p["sparsity"])
            b = binary_codes(z.detach())
        semantic = semantic_loss(code_distances(z), s, weights)
        quant = 0.5 * ((z - b) ** 2).mean()
        encoder = ((h_img - b) ** 2).mean() + ((h_txt - b) ** 2).mean()
        decor = decorrelation_loss(z)
        total = semantic + p["gamma"] * quant + p["autoencoder"] * encoder + p["beta"] * decor
        with torch.no_grad():
            sparsity = sparsity_loss(s, weights)
        return total, {"semantic": semantic.detach(), "sparsity": sparsity, "quantisation": quant.detach(),
                       "encoder": encoder.detach(), "decorrelation": decor.detach()}

    def _dense_loss(self, h_img: Tensor, h_txt: Tensor, targets: dict[str, Tensor]) -> tuple[Tensor, dict]:
        p = self.params
        with torch.no_grad():  # the graph step: codes fixed (float32 at least, as the targets)
            a0 = targets["A0"].to(torch.promote_types(targets["A0"].dtype, h_img.dtype))
            b = binary_codes(h_img + h_txt).to(a0.dtype)
            s = p["mu"] * rebase_graph(a0, b, self.code_neighbours(len(b)), p["rho"])
        inter = F.mse_loss(code_similarity(h_img, h_txt), s)
        intra = F.mse_loss(code_similarity(h_img, h_img), s) + F.mse_loss(
            code_similarity(h_txt, h_txt), s)
        quant = quantisation_loss(h_img, h_txt)
        total = inter + p["intra"] * intra + p["gamma"] * quant
        return total, {"inter": inter.detach(), "intra": intra.detach(), "quantisation": quant.detach()}


METHOD = SRCH
