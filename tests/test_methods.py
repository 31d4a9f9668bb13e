"""Methods: SGRN reduces to DJSRH exactly, gradients, parameter validation, the registry."""

from __future__ import annotations

import pathlib
import subprocess
import sys

import pytest
import torch

from sgrn.graphs import cosine_graph, signed
from sgrn.hparams import TABLES, known_families, resolve_method_params
from sgrn.methods import build_method, method_class
from sgrn.methods.cca_itq import CCAITQ
from sgrn.methods.dgcpn import DGCPN
from sgrn.methods.djsrh import DJSRH
from sgrn.methods.jdsh import JDSH
from sgrn.methods.sgrn import SGRN

M, BITS = 16, 12
DEGENERATE = dict(knn=False, gate=False, omega=0.0, epsilon=0.0, xi=0.0)


@pytest.fixture
def batch():
    """Non-negative image features, a sparse tag BOW with an empty row, tanh outputs."""
    g = torch.Generator().manual_seed(0)
    f_img = torch.relu(torch.randn(M, 64, generator=g))
    f_txt = (torch.rand(M, 30, generator=g) > 0.8).float()
    f_txt[5] = 0.0
    h_img = torch.tanh(torch.randn(M, BITS, generator=g))
    h_txt = torch.tanh(torch.randn(M, BITS, generator=g))
    return f_img, f_txt, h_img, h_txt


@pytest.mark.parametrize(
    "shared,standardised",
    [
        ({}, (False, False)),
        (dict(beta=0.6, eta=0.2, mu=1.2, lambda1=0.3, lambda2=0.0), (False, False)),
        ({}, (True, False)),
        ({}, (True, True)),
        (dict(beta=0.6, eta=0.2, mu=1.2, lambda1=0.3, lambda2=0.0), (False, True)),
    ],
)
def test_degenerate_sgrn_is_djsrh_exactly(batch, shared, standardised):
    f_img, f_txt, h_img, h_txt = batch
    if standardised[0]:
        f_img = f_img - f_img.mean(0)
    if standardised[1]:
        f_txt = f_txt - f_txt.mean(0)
    sgrn = SGRN(batch_size=M, standardised=standardised, **DEGENERATE, **shared)
    djsrh = DJSRH(batch_size=M, standardised=standardised, **shared)
    t_s, t_d = sgrn.targets(f_img, f_txt), djsrh.targets(f_img, f_txt)
    # bitwise equality, not a tolerance: the switches remove their parts exactly
    for key in ("S", "S_img", "S_txt"):
        assert torch.equal(t_s[key], t_d[key]), key
    l_s, terms_s = sgrn.loss(h_img, h_txt, t_s)
    l_d, terms_d = djsrh.loss(h_img, h_txt, t_d)
    assert torch.equal(l_s, l_d)
    assert terms_s["inter"] == terms_d["inter"]


@pytest.mark.parametrize(
    "method", [lambda s: SGRN(batch_size=M, k=4, standardised=s), lambda s: DJSRH(standardised=s),
               lambda s: JDSH(standardised=s)],
    ids=["sgrn", "djsrh", "jdsh"],
)
def test_each_flag_changes_only_its_modality(batch, method):
    """standardised=(image, text): the image flag changes S_img only, the text flag S_txt."""
    f_img, f_txt, _, _ = batch
    # both modalities with both signs, as z-scored features have
    f_img, f_txt = f_img - f_img.mean(0), f_txt - f_txt.mean(0)
    plain = method((False, False)).targets(f_img, f_txt)
    img = method((True, False)).targets(f_img, f_txt)
    txt = method((False, True)).targets(f_img, f_txt)
    assert (img["S_img"] - plain["S_img"]).abs().max() > 1e-3
    assert torch.equal(img["S_txt"], plain["S_txt"])
    assert (txt["S_txt"] - plain["S_txt"]).abs().max() > 1e-3
    assert torch.equal(txt["S_img"], plain["S_img"])
    for t in (img, txt):
        assert (t["S"] - plain["S"]).abs().max() > 1e-3


