"""The error raised for malformed input data."""

from __future__ import annotations


class DataError(ValueError):
    """Bad input data; the message names the file, the line or field, and what was expected.

    ``file`` and ``line`` (1-based) repeat the location for callers that want it.
    """

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None):
        super().__init__(message)
        self.file = file
        self.line = line


def at(file: str, line: int | None, what: str) -> DataError:
    """A DataError located at ``file`` (and ``line``), formatted as ``file line N: what``."""
    where = file if line is None else f"{file} line {line}"
    return DataError(f"{where}: {what}", file=file, line=line)
