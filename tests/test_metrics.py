"""Tests for sgrn.metrics against a brute-force reference written with plain loops."""

import math

import numpy as np
import pytest

from sgrn.codes import pack_codes
from sgrn.metrics import evaluate_retrieval, map_at_r, relevance


def _reference(bq, bd, lq, ld, map_r, topk):
    """Brute force: sort each query's items by (distance, index), then walk the list."""
    bq, bd, lq, ld = bq.tolist(), bd.tolist(), lq.tolist(), ld.tolist()
    bits, ndb, nq = len(bq[0]), len(bd), len(bq)
    maps = {r: 0.0 for r in map_r}
    pks = {k: 0.0 for k in topk}
    rec_sum, rec_n = [0.0] * (bits + 1), 0
    prec_sum, prec_n = [0.0] * (bits + 1), [0] * (bits + 1)
    for qc, ql in zip(bq, lq):
        dist = [sum(1 for a, b in zip(qc, dc) if a != b) for dc in bd]
        rel = [any(x and y for x, y in zip(ql, dl)) for dl in ld]
        ranked = [rel[j] for j in sorted(range(ndb), key=lambda j: (dist[j], j))]
        for r in map_r:
            n = ndb if r is None else min(r, ndb)
            hits, total = 0, 0.0
            for pos in range(n):
                if ranked[pos]:
                    hits += 1
                    total += hits / (pos + 1)
            maps[r] += total / hits if hits else 0.0
        for k in topk:
            n = min(k, ndb)
            pks[k] += sum(ranked[:n]) / n
        n_rel = sum(rel)
        if n_rel:
            rec_n += 1
        for radius in range(bits + 1):
            retrieved = sum(1 for d in dist if d <= radius)
            relevant = sum(1 for d, x in zip(dist, rel) if d <= radius and x)
            if n_rel:
                rec_sum[radius] += relevant / n_rel
            if retrieved:
                prec_sum[radius] += relevant / retrieved
                prec_n[radius] += 1
    out = {("map@all" if r is None else f"map@{r}"): v / nq for r, v in maps.items()}
    out["p@k"] = {k: v / nq for k, v in pks.items()}
    out["recall"] = [s / rec_n if rec_n else math.nan for s in rec_sum]
    out["precision"] = [s / n if n else math.nan for s, n in zip(prec_sum, prec_n)]
    return out


def _random_case(seed, nq, ndb, bits, n_labels, p_label):
    rng = np.random.default_rng(seed)
    bq = rng.choice(np.array([-1, 1], dtype=np.int8), size=(nq, bits))
    bd = rng.choice(np.array([-1, 1], dtype=np.int8), size=(ndb, bits))
    lq = (rng.random((nq, n_labels)) < p_label).astype(np.uint8)
    ld = (rng.random((ndb, n_labels)) < p_label).astype(np.uint8)
    lq[0] = 0  # a query with no relevant item anywhere
    return bq, bd, lq, ld


def _assert_close(a, b):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    np.testing.assert_allclose(a, b, rtol=0, atol=1e-12, equal_nan=True)


@pytest.mark.parametrize(
    "seed,nq,ndb,bits,chunk",
    [(0, 40, 257, 8, 7), (1, 23, 150, 8, 256), (2, 17, 90, 16, 5), (3, 12, 64, 24, 1)],
)
def test_evaluate_matches_brute_force(seed, nq, ndb, bits, chunk):
    bq, bd, lq, ld = _random_case(seed, nq, ndb, bits, n_labels=6, p_label=0.12)
    map_r = (1, 5, 50, ndb, ndb + 1, None)
    topk = (1, 3, 100, ndb, 1000)
    ref = _reference(bq, bd, lq, ld, map_r, topk)
    got = evaluate_retrieval(pack_codes(bq), pack_codes(bd), lq, ld, map_r, topk, chunk=chunk)
    for r in map_r:
        key = "map@all" if r is None else f"map@{r}"
        _assert_close(got[key], ref[key])
        _assert_close(
            map_at_r(pack_codes(bq), pack_codes(bd), lq, ld, r, chunk=chunk), ref[key]
        )
    assert list(got["p@k"]) == list(topk)
    _assert_close(list(got["p@k"].values()), list(ref["p@k"].values()))
    assert got["pr"]["radius"] == list(range(bits + 1))
    _assert_close(got["pr"]["recall"], ref["recall"])
    _assert_close(got["pr"]["precision"], ref["precision"])
    # The random cases must exercise what they are meant to.
    rel = relevance(lq, ld)
    assert (~rel.any(axis=1)).sum() >= 1
    assert got["protocol"]["ties"] == "stable" and got["protocol"]["bits"] == bits


def test_map_beyond_database_equals_map_all():
    bq, bd, lq, ld = _random_case(5, 20, 100, 8, n_labels=4, p_label=0.3)
    pq, pd = pack_codes(bq), pack_codes(bd)
    full = map_at_r(pq, pd, lq, ld, None)
    assert map_at_r(pq, pd, lq, ld, 100) == full
    assert map_at_r(pq, pd, lq, ld, 10_000) == full
    res = evaluate_retrieval(pq, pd, lq, ld, map_r=(99, 10_000, None), topk=())
    assert res["map@10000"] == res["map@all"] == pytest.approx(full, abs=1e-12)
    assert res["map@99"] != res["map@all"]  # R = ndb - 1 does drop the last item


