"""The hyper-parameters of every method family, in one place and without torch.

`TABLES` holds, per family, the `method_params` keys of params.yaml with their defaults and
ranges; `resolve_method_params` validates a block against them and names the offending key.
The method classes in sgrn/methods take their tables from here, and sgrn/params.py checks a
params.yaml (and its search space) without importing torch.

Whether features were standardised (method.md section 3) is not a method parameter: it
belongs to the features and reaches the methods as ``standardised=(image, text)``.
"""

from __future__ import annotations

import importlib
import math
import pkgutil
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from numbers import Integral, Real
from types import ModuleType

INTRA_FORMS = ("target", "local", "orthogonal", "hash_real")
"""The forms of SGRN's L_intra (method.md section 7); a value joins one or more with '+'."""
REBASE_FORMS = ("mask", "lift")
"""The forms of SGRN's LRGR (method.md section 4, `graphs.rebase`)."""


@dataclass(frozen=True)
class Param:
    """One hyper-parameter: its default (whose type is the parameter's type) and range.

    low/high bound a number (None: unbounded); low_open makes the lower bound strict. A default
    of None makes an optional number: absent unless a block sets it.
    A text parameter takes one of ``choices``, or with ``combine`` several joined by '+'.
    """

    default: bool | int | float | str | None
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
        if value is None and self.default is None:  # an optional number left unset
            return None
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
# the method's learning rate for both hash nets, instead of train.lr_image and train.lr_text
# (read by the trainer, sgrn.train.learning_rates); None: those of the train section
LEARNING_RATE = Param(None, low=0, high=1, low_open=True)


def known_families() -> list[str]:
    """The method families, sorted: one module sgrn/hparams/<family>.py each."""
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))


def family_module(family: str) -> ModuleType:
    """sgrn/hparams/<family>.py: its `TABLE` and, where it has one, `check(params, batch_size)`.

    Imported by name, so that a step imports only the tables it uses: the pipeline lists a
    train job's family module among its code inputs (sgrn/pipeline.py), not every family's.
    """
    check_family(family)
    return importlib.import_module(f"{__name__}.{family}")


class _Tables(Mapping):
    """family -> its parameter table, each module imported when first asked for."""

    def __getitem__(self, family: str) -> dict[str, Param]:
        if family not in known_families():
            raise KeyError(family)
        return family_module(family).TABLE

    def __iter__(self) -> Iterator[str]:
        return iter(known_families())

    def __len__(self) -> int:
        return len(known_families())


TABLES: Mapping[str, dict[str, Param]] = _Tables()
"""Per family, the `method_params` keys of params.yaml with their defaults and ranges."""


def check_family(family: str) -> None:
    """ValueError naming an unknown family and the known ones."""
    if family not in known_families():
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


def _other_families(family: str, keys: list[str]) -> str:
    """' (l1 is a parameter of jdsh; ...)' for keys that other families have: a block that
    mixes families' keys says where each came from ('' when none is another family's)."""
    owners = {key: [f for f in known_families() if f != family and key in TABLES[f]] for key in keys}
    said = [f"{key} is a parameter of {', '.join(fams)}" for key, fams in owners.items() if fams]
    return f" ({'; '.join(said)}; a block holds the keys of its own family only)" if said else ""


def resolve(family: str, table: Mapping[str, Param], given: Mapping[str, object]) -> dict:
    """Defaults of ``table`` overridden by ``given``, every value checked."""
    unknown = sorted(set(given) - set(table))
    if unknown:
        raise ValueError(
            f"{family}: unknown parameter(s) {', '.join(unknown)}; "
            f"known: {', '.join(sorted(table))}{_other_families(family, unknown)}"
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
    fits. For jdsh, left <= right. (Each family's own `check`.)
    Raises ValueError naming the family and the offending key.
    """
    check_family(family)
    given = dict(given or {})
    declared = given.pop("family", family)
    if declared != family:
        raise ValueError(f"params name family {declared!r} but {family!r} was asked for")
    check_batch_size(family, batch_size)
    module = family_module(family)
    p = resolve(family, module.TABLE, given)
    if hasattr(module, "check"):
        module.check(p, batch_size)
    return p


__all__ = [
    "INTRA_FORMS",
    "REBASE_FORMS",
    "Param",
    "TABLES",
    "check_family",
    "check_standardised",
    "known_families",
    "family_module",
    "resolve_method_params",
]