def test_standardised_graph_is_the_shifted_cosine(batch):
    f_img, f_txt, _, _ = batch
    f_img = f_img - f_img.mean(0)
    t = DJSRH(standardised=(True, False)).targets(f_img, f_txt)
    assert torch.equal(t["S_img"], signed(cosine_graph(f_img, standardised=True)))
    assert torch.equal(t["S_txt"], signed(cosine_graph(f_txt)))


@pytest.mark.parametrize("cls", [SGRN, DJSRH, JDSH])
@pytest.mark.parametrize("bad", [True, (True,), (True, False, True), (1, 0), "ab", None])
def test_bad_standardised(cls, bad):
    with pytest.raises(ValueError, match=r"standardised=.*pair of booleans"):
        cls(standardised=bad)


@pytest.mark.parametrize("family", ["sgrn", "djsrh", "jdsh", "dgcpn"])
def test_standardise_is_no_longer_a_method_parameter(family):
    with pytest.raises(ValueError, match=r"unknown parameter\(s\) standardise"):
        build_method(family, {"standardise": True}, 32)
    with pytest.raises(ValueError, match=r"unknown parameter\(s\) standardise"):
        resolve_method_params(family, {"standardise": False}, 32)
    assert "standardise" not in TABLES[family]


def test_default_sgrn_differs_from_djsrh(batch):
    f_img, f_txt, h_img, h_txt = batch
    t_s, t_d = SGRN(batch_size=M, k=4).targets(f_img, f_txt), DJSRH().targets(f_img, f_txt)
    assert (t_s["S"] - t_d["S"]).abs().max() > 0.1
    l_s, _ = SGRN(batch_size=M, k=4).loss(h_img, h_txt, t_s)
    l_d, _ = DJSRH().loss(h_img, h_txt, t_d)
    assert abs(l_s.item() - l_d.item()) > 1e-3


@pytest.mark.parametrize("switch", ["knn", "gate", "omega", "epsilon", "xi"])
def test_each_switch_alone_changes_the_loss(batch, switch):
    f_img, f_txt, h_img, h_txt = batch
    on = {"knn": True, "gate": True, "omega": 0.5, "epsilon": 0.3, "xi": 0.1}[switch]
    base = SGRN(batch_size=M, k=4, **DEGENERATE)
    one = SGRN(batch_size=M, k=4, **{**DEGENERATE, switch: on})
    l_base, _ = base.loss(h_img, h_txt, base.targets(f_img, f_txt))
    l_one, _ = one.loss(h_img, h_txt, one.targets(f_img, f_txt))
    assert abs(l_base.item() - l_one.item()) > 1e-4


def test_grgr_off_is_epsilon_and_cross_off(batch):
    f_img, f_txt, _, _ = batch
    grgr = dict(batch_size=M, k=4, epsilon=0.3, cross=0.4)
    on, off = SGRN(**grgr).targets(f_img, f_txt), SGRN(**grgr, grgr=False).targets(f_img, f_txt)
    bare = SGRN(batch_size=M, k=4, epsilon=0.0, cross=0.0).targets(f_img, f_txt)
    assert torch.equal(off["S"], bare["S"])
    assert (on["S"] - off["S"]).abs().max() > 0.05
    assert torch.equal(on["S_img"], off["S_img"]) and torch.equal(on["S_txt"], off["S_txt"])


@pytest.mark.parametrize(
    "method", [SGRN(batch_size=M, k=4), SGRN(**DEGENERATE), DJSRH(), JDSH()], ids=repr
)
def test_gradients_reach_codes_not_targets(batch, method):
    f_img, f_txt, _, _ = batch
    f_img, f_txt = f_img.clone().requires_grad_(), f_txt.clone().requires_grad_()
    g = torch.Generator().manual_seed(1)
    z_img = torch.randn(M, BITS, generator=g, requires_grad=True)
    z_txt = torch.randn(M, BITS, generator=g, requires_grad=True)
    targets = method.targets(f_img, f_txt)
    assert all(not t.requires_grad for t in targets.values())
    total, terms = method.loss(torch.tanh(z_img), torch.tanh(z_txt), targets)
    assert total.requires_grad and total.ndim == 0
    assert all(isinstance(v, torch.Tensor) and v.ndim == 0 and not v.requires_grad
               for v in terms.values())
    total.backward()
    for z in (z_img, z_txt):
        assert z.grad is not None and torch.isfinite(z.grad).all() and z.grad.abs().sum() > 0
    assert f_img.grad is None and f_txt.grad is None


