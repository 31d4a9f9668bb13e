"""The hyper-parameters of every method family, in one place and without torch.

`TABLES` holds, per family, the `method_params` keys of params.yaml with their defaults and
ranges; `resolve_method_params` validates a block against them and names the offending key.
The method classes in sgrn/methods take their tables from here, and sgrn/params.py checks a
params.yaml (and its search space) without importing torch.

Whether features were standardised (method.md section 3) is not a method parameter: it
belongs to the features and reaches the methods as ``standardised=(image, text)``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from numbers import Integral, Real

INTRA_FORMS = ("target", "local", "orthogonal", "hash_real")
"""The forms of SGRN's L_intra (method.md section 7); a value joins one or more with '+'."""
REBASE_FORMS = ("mask", "lift")
"""The forms of SGRN's LRGR (method.md section 4, `graphs.rebase`)."""


@dataclass(frozen=True)
class Param:
    """One hyper-parameter: its default (whose type is the parameter's type) and range.

    low/high bound a number (None: unbounded); low_open makes the lower bound strict.
    A text parameter takes one of ``choices``, or with ``combine`` several joined by '+'.
    """

    default: bool | int | float | str
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    choices: tuple[str, ...] = ()
    combine: bool = False

    def allowed(self, name: str) -> str:
        """The range in words, e.g. '0 <= omega <= 1', 'gamma > 0'."""
        if isinstance(self.default, bool):
            return f"{name} is true or false"
        if isinstance(self.default, str):
            joined = " joined by '+'" if self.combine else ""
            return f"{name} is one or more of {', '.join(self.choices)}{joined}" if self.combine \
                else f"{name} is one of {', '.join(self.choices)}"
        lo = "" if self.low is None else f"{self.low:g} {'<' if self.low_open else '<='} "
        hi = "" if self.high is None else f" <= {self.high:g}"
        if not lo and not hi:
            return f"{name} is any finite number"
        if lo and not hi:  # read "gamma > 0" rather than "0 < gamma"
            return f"{name} {'>' if self.low_open else '>='} {self.low:g}"
        return f"{lo}{name}{hi}"

    def check(self, family: str, name: str, value: object) -> bool | int | float | str:
        """The value, converted to the parameter's type; ValueError when it does not fit."""
        where = f"{family}: parameter {name}={value!r}"
        if isinstance(self.default, bool):
            if not isinstance(value, bool):
                raise ValueError(f"{where} must be true or false")
            return value
        if isinstance(self.default, str):
            parts = value.split("+") if isinstance(value, str) and self.combine else [value]
            if any(part not in self.choices for part in parts) or len(set(parts)) != len(parts):
                raise ValueError(f"{where} is not allowed: {self.allowed(name)}")
            return value
        if isinstance(self.default, int):
            if isinstance(value, bool) or not isinstance(value, Integral):
                raise ValueError(f"{where} must be an integer ({self.allowed(name)})")
            value = int(value)
        else:
            if isinstance(value, bool) or not isinstance(value, Real):
                raise ValueError(f"{where} must be a number ({self.allowed(name)})")
            value = float(value)
            if not math.isfinite(value):
                raise ValueError(f"{where} must be finite ({self.allowed(name)})")
        too_low = self.low is not None and (
            value <= self.low if self.low_open else value < self.low
        )
        too_high = self.high is not None and value > self.high
        if too_low or too_high:
            raise ValueError(f"{where} is out of range: allowed {self.allowed(name)}")
        return value


# targets from one graph over the whole training set, sliced per batch (read by the trainer)
GLOBAL_GRAPH = Param(False)

TABLES: dict[str, dict[str, Param]] = {
    "sgrn": {
        "global_graph": GLOBAL_GRAPH,
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
    },
    "djsrh": {
        "global_graph": GLOBAL_GRAPH,
        "beta": Param(0.9, low=0, high=1),  # image weight in the joint graph
        "eta": Param(0.4, low=0, high=1),  # weight of the second-order term S~ S~^T / m
        "mu": Param(1.5, low=0, low_open=True),  # scale of the target S
        "lambda1": Param(0.1, low=0),  # image-image term of the loss
        "lambda2": Param(0.1, low=0),  # text-text term of the loss
    },
    "jdsh": {  # defaults are JDSH's MIRFlickr ones (section 9)
        "global_graph": GLOBAL_GRAPH,
        "a": Param(0.5, low=0),  # weight of S_I
        "b": Param(0.1, low=0),  # weight of S_T
        "l": Param(0.4, low=0),  # weight of the joint-modal term (S_high + S_high^T) / 2
        "mu": Param(1.4, low=0, low_open=True),  # scale of the target S
        "intra": Param(0.1, low=0),  # weight of the image-image and text-text terms
        "pair": Param(1.0, low=0),  # weight of the paired-item term -mean(diag(H^_I H^_T^T))
        "l1": Param(0.1, low=0),  # strength of the left-tail (dissimilar) re-weighting
        "l2": Param(0.2, low=0),  # strength of the right-tail (similar) re-weighting
        # Tail thresholds and the distribution's extremes, constants fitted by JDSH to S~ on
        # MIRFlickr with AlexNet features (left = -0.49 - 2 * 0.019, right = -0.49 + 4 * 0.088):
        # refit them for other features or datasets.
        "left": Param(-0.528),
        "right": Param(-0.138),
        "s_min": Param(-0.52),
        "s_max": Param(0.68),
    },
    "dgcpn": {  # DGCPN (AAAI 2021), method.md section 9; defaults are DGCPN's
        "global_graph": Param(True),
        # edges kept per row of S_pair, as a fraction of the m rows: k = neighbour_count(k_fraction,
        # m), at least 1, self included (DGCPN: 2,000 of 5,000); 1 keeps every edge
        "k_fraction": Param(0.4, low=0, high=1, low_open=True),
        "a1": Param(0.01, low=0, high=1),  # text weight in S_pair = a1 C_T + (1 - a1) C_I
        "a2": Param(0.3, low=0, high=1),  # weight of the neighbour coherence in S
        "mu": Param(1.5, low=0, low_open=True),  # scale of the target S (as DJSRH's mu)
        "gamma_c": Param(0.1, low=0),  # weight of the consistency terms, 0 = off [ours]
        "half_binary": Param(0.5, low=0),  # weight of the half-binary terms, 0 = off [ours]
    },
    "cca_itq": {  # CCA + ITQ (Gong et al.), fitted in closed form, not by SGD
        # each modality is first reduced and whitened by PCA to this many dimensions (raised
        # to the code length when smaller; fewer when the data have fewer): CCA's regulariser
        "pca_dim": Param(256, low=1),
        "itq_iters": Param(50, low=1),  # iterations of the ITQ rotation
    },
}


