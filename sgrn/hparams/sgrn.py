"""SGRN's hyper-parameters (docs/method.md sections 3-7): LRGR, the joint graph, GRGR, the losses."""

from __future__ import annotations

from sgrn.hparams import GLOBAL_GRAPH, INTRA_FORMS, LEARNING_RATE, REBASE_FORMS, Param

GRGR_FORMS = ("weight", "agreed", "overlap", "concat")
"""The readings of SGRN's GRGR (method.md section 6), each a reading of one sentence of the paper's text."""

TABLE: dict[str, Param] = {
    "global_graph": GLOBAL_GRAPH,
    "lr": LEARNING_RATE,
    "knn": Param(True),  # LRGR kNN mask on/off (section 4)
    "k": Param(10, low=1),  # neighbours per row, self included; < batch size
    "gate": Param(True),  # LRGR sigmoid gate on/off
    "gamma": Param(10.0, low=0, low_open=True),  # gate steepness
    "omega": Param(0.5, low=0, high=1),  # weight of the association graph Q
    # LRGR: mask = keep only gated neighbours; lift = raise them, keep the rest as they are
    "rebase_form": Param("mask", choices=REBASE_FORMS),
    "beta": Param(0.9, low=0, high=1),  # image weight in the joint graph (section 5)
    "eta": Param(0.4, low=0, high=1),  # weight of the second-order term S~ S~^T / m
    "mu": Param(1.5, low=0, low_open=True),  # scale of the targets (sections 6, 7)
    # GRGR on/off as a whole (section 6): false = no enhanced weight and no cross term,
    # whatever epsilon and cross say (the no-grgr ablation; cross may be searched)
    "grgr": Param(True),
    # which reading of GRGR (section 6): weight = the enhanced weight W on the joint graph (the
    # first reconstruction); agreed = W keeps the edges both modalities agree on and weakens the
    # rest, never raising one; overlap = S_IT from the overlap of the rebased neighbourhoods;
    # concat = the 2m x 2m joint target [[S'_I, S_IT], [S_TI, S'_T]] against the block matrix of
    # code similarities
    "grgr_form": Param("weight", choices=GRGR_FORMS),
    "epsilon": Param(0.3, low=0, high=1),  # GRGR enhanced-weight strength, 0 = off
    # GRGR image-to-text and text-to-image similarities mixed into the joint graph, 0 = off
    "cross": Param(0.0, low=0, high=1),
    "kappa": Param(5.0, low=0, low_open=True),  # GRGR agreement sharpness
    "lambda1": Param(0.1, low=0),  # image-image term of L_inter
    "lambda2": Param(0.1, low=0),  # text-text term of L_inter
    "xi": Param(0.1, low=0),  # weight of L_intra, 0 = off
    # form of L_intra (section 7): target | local | orthogonal | hash_real, or a sum with '+'
    "intra_form": Param("target", choices=INTRA_FORMS, combine=True),
    # weight of the hash-real inter-modal term MSE(H^_I B^_T^T, S) + MSE(B^_I H^_T^T, S)
    "zeta": Param(0.0, low=0),
    # weight of the paired-item term -mean(diag(H^_I H^_T^T)) (JDSH's), 0 = off
    "pair": Param(0.0, low=0),
}


def check(p: dict, batch_size: int | None) -> None:
    """k counts neighbours within a graph of ``batch_size`` rows, self included: it must be
    smaller, when the kNN mask or the gate (its two users) is on."""
    if (p["knn"] or p["gate"]) and batch_size is not None and p["k"] >= batch_size:
        raise ValueError(
            f"sgrn: k={p['k']} must be smaller than the batch size {batch_size} "
            "(k counts neighbours within a batch, self included)"
        )
