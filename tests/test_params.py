"""params.yaml validation: defaults, and bad values refused with a message naming the key."""
from __future__ import annotations

import copy

import pytest
import yaml

from sgrn.settings.params import ParamsError, load_params, validate_params
from workflow_utils import REPO


@pytest.fixture
def params():
    return yaml.safe_load((REPO / "params.yaml").read_text())


def test_shipped_params_are_valid_and_get_defaults(params):
    del params["train"]["momentum"]
    del params["method_params"]["sgrn"]["kappa"]
    checked = validate_params(params)
    assert checked["train"]["momentum"] == 0.9
    assert checked["method_params"]["sgrn"]["kappa"] == 5.0
    assert "momentum" not in params["train"], "the caller's dict must not be modified"


@pytest.mark.parametrize("path, value, message", [
    (("train", "epochz"), 3, "train: Additional properties are not allowed ('epochz' was unexpected)"),
    (("surprise",), 1, "<top level>: Additional properties are not allowed ('surprise' was unexpected)"),
    (("train", "epochs"), "ten", "train.epochs: 'ten' is not of type 'integer'"),
    (("train", "epochs"), 0, "train.epochs: 0 is less than the minimum of 1"),
    (("train", "lr_image"), -0.1, "train.lr_image: -0.1 is less than or equal to the minimum of 0"),
    (("bits",), [12], "bits.0: 12 is not a multiple of 8"),
    (("bits",), [512], "bits.0: 512 is greater than the maximum of 256"),
    (("bits",), [0], "bits.0: 0 is less than the minimum of 8"),
    (("evaluate", "ties"), "random", "evaluate.ties: 'random' is not one of ['stable', 'expected']"),
    (("train", "device"), "gpu0", "train.device: 'gpu0' does not match"),
    (("train", "cuda_graphs"), "yes", "train.cuda_graphs: 'yes' is not one of ['auto', True, False]"),
    (("method_params", "sgrn", "k"), 32, "method_params.sgrn: sgrn: k=32 must be smaller than the batch size 32"),
    (("method_params", "sgrn", "omega"), 1.5, "method_params.sgrn: sgrn: parameter omega=1.5 is out of range"),
    (("method_params", "sgrn", "standardise"), True, "method_params.sgrn: sgrn: unknown parameter(s) standardise"),
    (("method_params", "sgrn", "family"), "sgrm", "unknown method family 'sgrm'"),
    # a block that mixes families' keys: JDSH's tail strength in an SGRN block
    (("method_params", "sgrn", "l1"), 0.1, "method_params.sgrn: sgrn: unknown parameter(s) l1"),
    (("method_params", "sgrn", "l1"), 0.1,
     "(l1 is a parameter of jdsh; a block holds the keys of its own family only)"),
    (("method_params", "jdsh", "omega"), 0.5, "method_params.jdsh: jdsh: unknown parameter(s) omega"),
    (("method_params", "jdsh", "fit_tails"), "yes", "method_params.jdsh: jdsh: parameter fit_tails='yes' must be "
                                                    "true or false"),
    (("method_params", "dgcpn", "lr"), 0.0, "method_params.dgcpn: dgcpn: parameter lr=0.0 is out of range: "
                                            "allowed 0 < lr <= 1"),
    (("method_params", "sgrn", "lr"), "fast", "method_params.sgrn: sgrn: parameter lr='fast' must be a number"),
    (("method_params", "cca_itq", "lr"), 0.01, "method_params.cca_itq: cca_itq: unknown parameter(s) lr"),
    (("train", "patience"), 0, "train.patience: 0 is less than the minimum of 1"),
    (("train", "patience"), 2.5, "train.patience: 2.5 is not of type 'integer', 'null'"),
    # a search space with a key its family lacks, or a value out of its range
    (("search", "space", "sgrn", "l1"), [0.1], "search.space.sgrn.l1: sgrn: unknown parameter(s) l1"),
    (("search", "space", "djsrh", "xi"), [0.1], "search.space.djsrh.xi: djsrh: unknown parameter(s) xi"),
    (("search", "space", "dgcpn", "lr"), [0.005, 2.0], "search.space.dgcpn.lr: dgcpn: parameter lr=2.0 is out of "
                                                       "range"),
    (("search", "space", "sgrn-plus", "pair"), [-1.0], "search.space.sgrn-plus.pair: sgrn: parameter pair=-1.0 "
                                                       "is out of range"),
    (("methods",), ["sgrn", "nope"], "methods lists 'nope' but method_params.nope is missing"),
    (("datasets",), ["demo", "other"], "datasets lists 'other' but download.other is missing"),
    (("method_params", "djsrh", "per_dataset"), {"nuswide": {"beta": 0.6}},
     "method_params.djsrh.per_dataset.nuswide: 'nuswide' is not a dataset of download and prepare"),
])
def test_bad_values_are_refused_naming_the_key(params, path, value, message):
    bad = copy.deepcopy(params)
    node = bad
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    with pytest.raises(ParamsError) as err:
        validate_params(bad, source="params.yaml")
    assert message in str(err.value)
    assert str(err.value).startswith("params.yaml: ")


def test_load_params_errors_name_the_file(tmp_path):
    with pytest.raises(ParamsError, match="parameters file not found"):
        load_params(tmp_path / "missing.yaml")
    bad = tmp_path / "params.yaml"
    bad.write_text("train: [unclosed\n")
    with pytest.raises(ParamsError, match=f"{bad}: not valid YAML"):
        load_params(bad)
    bad.write_text("- a list\n")
    with pytest.raises(ParamsError, match="expected a mapping at the top level"):
        load_params(bad)


def test_per_dataset_values_reach_their_dataset(params):
    """The shipped NUS-WIDE values are applied on their dataset and nowhere else; no method has a
    value set for a dataset our tables run on (none was tuned there by hand)."""
    from sgrn.settings.hyperparams import method_config

    checked = validate_params(params)
    assert method_config(checked, "sgrn", "nuswide_tc10")[1]["beta"] == 0.6
    for dataset in ("demo", "mirflickr25k_sample", "mirflickr25k_sample_topics", "mirflickr25k_128"):
        for method in checked["method_params"]:
            assert dataset not in checked["method_params"][method].get("per_dataset", {}), (method, dataset)
    assert method_config(checked, "sgrn", "mirflickr25k")[1]["beta"] == 0.9
    assert method_config(checked, "jdsh", "nuswide_tc10")[1]["a"] == 0.4
