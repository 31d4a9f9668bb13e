"""dvc.yaml generated from the pipeline's declaration (sgrn/workflow/pipeline.py) and params.yaml.

`make dvc.yaml` (`python -m sgrn.workflow.dvcgen`) writes it; tests/test_pipeline.py checks that the
committed file equals a fresh generation. DVC's own templating does the expansion: `foreach`
over `${datasets}` for the data steps, `matrix` over params.yaml's lists for the run steps, so
`dvc exp run -S 'configs=[0,1,2,3]'` needs no new file. The methods are written out instead,
one train stage per method, because each depends on its own family's code (a matrix stage
has one list of deps for all its jobs).
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from sgrn.workflow.pipeline import LISTS, PATHS, RUN_WILDCARDS, STEPS, Step, code_inputs, method_families, params_keys

HEADER = """\
# GENERATED from sgrn/workflow/pipeline.py by `make dvc.yaml` (python -m sgrn.workflow.dvcgen): do not edit.
# The same steps as the Snakemake workflow (workflow/), calling the same scripts with the same
# command lines. datasets, configs, bits and seeds are read from params.yaml when DVC runs
# (`dvc exp run -S 'configs=[0,1,2,3]'` works); the methods are written out, one train stage
# per method (each depends on its own family's code): after editing `methods` or a method's
# family, run `make dvc.yaml`.
"""


def _dvc_fill(step: Step, item: dict[str, str]):
    """fill() for Step.command and paths: wildcards as DVC's ${item...}, names as their paths."""
    def fill(name: str) -> str:
        if name in item:
            return item[name]
        if name in PATHS:
            return re.sub(r"\{(\w+)\}", lambda m: item[m.group(1)], PATHS[name])
        raise KeyError(f"step {step.name}: unknown placeholder {{{name}}}")

    return fill


def _dvc_stage(step: Step, params: dict, method: str | None, root: Path) -> dict:
    if step.per == ("dataset",):
        item = {"dataset": "${item}"}
    elif step.per:
        item = {w: "${item.%s}" % w for w in step.per}
        if method is not None:
            item["method"] = method
    else:
        item = {}
    fill = _dvc_fill(step, item)
    stage: dict = {"cmd": step.command(fill)}
    family = method_families(params)[method] if method is not None else None
    stage["deps"] = code_inputs(step.name, family, root) + [fill(name) for name in step.inputs]
    keys = [re.sub(r"\{(\w+)\}", lambda m: item[m.group(1)], k) for k in params_keys(step, params, method)]
    if keys:
        stage["params"] = keys
    for name in step.outputs:
        kind = step.kinds.get(name, "outs")
        entry = fill(name)
        if kind == "plots":
            entry = {entry: {"x": "step"}}
        stage.setdefault(kind, []).append(entry)
    if step.per == ("dataset",):
        return {"foreach": "${datasets}", "do": stage}
    if step.per:
        matrix = {w: "${%s}" % LISTS[w] for w in step.per if w != "method" or method is None}
        if method is None and "method" in step.per:
            matrix["method"] = list(params["methods"])
        return {"matrix": dict(sorted(matrix.items(), key=lambda kv: RUN_WILDCARDS.index(kv[0]))), **stage}
    return stage


def dvc_stages(params: dict, root: Path) -> dict:
    """The `stages` of dvc.yaml for a validated params.yaml, code read under the project ``root``."""
    stages = {}
    for step in STEPS.values():
        if step.name == "train":
            for method in params["methods"]:
                stages[f"train-{method}"] = _dvc_stage(step, params, method, root)
        else:
            stages[step.name] = _dvc_stage(step, params, None, root)
    return stages


def dvc_yaml(params: dict, root: str | Path = ".") -> str:
    """dvc.yaml's text for a validated params.yaml of the project in ``root``."""
    import yaml

    class Dumper(yaml.SafeDumper):
        def increase_indent(self, flow=False, indentless=False):  # lists indented under their key
            return super().increase_indent(flow, False)

    body = yaml.dump({"stages": dvc_stages(params, Path(root)), "plots": [PATHS["plots"]]}, Dumper=Dumper,
                     sort_keys=False, width=10_000, default_flow_style=False)
    body = re.sub(r"\n(  \S)", r"\n\n\1", body)  # a blank line between stages
    return HEADER + body


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m sgrn.workflow.dvcgen",
                                description="Write dvc.yaml from the pipeline's declaration and params.yaml.")
    p.add_argument("--root", default=".", help="the project folder (default: the current one)")
    p.add_argument("--params", default="params.yaml", help="relative to --root")
    p.add_argument("--out", default="dvc.yaml", help="file to write, relative to --root ('-': standard output)")
    args = p.parse_args(argv)
    from sgrn.files.atomic import atomic_path
    from sgrn.settings.params import ParamsError, load_params

    try:
        params = load_params(Path(args.root) / args.params)
    except ParamsError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    text = dvc_yaml(params, args.root)
    if args.out == "-":
        sys.stdout.write(text)
    else:
        with atomic_path(Path(args.root) / args.out) as tmp:
            Path(tmp).write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
