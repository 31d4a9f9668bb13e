"""HNH's hyper-parameters (docs/method.md section 9, HNH); defaults are those of the one public
implementation that could be read (unofficial, MIRFlickr settings); k is ours."""

from __future__ import annotations

from sgrn.hparams import GLOBAL_GRAPH, LEARNING_RATE, Param

TABLE: dict[str, Param] = {
    "global_graph": GLOBAL_GRAPH,
    "lr": LEARNING_RATE,  # both nets' (and DSAH's decoders') learning rate; None: the train section's
    # neighbours per row (self included) whose affinities make an item's neighbourhood vector,
    # the second-order term compares those vectors; <= the rows of a graph (the batch, 32 =
    # every row of a batch of 32 as in the public implementation) [ours]
    "k": Param(32, low=1),
    "gamma": Param(0.9, low=0, high=1),  # image weight in S = gamma A~_I + (1 - gamma) A~_T
    "scale_img": Param(2.0, low=0, low_open=True),  # A~_I = scale_img (A_I * Q_I) - 1 (k_x)
    "scale_txt": Param(2.0, low=0, low_open=True),  # A~_T = scale_txt (A_T * Q_T) - 1 (k_y)
    "alpha": Param(40.0, low=0, low_open=True),  # weight of MSE(U, H^_I) + MSE(U, H^_T) (common part)
    "beta": Param(1.0, low=0),  # weight of MSE(U H^_I^T, S) + MSE(U H^_T^T, S) (affinity through U)
    "lam": Param(1.0, low=0),  # weight of the inter-modal term MSE(H^_I H^_T^T, S) (lambda)
}


def check(p: dict, batch_size: int | None) -> None:
    """k counts neighbours within a graph of ``batch_size`` rows, self included: at most all."""
    if batch_size is not None and p["k"] > batch_size:
        raise ValueError(
            f"hnh: k={p['k']} is larger than the {batch_size} rows of a graph (the batch, or the "
            f"training set with global_graph; k counts neighbours within it, self included): "
            f"use k <= {batch_size}"
        )
