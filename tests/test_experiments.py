"""`python -m sgrn.experiments`: `dvc exp show` turned on its side, params first."""
from __future__ import annotations

from sgrn.experiments import side_by_side

# What `dvc exp show --csv` with sgrn.experiments.SHOW's filters printed on a real project
CSV = """Experiment,rev,demo.dgcpn.b16,demo.sgrn-no-lrgr.b64,method_params.djsrh.beta
,workspace,0.349,0.354,0.7
,main,0.349,0.351,0.9
beta-07,d0cb6fe,0.349,0.354,0.7
beta-08,e91f039,0.35,0.353,0.8
"""


def test_one_column_per_experiment_changed_params_first():
    table = side_by_side(CSV)
    assert list(table.columns) == ["workspace", "main", "beta-07", "beta-08"]
    assert list(table.index) == ["method_params.djsrh.beta", "demo.dgcpn.b16", "demo.sgrn-no-lrgr.b64"]
    assert list(table.loc["demo.sgrn-no-lrgr.b64"]) == ["0.354", "0.351", "0.354", "0.353"]
    text = table.to_string()
    assert max(len(line) for line in text.splitlines()) < 80
