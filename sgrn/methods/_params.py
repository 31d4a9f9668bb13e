"""Validation of a method's hyper-parameters (the `method_params` blocks of params.yaml).

Each method declares a table {name: Param}; `resolve` fills defaults and raises ValueError
naming the offending key for unknown keys, wrong types and out-of-range values.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from numbers import Integral, Real


@dataclass(frozen=True)
class Param:
    """One hyper-parameter: its default (whose type is the parameter's type) and range.

    low/high bound the value (None: unbounded); low_open makes the lower bound strict.
    """

    default: bool | int | float
    low: float | None = None
    high: float | None = None
    low_open: bool = False

    def allowed(self, name: str) -> str:
        """The range in words, e.g. '0 <= omega <= 1', 'gamma > 0'."""
        if isinstance(self.default, bool):
            return f"{name} is true or false"
        lo = "" if self.low is None else f"{self.low:g} {'<' if self.low_open else '<='} "
        hi = "" if self.high is None else f" <= {self.high:g}"
        if not lo and not hi:
            return f"{name} is any finite number"
        if lo and not hi:  # read "gamma > 0" rather than "0 < gamma"
            return f"{name} {'>' if self.low_open else '>='} {self.low:g}"
        return f"{lo}{name}{hi}"

    def check(self, family: str, name: str, value: object) -> bool | int | float:
        """The value, converted to the parameter's type; ValueError when it does not fit."""
        where = f"{family}: parameter {name}={value!r}"
        if isinstance(self.default, bool):
            if not isinstance(value, bool):
                raise ValueError(f"{where} must be true or false")
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


def check_batch_size(family: str, batch_size: object) -> None:
    """batch_size is None (unchecked) or a positive integer."""
    if batch_size is None:
        return
    if isinstance(batch_size, bool) or not isinstance(batch_size, Integral) or batch_size < 1:
        raise ValueError(f"{family}: batch_size={batch_size!r} must be a positive integer")