def test_loss_terms_named(batch):
    f_img, f_txt, h_img, h_txt = batch
    method = SGRN(batch_size=M, k=4, xi=0.5)
    total, terms = method.loss(h_img, h_txt, method.targets(f_img, f_txt))
    assert set(terms) == {"inter", "intra"}  # the zeta and pair terms are off by default
    assert total.item() == pytest.approx((terms["inter"] + 0.5 * terms["intra"]).item(), rel=1e-6)
    assert set(DJSRH().loss(h_img, h_txt, DJSRH().targets(f_img, f_txt))[1]) == {"inter"}


SGRN_BAD = [
    ("k", 0), ("k", 2.5), ("gamma", 0.0), ("gamma", -1.0), ("gamma", float("nan")),
    ("omega", -0.1), ("omega", 1.5), ("beta", 1.1), ("eta", -0.2), ("mu", 0.0),
    ("epsilon", 1.2), ("kappa", 0.0), ("lambda1", -0.1), ("lambda2", -1.0), ("xi", -0.5),
    ("knn", "yes"), ("gate", 1), ("beta", "0.9"), ("omega", True),
]
DJSRH_BAD = [("beta", -0.1), ("eta", 1.5), ("mu", -1.0), ("lambda1", -0.1), ("lambda2", "a")]


@pytest.mark.parametrize(
    "cls,key,value", [(SGRN, *b) for b in SGRN_BAD] + [(DJSRH, *b) for b in DJSRH_BAD]
)
def test_bad_value_names_the_key(cls, key, value):
    with pytest.raises(ValueError, match=rf"\b{key}="):
        cls(batch_size=32, **{key: value})


def test_range_is_stated():
    with pytest.raises(ValueError, match=r"allowed 0 <= omega <= 1"):
        SGRN(omega=2.0)
    with pytest.raises(ValueError, match=r"allowed gamma > 0"):
        SGRN(gamma=0.0)
    with pytest.raises(ValueError, match=r"allowed k >= 1"):
        SGRN(k=0)


@pytest.mark.parametrize("cls,key", [(SGRN, "alpha"), (DJSRH, "omega"), (DJSRH, "xi")])
def test_unknown_key_is_named(cls, key):
    with pytest.raises(ValueError, match=rf"unknown parameter\(s\) {key}; known: .*beta"):
        cls(**{key: 1.0})


def test_k_must_be_smaller_than_batch():
    with pytest.raises(ValueError, match=r"k=10 must be smaller than the batch size 10"):
        SGRN(batch_size=10)
    with pytest.raises(ValueError, match=r"k=40 must be smaller than the batch size 32"):
        build_method("sgrn", {"k": 40}, 32)
    SGRN(batch_size=10, k=9)
    SGRN(batch_size=8, knn=False, gate=False)  # k unused: not checked
    with pytest.raises(ValueError, match="batch_size"):
        SGRN(batch_size=0)


def test_k_is_checked_against_the_rows_of_a_global_graph():
    """With global_graph the trainer passes n (the training pairs) as batch_size: k is then
    checked against n, in resolve_method_params, which the methods use."""
    with pytest.raises(ValueError, match=r"k=40 must be smaller than the batch size 32"):
        resolve_method_params("sgrn", {"global_graph": True, "k": 40}, 32)
    p = resolve_method_params("sgrn", {"global_graph": True, "k": 40}, 630)
    assert p["global_graph"] is True and p["k"] == 40
    assert build_method("sgrn", p, 630).params == p
    with pytest.raises(ValueError, match=r"k=630 must be smaller than the batch size 630"):
        SGRN(batch_size=630, global_graph=True, k=630)


