# The two commands of the README. Both create .venv when it is missing.
SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c
.PHONY: demo test lint install record clean rulegraph dvc.yaml

VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# Snakemake and DVC run the steps as `python scripts/...`: the venv must come first on PATH.
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[test]' 2>&1 | { grep -v "is ignored" || true; }
	$(PY) -c "import sgrn, torch, torchvision, snakemake, dvc, dvclive"
	touch $@

install: $(STAMP)

## make demo: set up, then run the whole workflow on the built-in demo dataset.
demo: $(STAMP)
	snakemake --cores all
	@echo; cat results/tables/*.md

## make test: set up, lint, then run the test suite.
test: lint
	$(PY) -m pytest

## make lint: ruff (rules in pyproject.toml) and Snakemake's own linter. Snakemake asks every
## rule for a conda environment or a container; the steps run in this project's venv instead
## (pinned by pyproject.toml), so that lint alone is accepted; any other fails.
lint: $(STAMP)
	ruff check .
	@lints=$$(snakemake --lint 2>&1) && exit 0; \
	printf '%s\n' "$$lints" | grep -q '^Lints for ' || { printf '%s\n' "$$lints"; exit 1; }; \
	others=$$(printf '%s\n' "$$lints" | grep '^ *\* ' | grep -v 'Specify a conda environment or container' || true); \
	if [ -n "$$others" ]; then printf '%s\n' "$$lints"; exit 1; fi; \
	echo "snakemake --lint: no lint but the conda/container one"

## make rulegraph: redraw docs/rulegraph.svg, the DAG of rules shown in the README (needs graphviz).
rulegraph: $(STAMP)
	@command -v dot >/dev/null || { echo "graphviz 'dot' is needed: apt-get install graphviz" >&2; exit 1; }
	snakemake --rulegraph --quiet all | dot -Tsvg > docs/rulegraph.svg.tmp
	mv docs/rulegraph.svg.tmp docs/rulegraph.svg

## make dvc.yaml: generate dvc.yaml from the pipeline's declaration (sgrn/workflow/pipeline.py) and
## params.yaml; needed after editing `methods` or a method's family (tests/test_pipeline.py
## fails while the committed file differs). A params.yaml that does not validate writes nothing.
dvc.yaml: $(STAMP)
	$(PY) -m sgrn.workflow.dvcgen

## make record: adopt outputs that Snakemake made into DVC (dvc.lock, cache) without
## recomputing them; afterwards `dvc status` is clean and `snakemake -n` has nothing to do.
record: $(STAMP)
	dvc commit --force --quiet
	snakemake --cores 1 --touch --quiet

clean:
	rm -rf results resources logs .snakemake benchmarks/runs
