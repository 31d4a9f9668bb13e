# The two commands of the README. Both create .venv when it is missing.
SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c
.PHONY: demo test install record clean

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

## make test: set up, then run the test suite.
test: $(STAMP)
	$(PY) -m pytest

## make record: adopt outputs that Snakemake made into DVC (dvc.lock, cache) without
## recomputing them; afterwards `dvc status` is clean and `snakemake -n` has nothing to do.
record: $(STAMP)
	dvc commit --force --quiet
	snakemake --cores 1 --touch --quiet

clean:
	rm -rf results resources logs .snakemake benchmarks/runs
