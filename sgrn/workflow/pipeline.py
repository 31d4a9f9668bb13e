"""The pipeline, declared once: the path of every artefact and, per step, its script, inputs,
outputs, params and code.

Snakemake's rules (workflow/rules/*.smk) take their paths, command lines and code inputs from
here; `dvc.yaml` is generated from here by sgrn/workflow/dvcgen.py (`make dvc.yaml`), and
tests/test_pipeline.py fails when the committed file differs from a fresh generation. The
report, the browser and `sgrn search` find runs through `run_folder` and `parse_run`.

A step's code inputs are its script and the repository modules it imports (sgrn/workflow/codedeps.py),
no wider: a train job adds only its own method family's modules (sgrn/methods/<family>.py and
sgrn/hparams/<family>.py, which the registries import by name), so an edit to one family's
code or defaults reruns that family's runs and what follows, nothing upstream and no other
family. Torch-free and quick to import: the Snakefile imports it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]

RUN = "results/{dataset}/{method}/c{config}/b{bits}/s{seed}"
"""One trained model: a method's candidate configuration at one code length and seed."""

PATHS: dict[str, str] = {
    "raw": "resources/raw/{dataset}",
    "pairs": "resources/{dataset}/pairs.h5",
    "features": "results/{dataset}/features.h5",
    "run": RUN,
    "model": f"{RUN}/model.pt",
    "live": f"{RUN}/live",
    "live_summary": f"{RUN}/live/metrics.json",
    "live_plots": f"{RUN}/live/plots/metrics",
    "curves": f"{RUN}/curves.png",
    "codes": f"{RUN}/codes.h5",
    "evaluations": "results/evaluation",
    "evaluation": "results/evaluation/{dataset}/{method}/c{config}/b{bits}/s{seed}.json",
    "selection": "results/selection.json",
    "choice": "results/choice.json",  # with search.select_bits: the choice at that length (Snakemake's checkpoint)
    "metrics": "results/metrics.json",
    "summary": "results/summary.json",
    "tables": "results/tables",
    "plots": "results/plots",
}
"""Every artefact's path, relative to the project root; {wildcards} are filled per job."""

RUN_WILDCARDS = ("dataset", "method", "config", "bits", "seed")
WILDCARD_PATTERNS = {"dataset": "[a-z0-9][a-z0-9_-]*", "method": "[a-z0-9][a-z0-9_-]*",
                     "config": "[0-9]+", "bits": "[0-9]+", "seed": "[0-9]+"}
LISTS = {"dataset": "datasets", "method": "methods", "config": "configs", "bits": "bits", "seed": "seeds"}
"""The params.yaml list each wildcard takes its values from."""


def path(name: str, **wildcards: object) -> str:
    """PATHS[name] with ``wildcards`` filled in, e.g. path("model", dataset="demo", ...)."""
    return PATHS[name].format(**wildcards)


def run_folder(dataset: str, method: str, config: int, bits: int, seed: int) -> Path:
    """The folder of one run, relative to the project root."""
    return Path(path("run", dataset=dataset, method=method, config=config, bits=bits, seed=seed))


_RUN_RE = re.compile("^" + re.sub(r"\\\{(\w+)\\\}", lambda m: f"(?P<{m.group(1)}>{WILDCARD_PATTERNS[m.group(1)]})",
                                  re.escape(RUN)) + "$")


def parse_run(folder: str | Path) -> dict | None:
    """The wildcards of a run folder given relative to the project root, or of an absolute one
    (its last components), as a dict with integer config, bits and seed; None when it is not
    a run folder."""
    parts = Path(folder).parts[-len(Path(RUN).parts):]
    match = _RUN_RE.match("/".join(parts))
    if match is None:
        return None
    return {k: int(v) if k in ("config", "bits", "seed") else v for k, v in match.groupdict().items()}


def project_root_of(run: str | Path) -> Path | None:
    """The project folder that holds a run folder (or a file directly in one), or None."""
    run = Path(run).resolve()
    for folder in (run, run.parent):
        if parse_run(folder) is not None:
            return folder.parents[len(Path(RUN).parts) - 1]
    return None


RUN_GLOB = re.sub(r"\{\w+\}", "*", RUN)
"""The glob of every run folder ("results/*/*/c*/b*/s*")."""


@dataclass(frozen=True)
class Step:
    """One step: a script run once per value of `per` (wildcards), over files.

    `inputs` and `outputs` name entries of PATHS; `args` is the command line after the script,
    with {name} for a wildcard, an input or an output; `params` are params.yaml keys (with
    {wildcards}) whose change reruns the step; `kinds` marks outputs that DVC lists as metrics
    or plots instead of outs, and `folders` the outputs that are folders.
    """

    name: str
    script: str
    per: tuple[str, ...]
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    args: str
    params: tuple[str, ...] = ()
    kinds: dict[str, str] = field(default_factory=dict)
    folders: tuple[str, ...] = ()
    local: bool = False

    @property
    def log(self) -> str:
        """The log file's path, e.g. logs/train/{dataset}/{method}/c{config}/b{bits}/s{seed}.log."""
        if not self.per:
            return f"logs/{self.name}.log"
        folders = {"config": "c{config}", "bits": "b{bits}", "seed": "s{seed}"}
        return f"logs/{self.name}/" + "/".join(folders.get(w, "{%s}" % w) for w in self.per) + ".log"

    @property
    def benchmark(self) -> str:
        """Snakemake's time and memory table of a job: the log's path under benchmarks/runs/, .tsv."""
        return "benchmarks/runs/" + self.log.removeprefix("logs/").removesuffix(".log") + ".tsv"

    def command(self, fill, log: str | None = None) -> str:
        """The command line, each {name} of `args` (and of the log's path unless ``log`` is given)
        replaced by ``fill(name)``."""
        def sub(template: str) -> str:
            return re.sub(r"\{(\w+)\}", lambda m: fill(m.group(1)), template)

        return f"python {self.script} {sub(self.args)} --log {sub(self.log) if log is None else log}"


