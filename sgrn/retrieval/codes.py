"""Binary codes: sign, bit packing, Hamming distances and top-K search over packed codes.

Codes are {-1,+1} int8 matrices of shape (n, c). Packed codes are uint8 matrices of
shape (n, c/8) with bit +1 -> 1 and -1 -> 0, in ``BIT_ORDER`` ("big": the first code bit
is the most significant bit of byte 0, as ``np.packbits`` does by default). Files record
the code length and the bit order beside the packed rows (codes.h5 attributes ``bits`` and
``bit_order``).

For search and evaluation, packed rows are laid out as :class:`WordPlanes`: each code padded
with zero bits to whole 64-bit words, word w of every code in one contiguous row
``words[w]``. A Hamming distance is then a sum over words of popcount(q XOR x), which the
compiled kernels of sgrn.retrieval.hamming run vectorised (numba, imported only where a search or an
evaluation runs; the kernels release the GIL and run on an explicit number of Python
threads, see :func:`parallel_blocks`).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

BIT_ORDER = "big"
BLOCK = 4096  # database items per vectorised distance block (4 KiB of uint8 distances)


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


def _check_packed(name: str, a) -> np.ndarray:
    a = np.asarray(a)
    if a.ndim != 2 or a.dtype != np.uint8:
        raise ValueError(f"{name} must be a 2-D uint8 array of packed codes, got {a.dtype} {a.shape}")
    if a.shape[1] == 0:
        raise ValueError(f"{name} has rows of 0 bytes: no code bits")
    return a


def _check_same_length(q: np.ndarray, db: np.ndarray) -> None:
    if q.shape[1] != db.shape[1]:
        raise ValueError(
            "query and database codes differ in length: "
            f"{q.shape[1] * 8} bits vs {db.shape[1] * 8} bits"
        )


def hamming_distances(q_packed: np.ndarray, db_packed: np.ndarray) -> np.ndarray:
    """Hamming distances between packed codes: uint16 (nq, ndb), in plain numpy.

    The whole (nq, ndb) matrix: for small inputs and as a reference. Search and evaluation
    use the compiled kernels (:func:`hamming_topk`, ``sgrn.retrieval.metrics``), which never build it.
    """
    q_packed = _check_packed("q_packed", q_packed)
    db_packed = _check_packed("db_packed", db_packed)
    _check_same_length(q_packed, db_packed)
    if q_packed.shape[1] * 8 > np.iinfo(np.uint16).max:
        raise ValueError(f"code length {q_packed.shape[1] * 8} does not fit uint16 distances")
    return _plane_distances(word_planes(q_packed).words, word_planes(db_packed).words)


def _plane_distances(qw: np.ndarray, dw: np.ndarray) -> np.ndarray:
    """Hamming distances uint16 (nq, ndb) between the codes of two word-plane arrays."""
    dist = np.zeros((qw.shape[1], dw.shape[1]), dtype=np.uint16)
    for w in range(qw.shape[0]):  # one word at a time keeps the XOR temporary at (nq, ndb)
        dist += np.bitwise_count(qw[w][:, None] ^ dw[w][None, :]).astype(np.uint16)
    return dist


# --------------------------------------------------------------------------------------
# Word planes: the in-memory layout of the kernels


@dataclass(frozen=True)
class WordPlanes:
    """Packed codes as 64-bit word planes: ``words[w, i]`` holds bits 64w..64w+63 of code i.

    ``words`` is uint64 (n_words, n), C-contiguous and 64-byte aligned; padding bits are 0
    in every code, so they never count in a distance. ``bits`` is the code length and
    ``bit_order`` the order of the packed bytes the planes were made from.
    """

    words: np.ndarray
    bits: int
    bit_order: str = BIT_ORDER

    def __len__(self) -> int:
        return int(self.words.shape[1])


def _aligned_empty(shape: tuple[int, int], dtype, align: int = 64) -> np.ndarray:
    dtype = np.dtype(dtype)
    n = int(np.prod(shape)) * dtype.itemsize
    raw = np.empty(n + align, dtype=np.uint8)
    start = (-raw.ctypes.data) % align
    return raw[start:start + n].view(dtype).reshape(shape)


def word_planes(packed: np.ndarray, bits: int | None = None) -> WordPlanes:
    """Lay packed rows (n, c/8) out as :class:`WordPlanes`; ``bits`` defaults to 8 x row bytes."""
    packed = _check_packed("packed codes", packed)
    nbytes = packed.shape[1]
    if bits is None:
        bits = nbytes * 8
    _check_bits(bits)
    if bits != nbytes * 8:
        raise ValueError(f"packed codes hold {nbytes * 8} bits per row, but bits={bits}")
    n_words = -(-nbytes // 8)
    padded = np.zeros((packed.shape[0], n_words * 8), dtype=np.uint8)
    padded[:, :nbytes] = packed
    words = _aligned_empty((n_words, packed.shape[0]), np.uint64)
    words[...] = padded.view(np.uint64).T
    return WordPlanes(words, int(bits), BIT_ORDER)


def label_planes(labels: np.ndarray) -> np.ndarray:
    """0/1 label rows (n, L) as uint64 word planes (ceil(L/64), n): relevance is one AND."""
    labels = np.asarray(labels)
    if labels.ndim != 2:
        raise ValueError(f"labels must be a 2-D (n, L) array, got shape {labels.shape}")
    bits = np.packbits(labels != 0, axis=1, bitorder="little")
    n_words = max(1, -(-bits.shape[1] // 8))
    padded = np.zeros((labels.shape[0], n_words * 8), dtype=np.uint8)
    padded[:, :bits.shape[1]] = bits
    return np.ascontiguousarray(padded.view(np.uint64).T)


# --------------------------------------------------------------------------------------
# Threads: explicit counts, no pool that outlives a call


def default_threads() -> int:
    """The CPUs this process may run on (its affinity mask), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def check_threads(threads: int | None) -> int:
    if threads is None:
        return default_threads()
    if isinstance(threads, bool) or not isinstance(threads, (int, np.integer)) or threads < 1:
        raise ValueError(f"threads must be a positive integer, got {threads!r}")
    return int(threads)


