"""Binary codes: sign, bit packing and Hamming distances over packed codes.

Codes are {-1,+1} int8 matrices of shape (n, c). Packed codes are uint8 matrices of
shape (n, c/8) with bit +1 -> 1 and -1 -> 0, in ``BIT_ORDER`` ("big": the first code bit
is the most significant bit of byte 0, as ``np.packbits`` does by default).
"""

from __future__ import annotations

import numpy as np

BIT_ORDER = "big"


def binarize(h: np.ndarray) -> np.ndarray:
    """Sign of real-valued outputs ``h`` (n, c) as {-1,+1} int8, with 0 -> +1.

    Raises ValueError on NaN, which would otherwise become a silent -1 bit.
    """
    h = np.asarray(h)
    if h.ndim != 2:
        raise ValueError(f"binarize expects a 2-D array (n, c), got shape {h.shape}")
    if np.issubdtype(h.dtype, np.floating) and np.isnan(h).any():
        raise ValueError("binarize: input contains NaN")
    return np.where(h >= 0, 1, -1).astype(np.int8)


def _check_bits(bits: int) -> None:
    if isinstance(bits, bool) or not isinstance(bits, (int, np.integer)):
        raise ValueError(f"code length c must be an integer, got c={bits!r}")
    if bits <= 0 or bits % 8 != 0:
        raise ValueError(f"code length c must be a positive multiple of 8, got c={bits}")


def pack_codes(b: np.ndarray) -> np.ndarray:
    """Pack {-1,+1} codes (n, c) into uint8 (n, c/8); c must be a positive multiple of 8."""
    b = np.asarray(b)
    if b.ndim != 2:
        raise ValueError(f"pack_codes expects a 2-D array (n, c), got shape {b.shape}")
    _check_bits(b.shape[1])
    # {0,1} codes would pack without complaint but mean something else: reject them.
    if not np.all((b == 1) | (b == -1)):
        raise ValueError("pack_codes expects codes in {-1, +1}")
    return np.packbits(b > 0, axis=1, bitorder=BIT_ORDER)


def unpack_codes(packed: np.ndarray, bits: int) -> np.ndarray:
    """Inverse of :func:`pack_codes`: uint8 (n, bits/8) -> {-1,+1} int8 (n, bits)."""
    packed = np.asarray(packed)
    _check_bits(bits)
    if packed.dtype != np.uint8 or packed.ndim != 2:
        raise ValueError(
            f"unpack_codes expects a 2-D uint8 array, got {packed.dtype} {packed.shape}"
        )
    if packed.shape[1] * 8 != bits:
        raise ValueError(
            f"packed codes hold {packed.shape[1] * 8} bits per row, but bits={bits}"
        )
    unpacked = np.unpackbits(packed, axis=1, bitorder=BIT_ORDER)
    return (unpacked.astype(np.int8) * 2 - 1).astype(np.int8)


def _words(packed: np.ndarray) -> np.ndarray:
    """View packed rows as uint64 words when the row length allows, else keep uint8."""
    packed = np.ascontiguousarray(packed, dtype=np.uint8)
    if packed.shape[1] % 8 == 0:
        return packed.view(np.uint64)
    return packed


def hamming_distances(q_packed: np.ndarray, db_packed: np.ndarray) -> np.ndarray:
    """Hamming distances between packed codes: uint16 (nq, ndb).

    Memory is one (nq, ndb) word array at a time; callers chunk over queries.
    """
    q_packed = np.asarray(q_packed)
    db_packed = np.asarray(db_packed)
    for name, a in (("q_packed", q_packed), ("db_packed", db_packed)):
        if a.ndim != 2 or a.dtype != np.uint8:
            raise ValueError(f"{name} must be a 2-D uint8 array, got {a.dtype} {a.shape}")
    if q_packed.shape[1] != db_packed.shape[1]:
        raise ValueError(
            "query and database codes differ in length: "
            f"{q_packed.shape[1] * 8} bits vs {db_packed.shape[1] * 8} bits"
        )
    if q_packed.shape[1] * 8 > np.iinfo(np.uint16).max:
        raise ValueError(f"code length {q_packed.shape[1] * 8} does not fit uint16 distances")
    qw = _words(q_packed)
    dw = _words(db_packed)
    dist = np.zeros((qw.shape[0], dw.shape[0]), dtype=np.uint16)
    # One word column at a time keeps the XOR temporary at (nq, ndb).
    for j in range(qw.shape[1]):
        dist += np.bitwise_count(qw[:, j, None] ^ dw[None, :, j])
    return dist
