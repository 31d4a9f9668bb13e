"""Methods: each turns a batch's features into target graphs and hash outputs into a loss.

The registry maps the `family` of a `method_params` block of params.yaml to its class; the
parameter tables themselves live in the torch-free sgrn.hparams. `cca_itq` is fitted in
closed form (`CCAITQ.fit`) instead of being trained by SGD on targets and a loss.
"""

from __future__ import annotations

from collections.abc import Mapping

from sgrn.hparams import check_family
from sgrn.methods.cca_itq import CCAITQ
from sgrn.methods.dgcpn import DGCPN
from sgrn.methods.djsrh import DJSRH
from sgrn.methods.jdsh import JDSH
from sgrn.methods.sgrn import SGRN

FAMILIES = {"sgrn": SGRN, "djsrh": DJSRH, "jdsh": JDSH, "dgcpn": DGCPN, "cca_itq": CCAITQ}


def build_method(
    family: str,
    params: Mapping[str, object] | None,
    batch_size: int | None,
    standardised: tuple[bool, bool] = (False, False),
):
    """The method of ``family`` built from ``params`` (a `method_params` block).

    A ``family`` key inside ``params`` is accepted when it names the same family, so a
    params.yaml block can be passed as it is. ``standardised`` = (image, text): whether each
    modality's features were z-scored (method.md section 3), recorded with the features.
    """
    check_family(family)
    # the class checks the params, a matching `family` key among them included
    return FAMILIES[family](batch_size=batch_size, standardised=standardised, **dict(params or {}))


__all__ = ["CCAITQ", "DGCPN", "DJSRH", "FAMILIES", "JDSH", "SGRN", "build_method"]
