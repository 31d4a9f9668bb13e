"""Model selection: candidate draws, the choice on validation MAP, and bad search spaces."""
from __future__ import annotations

import copy
import pathlib

import pytest
import yaml

from sgrn.settings.hyperparams import SelectionError, candidate, draws, grid, method_config
from sgrn.settings.params import ParamsError, validate_params
from sgrn.workflow.selection import select

ROOT = pathlib.Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def shipped():
    return yaml.safe_load((ROOT / "params.yaml").read_text())


def with_search(shipped, configs, space, methods=("sgrn", "djsrh")):
    raw = copy.deepcopy(shipped)
    raw.update(methods=list(methods), configs=configs)
    raw["search"] = {"seed": 0, "space": space}
    return raw


def test_grid_and_draws_are_seeded_and_skip_the_block_as_written():
    space = {"beta": [0.7, 0.9], "eta": [0.2, 0.4]}
    assert grid(space) == [{"beta": 0.7, "eta": 0.2}, {"beta": 0.7, "eta": 0.4},
                           {"beta": 0.9, "eta": 0.2}, {"beta": 0.9, "eta": 0.4}]
    base = {"beta": 0.9, "eta": 0.4, "mu": 1.5}
    first = draws(space, base, seed=0)
    assert len(first) == 3 and {"beta": 0.9, "eta": 0.4} not in first
    assert draws(space, base, seed=0) == first
    assert sorted(map(str, draws(space, base, seed=1))) == sorted(map(str, first))


def test_candidate_zero_is_the_block_and_others_override_it(shipped):
    params = validate_params(with_search(shipped, [0, 1, 2], {"sgrn": {"beta": [0.5, 0.7], "xi": [0.0]}},
                                         methods=("sgrn",)))
    _, hyper = method_config(params, "sgrn", "demo")
    assert candidate(params, "sgrn", hyper, 0) == hyper
    chosen = [candidate(params, "sgrn", hyper, c) for c in (1, 2)]
    assert {c["beta"] for c in chosen} == {0.5, 0.7} and all(c["xi"] == 0.0 for c in chosen)
    assert all({k: v for k, v in c.items() if k not in ("beta", "xi")} ==
               {k: v for k, v in hyper.items() if k not in ("beta", "xi")} for c in chosen)


def test_select_takes_the_best_mean_validation_map_never_the_test():
    runs = []
    for config, vals, test in ((0, (0.50, 0.52), 0.9), (1, (0.55, 0.53), 0.1), (2, (0.56, 0.40), 0.9)):
        for seed, val in enumerate(vals):
            runs.append(dict(dataset="d", method="m", config=config, bits=16, seed=seed,
                             val_map_all=val, i2t={"map@all": test}))
    choice = select(runs)["d"]["m"]["b16"]
    assert choice["config"] == 1
    assert choice["val_map_all"] == pytest.approx(0.54)
    assert choice["candidates"] == {"c0": 0.51, "c1": 0.54, "c2": 0.48}


def test_select_ties_go_to_the_lower_config_and_unequal_seeds_are_refused():
    runs = [dict(dataset="d", method="m", config=c, bits=8, seed=0, val_map_all=0.5) for c in (2, 0, 1)]
    assert select(runs)["d"]["m"]["b8"]["config"] == 0
    with pytest.raises(SelectionError, match="different numbers of seeds"):
        select(runs + [dict(dataset="d", method="m", config=1, bits=8, seed=1, val_map_all=0.5)])


def test_select_without_validation_map_is_refused():
    with pytest.raises(SelectionError, match=r"d/m/c0/b8/s0: no validation MAP.*n_validation"):
        select([dict(dataset="d", method="m", config=0, bits=8, seed=0, val_map_all=None)])


