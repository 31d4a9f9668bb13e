"""Tests for sgrn.retrieval.metrics against a brute-force reference written with plain loops."""

import itertools
import math

import numpy as np
import pytest

from sgrn.retrieval.codes import pack_codes
from sgrn.retrieval.metrics import TIES, evaluate_retrieval, label_prior_map, map_at_r, relevance


def _reference(bq, bd, lq, ld, map_r, topk):
    """Brute force: sort each query's items by (distance, index), then walk the list."""
    bq, bd, lq, ld = bq.tolist(), bd.tolist(), lq.tolist(), ld.tolist()
    bits, ndb, nq = len(bq[0]), len(bd), len(bq)
    maps = {r: 0.0 for r in map_r}
    pks = {k: 0.0 for k in topk}
    query_ap = []
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
            if r is None:
                query_ap.append(total / hits if hits else 0.0)
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
    out["ap@all"] = query_ap
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
    _assert_close(got["ap@all"], ref["ap@all"])  # per query, in query order
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
    assert res["ap@all"] == [res["map@all"]]  # one query: its AP is the mean
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
    assert TIES == ("stable", "expected")
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
    assert set(res) == {"map@all", "ap@all", "p@k", "pr", "protocol"} and list(res["p@k"]) == [2]
    with pytest.raises(ValueError, match="chunk"):
        map_at_r(pq, pd, lq, ld, None, chunk=0)
    with pytest.raises(ValueError, match="counts"):
        map_at_r(pq, pd, lq, ld[:3], None)
    with pytest.raises(ValueError, match="same number of labels"):
        relevance(lq, ld[:, :1])
    with pytest.raises(ValueError, match="8 bits vs 16 bits"):
        map_at_r(pq, np.zeros((4, 2), np.uint8), lq, ld, None)
    with pytest.raises(ValueError, match="threads"):
        map_at_r(pq, pd, lq, ld, None, threads=0)


# --- many ties, both tie rules, against brute force --------------------------------------


def _tied_case(seed, nq, ndb, bits, n_labels, p_label, pool=4, flip=0.05):
    """Codes drawn from a few centres with rare flipped bits: large ties at each distance."""
    rng = np.random.default_rng(seed)
    centres = rng.choice(np.array([-1, 1], dtype=np.int8), size=(pool, bits))
    bd = centres[rng.integers(0, pool, ndb)]
    bd = np.where(rng.random(bd.shape) < flip, -bd, bd).astype(np.int8)
    bq = centres[rng.integers(0, pool, nq)]
    lq = (rng.random((nq, n_labels)) < p_label).astype(np.uint8)
    ld = (rng.random((ndb, n_labels)) < p_label).astype(np.uint8)
    lq[0] = 0  # no relevant item anywhere
    return bq, bd, lq, ld


