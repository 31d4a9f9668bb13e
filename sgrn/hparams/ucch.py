"""UCCH's hyper-parameters (TPAMI 2022, docs/method.md section 9); defaults are UCCH's.

The values are those of the authors' code (penghu-cs/UCCH, utils/config.py) with the
README's MIRFlickr-25K command line where it sets them (alpha 0.7, shift 0.1, margin 0.2).
"""

from __future__ import annotations

from sgrn.hparams import LEARNING_RATE, Param

TABLE: dict[str, Param] = {
    # UCCH's memory holds one binary code per training pair; a batch finds its rows through
    # the global graph's slices, so the targets must come from the whole training set
    "global_graph": Param(True),
    # both nets' learning rate; None: the train section's (UCCH's 1e-4 is Adam's, not SGD's)
    "lr": LEARNING_RATE,
    "alpha": Param(0.7, low=0, high=1),  # L = alpha L_c + (1 - alpha) L_r
    # temperature of the contrast; scores are cos(b, h) / temperature
    "temperature": Param(0.9, low=0, low_open=True),
    # the memory's momentum: m <- norm(momentum m + (1 - momentum) h), < 1
    "momentum": Param(0.4, low=0, high=1),
    # memory codes drawn (uniformly, with replacement) as negatives per row among the other
    # codes, never the row's own; 0, or no more other codes than this: each code once
    "negatives": Param(4096, low=0),
    "margin": Param(0.2, low=0),  # L_r: negatives within margin of the positive count in full
    "shift": Param(0.1, low=0),  # L_r: the other negatives' scores lowered by shift
    "warmup": Param(1, low=0),  # epochs of in-batch contrast (momentum 0) before the memory
}


def check(p: dict, batch_size: int | None) -> None:
    """The memory must take new codes in (momentum < 1) and be indexed by training pair
    (global_graph)."""
    if p["momentum"] >= 1:
        raise ValueError(
            f"ucch: momentum={p['momentum']!r} must be below 1 (at 1 the memory never takes "
            "a code in; UCCH uses 0.4)"
        )
    if not p["global_graph"]:
        raise ValueError(
            "ucch: global_graph=False does not fit: the memory holds one code per training "
            "pair and finds a batch's rows through the global graph; use global_graph: true"
        )


def min_bits(n: int) -> int:
    """The fewest bits whose 2**bits codes can give each of ``n`` training pairs its own."""
    return max(1, (n - 1).bit_length())