@pytest.mark.parametrize("space,configs,message", [
    ({"sgrn": {"nosuch": [1]}}, [0], r"search\.space\.sgrn\.nosuch: sgrn: unknown parameter\(s\) nosuch"),
    ({"sgrn": {"beta": []}}, [0], r"search\.space\.sgrn\.beta: \[\] should be non-empty"),
    ({"sgrn": {"beta": [2.0]}}, [0], r"search\.space\.sgrn\.beta: .*out of range"),
    ({"sgrn": {"intra_form": ["nosuch"]}}, [0], r"search\.space\.sgrn\.intra_form: .*not allowed"),
    ({"nosuch": {"beta": [0.5]}}, [0], r"search\.space\.nosuch: no method_params\.nosuch"),
    ({"sgrn": {"beta": [0.6, 0.7]}}, [0, 1, 2],
     r"search\.space\.djsrh: configs lists 1, but search\.space\.djsrh gives 0 configurations"),
    ({"sgrn": {"beta": [0.6]}, "djsrh": {"beta": [0.5, 0.7]}}, [0, 1, 2],
     r"search\.space\.sgrn: configs lists 2, but search\.space\.sgrn gives 1 configurations"),
    ({"sgrn": {"k": [40]}, "djsrh": {"beta": [0.5]}}, [0, 1],
     r"candidate c1 of method_params\.sgrn on demo: sgrn: k=40 must be smaller than the batch size"),
])
def test_bad_search_spaces_are_refused_naming_the_key(shipped, space, configs, message):
    with pytest.raises(ParamsError, match=message):
        validate_params(with_search(shipped, configs, space))


def test_shipped_params_give_every_method_the_same_candidates(shipped):
    params = validate_params(shipped)
    space, follow = params["search"]["space"], params["search"]["follow"]
    own = [m for m in params["methods"] if m not in follow]
    assert set(own) <= set(space), "every method selected on its own needs a search space"
    assert not set(follow) & set(space), "a follower trains its leader's candidates"
    budget = min(len(draws(space[m], method_config(params, m, "demo")[1], 0)) for m in own)
    assert budget >= 3, "each method must offer at least three configurations besides its own"


def test_a_follower_is_shown_at_the_candidate_chosen_for_the_method_it_follows():
    runs = [dict(dataset="d", method=m, config=c, bits=16, seed=0, val_map_all=v)
            for m, c, v in (("sgrn", 0, 0.6), ("sgrn", 1, 0.5), ("abl", 0, 0.4), ("abl", 1, 0.7))]
    own = select(runs)["d"]["abl"]["b16"]
    assert own["config"] == 1 and "follows" not in own
    chosen = select(runs, {"abl": "sgrn"})["d"]
    assert chosen["abl"]["b16"] == {"config": 0, "follows": "sgrn", "val_map_all": 0.4,
                                    "candidates": {"c0": 0.4, "c1": 0.7}}
    alone = select([r for r in runs if r["method"] == "abl"], {"abl": "sgrn"})["d"]["abl"]["b16"]
    assert alone["config"] == 1 and "follows" not in alone, "a leader that was not run leaves the choice"


@pytest.mark.parametrize("follow,space,message", [
    ({"sgrn-no-grgr": "nosuch"}, {}, r"search\.follow\.sgrn-no-grgr: no method_params\.nosuch"),
    ({"sgrn-no-grgr": "sgrn-no-grgr"}, {}, r"search\.follow\.sgrn-no-grgr: 'sgrn-no-grgr' must be"),
    ({"sgrn-no-grgr": "sgrn"}, {"sgrn": {"beta": [0.5, 0.7]}, "sgrn-no-grgr": {"eta": [0.2, 0.3]}},
     r"search\.follow\.sgrn-no-grgr: sgrn-no-grgr is trained on sgrn's candidates with its own switches; "
     r"remove search\.space\.sgrn-no-grgr"),
    ({"sgrn-no-grgr": "djsrh"}, {}, r"search\.follow\.sgrn-no-grgr: family 'sgrn' differs from djsrh's 'djsrh'"),
])
def test_bad_follow_is_refused_naming_the_key(shipped, follow, space, message):
    raw = with_search(shipped, [0, 1], space, methods=("sgrn", "sgrn-no-grgr"))
    raw["search"]["follow"] = follow
    raw["search"]["space"].setdefault("sgrn", {"beta": [0.5, 0.7]})
    with pytest.raises(ParamsError, match=message):
        validate_params(raw)


@pytest.mark.parametrize("change,message", [
    ({"per_dataset": {"demo": {"beta": 0.6}}}, r"method_params\.sgrn-no-intra\.per_dataset differs from sgrn's"),
    ({"k": 7, "per_dataset": {"demo": {"beta": 0.5, "k": 7}}}, r"per_dataset differs"),
])
def test_a_follower_needs_its_leaders_per_dataset_values(shipped, change, message):
    raw = with_search(shipped, [0, 1], {"sgrn": {"beta": [0.5, 0.7]}}, methods=("sgrn", "sgrn-no-intra"))
    raw["search"]["follow"] = {"sgrn-no-intra": "sgrn"}
    raw["method_params"]["sgrn-no-intra"] = {**raw["method_params"]["sgrn-no-intra"], **change}
    with pytest.raises(ParamsError, match=message):
        validate_params(raw)