def parallel_blocks(fn: Callable[[int, int], None], n: int, threads: int,
                    pool: ThreadPoolExecutor | None = None) -> None:
    """Run ``fn(start, stop)`` over row blocks of ``range(n)`` on ``threads`` threads.

    The compiled kernels release the GIL, so Python threads run them in parallel. Blocks are
    smaller than n / threads so that a core slowed by another process does not hold up the
    rest; each block writes its own rows of preallocated outputs.
    """
    if n <= 0:
        return
    if threads <= 1 or n == 1:
        fn(0, n)
        return
    n_blocks = min(n, 4 * threads)
    bounds = np.linspace(0, n, n_blocks + 1).astype(np.int64)
    own = pool is None
    pool = pool or ThreadPoolExecutor(max_workers=threads, thread_name_prefix="sgrn-hamming")
    try:
        futures = [pool.submit(fn, int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:]) if b > a]
        for f in futures:
            f.result()
    finally:
        if own:
            pool.shutdown(wait=True)


def rank_one(q: WordPlanes, db: WordPlanes, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The k nearest database codes of a single query, in numpy: the same (indices, distances)
    (1, k) as :func:`hamming_topk`, ranked by (distance, database index).

    One query over a database in plain numpy takes about as long as loading the compiled
    kernels would (numba and its imports, about a second on a busy machine), which is what a
    single query (``sgrn search``, the page) would otherwise wait for.
    """
    if q.bits != db.bits:
        raise ValueError(f"query and database codes differ in length: {q.bits} bits vs {db.bits} bits")
    if len(q) != 1:
        raise ValueError(f"rank_one takes one query, got {len(q)}")
    if len(db) == 0:
        raise ValueError("the database is empty")
    dist = _plane_distances(q.words, db.words)[0]
    order = np.argsort(dist, kind="stable")[:min(int(k), len(db))]  # stable: ties by index
    return order[None, :].astype(np.int64), dist[order][None, :].astype(np.int32)


def hamming_topk(
    q_packed: np.ndarray | WordPlanes,
    db_packed: np.ndarray | WordPlanes,
    k: int,
    threads: int | None = None,
    chunk: int = 4096,
) -> tuple[np.ndarray, np.ndarray]:
    """The k nearest database codes of each query: (indices int64, distances int32), (nq, k).

    Ranking is by Hamming distance, ties by database index (what a stable sort gives), so
    the result is deterministic and the same for any ``threads`` or ``chunk``. ``k`` larger
    than the database returns the whole database, ranked. Memory beyond the inputs and the
    results is O(k + 4096) per thread, for any number of queries and items; ``chunk``
    queries are searched per parallel round. ``threads=None`` uses every CPU of the
    process's affinity mask.
    """
    q = q_packed if isinstance(q_packed, WordPlanes) else word_planes(q_packed)
    db = db_packed if isinstance(db_packed, WordPlanes) else word_planes(db_packed)
    if q.bits != db.bits:
        raise ValueError(f"query and database codes differ in length: {q.bits} bits vs {db.bits} bits")
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    if isinstance(chunk, bool) or not isinstance(chunk, (int, np.integer)) or chunk < 1:
        raise ValueError(f"chunk must be a positive integer, got {chunk!r}")
    from sgrn.retrieval.hamming import topk_rows

    threads = check_threads(threads)
    nq, ndb = len(q), len(db)
    if ndb == 0:
        raise ValueError("the database is empty")
    k = min(int(k), ndb)
    idx = np.empty((nq, k), dtype=np.int64)
    dist = np.empty((nq, k), dtype=np.int32)
    dist_dtype = np.uint8 if db.bits < 256 else np.uint16

    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="sgrn-topk") as pool:
        for c0 in range(0, nq, chunk):
            c1 = min(nq, c0 + chunk)

            def run(a, b, c0=c0):
                # block distances in the narrowest type, so that they vectorise best
                block = np.empty(BLOCK, dtype=dist_dtype)
                topk_rows(q.words, db.words, k, c0 + a, c0 + b, idx[c0 + a:c0 + b],
                           dist[c0 + a:c0 + b], block)

            parallel_blocks(run, c1 - c0, threads, pool)
    return idx, dist