def neighbour_count(k_fraction: float, m: int) -> int:
    """DGCPN's k for a graph of ``m`` rows: k_fraction * m rounded half up, within [1, m]."""
    return min(m, max(1, math.floor(k_fraction * m + 0.5)))


def known_families() -> list[str]:
    """The method families, sorted."""
    return sorted(TABLES)


def check_family(family: str) -> None:
    """ValueError naming an unknown family and the known ones."""
    if family not in TABLES:
        raise ValueError(f"unknown method family {family!r}; known: {', '.join(known_families())}")


def check_standardised(family: str, standardised: object) -> tuple[bool, bool]:
    """``standardised`` as an (image, text) pair of bools; ValueError when it is not one."""
    if (
        not isinstance(standardised, (tuple, list))
        or len(standardised) != 2
        or not all(isinstance(x, bool) for x in standardised)
    ):
        raise ValueError(
            f"{family}: standardised={standardised!r} must be a pair of booleans "
            "(image, text)"
        )
    return (standardised[0], standardised[1])


def check_batch_size(family: str, batch_size: object) -> None:
    """batch_size is None (unchecked) or a positive integer."""
    if batch_size is None:
        return
    if isinstance(batch_size, bool) or not isinstance(batch_size, Integral) or batch_size < 1:
        raise ValueError(f"{family}: batch_size={batch_size!r} must be a positive integer")


def resolve(family: str, table: Mapping[str, Param], given: Mapping[str, object]) -> dict:
    """Defaults of ``table`` overridden by ``given``, every value checked."""
    unknown = sorted(set(given) - set(table))
    if unknown:
        raise ValueError(
            f"{family}: unknown parameter(s) {', '.join(unknown)}; "
            f"known: {', '.join(sorted(table))}"
        )
    return {
        name: p.check(family, name, given[name]) if name in given else p.default
        for name, p in table.items()
    }


def resolve_method_params(
    family: str, given: Mapping[str, object] | None, batch_size: int | None
) -> dict:
    """``given`` (a `method_params` block) checked and completed with the defaults of ``family``.

    A ``family`` key in ``given`` is accepted when it names ``family`` (so a params.yaml
    block can be passed as it is) and is not part of the result. ``batch_size`` is the
    number of rows each graph will have (None: unchecked): the training batch, or the
    number n of training pairs when ``global_graph`` is true (the trainer then builds one
    graph over all n and slices it per batch). For sgrn, k must be smaller than it when the
    kNN mask or the gate, the two users of k, is on. For dgcpn, k is the fraction
    k_fraction of the rows (`neighbour_count`), at most all of them, so any batch size
    fits. For jdsh, left <= right.
    Raises ValueError naming the family and the offending key.
    """
    check_family(family)
    given = dict(given or {})
    declared = given.pop("family", family)
    if declared != family:
        raise ValueError(f"params name family {declared!r} but {family!r} was asked for")
    check_batch_size(family, batch_size)
    p = resolve(family, TABLES[family], given)
    if family == "sgrn":
        if (p["knn"] or p["gate"]) and batch_size is not None and p["k"] >= batch_size:
            raise ValueError(
                f"{family}: k={p['k']} must be smaller than the batch size {batch_size} "
                "(k counts neighbours within a batch, self included)"
            )
    elif family == "jdsh":
        if p["left"] > p["right"]:
            raise ValueError(
                f"{family}: left={p['left']!r} must not exceed right={p['right']!r}"
            )
    return p


__all__ = [
    "INTRA_FORMS",
    "REBASE_FORMS",
    "Param",
    "TABLES",
    "check_family",
    "check_standardised",
    "known_families",
    "neighbour_count",
    "resolve_method_params",
]