def test_registry():
    expected = {"sgrn": SGRN, "djsrh": DJSRH, "jdsh": JDSH, "dgcpn": DGCPN, "cca_itq": CCAITQ}
    assert {family: method_class(family) for family in expected} == expected
    assert known_families() == sorted(TABLES) and set(expected) <= set(known_families())
    assert all(method_class(family).name == family for family in known_families())
    with pytest.raises(ValueError, match="unknown method family 'nope'; known: cca_itq, dgcpn"):
        method_class("nope")
    m = build_method("sgrn", {"family": "sgrn", "omega": 0.25}, 32)
    assert isinstance(m, SGRN) and m.params["omega"] == 0.25 and m.params["k"] == 10
    assert m.standardised == (False, False)
    m = build_method("djsrh", {}, 32, standardised=(True, False))
    assert isinstance(m, DJSRH) and m.standardised == (True, False)
    assert isinstance(build_method("djsrh", None, 32), DJSRH)
    with pytest.raises(ValueError, match=rf"'nosuch'.*known: {', '.join(known_families())}$"):
        build_method("nosuch", {}, 32)
    with pytest.raises(ValueError, match="family"):
        build_method("sgrn", {"family": "djsrh"}, 32)


@pytest.mark.parametrize("family", ["sgrn", "djsrh", "jdsh", "dgcpn"])
def test_resolve_method_params_is_what_the_method_uses(family):
    defaults = {name: p.default for name, p in TABLES[family].items()}
    assert resolve_method_params(family, {}, 32) == defaults
    assert resolve_method_params(family, {"family": family}, None) == defaults
    assert build_method(family, None, 32).params == defaults
    given = {"mu": 1.25}
    assert resolve_method_params(family, given, 32) == build_method(family, given, 32).params
    assert resolve_method_params(family, given, 32)["mu"] == 1.25
    assert given == {"mu": 1.25}  # not modified
    assert defaults["global_graph"] is (family == "dgcpn")


def test_resolve_method_params_errors():
    with pytest.raises(ValueError, match=rf"'nosuch'.*known: {', '.join(known_families())}$"):
        resolve_method_params("nosuch", {}, 32)
    with pytest.raises(ValueError, match=r"sgrn: unknown parameter\(s\) alpha"):
        resolve_method_params("sgrn", {"alpha": 1}, 32)
    with pytest.raises(ValueError, match=r"k=40 must be smaller than the batch size 32"):
        resolve_method_params("sgrn", {"k": 40}, 32)
    resolve_method_params("sgrn", {"k": 40, "knn": False, "gate": False}, 32)
    resolve_method_params("sgrn", {"k": 40}, None)
    with pytest.raises(ValueError, match=r"allowed 0 <= omega <= 1"):
        resolve_method_params("sgrn", {"omega": 2.0}, None)
    with pytest.raises(ValueError, match=r"left=0\.5 must not exceed right"):
        resolve_method_params("jdsh", {"left": 0.5, "right": 0.0}, None)
    with pytest.raises(ValueError, match="batch_size"):
        resolve_method_params("djsrh", {}, 0)
    with pytest.raises(ValueError, match="family"):
        resolve_method_params("sgrn", {"family": "djsrh"}, 32)


def test_hparams_imports_without_torch():
    """params.yaml can be checked without torch: sgrn.hparams and sgrn.settings.params do not load it."""
    code = (
        "import sys, sgrn.hparams, sgrn.settings.params; "
        "assert 'torch' not in sys.modules, sorted(m for m in sys.modules if 'torch' in m)[:5]; "
        "sgrn.hparams.resolve_method_params('sgrn', {}, 32); "
        "assert 'torch' not in sys.modules"
    )
    root = pathlib.Path(__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root)
    assert done.returncode == 0, done.stderr


def test_params_yaml_blocks_build():
    """Every method of params.yaml builds on every dataset, its per-dataset values applied."""
    from sgrn.settings.hyperparams import method_config
    from sgrn.settings.params import load_params

    params = load_params(pathlib.Path(__file__).resolve().parents[1] / "params.yaml")
    assert params["method_params"], "params.yaml lists no method"
    for name in params["method_params"]:
        for dataset in ("demo", "nuswide_tc10"):
            family, hyper = method_config(params, name, dataset)
            build_method(family, hyper, params["train"]["batch_size"])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("m", [32, 2000])
