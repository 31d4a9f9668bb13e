"""Methods: each turns a batch's features into target graphs and hash outputs into a loss.

`build_method` maps the `family` of a `method_params` block of params.yaml to its class.
"""

from __future__ import annotations

from collections.abc import Mapping

from sgrn.methods.djsrh import DJSRH
from sgrn.methods.jdsh import JDSH
from sgrn.methods.sgrn import SGRN

FAMILIES = {"sgrn": SGRN, "djsrh": DJSRH, "jdsh": JDSH}


def build_method(family: str, params: Mapping[str, object] | None, batch_size: int):
    """The method of ``family`` built from ``params`` (a `method_params` block).

    A ``family`` key inside ``params`` is accepted when it names the same family, so a
    params.yaml block can be passed as it is.
    """
    if family not in FAMILIES:
        raise ValueError(
            f"unknown method family {family!r}; known: {', '.join(sorted(FAMILIES))}"
        )
    params = dict(params or {})
    declared = params.pop("family", family)
    if declared != family:
        raise ValueError(f"params name family {declared!r} but {family!r} was asked for")
    return FAMILIES[family](batch_size=batch_size, **params)


__all__ = ["DJSRH", "FAMILIES", "JDSH", "SGRN", "build_method"]