def test_a_switch_that_is_a_per_dataset_value_of_the_leader_is_refused(shipped):
    raw = with_search(shipped, [0, 1], {"sgrn": {"mu": [1.2, 1.5]}}, methods=("sgrn", "sgrn-k3"))
    raw["method_params"]["sgrn"]["per_dataset"] = {"demo": {"k": 5}}
    raw["method_params"]["sgrn-k3"] = {**raw["method_params"]["sgrn"], "k": 3}
    raw["search"]["follow"] = {"sgrn-k3": "sgrn"}
    with pytest.raises(ParamsError, match=r"search\.follow\.sgrn-k3: switch k is also a per_dataset value of sgrn"):
        validate_params(raw)


def test_a_follower_trains_its_leaders_candidates_with_its_switches_even_on_searched_keys(shipped):
    """sgrn-plus searches `pair` (0 among its values); sgrn-plus-no-pair pins it to 0 and
    takes every other value of sgrn-plus's candidate, config for config."""
    params = validate_params({**shipped, "configs": [0, 1, 2, 3]})
    assert "pair" in params["search"]["space"]["sgrn-plus"]
    for dataset in ("demo", "mirflickr25k"):
        lead = method_config(params, "sgrn-plus", dataset)[1]
        for name, pins in (("sgrn-plus-no-pair", {"pair": 0.0}), ("sgrn-plus-no-lift", {"rebase_form": "mask"})):
            hyper = method_config(params, name, dataset)[1]
            for config in (0, 1, 2, 3):
                got = candidate(params, name, hyper, config)
                assert got == {**candidate(params, "sgrn-plus", lead, config), **pins}
    hyper = method_config(params, "sgrn-no-intra", "demo")[1]
    assert all(candidate(params, "sgrn-no-intra", hyper, c)["xi"] == 0.0 for c in (0, 1, 2, 3))


def test_shipped_ablations_follow_sgrn_with_its_candidates(shipped):
    params = validate_params(shipped)
    ablations = [m for m in params["method_params"] if m.startswith("sgrn-no-")]
    assert ablations and all(params["search"]["follow"].get(m) == "sgrn" for m in ablations)


def test_select_bits_chooses_at_one_length_and_keeps_that_choice_at_the_others():
    """The field's protocol: candidates compared at 64 bits only; at 16 bits the chosen one is
    kept even where another candidate trained there would score higher on validation."""
    runs = [dict(dataset="d", method=m, config=c, bits=b, seed=s, val_map_all=v)
            for m, c, b, v in (("sgrn", 0, 64, 0.60), ("sgrn", 1, 64, 0.65), ("sgrn", 1, 16, 0.50),
                               ("sgrn", 0, 16, 0.55), ("abl", 0, 64, 0.70), ("abl", 1, 64, 0.40),
                               ("abl", 1, 16, 0.30))
            for s in (0, 1)]
    own = select(runs)["d"]["sgrn"]["b16"]
    assert own["config"] == 0, "without select_bits each length chooses for itself"
    chosen = select(runs, {"abl": "sgrn"}, select_bits=64)["d"]
    assert chosen["sgrn"]["b64"]["config"] == 1 and "chosen_at" not in chosen["sgrn"]["b64"]
    assert chosen["sgrn"]["b16"] == {"config": 1, "chosen_at": 64, "val_map_all": 0.5,
                                     "candidates": {"c0": 0.55, "c1": 0.5}}
    assert chosen["abl"]["b64"]["config"] == 1 and chosen["abl"]["b16"]["config"] == 1, "a follower: its leader's"
    with pytest.raises(SelectionError, match=r"d/abl/b16: the candidate chosen at 64 bits, c0, was not trained"):
        select(runs, select_bits=64)
    with pytest.raises(SelectionError, match=r"d/abl: search.select_bits is 32, but no run of it has 32 bits"):
        select(runs, select_bits=32)


def test_select_bits_must_be_a_trained_length(shipped):
    raw = copy.deepcopy(shipped)
    raw["search"]["select_bits"] = 32
    with pytest.raises(ParamsError, match=r"search\.select_bits is 32, which is not one of bits \[16, 64\]"):
        validate_params(raw)
    raw["search"]["select_bits"] = 64
    assert validate_params(raw)["search"]["select_bits"] == 64
