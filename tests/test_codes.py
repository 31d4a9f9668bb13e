"""Tests for sgrn.codes: sign, packing, bit order and Hamming distances."""

import numpy as np
import pytest

from sgrn.codes import BIT_ORDER, binarize, hamming_distances, pack_codes, unpack_codes


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
