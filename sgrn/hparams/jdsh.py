"""JDSH's hyper-parameters (docs/method.md section 9); defaults are JDSH's MIRFlickr ones."""

from __future__ import annotations

from sgrn.hparams import GLOBAL_GRAPH, LEARNING_RATE, Param

TABLE: dict[str, Param] = {
    "global_graph": GLOBAL_GRAPH,
    "lr": LEARNING_RATE,
    "a": Param(0.5, low=0),  # weight of S_I
    "b": Param(0.1, low=0),  # weight of S_T
    "l": Param(0.4, low=0),  # weight of the joint-modal term (S_high + S_high^T) / 2
    "mu": Param(1.4, low=0, low_open=True),  # scale of the target S
    "intra": Param(0.1, low=0),  # weight of the image-image and text-text terms
    "pair": Param(1.0, low=0),  # weight of the paired-item term -mean(diag(H^_I H^_T^T))
    "l1": Param(0.1, low=0),  # strength of the left-tail (dissimilar) re-weighting
    "l2": Param(0.2, low=0),  # strength of the right-tail (similar) re-weighting
    # true: left, right, s_min and s_max fitted to S~ on the training set before training, as
    # JDSH fitted its constants (left = mean - 2 std, right = mean + 4 std, s_min and s_max the
    # extremes; sgrn.methods.jdsh.fit_tails), recorded in the checkpoint; false: the values below
    "fit_tails": Param(True),
    # Tail thresholds and the distribution's extremes, constants fitted by JDSH to S~ on
    # MIRFlickr with AlexNet features (left = -0.49 - 2 * 0.019, right = -0.49 + 4 * 0.088),
    # used when fit_tails is false
    "left": Param(-0.528),
    "right": Param(-0.138),
    "s_min": Param(-0.52),
    "s_max": Param(0.68),
}


def check(p: dict, batch_size: int | None) -> None:
    """The left tail threshold must not exceed the right one."""
    if p["left"] > p["right"]:
        raise ValueError(f"jdsh: left={p['left']!r} must not exceed right={p['right']!r}")