def _run_args(*names: str) -> str:
    return " ".join(f"--{n} {{{n}}}" for n in names)


STEPS: dict[str, Step] = {s.name: s for s in (
    Step("download", "scripts/download.py", ("dataset",), (), ("raw",),
         "--dataset {dataset} --out {raw}", params=("download.{dataset}",), folders=("raw",)),
    Step("prepare", "scripts/prepare.py", ("dataset",), ("raw",), ("pairs",),
         "--dataset {dataset} --raw {raw} --out {pairs}", params=("prepare.{dataset}",)),
    Step("extract", "scripts/extract.py", ("dataset",), ("raw", "pairs"), ("features",),
         "--dataset {dataset} --raw {raw} --pairs {pairs} --out {features}", params=("extract",)),
    Step("train", "scripts/train.py", RUN_WILDCARDS, ("features",), ("model", "live_summary", "live_plots"),
         _run_args("dataset", "method", "config", "bits", "seed")
         + " --features {features} --out {model} --live {live}",
         params=("train", "method_params.{method}", "search.seed", "search.space.{method}",
                 # an ablation in search.follow trains on its leader's candidates
                 "search.follow.{method}", "method_params.{leader}", "search.space.{leader}"),
         kinds={"live_plots": "plots"}, folders=("live_plots",)),
    Step("curves", "scripts/curves.py", RUN_WILDCARDS, ("live_plots",), ("curves",),
         _run_args("dataset", "method", "config", "bits", "seed") + " --live-plots {live_plots} --out {curves}",
         local=True),
    Step("encode", "scripts/encode.py", RUN_WILDCARDS, ("features", "model"), ("codes",),
         "--dataset {dataset} --method {method} --bits {bits} --features {features} --model {model} --out {codes}",
         params=("train.device", "train.num_threads")),
    Step("evaluate", "scripts/evaluate.py", RUN_WILDCARDS, ("codes",), ("evaluation",),
         "--codes {codes} --out {evaluation}", params=("evaluate",), local=True),
    Step("select", "scripts/model_selection.py", (), ("evaluations",), ("selection",),
         "--evaluations {evaluations} --out {selection}",
         params=("datasets", "methods", "configs", "bits", "seeds", "search.follow", "search.select_bits"),
         kinds={"selection": "metrics"}, local=True),
    Step("report", "scripts/report.py", (), ("evaluations", "selection"), ("metrics", "summary", "tables", "plots"),
         "--evaluations {evaluations} --selection {selection} --metrics {metrics} --summary {summary} "
         "--tables {tables} --plots {plots}",
         params=("datasets", "methods", "configs", "bits", "seeds", "search", "report"),
         kinds={"metrics": "metrics", "summary": "metrics"}, folders=("tables", "plots"), local=True),
)}
"""Every step, in the order data flows."""


def family_code(family: str, root: str | Path = REPO_ROOT) -> list[str]:
    """The modules of one method family that the registries import by name (sgrn/methods/__init__.py,
    sgrn/hparams/__init__.py), with every module they import in turn."""
    from sgrn.workflow.codedeps import code_dependencies

    files = set()
    for module in (f"sgrn/methods/{family}.py", f"sgrn/hparams/{family}.py"):
        files.update(code_dependencies(module, root=root))
    return sorted(files)


def code_inputs(step: str, family: str | None = None, root: str | Path = REPO_ROOT) -> list[str]:
    """The code a job of ``step`` runs: its script, every module the script imports, and for a
    train job its ``family``'s modules (paths relative to ``root``, the project folder)."""
    from sgrn.workflow.codedeps import code_dependencies

    files = set(code_dependencies(STEPS[step].script, root=root))
    if family is not None:
        files.update(family_code(family, root))
    return sorted(files)


def snakemake_shell(step: str) -> str:
    """The step's command line for a rule's `shell:`: wildcards as {wildcards.x}, the log as {log}."""
    def fill(name: str) -> str:
        if name in RUN_WILDCARDS:
            return "{wildcards.%s}" % name
        return re.sub(r"\{(\w+)\}", r"{wildcards.\1}", PATHS[name])

    return STEPS[step].command(fill, log="{log}")


def method_families(params: dict) -> dict[str, str]:
    """method -> family for every method params.yaml lists."""
    return {m: params["method_params"][m]["family"] for m in params["methods"]}


def params_keys(step: Step, params: dict, method: str | None = None) -> list[str]:
    """The params keys of a step that exist in ``params``, {method} filled in where given and
    {leader} with the method it follows in search.follow (keys naming one dropped if none)."""
    fill = {"method": method, "leader": params["search"]["follow"].get(method) if method else None}
    keys = []
    for key in step.params:
        names = re.findall(r"\{(\w+)\}", key)
        if any(fill.get(name) is None for name in names if name in fill):
            continue
        key = re.sub(r"\{(method|leader)\}", lambda m: fill[m.group(1)], key)
        value = params
        for part in key.split("."):
            if "{" in part:
                break
            value = value.get(part) if isinstance(value, dict) else None
        if value is not None:
            keys.append(key)
    return keys
