"""SRCH's hyper-parameters (IJCAI 2020, docs/method.md section 9, SRCH).

Two forms: `edges` follows a second-hand statement of SRCH's equations (fixed kNN edge sets,
learned edge weights, degree-normalised terms, a sparsity prior); `dense` is our former
reconstruction. SRCH's values were not available to us: every default below is ours. k is
checked like SGRN's: a neighbourhood counts rows of one graph, self included.
"""

from __future__ import annotations

from sgrn.hparams import GLOBAL_GRAPH, LEARNING_RATE, Param

FORMS = ("edges", "dense")
"""edges: the statement's edge sets, weights and terms; dense: ours, an MSE over the whole batch."""
DECODE_FROM = ("shared", "each")
"""shared: each modality decoded from the shared code (H_I + H_T) / 2; each: from both codes (ours)."""

TABLE: dict[str, Param] = {
    "global_graph": GLOBAL_GRAPH,
    "lr": LEARNING_RATE,  # both nets' (and the decoders') learning rate; None: the train section's
    "form": Param("edges", choices=FORMS),
    # Set: neighbours per row of each modality's kNN graph, self included; < the graph's rows
    # (the batch, or n with global_graph, where the trainer scales k to the same fraction)
    "k": Param(5, low=1),
    # edges: weight lam of the sparsity prior; the rebased edge weight is S = lam / (lam + d)
    "sparsity": Param(1.0, low=0, low_open=True),
    "beta": Param(1.0, low=0),  # edges: weight of the bit decorrelation |Z^T Z / m - I|^2 / c, 0 = off
    # edges: weight of the hash auto-encoders, the encoders' mean (H - B)^2 and the reconstruction
    "autoencoder": Param(1.0, low=0),
    # dense: weight of the code graph (kNN of the current codes) in the rebased graph,
    # 0 = the set graph alone (no rebasing)
    "rho": Param(0.5, low=0, high=1),
    "mu": Param(1.0, low=0, low_open=True),  # dense: scale of the target graph (its edges are mu)
    "intra": Param(1.0, low=0),  # dense: weight of the image-image and text-text similarity terms
    # weight of the quantisation term: edges 1/2 mean (Z - B)^2, dense mean (|H| - 1)^2; 0 = off
    "gamma": Param(0.1, low=0),
    "delta": Param(0.1, low=0),  # dense: weight of the hash auto-encoders' reconstruction, 0 = off
    "decode_from": Param("shared", choices=DECODE_FROM),
}

def check(p: dict, batch_size: int | None) -> None:
    """k counts neighbours within a graph of ``batch_size`` rows, self included: it must be
    smaller (the set graph and the code graph both use it)."""
    if batch_size is not None and p["k"] >= batch_size:
        raise ValueError(
            f"srch: k={p['k']} must be smaller than the batch size {batch_size} "
            f"(k counts neighbours within a batch, self included; use k <= {batch_size - 1})"
        )