def _tiny():
    # Query: all +1 on 8 bits; items at distances 3, 0, 1, 2; items 0 and 1 relevant.
    bq = np.ones((1, 8), dtype=np.int8)
    bd = np.ones((4, 8), dtype=np.int8)
    bd[0, :3] = -1
    bd[2, :1] = -1
    bd[3, :2] = -1
    lq = np.array([[1, 0]], dtype=np.uint8)
    ld = np.array([[1, 0], [1, 1], [0, 1], [0, 0]], dtype=np.uint8)
    return pack_codes(bq), pack_codes(bd), lq, ld


def test_hand_computed_tiny_example():
    # Ranking: item 1 (d0, rel), item 2 (d1), item 3 (d2), item 0 (d3, rel).
    pq, pd, lq, ld = _tiny()
    res = evaluate_retrieval(pq, pd, lq, ld, map_r=(1, 2, 3, None), topk=(1, 2, 4, 10))
    assert res["map@1"] == 1.0
    assert res["map@2"] == 1.0
    assert res["map@3"] == 1.0
    assert res["map@all"] == pytest.approx((1 / 1 + 2 / 4) / 2, abs=1e-15)
    assert res["p@k"] == {1: 1.0, 2: 0.5, 4: 0.5, 10: 0.5}
    assert res["pr"]["precision"][:4] == pytest.approx([1, 1 / 2, 1 / 3, 1 / 2])
    assert res["pr"]["recall"][:4] == pytest.approx([1 / 2, 1 / 2, 1 / 2, 1])
    assert res["pr"]["precision"][4:] == pytest.approx([1 / 2] * 5)
    assert res["pr"]["recall"][4:] == pytest.approx([1.0] * 5)


def test_ties_are_ordered_by_database_index():
    # All four items tie at distance 0; relevant are items 1 and 3.
    pq = pack_codes(np.ones((1, 8), dtype=np.int8))
    pd = pack_codes(np.ones((4, 8), dtype=np.int8))
    lq = np.array([[1]], dtype=np.uint8)
    ld = np.array([[0], [1], [0], [1]], dtype=np.uint8)
    assert map_at_r(pq, pd, lq, ld, None) == pytest.approx((1 / 2 + 2 / 4) / 2)
    assert map_at_r(pq, pd, lq[:, :], ld[::-1].copy(), None) == pytest.approx(
        (1 / 1 + 2 / 3) / 2
    )


def test_zero_relevance_query_counts_as_zero():
    pq, pd, lq, ld = _tiny()
    pq2 = np.vstack([pq, pq])
    lq2 = np.vstack([lq, np.zeros_like(lq)])
    one = map_at_r(pq, pd, lq, ld, None)
    assert map_at_r(pq2, pd, lq2, ld, None) == pytest.approx(one / 2)
    res = evaluate_retrieval(pq2, pd, lq2, ld, topk=(1,))
    assert res["p@k"][1] == pytest.approx(0.5)
    # Recall averages over queries with relevant items only.
    assert res["pr"]["recall"][-1] == 1.0


def test_pr_nan_where_nothing_is_retrieved_or_relevant():
    pq = pack_codes(np.ones((1, 8), dtype=np.int8))
    bd = np.ones((3, 8), dtype=np.int8)
    bd[:, :2] = -1  # every item at distance 2
    lq = np.array([[0, 1]], dtype=np.uint8)
    ld = np.array([[1, 0]] * 3, dtype=np.uint8)
    res = evaluate_retrieval(pq, pack_codes(bd), lq, ld, topk=(1,))
    prec = res["pr"]["precision"]
    assert math.isnan(prec[0]) and math.isnan(prec[1]) and prec[2] == 0.0
    assert all(math.isnan(x) for x in res["pr"]["recall"])
    assert res["map@all"] == 0.0


def test_relevance_shares_a_label():
    lq = np.array([[1, 0, 0], [0, 0, 0], [1, 1, 0]], dtype=np.uint8)
    ld = np.array([[1, 0, 0], [0, 1, 1], [0, 0, 1]], dtype=np.uint8)
    expected = [[True, False, False], [False, False, False], [True, True, False]]
    assert relevance(lq, ld).tolist() == expected


def test_error_cases():
    pq, pd, lq, ld = _tiny()
    with pytest.raises(ValueError, match="'stable'"):
        map_at_r(pq, pd, lq, ld, None, ties="random")
    with pytest.raises(ValueError, match="'stable'"):
        evaluate_retrieval(pq, pd, lq, ld, ties="mean")
    for bad in (0, -1, 2.5):
        with pytest.raises(ValueError, match="cut-off"):
            map_at_r(pq, pd, lq, ld, bad)
    for bad in (0, 1.5):
        with pytest.raises(ValueError, match="cut-off"):
            evaluate_retrieval(pq, pd, lq, ld, topk=(bad,))
    res = evaluate_retrieval(pq, pd, lq, ld, map_r=None, topk=2)
    assert set(res) == {"map@all", "p@k", "pr", "protocol"} and list(res["p@k"]) == [2]
    with pytest.raises(ValueError, match="chunk"):
        map_at_r(pq, pd, lq, ld, None, chunk=0)
    with pytest.raises(ValueError, match="counts"):
        map_at_r(pq, pd, lq, ld[:3], None)
    with pytest.raises(ValueError, match="same number of labels"):
        relevance(lq, ld[:, :1])
    with pytest.raises(ValueError, match="8 bits vs 16 bits"):
        map_at_r(pq, np.zeros((4, 2), np.uint8), lq, ld, None)
