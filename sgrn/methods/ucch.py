"""UCCH (Hu et al., TPAMI 2022) on the shared pipeline (method.md section 9, UCCH bullet).

Contrastive hashing against a memory of binary codes, one per training pair, kept up to date
by UCCH's momentum optimiser, plus its cross-modal ranking loss (CRL):

    L   = alpha L_c + (1 - alpha) L_r
    L_c = CE over [b_i, negatives] of cos(b, h^_I,i) / T  +  the same for h^_T,i
    L_r = mean_i [-s_ii + log sum_j exp(c_ij)] + mean_j [-s_jj + log sum_i exp(c'_ij)] + 2 margin

with b = sign(memory row), s = H^_I H^_T^T, c_ij = s_ij where s_ij >= s_ii - margin and
s_ij - shift elsewhere (c' the same against s_jj). After each step the memory rows of the
batch move to norm(momentum m_i + (1 - momentum) norm(h^_I,i + h^_T,i)). In the first
`warmup` epochs the contrast is within the batch, against sign(h^_I + h^_T), and the memory
takes the codes with momentum 0 (as UCCH's code does in its warm-up epoch).

The memory is a module (`UCCHMemory`, no trainable parameter) that the trainer keeps in the
training state, so a resumed run continues with the same memory. It is indexed by training
pair: the method is built with the global graph (`global_graph`, required), whose targets on
all n pairs carry each row's index, and the trainer's per-batch slice hands the loss the
batch's.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from sgrn.data.errors import DataError
from sgrn.graphs import EPS
from sgrn.hparams.ucch import min_bits
from sgrn.methods.base import Method
from sgrn.methods.losses import binary_codes


def contrast_logits(h: Tensor, codes: Tensor, temperature: float) -> Tensor:
    """cos(b_j, h_i) / T for unit rows h (m, c) and codes b in {-1, +1} (k, c): (m, k).

    UCCH divides b . h by T sqrt(c); for unit h and |b| = sqrt(c) that is the cosine over T.
    """
    return h @ codes.to(h.dtype).T / (temperature * math.sqrt(h.shape[1]))


def memory_columns(index: Tensor, n: int, negatives: int) -> Tensor | None:
    """The memory codes each row contrasts with: (m, 1 + negatives) columns, the row's own code
    (the positive) first, then ``negatives`` of the other n - 1 codes drawn uniformly with
    replacement (UCCH). None: every code once, the positive at column index[i]; so with
    negatives 0, and where the other codes are no more than ``negatives`` (a small training
    set), since draws would then repeat each of them, and UCCH's draws over all n codes would
    put the row's own code among its negatives (530 codes, 4,096 draws: about 7.7 times a row).
    """
    if negatives == 0 or negatives >= n - 1:
        return None
    drawn = torch.randint(0, n - 1, (len(index), negatives), device=index.device)
    drawn = drawn + (drawn >= index[:, None]).to(drawn.dtype)  # skip the row's own code
    return torch.cat([index[:, None], drawn], dim=1)


def ranking_loss(h_img: Tensor, h_txt: Tensor, margin: float, shift: float) -> Tensor:
    """UCCH's cross-modal ranking loss L_r on unit rows (m, c), both directions.

    s = H^_I H^_T^T. Row i (image i against every text): negatives j with s_ij >= s_ii -
    margin keep their score, the others are lowered by ``shift``; the loss is the softmax
    cross-entropy of the pair i among them, plus ``margin``. The same over columns (text j
    against every image, against s_jj). The masks are constants (no gradient).
    """
    s = h_img @ h_txt.T
    diag = torch.diagonal(s)
    with torch.no_grad():
        near_row = s >= diag[:, None] - margin
        near_col = s >= diag[None, :] - margin
    c_row = torch.where(near_row, s, s - shift)
    c_col = torch.where(near_col, s, s - shift)
    i2t = (-diag + torch.logsumexp(c_row, dim=1) + margin).mean()
    t2i = (-diag + torch.logsumexp(c_col, dim=0) + margin).mean()
    return i2t + t2i


def _at_least_float32(x: Tensor) -> Tensor:
    """``x`` in float32, or float64 when it is (bfloat16 logits under autocast are widened)."""
    return x.to(torch.promote_types(x.dtype, torch.float32))


class UCCHMemory(nn.Module):
    """The momentum optimiser's state: one unit row per training pair whose signs are that
    pair's binary code, and the number of steps taken (for the warm-up).

    Both are buffers, in the state_dict, so a resumed run continues with the same memory; only
    `update` changes them (the trainer optimises a module's trainable parameters only)."""

    def __init__(self, n: int, bits: int) -> None:
        super().__init__()
        # random signs, unit rows (UCCH: normalised signs of random numbers); seeded torch RNG
        init = binary_codes(torch.randn(n, bits)) / math.sqrt(bits)
        self.register_buffer("memory", init)
        self.register_buffer("steps", torch.zeros((), dtype=torch.long))

    @torch.no_grad()
    def update(self, index: Tensor, h_img: Tensor, h_txt: Tensor, momentum: Tensor) -> None:
        """m_i <- norm(momentum m_i + (1 - momentum) norm(h^_I,i + h^_T,i)) for i in index."""
        mean = F.normalize((h_img + h_txt).to(self.memory.dtype) / 2, dim=1, eps=EPS)
        rows = momentum * self.memory[index] + (1 - momentum) * mean
        self.memory.index_copy_(0, index, F.normalize(rows, dim=1, eps=EPS))
        self.steps.add_(1)


class UCCH(Method):
    """UCCH's loss for one batch; the memory is made by `build` (n from the global targets)."""

    name = "ucch"

    def __init__(self, batch_size=None, **kwargs) -> None:
        super().__init__(batch_size, **kwargs)
        self.n: int | None = None
        self.memory: UCCHMemory | None = None

    @torch.no_grad()
    def targets(self, f_img: Tensor, f_txt: Tensor) -> dict[str, Tensor]:
        """{"index": (m, m) with row i all i}: each row's position among the rows given.

        Called on all n training pairs (global_graph), it fixes the size of the memory; the
        trainer's slice [batch][:, batch] then gives the batch's training indices in every
        column. The (n, n) tensor is an expanded view: it takes no memory.
        """
        m = f_img.shape[0]
        if self.n is None:
            self.n = m
        return {"index": torch.arange(m, device=f_img.device)[:, None].expand(m, m)}

    def build(self, dims: tuple[int, int], bits: int) -> None:
        """The memory: n codes of ``bits``; refused when 2**bits codes cannot tell n apart."""
        if self.n is None:
            raise RuntimeError("ucch: build needs the targets over the training set first "
                               "(global_graph), which fix the size of the memory")
        need = min_bits(self.n)
        if bits < need:  # a DataError: the train step reports it in one line (exit 2), no traceback
            raise DataError(
                f"ucch: bits={bits} give {2 ** bits} codes, fewer than the {self.n} training "
                f"pairs that the memory must tell apart (instance-level contrast); use at least "
                f"{need} bits"
            )
        self.memory = UCCHMemory(self.n, bits)

    def modules(self) -> list[nn.Module]:
        return [] if self.memory is None else [self.memory]

    def contrast_loss(self, index: Tensor, h_img: Tensor, h_txt: Tensor) -> tuple[Tensor, Tensor]:
        """(L_c against the memory, L_c within the batch) on unit rows; memory unchanged."""
        p, mem = self.params, self.memory.memory
        codes = binary_codes(mem)
        m = h_img.shape[0]
        columns = memory_columns(index, mem.shape[0], p["negatives"])
        target = index if columns is None else torch.zeros(m, dtype=torch.long, device=mem.device)
        batch_codes = binary_codes((h_img + h_txt).detach() / 2)
        here = torch.arange(m, device=h_img.device)
        with_memory, in_batch = h_img.new_zeros(()), h_img.new_zeros(())
        for h in (h_img, h_txt):
            logits = contrast_logits(h, codes, p["temperature"])
            if columns is not None:
                logits = torch.gather(logits, 1, columns)
            with_memory = with_memory + F.cross_entropy(_at_least_float32(logits), target)
            in_batch = in_batch + F.cross_entropy(
                _at_least_float32(contrast_logits(h, batch_codes, p["temperature"])), here)
        return with_memory, in_batch

    def loss(
        self, h_img: Tensor, h_txt: Tensor, targets: dict[str, Tensor]
    ) -> tuple[Tensor, dict[str, Tensor]]:
        """L on tanh outputs (m, c), then one momentum step of the memory (each call is a
        training step); terms contrast (L_c) and ranking (L_r), detached."""
        if self.memory is None:
            raise RuntimeError("ucch: call build(dims, bits) before the loss")
        p = self.params
        index = targets["index"][:, 0]
        u_img = F.normalize(h_img, dim=1, eps=EPS)
        u_txt = F.normalize(h_txt, dim=1, eps=EPS)
        warm_steps = p["warmup"] * (self.memory.memory.shape[0] // h_img.shape[0])
        warm = self.memory.steps < warm_steps  # a device flag: no host sync, graph-safe
        with_memory, in_batch = self.contrast_loss(index, u_img, u_txt)
        contrast = torch.where(warm, in_batch, with_memory)
        ranking = ranking_loss(u_img, u_txt, p["margin"], p["shift"])
        total = p["alpha"] * contrast + (1 - p["alpha"]) * ranking
        momentum = p["momentum"] * (~warm).to(self.memory.memory.dtype)  # 0 in the warm-up
        self.memory.update(index, u_img.detach(), u_txt.detach(), momentum)
        return total, {"contrast": contrast.detach(), "ranking": ranking.detach()}


METHOD = UCCH
