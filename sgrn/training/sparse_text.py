"""The text net's first layer on a bag of words, computed over its non-zero entries (ours, for speed).

A tag bag of words has few non-zero entries (MIRFlickr-25K: 4.6 of 1,386 per row), so the dense
Linear(1386, 4096) spends nearly all of an epoch multiplying zeros. The sparse path gives the same
numbers, to float rounding, with the same net and the same optimiser (SGD, momentum, weight decay):

- forward: the sum of the weight's columns of a row's non-zero entries, each times its value
  (`torch.nn.functional.embedding_bag`), plus the bias;
- backward: the weight's gradient is exactly zero outside those columns, so only they get one;
- SGD still moves every column at every step: one without gradient follows the linear recursion
  g = wd w; b <- m b + g; w <- w - lr b, i.e. (w, b) <- M (w, b) with M = [[1 - lr wd, -lr m],
  [wd, m]]. `LazyRowSGD` applies M^k to a column when a batch next uses it (its k missed steps
  at once) and to all of them at the end of each epoch (`flush`), before validation or a saved
  state reads the weights.

The weight is kept as (d_in, d_out) rows in memory (the parameter is its transposed view, so its
shape and state-dict key are nn.Linear's): a bag's columns are then contiguous rows to gather.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

MAX_DENSITY = 0.02
"""A bag of words with at most this fraction of non-zero entries takes the sparse path."""


def is_sparse_bag_of_words(x: Tensor) -> bool:
    """The rule: whole non-negative numbers (0/1 or counts) with at most MAX_DENSITY of them
    non-zero. LDA topics, SVD coordinates, z-scored or imported features are not; they, and
    a dense bag of words (a small vocabulary), keep the dense path."""
    if x.dim() != 2 or x.numel() == 0 or not x.is_floating_point():
        return False
    if bool((x < 0).any()) or not bool(torch.equal(x, x.round())):
        return False
    return int(torch.count_nonzero(x)) <= MAX_DENSITY * x.numel()


def use_sparse_text(x_txt: Tensor, device: torch.device, mixed_precision: bool, momentum: float) -> bool:
    """Whether the trainer computes the text net's first layer sparsely: a sparse bag of words
    (`is_sparse_bag_of_words`) on the CPU in float32 with momentum. A GPU keeps the dense path
    (its product is cheap, and a CUDA graph needs the same shapes at every step), as do bfloat16
    autocast (the dense path computes in bfloat16) and momentum 0 (SGD then keeps no buffer)."""
    return device.type == "cpu" and not mixed_precision and momentum > 0 and is_sparse_bag_of_words(x_txt)


def bags(x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """(columns, values, offsets) of the non-zero entries of `x`, row by row, for embedding_bag."""
    rows, cols = x.nonzero(as_tuple=True)
    counts = torch.bincount(rows, minlength=len(x))
    offsets = torch.cumsum(counts, 0) - counts
    return cols, x[rows, cols], offsets


class SparseInputLinear(nn.Module):
    """nn.Linear(d_in, d_out) of the same parameters, applied over its input's non-zero entries.

    Made from the net's Linear (`from_linear`) before the optimiser, so that the initial weights
    are the dense net's; while training, `lazy` (a `LazyRowSGD`) keeps the used columns current.
    """

    def __init__(self, in_features: int, out_features: int):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.weight = nn.Parameter(torch.empty(in_features, out_features).t())
        self.bias = nn.Parameter(torch.empty(out_features))
        self.lazy: LazyRowSGD | None = None
        self.sub: Tensor | None = None  # the rows of the training batch's columns: a leaf for their gradient

    @classmethod
    def from_linear(cls, linear: nn.Linear) -> SparseInputLinear:
        layer = cls(linear.in_features, linear.out_features)
        with torch.no_grad():
            layer.weight.copy_(linear.weight)
            layer.bias.copy_(linear.bias)
        return layer

    @property
    def rows(self) -> Tensor:
        """The weight as (d_in, d_out) contiguous rows, one per input entry."""
        return self.weight.t()

    def forward(self, x: Tensor) -> Tensor:
        cols, values, offsets = bags(x)
        if self.lazy is None or not (self.training and torch.is_grad_enabled()):
            if self.lazy is not None:
                self.lazy.flush()
            return F.embedding_bag(cols, self.rows, offsets, mode="sum", per_sample_weights=values).add_(self.bias)
        used, position = torch.unique(cols, return_inverse=True)
        self.sub = self.lazy.begin_step(used).requires_grad_()
        return F.embedding_bag(position, self.sub, offsets, mode="sum", per_sample_weights=values).add_(self.bias)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, sparse input"


class LazyRowSGD:
    """The SGD step of `optimizer` (momentum, weight decay, no dampening, no Nesterov) on the
    weight of `layer`, one column at a time when a batch uses it (module docstring).

    Its momentum buffer is the optimiser's own state (`optimizer.state[weight]`), so a saved and
    loaded optimiser state is the dense path's; the weight's .grad stays None, so the
    optimiser's own step leaves the weight to this one and updates the other parameters."""

    def __init__(self, layer: SparseInputLinear, optimizer: torch.optim.SGD):
        group = next(g for g in optimizer.param_groups if any(p is layer.weight for p in g["params"]))
        if group["momentum"] <= 0 or group["dampening"] or group["nesterov"] or group["maximize"]:
            raise ValueError("the sparse text layer knows SGD with momentum and weight decay only; "
                             f"got momentum={group['momentum']}, dampening={group['dampening']}, "
                             f"nesterov={group['nesterov']}, maximize={group['maximize']}")
        self.layer, self.optimizer, self.group = layer, optimizer, group
        self.steps = 0  # steps since the last flush
        self.current = torch.zeros(layer.in_features, dtype=torch.long, device=layer.weight.device)
        self.pending = False  # some column is behind
        self.powers = [(1.0, 0.0, 0.0, 1.0)]  # M^k, k = 0, 1, ...: (a, b, c, d)
        self.table: Tensor | None = None  # the powers as a tensor
        self.used: Tensor | None = None  # the columns of the batch between begin_step and step
        self.buf_used: Tensor | None = None  # their momentum buffer rows
        layer.lazy = self

    def buffer_rows(self) -> Tensor:
        """The momentum buffer as (d_in, d_out) rows (made, or laid out as the rows, when needed)."""
        state = self.optimizer.state[self.layer.weight]
        buf = state.get("momentum_buffer")
        if buf is None:
            buf = state["momentum_buffer"] = torch.zeros_like(self.layer.rows).t()
        elif not buf.t().is_contiguous():  # e.g. a dense-layout state loaded back
            buf = state["momentum_buffer"] = buf.t().contiguous().t()
        return buf.t()

    def _power_coefficients(self, behind: Tensor) -> Tensor:
        lr, wd, m = self.group["lr"], self.group["weight_decay"], self.group["momentum"]
        if self.table is None or len(self.table) <= int(behind.max()):
            while len(self.powers) <= int(behind.max()):
                a, b, c, d = self.powers[-1]  # M^(k+1) = M M^k, in float64
                self.powers.append(((1 - lr * wd) * a - lr * m * c, (1 - lr * wd) * b - lr * m * d,
                                    wd * a + m * c, wd * b + m * d))
            self.table = torch.tensor(self.powers, dtype=torch.float64, device=behind.device)
        return self.table[behind].to(self.layer.weight.dtype)

    @torch.no_grad()
    def rows_now(self, used: Tensor) -> tuple[Tensor, Tensor]:
        """Copies of columns `used` (ascending) of the weight and of the momentum buffer, as
        they are after every step so far."""
        # index_select and index_copy_ move whole rows; advanced indexing is several times slower
        w, v = self.layer.rows.index_select(0, used), self.buffer_rows().index_select(0, used)
        behind = self.steps - self.current[used]
        if bool(behind.any()):
            a, b, c, d = self._power_coefficients(behind).unsqueeze(2).unbind(1)
            new_v = torch.mul(w, c).addcmul_(v, d)  # in place where it can: fewer fresh pages per step
            w.mul_(a).addcmul_(v, b)
            v = new_v
        return w, v

    @torch.no_grad()
    def catch_up(self, used: Tensor) -> None:
        """Bring columns `used` (ascending) through the steps they missed."""
        w, v = self.rows_now(used)
        self.layer.rows.index_copy_(0, used, w)
        self.buffer_rows().index_copy_(0, used, v)
        self.current[used] = self.steps

    def begin_step(self, used: Tensor) -> Tensor:
        """The current rows of the batch's columns `used` (ascending), for the forward pass;
        `step` updates them with their gradient."""
        w, self.buf_used = self.rows_now(used)
        self.used = used
        return w

    @torch.no_grad()
    def step(self) -> None:
        """The SGD update of the batch's columns (as the fused step computes it, from the rows
        of `begin_step`); every other column is one more step behind."""
        layer, used = self.layer, self.used
        lr, wd, m = self.group["lr"], self.group["weight_decay"], self.group["momentum"]
        w = layer.sub.detach()
        grad = layer.sub.grad if layer.sub.grad is not None else torch.zeros_like(w)
        b = self.buf_used.mul_(m).add_(grad.add_(w, alpha=wd))
        self.buffer_rows().index_copy_(0, used, b)
        layer.rows.index_copy_(0, used, w.add_(b, alpha=-lr))
        self.steps += 1
        self.current[used] = self.steps
        self.pending = True
        layer.sub = self.used = self.buf_used = None

    def flush(self) -> None:
        """Bring every column up to date (end of an epoch; before weights are read or saved)."""
        if self.pending:
            self.catch_up(torch.arange(self.layer.in_features, device=self.current.device))
        self.steps = 0
        self.current.zero_()
        self.pending = False
        self.powers, self.table = self.powers[:1], None


def sparse_text_layer(txt_net: nn.Module) -> SparseInputLinear:
    """Put a `SparseInputLinear` of the same weights in place of the text net's first Linear."""
    layer = SparseInputLinear.from_linear(txt_net.body[0])
    txt_net.body[0] = layer
    return layer