@pytest.mark.parametrize("seed,nq,ndb,bits,chunk,threads", [
    (10, 30, 400, 8, 7, 2), (11, 12, 2000, 16, 256, 2), (12, 9, 300, 64, 1, 1),
    (13, 5, 257, 128, 2, 2),
])
def test_stable_rule_with_large_ties_matches_brute_force(seed, nq, ndb, bits, chunk, threads):
    bq, bd, lq, ld = _tied_case(seed, nq, ndb, bits, n_labels=5, p_label=0.2)
    map_r = (1, 7, 50, ndb // 3, ndb - 1, None)
    topk = (1, 10, 100, ndb)
    ref = _reference(bq, bd, lq, ld, map_r, topk)
    got = evaluate_retrieval(pack_codes(bq), pack_codes(bd), lq, ld, map_r, topk, chunk=chunk,
                             threads=threads)
    dist = (bits - bq.astype(int) @ bd.astype(int).T) // 2
    assert max(np.unique(row, return_counts=True)[1].max() for row in dist) >= 20  # big ties
    for r in map_r:
        key = "map@all" if r is None else f"map@{r}"
        _assert_close(got[key], ref[key])
    _assert_close(list(got["p@k"].values()), list(ref["p@k"].values()))
    _assert_close(got["pr"]["precision"], ref["precision"])
    _assert_close(got["pr"]["recall"], ref["recall"])


def _expected_reference(dist, rel, cuts):
    """Average AP@cut and hits@cut over every order of the items consistent with distance.

    Enumerates, within each tie, every distinct arrangement of its relevant and non-relevant
    items (all equally likely under a uniformly random order), for every tie at once.
    """
    ties = {}
    for d, x in zip(dist, rel):
        ties.setdefault(d, []).append(bool(x))
    arrangements = [sorted(set(itertools.permutations(ties[d]))) for d in sorted(ties)]
    ap = {c: 0.0 for c in cuts}
    hits = {c: 0.0 for c in cuts}
    count = 0
    for combo in itertools.product(*arrangements):
        ranked = [x for tie in combo for x in tie]
        count += 1
        for c in cuts:
            h, total = 0, 0.0
            for pos in range(c):
                if ranked[pos]:
                    h += 1
                    total += h / (pos + 1)
            ap[c] += total / h if h else 0.0
            hits[c] += h
    return {c: ap[c] / count for c in cuts}, {c: hits[c] / count for c in cuts}


@pytest.mark.parametrize("seed", range(12))
def test_expected_rule_matches_enumeration_of_tie_orders(seed):
    rng = np.random.default_rng(seed)
    ndb = int(rng.integers(4, 11))
    bq, bd, lq, ld = _tied_case(seed, 4, ndb, 8, n_labels=3, p_label=0.35, pool=3, flip=0.1)
    pq, pd = pack_codes(bq), pack_codes(bd)
    cuts = sorted({1, 2, 3, ndb // 2 + 1, ndb - 1, ndb} - {0})
    got = evaluate_retrieval(pq, pd, lq, ld, map_r=cuts, topk=cuts, ties="expected", chunk=3)
    dist = (8 - bq.astype(int) @ bd.astype(int).T) // 2
    rel = relevance(lq, ld)
    ref_ap = {c: 0.0 for c in cuts}
    ref_pk = {c: 0.0 for c in cuts}
    for i in range(len(bq)):
        ap, hits = _expected_reference(dist[i].tolist(), rel[i].tolist(), cuts)
        for c in cuts:
            ref_ap[c] += ap[c] / len(bq)
            ref_pk[c] += hits[c] / c / len(bq)
    for c in cuts:
        _assert_close(got[f"map@{c}"], ref_ap[c])
        _assert_close(got["p@k"][c], ref_pk[c])
    assert got["protocol"]["ties"] == "expected"
    # PR over radius does not depend on the tie rule
    stable = evaluate_retrieval(pq, pd, lq, ld, map_r=cuts, topk=cuts, ties="stable")
    for key in ("radius", "precision", "recall"):  # NaN where nothing is retrieved
        np.testing.assert_array_equal(stable["pr"][key], got["pr"][key])


def test_expected_rule_large_ties_against_random_orders():
    """Big ties (hundreds of items, the asymptotic branch of the harmonic sums): the closed
    form against the mean over many random orders within ties, to a few standard errors."""
    bq, bd, lq, ld = _tied_case(21, 6, 600, 8, n_labels=4, p_label=0.25, pool=2, flip=0.03)
    cuts = (1, 40, 250, 599, 600)
    got = evaluate_retrieval(pack_codes(bq), pack_codes(bd), lq, ld, map_r=cuts, topk=cuts,
                             ties="expected")
    dist = (8 - bq.astype(int) @ bd.astype(int).T) // 2
    rel = relevance(lq, ld)
    rng = np.random.default_rng(0)
    draws = 3000
    samples = {c: np.zeros(draws) for c in cuts}
    for t in range(draws):
        noise = rng.random(dist.shape)  # random order within each tie
        order = np.lexsort((noise, dist), axis=1)
        ranked = np.take_along_axis(rel, order, axis=1)
        hits = ranked.cumsum(axis=1)
        precision = np.where(ranked, hits / np.arange(1, ranked.shape[1] + 1), 0.0)
        for c in cuts:
            n_hits = hits[:, c - 1]
            ap = np.divide(precision[:, :c].sum(axis=1), n_hits, out=np.zeros(len(bq)),
                           where=n_hits > 0)
            samples[c][t] = ap.mean()
    for c in cuts:
        mean, err = samples[c].mean(), samples[c].std() / math.sqrt(draws)
        assert abs(got[f"map@{c}"] - mean) <= 4 * err + 1e-12, (c, got[f"map@{c}"], mean, err)
    assert max(np.unique(row, return_counts=True)[1].max() for row in dist) > 64


def test_expected_rule_with_identical_codes_is_the_label_prior():
    rng = np.random.default_rng(4)
    lq = (rng.random((40, 24)) < 0.1).astype(np.uint8)
    ld = (rng.random((3000, 24)) < 0.1).astype(np.uint8)
    lq[0] = 0
    pq, pd = np.zeros((40, 8), np.uint8), np.zeros((3000, 8), np.uint8)
    got = map_at_r(pq, pd, lq, ld, None, ties="expected")
    assert got == pytest.approx(label_prior_map(lq, ld), rel=0, abs=1e-13)
    # and under the stable rule the same codes rank by index: not the prior
    assert map_at_r(pq, pd, lq, ld, None) != pytest.approx(got, abs=1e-6)


def test_label_prior_map_in_chunks_equals_dense():
    rng = np.random.default_rng(5)
    lq = (rng.random((37, 6)) < 0.2).astype(np.uint8)
    ld = (rng.random((500, 6)) < 0.2).astype(np.uint8)
    n = ld.shape[0]
    r = relevance(lq, ld).sum(axis=1).astype(float)
    h = sum(1.0 / k for k in range(1, n + 1))
    dense = np.mean(np.where(r > 0, (h + (r - 1) * (n - h) / (n - 1)) / n, 0.0))
    assert label_prior_map(lq, ld, chunk=5) == pytest.approx(dense, abs=1e-15)


def test_results_do_not_depend_on_threads_or_chunk():
    bq, bd, lq, ld = _tied_case(31, 50, 3000, 16, n_labels=8, p_label=0.15)
    pq, pd = pack_codes(bq), pack_codes(bd)
    for ties in TIES:
        base = evaluate_retrieval(pq, pd, lq, ld, chunk=256, threads=1, ties=ties)
        # the same chunks on more threads: the same numbers, bit for bit
        assert evaluate_retrieval(pq, pd, lq, ld, chunk=256, threads=3, ties=ties) == base
        for chunk, threads in ((1, 2), (7, 2), (50, 3)):
            # other chunks only change the order in which per-query values are added
            other = evaluate_retrieval(pq, pd, lq, ld, chunk=chunk, threads=threads, ties=ties)
            for key in ("map@50", "map@all"):
                _assert_close(other[key], base[key])
            _assert_close(list(other["p@k"].values()), list(base["p@k"].values()))
            _assert_close(other["pr"]["precision"], base["pr"]["precision"])


def test_harmonic_span_is_accurate():
    from sgrn.retrieval.metrics import _harmonic_span

    for before in (0, 1, 30, 63, 64, 1000, 190_000, 10**6):
        for n in (1, 2, 64, 65, 100, 5000, 190_000):
            ref = math.fsum(1.0 / (before + p) for p in range(1, n + 1))
            assert _harmonic_span(before, n) == pytest.approx(ref, rel=2e-15, abs=0)


@pytest.mark.parametrize("bits,n_labels", [(64, 80), (128, 3), (256, 130)])
def test_long_codes_and_many_labels_under_both_rules(bits, n_labels):
    """Codes of several words, labels of several words: the stable rule against brute force,
    and the expected rule's counts (another kernel) giving the same PR curve."""
    bq, bd, lq, ld = _tied_case(40 + bits, 8, 300, bits, n_labels=n_labels, p_label=0.03)
    map_r, topk = (5, 100, None), (1, 50, 300)
    pq, pd = pack_codes(bq), pack_codes(bd)
    stable = evaluate_retrieval(pq, pd, lq, ld, map_r, topk, chunk=3, threads=2)
    expected = evaluate_retrieval(pq, pd, lq, ld, map_r, topk, chunk=3, threads=2,
                                  ties="expected")
    ref = _reference(bq, bd, lq, ld, map_r, topk)
    for key in ("map@5", "map@100", "map@all"):
        _assert_close(stable[key], ref[key])
        assert abs(expected[key] - stable[key]) < 0.1
    for key in ("radius", "precision", "recall"):  # NaN where nothing is retrieved
        np.testing.assert_array_equal(stable["pr"][key], expected["pr"][key])
    _assert_close(stable["pr"]["recall"], ref["recall"])
    assert expected["p@k"][300] == stable["p@k"][300]  # the whole database: no tie is cut
