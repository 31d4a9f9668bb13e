"""Methods: each turns a batch's features into target graphs and hash outputs into a loss.

`build_method` maps the `family` of a `method_params` block of params.yaml to its class.
Importing this package does not import torch (sgrn.methods.spec, the parameter tables, is
usable without it): the method classes and `FAMILIES` are loaded on first use.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping

from sgrn.methods.spec import check_family, known_families

# family -> (module, class); the modules import torch, so they are imported on demand
_CLASSES = {
    "sgrn": ("sgrn.methods.sgrn", "SGRN"),
    "djsrh": ("sgrn.methods.djsrh", "DJSRH"),
    "jdsh": ("sgrn.methods.jdsh", "JDSH"),
    "dgcpn": ("sgrn.methods.dgcpn", "DGCPN"),
}
_BY_CLASS_NAME = {cls: (mod, cls) for mod, cls in _CLASSES.values()}


def _load(module: str, cls: str) -> type:
    return getattr(importlib.import_module(module), cls)


def families() -> dict[str, type]:
    """{family: method class} (imports torch)."""
    return {family: _load(*_CLASSES[family]) for family in known_families()}


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
    cls = _load(*_CLASSES[family])
    # the class checks the params, a matching `family` key among them included
    return cls(batch_size=batch_size, standardised=standardised, **dict(params or {}))


def __getattr__(name: str):
    if name == "FAMILIES":
        return families()
    if name in _BY_CLASS_NAME:
        return _load(*_BY_CLASS_NAME[name])
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])


__all__ = ["DGCPN", "DJSRH", "FAMILIES", "JDSH", "SGRN", "build_method", "families"]