def test_cuda_matches_cpu(m):
    g = torch.Generator().manual_seed(2)
    f_img = torch.relu(torch.randn(m, 256, generator=g))
    f_txt = (torch.rand(m, 100, generator=g) > 0.9).float()
    h_img, h_txt = torch.tanh(torch.randn(2, m, 32, generator=g))
    for method in (SGRN(batch_size=m), SGRN(**DEGENERATE), DJSRH(), JDSH()):
        cpu = method.targets(f_img, f_txt)
        gpu = method.targets(f_img.cuda(), f_txt.cuda())
        for key in cpu:
            assert gpu[key].is_cuda
            assert torch.allclose(gpu[key].cpu(), cpu[key], atol=1e-4), key
        l_cpu, _ = method.loss(h_img, h_txt, cpu)
        l_gpu, _ = method.loss(h_img.cuda(), h_txt.cuda(), gpu)
        assert l_gpu.item() == pytest.approx(l_cpu.item(), rel=1e-4)
    t_s = SGRN(**DEGENERATE).targets(f_img.cuda(), f_txt.cuda())
    t_d = DJSRH().targets(f_img.cuda(), f_txt.cuda())
    assert all(torch.equal(t_s[k], t_d[k]) for k in t_d)


# ------------------------------------------------------------------ L_intra forms, zeta


def _cos(a, b):
    return sum(x * y for x, y in zip(a, b)) / (
        max(sum(x * x for x in a) ** 0.5, 1e-12) * max(sum(y * y for y in b) ** 0.5, 1e-12))


def _sign(v):
    return [1.0 if x >= 0 else -1.0 for x in v]


def intra_reference(form, h, s, n, mu):
    """One modality's L_intra of method.md section 7, written out entry by entry."""
    m = len(h)
    if form == "target":
        return sum((_cos(h[i], h[j]) - mu * s[i][j]) ** 2 for i in range(m) for j in range(m)) / m**2
    if form == "local":
        edges = [(i, j) for i in range(m) for j in range(m) if n[i][j] == 1]
        return sum((_cos(h[i], h[j]) - s[i][j]) ** 2 for i, j in edges) / len(edges)
    if form == "orthogonal":
        return sum((_cos(h[i], h[j]) - (s[i][j] + 1) / 2) ** 2 for i in range(m) for j in range(m)) / m**2
    if form == "hash_real":
        return sum((_cos(h[i], _sign(h[j])) - s[i][j]) ** 2 for i in range(m) for j in range(m)) / m**2
    raise AssertionError(form)


@pytest.mark.parametrize("form", ["target", "local", "orthogonal", "hash_real", "local+hash_real"])
def test_intra_forms_match_their_formulas(batch, form):
    f_img, f_txt, h_img, h_txt = batch
    method = SGRN(batch_size=M, k=4, xi=1.0, intra_form=form)
    t = method.targets(f_img.double(), f_txt.double())
    assert ("N_img" in t) == ("local" in form)
    _, terms = method.loss(h_img.double(), h_txt.double(), t)
    mu, expected = method.params["mu"], 0.0
    masks = (t.get("N_img"), t.get("N_txt"))
    for part in form.split("+"):
        for h, s, n in ((h_img, t["S_img"], masks[0]), (h_txt, t["S_txt"], masks[1])):
            expected += intra_reference(part, h.double().tolist(), s.tolist(),
                                        None if n is None else n.tolist(), mu)
    assert terms["intra"].item() == pytest.approx(expected, rel=1e-7)


def test_local_mask_is_the_knn_mask_of_the_cosine_graph(batch):
    from sgrn.graphs import knn_mask

    f_img, f_txt, _, _ = batch
    t = SGRN(batch_size=M, k=4, intra_form="local").targets(f_img, f_txt)
    assert torch.equal(t["N_img"], knn_mask(cosine_graph(f_img), 4))
    assert torch.equal(t["N_txt"], knn_mask(cosine_graph(f_txt), 4))


