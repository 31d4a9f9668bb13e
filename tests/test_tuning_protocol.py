"""One tuning protocol for every method: early stopping (and its exact resume), a method's own
learning rate, JDSH's tail thresholds fitted to the training set, and the one validation MAP
that the trainer and the evaluate step share."""
from __future__ import annotations

import copy
import importlib.util
import pathlib

import numpy as np
import pytest
import torch
from test_train import feats  # noqa: F401  (fixture)

from sgrn.hparams import resolve_method_params
from sgrn.methods.jdsh import JDSH, fit_tails, joint_modal
from sgrn.retrieval.codes import binarize, pack_codes
from sgrn.training.nets import ImageHashNet, TextHashNet
from sgrn.training.train import TargetSource, TrainConfig, learning_rates, patience_ran_out, train, validate

ROOT = pathlib.Path(__file__).resolve().parents[1]


def config(**changes) -> TrainConfig:
    cfg = TrainConfig(epochs=3, validate_every=1, text_hidden=32, device="cpu", num_threads=1)
    for key, value in changes.items():
        setattr(cfg, key, value)
    return cfg


def same_models(a: dict, b: dict) -> bool:
    return all(torch.equal(a["model"][net][k], b["model"][net][k])
               for net in ("image", "text") for k in a["model"][net])


# ------------------------------------------------------------------------ early stopping


def test_patience_counts_epochs_since_the_best():
    assert not patience_ran_out({"epoch": 4}, 6, None)
    assert not patience_ran_out({"epoch": 4}, 6, 3)
    assert patience_ran_out({"epoch": 4}, 7, 3)


def test_training_stops_patience_epochs_after_the_best(feats):  # noqa: F811
    cfg = config(epochs=60, patience=2, lr_image=0.05, lr_text=0.05)
    hyper = resolve_method_params("djsrh", {}, batch_size=cfg.batch_size)
    records = []
    ckpt = train(feats, "djsrh", hyper, 16, 0, cfg, on_epoch=lambda e, r: records.append(r))
    scores = [r["val_map_all"] for r in records]
    assert len(records) < 60, "no early stop in 60 epochs: the test needs a plateau"
    assert ckpt["epochs_run"] == len(records) == ckpt["best_epoch"] + 2
    assert ckpt["best_epoch"] == 1 + int(np.argmax(scores)), "the first epoch of the highest score"
    assert max(scores[ckpt["best_epoch"]:]) <= ckpt["val_map_all"]
    whole = train(feats, "djsrh", hyper, 16, 0, config(epochs=len(records), lr_image=0.05, lr_text=0.05))
    assert same_models(ckpt, whole), "stopping early changes no epoch before the stop"


def test_early_stopped_training_resumes_to_the_same_model(feats):  # noqa: F811
    cfg = config(epochs=60, patience=2, checkpoint_every=1, lr_image=0.05, lr_text=0.05)
    hyper = resolve_method_params("djsrh", {}, batch_size=cfg.batch_size)
    states = []  # copied: a state holds the live tensors
    whole = train(feats, "djsrh", hyper, 16, 0, cfg, save_state=lambda s: states.append(copy.deepcopy(s)))
    assert len(states) == whole["epochs_run"] - 1, "no state is saved at the stop"
    for state in (states[0], states[-1]):  # just after the start, and one epoch before the stop
        records = []
        resumed = train(feats, "djsrh", hyper, 16, 0, cfg, resume=state, on_epoch=lambda e, r: records.append(r))
        assert len(records) == resumed["epochs_run"] == whole["epochs_run"]
        assert resumed["best_epoch"] == whole["best_epoch"] and same_models(resumed, whole)


# ------------------------------------------------------------------------ learning rate


def test_a_methods_lr_replaces_the_train_sections_for_both_nets(feats):  # noqa: F811
    assert learning_rates({"lr": None}, config(lr_image=0.01, lr_text=0.02)) == (0.01, 0.02)
    assert learning_rates({"lr": 0.005}, config(lr_image=0.01, lr_text=0.02)) == (0.005, 0.005)
    assert resolve_method_params("dgcpn", {}, 32)["lr"] == 0.005, "DGCPN's paper: SGD at lr 0.005"
    assert resolve_method_params("djsrh", {}, 32)["lr"] is None
    own = train(feats, "djsrh", resolve_method_params("djsrh", {"lr": 0.003}, 32), 16, 0, config())
    shared = train(feats, "djsrh", resolve_method_params("djsrh", {}, 32), 16, 0,
                   config(lr_image=0.003, lr_text=0.003))
    assert same_models(own, shared)
    assert not same_models(own, train(feats, "djsrh", resolve_method_params("djsrh", {}, 32), 16, 0, config()))


