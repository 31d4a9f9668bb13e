"""CCA-ITQ: the closed-form CCA, the ITQ rotation, and a fitted model that encodes like any other."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from sklearn.cross_decomposition import CCA
from sklearn.decomposition import PCA

from sgrn.files.featurefile import Features
from sgrn.methods import build_method
from sgrn.methods.cca_itq import affine_map, canonical_directions, itq_rotation
from sgrn.training.checkpoint import load_nets
from sgrn.training.train import TrainConfig, train


def paired(n=300, d_img=40, d_txt=30, latent=6, seed=0):
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, latent))
    x_img = np.maximum(z @ rng.standard_normal((latent, d_img)) + 0.5 * rng.standard_normal((n, d_img)), 0)
    x_txt = (z @ rng.standard_normal((latent, d_txt)) + rng.standard_normal((n, d_txt)) > 1).astype(np.float32)
    return x_img.astype(np.float32), x_txt, z


def test_canonical_correlations_match_scikit_learns_cca():
    x_img, x_txt, _ = paired()
    c = 4
    pca_i = PCA(10, whiten=True, random_state=0).fit(x_img)
    pca_t = PCA(10, whiten=True, random_state=0).fit(x_txt)
    zi, zt = pca_i.transform(x_img), pca_t.transform(x_txt)
    a, b = canonical_directions(zi, zt, c)
    ours = [np.corrcoef((zi @ a)[:, j], (zt @ b)[:, j])[0, 1] for j in range(c)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        si, st = CCA(n_components=c, max_iter=5000, tol=1e-10).fit(zi, zt).transform(zi, zt)
    theirs = [np.corrcoef(si[:, j], st[:, j])[0, 1] for j in range(c)]
    assert np.allclose(ours, theirs, atol=1e-3)


def test_affine_map_recovers_an_affine_transform():
    rng = np.random.default_rng(1)
    w, b = rng.standard_normal((5, 3)), rng.standard_normal(3)
    got_w, got_b = affine_map(lambda x: x @ w + b, 5)
    assert np.allclose(got_w, w) and np.allclose(got_b, b)


def test_itq_rotation_is_orthogonal_and_lowers_the_quantisation_loss():
    rng = np.random.default_rng(2)
    v = rng.standard_normal((500, 8)) @ np.diag(np.linspace(3, 0.5, 8))

    def loss(r):
        return np.linalg.norm(np.sign(v @ r) - v @ r)

    r = itq_rotation(v, 50, np.random.default_rng(0))
    assert np.allclose(r @ r.T, np.eye(8), atol=1e-8)
    start, _ = np.linalg.qr(np.random.default_rng(0).standard_normal((8, 8)))
    assert loss(r) < loss(start)


def test_paired_codes_agree_far_more_than_unpaired_ones():
    x_img, x_txt, _ = paired(n=400)
    maps = build_method("cca_itq", {}, None).fit(x_img, x_txt, 16, seed=0)
    b_img = np.sign(x_img @ maps["image"][0] + maps["image"][1])
    b_txt = np.sign(x_txt @ maps["text"][0] + maps["text"][1])
    assert (b_img * b_txt).mean() > 0.3
    assert abs((b_img[:200] * b_txt[200:]).mean()) < 0.1


def test_pca_dim_is_raised_to_the_code_length_and_too_few_dimensions_are_refused():
    x_img, x_txt, _ = paired(n=100, d_txt=12)
    maps = build_method("cca_itq", {"pca_dim": 4}, None).fit(x_img, x_txt, 8, seed=0)
    assert maps["image"][0].shape == (40, 8) and maps["text"][0].shape == (12, 8)
    with pytest.raises(ValueError, match=r"text features \(12-d, 100 training pairs\) give 12 PCA "
                                         r"dimensions; 16 bits need at least 16"):
        build_method("cca_itq", {}, None).fit(x_img, x_txt, 16, seed=0)


def test_a_fitted_model_is_a_checkpoint_that_encodes_like_the_others():
    x_img, x_txt, z = paired(n=200)
    labels = (z[:, :4] > 0.5).astype(np.uint8)
    idx = np.arange(200)
    split = {"query": idx[:20], "database": idx[20:], "train": idx[20:160], "validation": idx[160:]}
    feats = Features(image=x_img, text=x_txt, labels=labels, split=split, dataset="toy")
    cfg = TrainConfig(epochs=3, device="cpu", num_threads=1)
    records = []
    ckpt = train(feats, "cca_itq", {"pca_dim": 32, "itq_iters": 10}, 16, 0, cfg,
                 on_epoch=lambda e, r: records.append((e, r)))
    assert ckpt["best_epoch"] == 0 and len(records) == 1 and records[0][0] == 0
    assert ckpt["val_map_all"] == records[0][1]["val_map_all"] > 0
    assert ckpt["train"]["text_hidden"] == 0
    img_net, txt_net = load_nets(ckpt, torch.device("cpu"))
    maps = build_method("cca_itq", {"pca_dim": 32, "itq_iters": 10}, None).fit(
        x_img[split["train"]], x_txt[split["train"]], 16, seed=0)
    with torch.no_grad():
        for net, x, (w, b) in ((img_net, x_img, maps["image"]), (txt_net, x_txt, maps["text"])):
            codes = net(torch.from_numpy(x)).numpy()
            ref = x @ w + b
            clear = np.abs(ref) > 1e-4  # away from 0, where float32 rounding may flip a sign
            assert (np.sign(codes) == np.sign(ref))[clear].all()
