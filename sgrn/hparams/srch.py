"""SRCH's hyper-parameters (IJCAI 2020, docs/method.md section 9).

SRCH's equations and its hyper-parameter values were not available to us: the forms and the
defaults below are our reconstruction (method.md says which part is which). k is checked
like SGRN's: a neighbourhood counts rows of one graph, self included.
"""

from __future__ import annotations

from sgrn.hparams import GLOBAL_GRAPH, LEARNING_RATE, Param

TABLE: dict[str, Param] = {
    "global_graph": GLOBAL_GRAPH,
    "lr": LEARNING_RATE,  # both nets' (and the decoders') learning rate; None: the train section's
    # Set: neighbours per row of each modality's kNN graph, self included; < the graph's rows
    # (the batch, or n with global_graph, where the trainer scales k to the same fraction)
    "k": Param(5, low=1),
    # Rebase: weight of the code graph (kNN of the current codes) in the rebased graph,
    # 0 = the set graph alone (no rebasing)
    "rho": Param(0.5, low=0, high=1),
    "mu": Param(1.0, low=0, low_open=True),  # scale of the target graph (its edges are mu)
    "intra": Param(1.0, low=0),  # weight of the image-image and text-text similarity terms
    "gamma": Param(0.1, low=0),  # weight of the quantisation term mean (|H| - 1)^2, 0 = off
    "delta": Param(0.1, low=0),  # weight of the hash auto-encoders' reconstruction, 0 = off
}


def check(p: dict, batch_size: int | None) -> None:
    """k counts neighbours within a graph of ``batch_size`` rows, self included: it must be
    smaller (the set graph and the code graph both use it)."""
    if batch_size is not None and p["k"] >= batch_size:
        raise ValueError(
            f"srch: k={p['k']} must be smaller than the batch size {batch_size} "
            f"(k counts neighbours within a batch, self included; use k <= {batch_size - 1})"
        )