def test_every_method_trained_by_sgd_searches_the_same_learning_rates():
    """The learning rate is a knob of every search space (not only of DGCPN's and UCCH's), with
    the same values for all; a closed-form method (CCA-ITQ) has none."""
    from sgrn.methods import method_class
    from sgrn.settings.params import load_params

    params = load_params(ROOT / "params.yaml")
    rates = {}
    for method, space in params["search"]["space"].items():
        family = params["method_params"][method]["family"]
        if method_class(family).closed_form:
            assert "lr" not in space, method
        else:
            rates[method] = space.get("lr")
    assert set(rates) >= {"sgrn", "sgrn-plus", "djsrh", "jdsh", "dgcpn", "dsah", "hnh", "srch", "ucch"}
    values = next(iter(rates.values()))
    assert values and all(r == values for r in rates.values()), rates


# ------------------------------------------------------------------------ JDSH's tails


def test_fit_tails_is_jdshs_rule():
    values = torch.tensor([-0.6, -0.5, -0.5, -0.4, 0.3], dtype=torch.float64)
    got = fit_tails(values)
    mean, std = values.mean().item(), values.std().item()
    assert got == pytest.approx({"left": mean - 2 * std, "right": mean + 4 * std, "s_min": -0.6, "s_max": 0.3})


def test_jdsh_fits_its_tails_to_the_training_sets_batches(feats):  # noqa: F811
    x_img, x_txt = (torch.from_numpy(feats.rows(m, feats.split["train"])) for m in ("image", "text"))
    hyper = resolve_method_params("jdsh", {}, 32)
    source = TargetSource("jdsh", hyper, x_img, x_txt, 32, (False, False))
    fitted = source.fitted
    assert set(fitted) == {"left", "right", "s_min", "s_max"}
    assert {k: source.method.params[k] for k in fitted} == fitted, "the targets use the fitted values"
    assert fitted["left"] < fitted["right"] and fitted["s_min"] <= fitted["left"]
    # the values are those of S~ off the diagonal of the 32-row blocks that training builds
    order = torch.randperm(len(x_img), generator=torch.Generator().manual_seed(0))
    values = []
    for idx in order[:len(x_img) - len(x_img) % 32].split(32):
        s_img, s_txt = (2 * source.method.cosine_graphs(x_img[idx], x_txt[idx])[i] - 1 for i in (0, 1))
        s = joint_modal(s_img, s_txt, hyper["a"], hyper["b"], hyper["l"])
        values.append(s[~torch.eye(32, dtype=torch.bool)])
    assert fitted == pytest.approx(fit_tails(torch.cat(values)))
    fixed = TargetSource("jdsh", {**hyper, "fit_tails": False}, x_img, x_txt, 32, (False, False))
    assert fixed.fitted == {} and fixed.method.params["left"] == hyper["left"] == -0.528


def test_the_checkpoint_records_the_fitted_tails(feats):  # noqa: F811
    ckpt = train(feats, "jdsh", resolve_method_params("jdsh", {}, 32), 16, 0, config(epochs=1))
    assert set(ckpt["fitted"]) == {"left", "right", "s_min", "s_max"}
    assert ckpt["method_params"]["fit_tails"] is True
    assert train(feats, "djsrh", resolve_method_params("djsrh", {}, 32), 16, 0, config(epochs=1))["fitted"] == {}


def test_jdsh_without_fitting_is_unchanged():
    jdsh = JDSH(batch_size=8, fit_tails=False)
    assert jdsh.fit_to_training_set(torch.rand(16, 5), torch.rand(16, 4), 8) == {}


# ------------------------------------------------------------------------ one validation MAP


