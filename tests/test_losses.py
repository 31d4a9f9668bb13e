"""The losses the tables rest on, against references written with plain loops over lists that
share no code with sgrn.methods.losses: L_inter (SGRN's and DJSRH's main loss) and the whole
loss of sgrn-plus as params.yaml ships it, its paired-item term included."""

from __future__ import annotations

import pytest
import torch
from toy_data import cos_matrix, mse

from sgrn.methods.djsrh import DJSRH
from sgrn.methods.losses import inter_loss, paired_similarity
from sgrn.methods.sgrn import SGRN
from sgrn.settings.hyperparams import method_config
from sgrn.settings.params import load_params
from workflow_utils import REPO

M, BITS = 16, 12
LAMBDA1, LAMBDA2 = 0.3, 0.05  # unequal and both non-zero: a swap of the two changes the loss


@pytest.fixture
def batch():
    """Non-negative image features, a tag BOW with no empty row, tanh outputs whose image-image
    and text-text similarities differ in spread (so that lambda1 and lambda2 weigh different MSEs),
    and each text output close to its image's (so that the pairs' mean cosine is well above 0)."""
    g = torch.Generator().manual_seed(4)
    f_img = torch.relu(torch.randn(M, 20, generator=g, dtype=torch.float64))
    f_txt = (torch.rand(M, 15, generator=g, dtype=torch.float64) > 0.7).double()
    f_txt[torch.arange(M), torch.arange(M) % 15] = 1.0
    z_img = 2.0 * torch.randn(M, BITS, generator=g, dtype=torch.float64)
    z_txt = 0.5 * z_img + 0.5 * torch.randn(M, BITS, generator=g, dtype=torch.float64)
    return f_img, f_txt, torch.tanh(z_img), torch.tanh(z_txt)


# --------------------------------------------------------------------------- plain references


def sign(rows):
    return [[1.0 if x >= 0 else -1.0 for x in r] for r in rows]


def ref_inter(h_img, h_txt, s, lambda1, lambda2):
    """MSE(cos(I, T), S) + lambda1 MSE(cos(I, I), S) + lambda2 MSE(cos(T, T), S) (method.md 7)."""
    return (mse(cos_matrix(h_img, h_txt), s) + lambda1 * mse(cos_matrix(h_img, h_img), s)
            + lambda2 * mse(cos_matrix(h_txt, h_txt), s))


def ref_pair(h_img, h_txt):
    """The mean, over the pairs, of the cosine of a pair's image and text outputs."""
    return sum(cos_matrix([a], [b])[0][0] for a, b in zip(h_img, h_txt)) / len(h_img)


def ref_intra_hash_real(h_img, h_txt, s_img, s_txt):
    """L_intra's hash_real form: each modality's outputs against its own signs, target S'."""
    return mse(cos_matrix(h_img, sign(h_img)), s_img) + mse(cos_matrix(h_txt, sign(h_txt)), s_txt)


def ref_hash_real(h_img, h_txt, s):
    """The zeta term: outputs of one modality against the signs of the other, target S."""
    return mse(cos_matrix(h_img, sign(h_txt)), s) + mse(cos_matrix(sign(h_img), h_txt), s)


# --------------------------------------------------------------------------- L_inter


def test_inter_loss_matches_loops(batch):
    f_img, f_txt, h_img, h_txt = batch
    s = DJSRH().targets(f_img, f_txt)["S"]
    args = h_img.tolist(), h_txt.tolist(), s.tolist()
    expected = ref_inter(*args, LAMBDA1, LAMBDA2)
    swapped = ref_inter(*args, LAMBDA2, LAMBDA1)
    assert abs(expected - swapped) > 1e-3  # the batch tells the two weights apart
    assert inter_loss(h_img, h_txt, s, LAMBDA1, LAMBDA2).item() == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("family", ["sgrn", "djsrh"])