def test_target_form_is_the_former_l_intra_bit_for_bit(batch):
    import torch.nn.functional as F

    from sgrn.methods.losses import code_similarity

    f_img, f_txt, h_img, h_txt = batch
    method = SGRN(batch_size=M, k=4, xi=0.1)
    t = method.targets(f_img, f_txt)
    former = F.mse_loss(code_similarity(h_img, h_img), 1.5 * t["S_img"]) + F.mse_loss(
        code_similarity(h_txt, h_txt), 1.5 * t["S_txt"])
    assert torch.equal(method.loss(h_img, h_txt, t)[1]["intra"], former)


def test_zeta_adds_the_half_binary_term_and_zero_removes_it_exactly(batch):
    from sgrn.methods.losses import half_binary_loss

    f_img, f_txt, h_img, h_txt = batch
    plain = SGRN(batch_size=M, k=4)
    with_term = SGRN(batch_size=M, k=4, zeta=0.5)
    t = plain.targets(f_img, f_txt)
    l_plain, terms_plain = plain.loss(h_img, h_txt, t)
    l_term, terms = with_term.loss(h_img, h_txt, t)
    assert "hash_real" not in terms_plain
    assert torch.equal(terms["hash_real"], half_binary_loss(h_img, h_txt, t["S"]))
    assert l_term.item() == pytest.approx((l_plain + 0.5 * terms["hash_real"]).item(), rel=1e-6)


@pytest.mark.parametrize("bad", ["nosuch", "local+nosuch", "local+local", "", 3])
def test_unknown_intra_form_is_refused_naming_the_key(bad):
    with pytest.raises(ValueError, match=r"sgrn: parameter intra_form=.* (is not allowed|must)"):
        resolve_method_params("sgrn", {"intra_form": bad}, 32)


def test_jdsh_pair_weight_scales_the_paired_term(batch):
    f_img, f_txt, h_img, h_txt = batch
    full, none = JDSH(), JDSH(pair=0.0)
    t = full.targets(f_img, f_txt)
    l_full, terms = full.loss(h_img, h_txt, t)
    l_none, _ = none.loss(h_img, h_txt, t)
    assert l_none.item() == pytest.approx((l_full + terms["pair"]).item(), rel=1e-6)


# ------------------------------------------------------------------ GRGR's readings (grgr_form)

GRGR_FORMS = ["weight", "agreed", "overlap", "concat"]


def test_grgr_forms_are_the_tables_choices():
    from sgrn.hparams.sgrn import GRGR_FORMS as table_forms

    assert list(table_forms) == GRGR_FORMS and TABLES["sgrn"]["grgr_form"].default == "weight"


@pytest.mark.parametrize("form", GRGR_FORMS)
def test_grgr_off_ablates_every_reading_and_then_sgrn_is_djsrh_exactly(batch, form):
    f_img, f_txt, h_img, h_txt = batch
    grgr = dict(batch_size=M, k=4, epsilon=0.3, cross=0.4, grgr_form=form)
    off, bare = SGRN(**grgr, grgr=False), SGRN(batch_size=M, k=4, epsilon=0.0, cross=0.0)
    t_off, t_bare = off.targets(f_img, f_txt), bare.targets(f_img, f_txt)
    assert all(torch.equal(t_off[key], t_bare[key]) for key in t_bare)
    assert torch.equal(off.loss(h_img, h_txt, t_off)[0], bare.loss(h_img, h_txt, t_bare)[0])
    # every switch off, this reading's included: DJSRH bit for bit
    sgrn = SGRN(batch_size=M, **{**DEGENERATE, "epsilon": 0.3}, cross=0.4, grgr=False, grgr_form=form)
    t_s, t_d = sgrn.targets(f_img, f_txt), DJSRH(batch_size=M).targets(f_img, f_txt)
    assert all(torch.equal(t_s[key], t_d[key]) for key in ("S", "S_img", "S_txt"))
    assert torch.equal(sgrn.loss(h_img, h_txt, t_s)[0], DJSRH().loss(h_img, h_txt, t_d)[0])