def load_script(name: str):
    spec = importlib.util.spec_from_file_location(f"script_{name}", ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_trainer_and_evaluate_step_give_the_same_validation_map(feats):  # noqa: F811
    torch.manual_seed(1)
    img_net, txt_net = ImageHashNet(feats.dims[0], 16), TextHashNet(feats.dims[1], 16, hidden=32)
    trainer = validate(img_net, txt_net, feats, torch.device("cpu"))
    # the codes as the encode step saves them: the database in ascending row order
    database = np.sort(feats.split["database"])
    with torch.no_grad():
        db = {"image": pack_codes(binarize(img_net(torch.from_numpy(feats.image[database])).numpy())),
              "text": pack_codes(binarize(txt_net(torch.from_numpy(feats.text[database])).numpy())),
              "labels": feats.labels[database], "index": database}
    measured = load_script("evaluate").validation_retrieval(db, feats.split["validation"], 256, "codes.h5")
    assert measured["queries"] == len(feats.split["validation"])
    assert measured["i2t"]["map@all"] == trainer["val_i2t_map_all"]
    assert measured["t2i"]["map@all"] == trainer["val_t2i_map_all"]
    assert (measured["i2t"]["map@all"] + measured["t2i"]["map@all"]) / 2 == trainer["val_map_all"]
    assert 0 < trainer["val_map_all"] < 1


# ------------------------------------------------------------------------ the report


def test_the_report_states_each_methods_budget_and_runs_at_the_cap():
    from sgrn.workflow.report import describe_budget

    selection = {"demo": {
        "sgrn": {"b16": {"config": 1, "candidates": {"c0": 0.5, "c1": 0.6}},
                 "b64": {"config": 0, "candidates": {"c0": 0.7, "c1": 0.6}}},
        "sgrn-no-lrgr": {"b16": {"config": 1, "follows": "sgrn", "candidates": {"c0": 0.4, "c1": 0.5}}},
        "cca_itq": {"b16": {"config": 0, "candidates": {"c0": 0.4, "c1": 0.3}}}}}
    runs = [dict(dataset="demo", method="sgrn", bits=16, best_epoch=100), dict(dataset="demo", method="sgrn",
            bits=64, best_epoch=37), dict(dataset="demo", method="sgrn-no-lrgr", bits=16, best_epoch=12),
            dict(dataset="demo", method="cca_itq", bits=16, best_epoch=0)]
    lines = describe_budget(selection, runs, {"epochs": 100, "validate_every": 1, "patience": 15}, "demo")
    text = "\n".join(lines)
    assert "at most 100 epochs, validation MAP@all every 1 epoch(s), early stop after 15 epochs" in text
    assert "| sgrn | 2 | 100 | 1 of 2 |" in lines
    assert "| sgrn-no-lrgr | 2 (sgrn's) | 100 | 0 of 1 |" in lines
    assert "| cca_itq | 2 | closed form | 0 of 1 |" in lines
    off = describe_budget(selection, runs, {"epochs": 40, "validate_every": 5, "patience": None}, "demo")
    assert "no early stopping" in "\n".join(off)


# ------------------------------------------------------------------------ the shipped methods

BORROWED = {"pair": 0.0, "rebase_form": "mask"}
"""sgrn-plus's parts that the paper does not name, with the value that switches each off."""


def test_shipped_sgrn_is_the_papers_and_sgrn_plus_adds_only_the_borrowed_parts():
    from sgrn.settings.hyperparams import method_config
    from sgrn.settings.params import load_params

    params = load_params(ROOT / "params.yaml")
    for dataset in ("demo", "mirflickr25k", "nuswide_tc10"):
        paper = method_config(params, "sgrn", dataset)[1]
        assert {k: paper[k] for k in BORROWED} == BORROWED, "no borrowed part in the paper's SGRN"
        assert paper["knn"] and paper["gate"] and paper["omega"] > 0, "LRGR"
        assert paper["grgr"] and paper["epsilon"] > 0 and paper["cross"] > 0, "GRGR, its S_IT and S_TI included"
        assert paper["xi"] > 0 and paper["intra_form"] == "hash_real" and paper["zeta"] > 0, \
            "L_intra and L_inter over real-valued and hash similarities"
        plus = method_config(params, "sgrn-plus", dataset)[1]
        assert {k for k in plus if plus[k] != paper[k]} == set(BORROWED)
    space = params["search"]["space"]
    assert not set(space["sgrn"]) & set(BORROWED), "sgrn searches the paper's keys only"
    assert set(space["sgrn"]) < set(space["sgrn-plus"])
    assert all(off in space["sgrn-plus"][key] for key, off in BORROWED.items()), "off among the choices"
    follow = params["search"]["follow"]
    ablations = {"sgrn-no-lrgr", "sgrn-no-grgr", "sgrn-no-intra"}
    study = {"sgrn-grgr-weight", "sgrn-grgr-agreed", "sgrn-grgr-concat", "sgrn-intra-target", "sgrn-intra-local",
             "sgrn-intra-orthogonal"}  # the GRGR study: sgrn with one reading or form changed
    assert {m for m, leader in follow.items() if leader == "sgrn"} == ablations | study
    assert {m for m, leader in follow.items() if leader == "sgrn-plus"} == {"sgrn-plus-no-pair", "sgrn-plus-no-lift"}
    assert {"sgrn", "sgrn-plus", "djsrh", "jdsh", "dgcpn", "cca_itq"} <= set(params["methods"])
    train = params["train"]
    assert train["validate_every"] == 1 and train["patience"] and train["epochs"] > train["patience"]


def test_issue35_study_blocks_are_sgrn_with_one_reading_or_form_changed():
    """Every reading of GRGR and every form of L_intra has a block (sgrn is the default reading and
    hash_real); none of them is a run of the demo's list."""
    from sgrn.hparams import INTRA_FORMS
    from sgrn.hparams.sgrn import GRGR_FORMS
    from sgrn.settings.hyperparams import method_config
    from sgrn.settings.params import load_params

    params = load_params(ROOT / "params.yaml")
    study = {"grgr_form": "sgrn-grgr-", "intra_form": "sgrn-intra-"}
    sgrn = method_config(params, "sgrn", "demo")[1]
    for key, prefix in study.items():
        blocks = [name for name in params["method_params"] if name.startswith(prefix)]
        tried = {sgrn[key]}
        for name in blocks:
            block = method_config(params, name, "demo")[1]
            assert {k for k in block if block[k] != sgrn[k]} == {key}, name
            assert name == prefix + block[key].replace("_", "-")
            tried.add(block[key])
        assert tried == set(GRGR_FORMS if key == "grgr_form" else INTRA_FORMS)
        assert not set(blocks) & set(params["methods"])
