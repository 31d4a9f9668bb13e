# Helpers shared by the rules: validated params, and the pipeline's declaration (sgrn/workflow/pipeline.py:
# every path, log, command line and code input; dvc.yaml is generated from the same table).
# Rules never read `config` in their bodies; they get values through these helpers.
import json

import yaml
from snakemake.exceptions import WorkflowError

from sgrn.settings import hyperparams
from sgrn.settings.params import ParamsError, extract_config, validate_params
from sgrn.workflow.pipeline import PATHS, STEPS, WILDCARD_PATTERNS, code_inputs, path, snakemake_shell

# Step scripts read params.yaml themselves, so an override given only to Snakemake would
# silently not reach them: refuse it. Change params.yaml or use `dvc exp run -S` instead.
with open("params.yaml", encoding="utf-8") as _f:
    if yaml.safe_load(_f) != config:
        raise WorkflowError(
            "config differs from params.yaml: --config/--configfile overrides are not supported "
            "because the step scripts read params.yaml; edit params.yaml instead")
try:
    PARAMS = validate_params(config, source="params.yaml")
except ParamsError as err:
    raise WorkflowError(str(err)) from None



def check_gpu_share():
    """Refuse a GPU share of zero or below before any job: --resources gpu_slots (slots of a
    GPU), --set-resources train:gpu_slots (slots one train job takes), --group-components of
    the train group (train jobs in one SLURM job)."""
    def value(resource):
        return getattr(resource, "value", resource)

    given = {
        "--resources gpu_slots": value(workflow.global_resources.get("gpu_slots")),
        "--set-resources train:gpu_slots": value(
            workflow.resource_settings.overwrite_resources.get("train", {}).get("gpu_slots")),
        **{f"--group-components {name}": count
           for name, count in workflow.group_settings.group_components.items()},
    }
    for key, count in given.items():
        if isinstance(count, (int, float)) and count <= 0:
            raise WorkflowError(f"{key}={count}: a GPU share must be a positive whole number "
                                "(README, \"Several runs on one GPU\")")


check_gpu_share()

P = PATHS  # e.g. P["model"]: results/{dataset}/{method}/c{config}/b{bits}/s{seed}/model.pt
REPORT_OUTPUTS = [P[name] for name in STEPS["report"].outputs]


wildcard_constraints:
    **WILDCARD_PATTERNS,


def code(step):
    """The step's script and every repository module it imports (sgrn/workflow/pipeline.py), as in dvc.yaml;
    paths relative to the working directory, which holds the scripts."""
    return code_inputs(step, root=".")


def train_code(wildcards):
    """A train job's code: the train step's, and its method family's modules, no other family's."""
    return code_inputs("train", family=PARAMS["method_params"][wildcards.method]["family"], root=".")


def step_log(step):
    return STEPS[step].log


def section(*keys):
    """A params value (for `params:` only: a change reruns the rule, as DVC does)."""
    def lookup(wildcards):
        value = PARAMS
        for key in keys:
            value = value[wildcards[key[1:-1]] if key.startswith("{") else key]
        return value

    return lookup


def run_hyperparams(wildcards):
    """What a run trains with: candidate {config} of its method on its dataset (for `params:`,
    so that a change to one candidate reruns only its runs)."""
    family, hyper = hyperparams.run_hyperparams(PARAMS, wildcards.method, wildcards.dataset, int(wildcards.config))
    return {"family": family, **hyper}


SELECT_BITS = PARAMS["search"]["select_bits"]


def runs_at(name, lengths):
    """PATHS[name] for every candidate run that params.yaml lists at the code ``lengths``."""
    return expand(P[name], dataset=PARAMS["datasets"], method=PARAMS["methods"], config=PARAMS["configs"],
                  bits=lengths, seed=PARAMS["seeds"])


def all_runs(name):
    """PATHS[name] for every run that params.yaml lists: every candidate at every code length, or
    with search.select_bits every candidate at that length and at the others the one chosen
    there, read from the `choose` checkpoint (an input function, evaluated once it has run)."""
    if SELECT_BITS is None:
        return runs_at(name, PARAMS["bits"])
    others = [bits for bits in PARAMS["bits"] if bits != SELECT_BITS]

    def staged(wildcards):
        with open(checkpoints.choose.get().output.choice, encoding="utf-8") as f:
            choice = json.load(f)
        chosen = [path(name, dataset=dataset, method=method, config=per_bits[f"b{SELECT_BITS}"]["config"],
                       bits=bits, seed=seed)
                  for dataset, per_method in choice.items() for method, per_bits in per_method.items()
                  for bits in others for seed in PARAMS["seeds"]]
        return runs_at(name, [SELECT_BITS]) + chosen

    return staged
