"""DSAH's hyper-parameters (docs/method.md section 9, DSAH); defaults are those of the authors'
code as far as it could be read (a port of it: weights of its loss terms, K, ETA, ALPHA)."""

from __future__ import annotations

from sgrn.hparams import GLOBAL_GRAPH, LEARNING_RATE, Param

DECODE_FROM = ("codes", "outputs")
"""What the decoders read: sign(H) (DSAH's code; no gradient reaches the hash nets) or H [ours]."""

TABLE: dict[str, Param] = {
    "global_graph": GLOBAL_GRAPH,
    "lr": LEARNING_RATE,  # both nets' (and DSAH's decoders') learning rate; None: the train section's
    # image weight in S~ = alpha S_I + (1 - alpha) S_T (DSAH's ALPHA; not train.alpha)
    "alpha": Param(0.9, low=0, high=1),
    "mu": Param(1.5, low=0, low_open=True),  # scale of the target S = mu S~ (DSAH's K)
    # weight of the intra-modal terms MSE(H^_I H^_I^T, mu S_I) + MSE(H^_T H^_T^T, mu S_T) (ETA)
    "eta": Param(0.1, low=0),
    "pair": Param(1.0, low=0),  # weight of MSE(diag(H^_I H^_T^T), mu): a pair's codes pulled to mu
    # weight of the cross-modal reconstruction MSE(dec_T(B_T), F^_I) + MSE(dec_I(B_I), F^_T)
    "rec": Param(1.0, low=0),
    "sym": Param(2.0, low=0),  # weight of MSE(H^_I H^_T^T, H^_T H^_I^T): a symmetric cross similarity
    # the decoders' input: codes = sign(H), detached (DSAH's code: the reconstruction trains only
    # the decoders); outputs = H, so that it also shapes the hash nets [ours]
    "decode_from": Param("codes", choices=DECODE_FROM),
}