@pytest.mark.parametrize("form", GRGR_FORMS[1:])
def test_each_reading_changes_the_loss_of_the_first(batch, form):
    f_img, f_txt, h_img, h_txt = batch
    first = SGRN(batch_size=M, k=4, cross=0.4)
    other = SGRN(batch_size=M, k=4, cross=0.4, grgr_form=form)
    l_first, _ = first.loss(h_img, h_txt, first.targets(f_img, f_txt))
    l_other, _ = other.loss(h_img, h_txt, other.targets(f_img, f_txt))
    assert abs(l_first.item() - l_other.item()) > 1e-4


def test_agreed_and_overlap_readings_build_their_target_from_their_graph(batch):
    from sgrn.graphs import agreed_weight, enhanced_weight, joint_graph, overlap_graph, rebase

    f_img, f_txt, _, _ = batch
    p = dict(batch_size=M, k=4, epsilon=0.3, cross=0.4)
    r_img, r_txt = (rebase(cosine_graph(f), 4, 10.0, 0.5) for f in (f_img, f_txt))
    s_img, s_txt = signed(r_img), signed(r_txt)
    agreed = SGRN(**p, grgr_form="agreed").targets(f_img, f_txt)["S"]
    expected = 1.5 * (agreed_weight(s_img, s_txt, 5.0, 0.3) * joint_graph(s_img, s_txt, 0.9, 0.4, 0.4))
    assert torch.equal(agreed, expected)
    overlap = SGRN(**p, grgr_form="overlap").targets(f_img, f_txt)["S"]
    first = SGRN(**p).targets(f_img, f_txt)["S"]
    s_joint = joint_graph(s_img, s_txt, 0.9, 0.4, 0.4, overlap_graph(r_img, r_txt))
    assert torch.equal(overlap, 1.5 * (enhanced_weight(s_img, s_txt, 5.0, 0.3) * s_joint))
    assert (overlap - first).abs().max() > 0.05


def block_reference(h_i, h_t, s_block, lambda1, lambda2):
    """L_inter of the concatenated reading (method.md section 6), entry by entry."""
    h = h_i + h_t
    m = len(h_i)
    sums = {}
    for i in range(2 * m):
        for j in range(2 * m):
            block = (i >= m, j >= m)
            sums[block] = sums.get(block, 0.0) + (_cos(h[i], h[j]) - s_block[i][j]) ** 2
    mean = {block: total / m**2 for block, total in sums.items()}
    return (0.5 * (mean[False, True] + mean[True, False]) + lambda1 * mean[False, False]
            + lambda2 * mean[True, True])


def test_concat_reading_is_the_block_loss_of_its_formula(batch):
    from sgrn.methods.losses import block_inter_loss, inter_loss

    f_img, f_txt, h_img, h_txt = batch
    h_img, h_txt = h_img.double(), h_txt.double()
    method = SGRN(batch_size=M, k=4, xi=0.0, zeta=0.0, lambda1=0.2, lambda2=0.3, grgr_form="concat")
    t = method.targets(f_img.double(), f_txt.double())
    mu, s = 1.5, t["S"].tolist()
    s_i, s_t = (mu * t["S_img"]).tolist(), (mu * t["S_txt"]).tolist()
    s_block = [s_i[i] + s[i] for i in range(M)] + [[s[j][i] for j in range(M)] + s_t[i] for i in range(M)]
    expected = block_reference(h_img.tolist(), h_txt.tolist(), s_block, 0.2, 0.3)
    assert method.loss(h_img, h_txt, t)[1]["inter"].item() == pytest.approx(expected, rel=1e-9)
    # with every block equal to S it is the first reading's L_inter
    same = torch.cat([torch.cat([t["S"], t["S"]], 1), torch.cat([t["S"], t["S"]], 1)])
    assert block_inter_loss(h_img, h_txt, same, 0.2, 0.3).item() == pytest.approx(
        inter_loss(h_img, h_txt, t["S"], 0.2, 0.3).item(), rel=1e-12)


@pytest.mark.parametrize("bad", ["nosuch", "weight+concat", "", 1, None])
def test_unknown_grgr_form_is_refused_naming_the_key_and_the_readings(bad):
    with pytest.raises(ValueError, match=r"sgrn: parameter grgr_form=.*(weight, agreed, overlap, concat|must)"):
        resolve_method_params("sgrn", {"grgr_form": bad}, 32)
