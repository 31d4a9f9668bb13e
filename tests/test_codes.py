"""Tests for sgrn.retrieval.codes: sign, packing, bit order and Hamming distances."""

import numpy as np
import pytest
from ci_guard import import_declared

from sgrn.retrieval.codes import BIT_ORDER, binarize, hamming_distances, pack_codes, unpack_codes


def _random_codes(rng, n, bits):
    return rng.choice(np.array([-1, 1], dtype=np.int8), size=(n, bits))


def test_binarize_sign_with_zero_positive():
    h = np.array([[-2.0, -0.0, 0.0, 1e-9, -1e-9, 3.0, -np.inf, np.inf]])
    b = binarize(h)
    assert b.dtype == np.int8
    assert b.tolist() == [[-1, 1, 1, 1, -1, 1, -1, 1]]


def test_binarize_rejects_nan_and_wrong_rank():
    with pytest.raises(ValueError, match="NaN"):
        binarize(np.array([[0.5, np.nan]]))
    with pytest.raises(ValueError, match="2-D"):
        binarize(np.zeros(8))


@pytest.mark.parametrize("bits", [8, 16, 24, 64, 128])
def test_pack_unpack_roundtrip(bits):
    rng = np.random.default_rng(bits)
    b = _random_codes(rng, 37, bits)
    packed = pack_codes(b)
    assert packed.dtype == np.uint8 and packed.shape == (37, bits // 8)
    out = unpack_codes(packed, bits)
    assert out.dtype == np.int8
    np.testing.assert_array_equal(out, b)


def test_bit_order_first_bit_is_msb_of_byte_zero():
    assert BIT_ORDER == "big"
    b = -np.ones((1, 16), dtype=np.int8)
    b[0, 0] = 1
    assert pack_codes(b).tolist() == [[0b10000000, 0]]
    b = -np.ones((1, 16), dtype=np.int8)
    b[0, 15] = 1
    assert pack_codes(b).tolist() == [[0, 0b00000001]]


@pytest.mark.parametrize("bits", [0, 4, 12, 65])
def test_pack_rejects_bad_length(bits):
    with pytest.raises(ValueError, match=f"c={bits}"):
        pack_codes(np.ones((2, bits), dtype=np.int8))


def test_pack_rejects_non_pm1_values():
    with pytest.raises(ValueError, match="-1, \\+1"):
        pack_codes(np.zeros((2, 8), dtype=np.int8))


def test_unpack_rejects_mismatched_bits():
    packed = np.zeros((2, 2), dtype=np.uint8)
    with pytest.raises(ValueError, match="16 bits"):
        unpack_codes(packed, 24)
    with pytest.raises(ValueError, match="c=12"):
        unpack_codes(packed, 12)


@pytest.mark.parametrize("bits", [8, 16, 24, 64, 128])
def test_hamming_matches_dot_product_formula(bits):
    rng = np.random.default_rng(100 + bits)
    bq = _random_codes(rng, 29, bits)
    bd = _random_codes(rng, 53, bits)
    bd[:5] = bq[:5]  # some zero distances
    bd[5:10] = -bq[5:10]  # some maximal distances
    d = hamming_distances(pack_codes(bq), pack_codes(bd))
    expected = (bits - bq.astype(np.int64) @ bd.astype(np.int64).T) // 2
    assert d.dtype == np.uint16 and d.shape == (29, 53)
    np.testing.assert_array_equal(d, expected)
    assert (np.diag(d[:5, :5]) == 0).all()
    assert (d[np.arange(5, 10), np.arange(5, 10)] == bits).all()


def test_hamming_accepts_non_contiguous_input():
    rng = np.random.default_rng(7)
    bq = _random_codes(rng, 10, 64)
    bd = _random_codes(rng, 12, 64)
    pq = np.asfortranarray(pack_codes(bq))
    pd = pack_codes(bd)[::-1][::-1]
    expected = (64 - bq.astype(np.int64) @ bd.astype(np.int64).T) // 2
    np.testing.assert_array_equal(hamming_distances(pq, pd), expected)


def test_hamming_rejects_different_lengths():
    with pytest.raises(ValueError, match="64 bits vs 32 bits"):
        hamming_distances(np.zeros((2, 8), np.uint8), np.zeros((3, 4), np.uint8))


# --- word planes and top-K search -------------------------------------------------------

from sgrn.retrieval.codes import WordPlanes, hamming_topk, label_planes, word_planes  # noqa: E402


@pytest.mark.parametrize("bits", [8, 16, 24, 64, 72, 128, 256])
def test_word_planes_pad_to_64_bit_words(bits):
    rng = np.random.default_rng(bits)
    packed = pack_codes(_random_codes(rng, 11, bits))
    planes = word_planes(packed)
    n_words = -(-bits // 64)
    assert isinstance(planes, WordPlanes) and planes.bits == bits and planes.bit_order == BIT_ORDER
    assert planes.words.dtype == np.uint64 and planes.words.shape == (n_words, 11)
    assert planes.words.flags.c_contiguous and planes.words.ctypes.data % 64 == 0
    # the bytes of each code, in order, then zero padding
    back = np.ascontiguousarray(planes.words.T).view(np.uint8)
    np.testing.assert_array_equal(back[:, :bits // 8], packed)
    assert not back[:, bits // 8:].any()
    assert len(planes) == 11


def test_word_planes_check_the_recorded_length():
    with pytest.raises(ValueError, match="16 bits per row, but bits=24"):
        word_planes(np.zeros((2, 2), np.uint8), bits=24)
    with pytest.raises(ValueError, match="2-D uint8"):
        word_planes(np.zeros((2, 2), np.int8))


def test_label_planes_relevance_is_one_and():
    rng = np.random.default_rng(3)
    for n_labels in (1, 10, 64, 65, 130):
        labels = (rng.random((20, n_labels)) < 0.2).astype(np.uint8)
        planes = label_planes(labels)
        assert planes.shape == (max(1, -(-n_labels // 64)), 20)
        shared = np.zeros((20, 20), bool)
        for w in range(planes.shape[0]):
            shared |= (planes[w][:, None] & planes[w][None, :]) != 0
        np.testing.assert_array_equal(shared, (labels.astype(int) @ labels.T.astype(int)) > 0)


def _brute_topk(bq, bd, k):
    """Sort every item by (distance, index) with Python's sort, and take the first k."""
    bits = bq.shape[1]
    dist = (bits - bq.astype(np.int64) @ bd.astype(np.int64).T) // 2
    idx = [sorted(range(len(bd)), key=lambda j: (row[j], j))[:k] for row in dist.tolist()]
    idx = np.array(idx, dtype=np.int64).reshape(len(bq), -1)
    return idx, np.take_along_axis(dist, idx, axis=1)


@pytest.mark.parametrize(
    "bits,nq,ndb,k,chunk,threads",
    [(8, 30, 500, 10, 7, 2), (16, 20, 3000, 100, 4096, 1), (24, 9, 50, 50, 2, 2),
     (64, 25, 2000, 1, 5, 2), (128, 8, 700, 600, 3, 2), (256, 5, 300, 20, 1, 1),
     (8, 6, 5000, 1500, 4, 2)],
)
def test_topk_matches_a_stable_sort(bits, nq, ndb, k, chunk, threads):
    # 8-bit codes with thousands of items: big ties, and k cuts through them.
    rng = np.random.default_rng(bits + ndb)
    bq = _random_codes(rng, nq, bits)
    bd = _random_codes(rng, ndb, bits)
    bd[:3] = bq[:3]
    idx, dist = hamming_topk(pack_codes(bq), pack_codes(bd), k, threads=threads, chunk=chunk)
    ref_idx, ref_dist = _brute_topk(bq, bd, k)
    assert idx.dtype == np.int64 and dist.dtype == np.int32 and idx.shape == (nq, min(k, ndb))
    np.testing.assert_array_equal(idx, ref_idx)
    np.testing.assert_array_equal(dist, ref_dist)


def test_topk_with_all_items_tied_and_k_beyond_the_database():
    pq = np.zeros((3, 2), np.uint8)
    pd = np.zeros((40, 2), np.uint8)
    idx, dist = hamming_topk(pq, pd, 25, threads=2)
    assert (idx == np.arange(25)).all() and not dist.any()
    idx, dist = hamming_topk(pq, pd, 100)
    assert idx.shape == (3, 40) and (idx == np.arange(40)).all()


def test_topk_agrees_with_faiss_distances():
    faiss = import_declared("faiss", "faiss-cpu")  # skipped if missing; in CI a failure
    rng = np.random.default_rng(11)
    pq = rng.integers(0, 256, (50, 8), dtype=np.uint8)
    pd = rng.integers(0, 256, (4000, 8), dtype=np.uint8)
    index = faiss.IndexBinaryFlat(64)
    index.add(pd)
    ref_dist, _ = index.search(pq, 30)
    _, dist = hamming_topk(pq, pd, 30, threads=2)
    np.testing.assert_array_equal(dist, ref_dist)  # faiss's order within ties is its own


def test_topk_rejects_bad_input():
    pq = np.zeros((2, 8), np.uint8)
    with pytest.raises(ValueError, match="64 bits vs 32 bits"):
        hamming_topk(pq, np.zeros((5, 4), np.uint8), 3)
    with pytest.raises(ValueError, match="k must be"):
        hamming_topk(pq, pq, 0)
    with pytest.raises(ValueError, match="threads"):
        hamming_topk(pq, pq, 1, threads=0)
    with pytest.raises(ValueError, match="empty"):
        hamming_topk(pq, np.zeros((0, 8), np.uint8), 1)


@pytest.mark.parametrize("bits,ndb,k", [(16, 500, 10), (64, 3000, 100), (72, 50, 80), (128, 2000, 1)])
def test_rank_one_equals_hamming_topk(bits, ndb, k):
    """The numpy path of a single query (sgrn search, the page): the kernel's ids and distances,
    ties by database index (16 bits over 500 codes has many ties)."""
    from sgrn.retrieval.codes import rank_one

    rng = np.random.default_rng(bits + ndb)
    db = word_planes(pack_codes(_random_codes(rng, ndb, bits)))
    for _ in range(5):
        q = word_planes(pack_codes(_random_codes(rng, 1, bits)))
        idx, dist = rank_one(q, db, k)
        ref_idx, ref_dist = hamming_topk(q, db, k, threads=1)
        assert idx.dtype == ref_idx.dtype and dist.dtype == ref_dist.dtype
        np.testing.assert_array_equal(idx, ref_idx)
        np.testing.assert_array_equal(dist, ref_dist)
    with pytest.raises(ValueError, match="one query"):
        rank_one(word_planes(pack_codes(_random_codes(rng, 2, bits))), db, k)
