"""Methods: each turns a batch's features into target graphs and hash outputs into a loss.

A method family is a module `sgrn/methods/<family>.py` whose `METHOD` is its class, with its
parameter table in the torch-free `sgrn/hparams/<family>.py`. `build_method` imports only the
family it builds, so that a train job depends on its own family's code alone (the pipeline
lists that module among the job's code inputs, sgrn/workflow/pipeline.py). `cca_itq` is fitted in
closed form (`CCAITQ.fit`) instead of being trained by SGD on targets and a loss.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping

from sgrn.hparams import check_family


def method_class(family: str) -> type:
    """The class of ``family`` (ValueError naming the known families for an unknown one)."""
    check_family(family)
    return importlib.import_module(f"{__name__}.{family}").METHOD


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
    # the class checks the params, a matching `family` key among them included
    return method_class(family)(batch_size=batch_size, standardised=standardised, **dict(params or {}))


__all__ = ["build_method", "method_class"]
