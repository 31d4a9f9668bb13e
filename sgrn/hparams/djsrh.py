"""DJSRH's hyper-parameters (docs/method.md section 9); defaults are DJSRH's MIRFlickr ones."""

from __future__ import annotations

from sgrn.hparams import GLOBAL_GRAPH, LEARNING_RATE, Param

TABLE: dict[str, Param] = {
    "global_graph": GLOBAL_GRAPH,
    "lr": LEARNING_RATE,
    "beta": Param(0.9, low=0, high=1),  # image weight in the joint graph
    "eta": Param(0.4, low=0, high=1),  # weight of the second-order term S~ S~^T / m
    "mu": Param(1.5, low=0, low_open=True),  # scale of the target S
    "lambda1": Param(0.1, low=0),  # image-image term of the loss
    "lambda2": Param(0.1, low=0),  # text-text term of the loss
}