def test_each_method_weighs_image_image_by_lambda1_and_text_text_by_lambda2(batch, family):
    """The inter term of SGRN (through inter_loss) and DJSRH's loss (written on its own)."""
    f_img, f_txt, h_img, h_txt = batch
    lambdas = dict(lambda1=LAMBDA1, lambda2=LAMBDA2)
    method = SGRN(batch_size=M, k=4, xi=0.0, zeta=0.0, pair=0.0, **lambdas) if family == "sgrn" else DJSRH(**lambdas)
    targets = method.targets(f_img, f_txt)
    total, terms = method.loss(h_img, h_txt, targets)
    expected = ref_inter(h_img.tolist(), h_txt.tolist(), targets["S"].tolist(), LAMBDA1, LAMBDA2)
    assert terms["inter"].item() == pytest.approx(expected, rel=1e-12)
    assert total.item() == pytest.approx(expected, rel=1e-12)


# --------------------------------------------------------------------------- sgrn-plus, paired-item term


@pytest.fixture
def sgrn_plus():
    """SGRN with params.yaml's sgrn-plus block (the paired-item term on), lambda1 != lambda2."""
    family, hyper = method_config(load_params(REPO / "params.yaml"), "sgrn-plus", "demo")
    assert family == "sgrn" and hyper["pair"] > 0 and hyper["xi"] > 0 and hyper["zeta"] > 0
    assert hyper["intra_form"] == "hash_real"  # the form ref_intra_hash_real writes out
    return SGRN(batch_size=M, **{**hyper, "lambda1": LAMBDA1, "lambda2": LAMBDA2})


def test_paired_similarity_matches_loops(batch):
    _, _, h_img, h_txt = batch
    expected = ref_pair(h_img.tolist(), h_txt.tolist())
    assert expected > 0.3  # the batch's pairs are close: a sign error cannot hide
    assert paired_similarity(h_img, h_txt).item() == pytest.approx(expected, rel=1e-12)


def test_sgrn_plus_loss_matches_loops_and_subtracts_the_paired_term(batch, sgrn_plus):
    f_img, f_txt, h_img, h_txt = batch
    p = sgrn_plus.params
    t = sgrn_plus.targets(f_img, f_txt)
    total, terms = sgrn_plus.loss(h_img, h_txt, t)
    hi, ht, s = h_img.tolist(), h_txt.tolist(), t["S"].tolist()
    ref = {
        "inter": ref_inter(hi, ht, s, LAMBDA1, LAMBDA2),
        "intra": ref_intra_hash_real(hi, ht, t["S_img"].tolist(), t["S_txt"].tolist()),
        "hash_real": ref_hash_real(hi, ht, s),
        "pair": ref_pair(hi, ht),
    }
    assert terms.keys() == ref.keys()
    for name, value in ref.items():
        assert terms[name].item() == pytest.approx(value, rel=1e-12), name
    expected = ref["inter"] + p["xi"] * ref["intra"] + p["zeta"] * ref["hash_real"] - p["pair"] * ref["pair"]
    assert total.item() == pytest.approx(expected, rel=1e-12)
    # the sign: pairs with a positive mean cosine lower the loss by pair times that cosine
    without, _ = SGRN(batch_size=M, **{**p, "pair": 0.0}).loss(h_img, h_txt, t)
    assert ref["pair"] > 0.3
    assert (without - total).item() == pytest.approx(p["pair"] * ref["pair"], rel=1e-9)


def test_the_paired_term_pulls_each_text_towards_its_image(batch, sgrn_plus):
    """Its gradient in the loss (what the value alone would not show): a small step along the
    gradient difference that the term makes raises every pair's cosine."""
    f_img, f_txt, h_img, h_txt = batch
    t = sgrn_plus.targets(f_img, f_txt)
    grads = []
    for method in (sgrn_plus, SGRN(batch_size=M, **{**sgrn_plus.params, "pair": 0.0})):
        h = h_txt.clone().requires_grad_()
        method.loss(h_img, h, t)[0].backward()
        grads.append(h.grad)
    pair_grad = grads[0] - grads[1]
    assert pair_grad.abs().max() > 1e-4
    stepped = (h_txt - 1e-3 * pair_grad).tolist()
    before = [cos_matrix([a], [b])[0][0] for a, b in zip(h_img.tolist(), h_txt.tolist())]
    after = [cos_matrix([a], [b])[0][0] for a, b in zip(h_img.tolist(), stepped)]
    assert all(b > a for a, b in zip(before, after))
