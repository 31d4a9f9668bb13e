"""JDSH baseline: its formulas against plain-loop references, loss, parameters."""

from __future__ import annotations

import math

import pytest
import torch

from sgrn.graphs import cosine_graph, signed
from sgrn.methods import build_method
from sgrn.methods.jdsh import JDSH, joint_modal, reweight_tails


def ref_joint_modal(s_i, s_t, a, b, l):
    m = len(s_i)
    ni = [math.sqrt(sum(x * x for x in r)) for r in s_i]
    nt = [math.sqrt(sum(x * x for x in r)) for r in s_t]
    high = [
        [sum(x * y for x, y in zip(s_i[i], s_t[j])) / (ni[i] * nt[j]) for j in range(m)]
        for i in range(m)
    ]
    return [
        [a * s_i[i][j] + b * s_t[i][j] + l * (high[i][j] + high[j][i]) / 2 for j in range(m)]
        for i in range(m)
    ]


def ref_reweight(s, left, right, s_min, s_max, l1, l2):
    out = []
    for row in s:
        new = []
        for x in row:
            if x < left:
                x = (1 + l1 * math.exp(-(x - s_min))) * x
            elif x > right:
                x = (1 + l2 * math.exp(x - s_max)) * x
            new.append(x)
        out.append(new)
    return out


@pytest.fixture
def graphs64():
    g = torch.Generator().manual_seed(5)
    s_i = signed(cosine_graph(torch.rand(7, 6, generator=g, dtype=torch.float64)))
    s_t = signed(cosine_graph((torch.rand(7, 9, generator=g) > 0.6).double()))
    return s_i, s_t


def test_joint_modal_matches_loops(graphs64):
    s_i, s_t = graphs64
    out = joint_modal(s_i, s_t, 0.5, 0.1, 0.4)
    ref = torch.tensor(ref_joint_modal(s_i.tolist(), s_t.tolist(), 0.5, 0.1, 0.4), dtype=out.dtype)
    assert torch.allclose(out, ref, atol=1e-12, rtol=0)
    assert torch.equal(out, out.T)


@pytest.mark.parametrize("left,right", [(-0.528, -0.138), (-0.3, 0.2), (0.0, 0.0)])
def test_reweight_tails_matches_loops(left, right):
    s = torch.linspace(-1.2, 1.2, 49, dtype=torch.float64).reshape(7, 7)
    out = reweight_tails(s, left, right, -0.52, 0.68, 0.1, 0.2)
    ref = ref_reweight(s.tolist(), left, right, -0.52, 0.68, 0.1, 0.2)
    ref = torch.tensor(ref, dtype=out.dtype)
    assert torch.allclose(out, ref, atol=1e-12, rtol=0)
    # tails are pushed outward, the middle is untouched
    mid = (s >= left) & (s <= right)
    assert torch.equal(out[mid], s[mid])
    assert (out[s < min(left, 0)] < s[s < min(left, 0)]).all()
    assert (out[s > max(right, 0)] > s[s > max(right, 0)]).all()


def test_targets_and_loss():
    g = torch.Generator().manual_seed(6)
    f_img = torch.relu(torch.randn(12, 40, generator=g))
    f_txt = (torch.rand(12, 25, generator=g) > 0.8).float()
    h_img, h_txt = torch.tanh(torch.randn(2, 12, 16, generator=g))
    method = JDSH(batch_size=12)
    t = method.targets(f_img, f_txt)
    assert torch.equal(t["S"], t["S"].T)
    plain = JDSH(l1=0.0, l2=0.0).targets(f_img, f_txt)["S"]
    s_i, s_t = signed(cosine_graph(f_img)), signed(cosine_graph(f_txt))
    expected_s = 1.4 * (0.5 * s_i + 0.1 * s_t + 0.4 * joint_modal(s_i, s_t, 0, 0, 1))
    assert torch.allclose(plain, expected_s, atol=1e-6)
    total, terms = method.loss(h_img, h_txt, t)
    # the same loss written out with explicit normalisation
    bi = h_img / h_img.norm(dim=1, keepdim=True)
    bt = h_txt / h_txt.norm(dim=1, keepdim=True)
    mse = lambda x: ((x - t["S"]) ** 2).mean()  # noqa: E731
    expected = (
        0.1 * mse(bi @ bi.T)
        + mse(bi @ bt.T)
        + mse(bt @ bi.T)
        - (bi * bt).sum(1).mean()
        + 0.1 * mse(bt @ bt.T)
    )
    assert total.item() == pytest.approx(expected.item(), rel=1e-5)
    assert set(terms) == {"inter", "pair", "intra"}


def test_standardised_per_modality():
    g = torch.Generator().manual_seed(7)
    f_img = torch.randn(12, 40, generator=g)  # z-scored: both signs
    f_txt = (torch.rand(12, 25, generator=g) > 0.8).float()
    method = build_method("jdsh", {"l1": 0.0, "l2": 0.0}, 12, standardised=(True, False))
    assert method.standardised == (True, False)
    t = method.targets(f_img, f_txt)
    s_i = signed(cosine_graph(f_img, standardised=True))
    s_t = signed(cosine_graph(f_txt))
    assert torch.equal(t["S_img"], s_i) and torch.equal(t["S_txt"], s_t)
    expected_s = 1.4 * (0.5 * s_i + 0.1 * s_t + 0.4 * joint_modal(s_i, s_t, 0, 0, 1))
    assert torch.allclose(t["S"], expected_s, atol=1e-6)
    assert not torch.equal(t["S_img"], JDSH().targets(f_img, f_txt)["S_img"])


def test_params():
    assert isinstance(build_method("jdsh", {"family": "jdsh"}, 32), JDSH)
    with pytest.raises(ValueError, match=r"left=0\.5 must not exceed right"):
        JDSH(left=0.5, right=0.0)
    with pytest.raises(ValueError, match=r"\bmu="):
        JDSH(mu=0.0)
    with pytest.raises(ValueError, match=r"\bl1="):
        JDSH(l1=-0.1)
    with pytest.raises(ValueError, match=r"unknown parameter\(s\) beta"):
        JDSH(beta=0.9)
    with pytest.raises(ValueError, match=r"unknown parameter\(s\) standardise"):
        JDSH(standardise=True)
